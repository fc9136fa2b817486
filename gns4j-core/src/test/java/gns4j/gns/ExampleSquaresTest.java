package gns4j.gns;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class ExampleSquaresTest {

    @Test
    void sumsPerTensorAndPerExampleOverTheTrackedTensorsOnly() {
        // Rows of sq: tensor 0 (a norm gain), tensor 1 (a matrix), tensor 2 (not tracked); B = 2 examples each.
        double[] sq = {1, 2, 10, 20, 100, 200};
        List<TrackedTensor> tracked = List.of(GnsTrackerTest.TWO_TENSORS.get(0), GnsTrackerTest.TWO_TENSORS.get(1));
        double[] perTensor = {5, 0, 0}, total = new double[4], ln = new double[4];

        ExampleSquares.add(tracked, sq, 2, perTensor, total, ln, 1);

        assertArrayEquals(new double[]{5 + 1 + 2, 10 + 20, 0}, perTensor);
        assertArrayEquals(new double[]{0, 1 + 10, 2 + 20, 0}, total);
        assertArrayEquals(new double[]{0, 1, 2, 0}, ln);
    }
}
