package gns4j.train;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The key list of help train, README.md and docs/config.md comes from ConfigKeys and cannot drift from TrainConfig. */
class ConfigKeysTest {

    @Test
    void everyKeyHasOneMeaningAndNoMeaningOutlivesItsKey() {
        for (String key : TrainConfig.keys()) {
            String meaning = ConfigKeys.meaning(key);
            assertTrue(meaning != null && !meaning.isBlank(), "no meaning for config key " + key);
            assertFalse(meaning.contains("\n") || meaning.contains("|"), key + ": one line, no table separator");
        }
        assertEquals(new HashSet<>(TrainConfig.keys()), ConfigKeys.described(), "meanings of keys TrainConfig lacks");
    }

    @Test
    void helpHasOneLinePerKeyWithItsDefault() {
        List<String> lines = ConfigKeys.helpLines();
        assertEquals(TrainConfig.keys().size() + 1, lines.size());   // a header, then the keys in order
        for (int i = 0; i < TrainConfig.keys().size(); i++) {
            String key = TrainConfig.keys().get(i);
            assertTrue(lines.get(i + 1).matches("\\s+" + key + "\\s+" + Pattern.quote(
                    TrainConfig.defaultValue(key)) + "\\s+.+"), lines.get(i + 1));
        }
    }

    @Test
    void docsConfigTableIsTheGeneratedOne() throws IOException {
        String doc = Files.readString(Path.of("docs/config.md"));
        assertTrue(doc.contains(ConfigKeys.markdownTable()),
                "docs/config.md must hold this table (regenerate it):\n" + ConfigKeys.markdownTable());
    }

    @Test
    void readmeTableRowsAreGeneratedRows() throws IOException {
        List<String> rows = Files.readAllLines(Path.of("README.md")).stream()
                .filter(l -> l.matches("\\| `[a-z0-9_]+` \\| .*")).toList();
        int keyRows = 0;
        for (String row : rows) {
            String key = row.substring(3, row.indexOf('`', 3));
            if (!TrainConfig.keys().contains(key)) continue;   // rows of other tables (none today) name no config key
            assertEquals(ConfigKeys.markdownRow(key), row, "README row of " + key);
            keyRows++;
        }
        assertTrue(keyRows >= 10, "README's config table has " + keyRows + " key rows");
    }
}
