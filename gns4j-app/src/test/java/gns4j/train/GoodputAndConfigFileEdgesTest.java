package gns4j.train;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The goodput policy's need for a choice of batches, at its edge, and a config file's duplicate keys, lenient syntax
 * and size limit. Defaults: batch_size 8, batch_multiple 8.
 */
class GoodputAndConfigFileEdgesTest {
    @TempDir Path tmp;

    static final List<String> GOODPUT = List.of("batch_schedule=adaptive", "adaptive_policy=goodput", "max_tokens=100000");

    static TrainConfig load(String... overrides) {
        List<String> all = new java.util.ArrayList<>(GOODPUT);
        all.addAll(List.of(overrides));
        return TrainConfig.load(null, all);
    }

    static void refusedWithoutAChoice(String... overrides) {
        UserError e = assertThrows(UserError.class, () -> load(overrides), String.join(" ", overrides));
        assertTrue(e.getMessage().contains("batch_size") && e.getMessage().contains("must exceed batch_size_min with adaptive_policy=goodput"),
                e.getMessage());
    }

    @Test
    void goodputNeedsABatchAboveTheSmallest() {
        refusedWithoutAChoice("batch_size=8");                                  // batch_size_min 0: one batch_multiple, 8
        assertEquals(16, load("batch_size=16").batch().batchSize());
        refusedWithoutAChoice("batch_multiple=4", "batch_size_min=8", "batch_size_start=8", "batch_size=8");   // the minimum set, not the multiple
        assertEquals(12, load("batch_multiple=4", "batch_size_min=8", "batch_size_start=8", "batch_size=12").batch().batchSize());
        // The other policy and the fixed schedule need no choice.
        assertDoesNotThrow(() -> TrainConfig.load(null, List.of("batch_schedule=adaptive", "max_tokens=100000", "batch_size=8")));
        assertDoesNotThrow(() -> TrainConfig.load(null, List.of("batch_size=8")));
    }

    Path file(String text) throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void aKeyGivenTwiceIsRefused() throws IOException {
        Path f = file("{\"seed\": 3, \"learning_rate\": 0.001, \"seed\": 4}");
        UserError e = assertThrows(UserError.class, () -> TrainConfig.load(f, List.of()));
        assertEquals("config key seed is given twice in " + f + "; keep one of them", e.getMessage());
    }

    @Test
    void theLenientSyntaxTheParserTakesIsCheckedForDuplicatesToo() throws IOException {
        Path f = file("{seed: 3, // a comment\n 'learning_rate': 0.001}");
        TrainConfig c = TrainConfig.load(f, List.of());
        assertEquals(3, c.run().seed());
        assertEquals(0.001, c.optimizer().learningRate());
    }

    @Test
    void aFileOfExactlyTheLimitIsRead() throws IOException {
        String json = "{\"seed\": 5}";
        Path f = file(json + " ".repeat(ConfigText.MAX_FILE_BYTES - json.length()));
        assertEquals(ConfigText.MAX_FILE_BYTES, Files.size(f));
        assertEquals(5, TrainConfig.load(f, List.of()).run().seed());
        Files.writeString(f, " ", java.nio.file.StandardOpenOption.APPEND);
        assertThrows(UserError.class, () -> TrainConfig.load(f, List.of()));
    }
}
