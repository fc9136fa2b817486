package gns4j.gns;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class QuantilesTest {

    @Test
    void interpolatesBetweenOrderStatistics() {
        double[] v = {1, 2, 4, 8};
        assertEquals(1, Quantiles.ofSorted(v, 0));
        assertEquals(8, Quantiles.ofSorted(v, 1));
        assertEquals(3, Quantiles.ofSorted(v, 0.5));   // position 1.5: halfway between 2 and 4
        assertEquals(6, Quantiles.ofSorted(v, 5.0 / 6)); // position 2.5
        assertEquals(7, Quantiles.ofSorted(new double[]{7}, 0.3));
    }

    @Test
    void anInfiniteNeighbourIsTakenAsItIs() {
        double inf = Double.POSITIVE_INFINITY;
        assertEquals(inf, Quantiles.ofSorted(new double[]{1, inf}, 0.5));
        assertEquals(-inf, Quantiles.ofSorted(new double[]{-inf, 1}, 0.5));
        assertEquals(1, Quantiles.ofSorted(new double[]{1, inf}, 0));
    }
}
