package gns4j.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsWriterTest {

    @Test
    void oneLinePerRecordWithNulls(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsWriter w = new MetricsWriter(file)) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("step", 1);
            r.put("loss", 2.5);
            r.put("gns", null);
            r.put("lr", Double.NaN);
            r.put("per_tensor", new double[]{1.0, Double.POSITIVE_INFINITY});
            w.write(r);
            // written before close: nothing waits in a buffer
            assertEquals(1, Files.readAllLines(file).size());
            w.write(Map.of("step", 2));
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals(2, lines.size());
        assertEquals("{\"step\":1,\"loss\":2.5,\"gns\":null,\"lr\":null,\"per_tensor\":[1.0,null]}", lines.get(0));
        JsonObject second = JsonParser.parseString(lines.get(1)).getAsJsonObject();
        assertEquals(2, second.get("step").getAsInt());
    }

    @Test
    void reopeningDropsPartialLastLineAndAppends(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        Files.writeString(file, "{\"step\":1}\n{\"step\":2,\"lo");
        try (MetricsWriter w = new MetricsWriter(file)) {
            w.write(Map.of("step", 2));
        }
        assertEquals(List.of("{\"step\":1}", "{\"step\":2}"), Files.readAllLines(file));
        assertTrue(Files.readString(file).endsWith("\n"));
    }
}
