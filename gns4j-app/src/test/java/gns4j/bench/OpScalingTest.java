package gns4j.bench;

import com.google.gson.JsonObject;
import gns4j.backend.cpu.Profile;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-op scaling table on made-up profiles: per-step times, efficiencies, order, remainder row and JSON. */
class OpScalingTest {
    /** ms over 2 steps at 1, 4 and 2 threads (given out of order): gemm scales perfectly, adamw not at all. */
    static OpScaling table() {
        TreeMap<Integer, Profile.Sample> samples = new TreeMap<>();
        samples.put(4, sample(40, 10, 0, 60));
        samples.put(1, sample(160, 10, 0, 180));
        samples.put(2, sample(80, 10, 0, 100));
        return OpScaling.of(samples, 2);
    }

    static Profile.Sample sample(double gemm, double adamw, double unused, double wall) {
        Map<String, Double> ms = new LinkedHashMap<>();
        ms.put("gemm", gemm);
        ms.put("adamw", adamw);
        ms.put("swiglu fwd", unused);
        return new Profile.Sample(ms, wall);
    }

    @Test
    void rowsArePerStepSortedByTimeLostAtTheMostThreadsWithTheRemainderAsARow() {
        OpScaling t = table();
        assertEquals(List.of(1, 2, 4), java.util.Arrays.stream(t.threads()).boxed().toList());
        // lost at 4 threads: adamw 5 − 5/4 = 3.75; remainder (180−170)/2 = 5 at 1, (60−50)/2 = 5 at 4: 5 − 1.25; gemm 0
        assertEquals(List.of("adamw", OpScaling.UNATTRIBUTED, "gemm"), t.rows().stream().map(OpScaling.Row::op).toList());
        OpScaling.Row adamw = t.rows().get(0), gemm = t.rows().get(2), step = t.step();
        assertEquals(List.of(5.0, 5.0, 5.0), List.of(adamw.ms()[0], adamw.ms()[1], adamw.ms()[2]));
        assertEquals(0.25, t.efficiency(adamw, 2), 1e-12);
        assertEquals(0.5, t.efficiency(adamw, 1), 1e-12);
        assertEquals(1.0, t.efficiency(gemm, 2), 1e-12);
        assertEquals(3.75, t.lost(adamw), 1e-12);
        assertEquals(0.0, t.lost(gemm), 1e-12);
        assertEquals(30 - 90 / 4.0, t.lost(step), 1e-12);
        assertEquals(5 / 30.0, t.share(adamw), 1e-12);
        // the rows add up to the step at every thread count
        for (int i = 0; i < 3; i++) {
            double sum = 0;
            for (OpScaling.Row r : t.rows()) sum += r.ms()[i];
            assertEquals(step.ms()[i], sum, 1e-9);
        }
    }

    @Test
    void jsonAndPrintedTableHoldEveryRowInOrder() {
        OpScaling t = table();
        JsonObject j = t.toJson();
        assertEquals("[1,2,4]", j.get("threads").toString());
        assertEquals(3, j.getAsJsonArray("rows").size());
        JsonObject adamw = j.getAsJsonArray("rows").get(0).getAsJsonObject();
        assertEquals("adamw", adamw.get("op").getAsString());
        assertEquals("{\"1\":5.0,\"2\":5.0,\"4\":5.0}", adamw.get("ms_per_step").toString());
        assertEquals("{\"2\":0.5,\"4\":0.25}", adamw.get("efficiency").toString());
        assertEquals(3.75, adamw.get("lost_ms").getAsDouble());
        assertEquals(0.167, adamw.get("share").getAsDouble());
        assertEquals("step", j.getAsJsonObject("step").get("op").getAsString());

        var bytes = new ByteArrayOutputStream();
        t.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(6, lines.size(), String.join("\n", lines)); // title, header, 3 rows, step
        assertTrue(lines.get(1).contains("ms@1") && lines.get(1).contains("eff@4") && lines.get(1).contains("lost ms"), lines.get(1));
        assertTrue(lines.get(2).strip().startsWith("adamw") && lines.get(2).contains("25%"), lines.get(2));
        assertTrue(lines.get(5).strip().startsWith("step"), lines.get(5));
    }
}
