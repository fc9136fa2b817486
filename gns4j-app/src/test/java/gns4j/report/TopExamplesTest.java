package gns4j.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import gns4j.checkpoint.RunInfo;
import gns4j.data.DatasetPreparer;
import gns4j.data.Tokenizers;
import gns4j.measure.Snippet;
import gns4j.train.TestRuns;
import gns4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report's table of the highest- and lowest-norm examples of a run's pe_examples, with and without text. */
class TopExamplesTest {
    @TempDir Path tmp;

    /** A logged example as the test reads it from metrics.jsonl. */
    record Logged(long step, long offset, double total, double ln) {}

    @Test
    void trainedRunShowsTopTablesWithTextAndWithoutWhenTheDataIsGone() throws IOException {
        Path data = TestRuns.demoData(tmp.resolve("data"));
        Path run = tmp.resolve("run");
        // 8 steps, every second one logged: 4 × 8 = 32 examples, so both tables hold 10 distinct rows
        new Trainer(TestRuns.tiny("max_steps=8", "pe_log_interval=2", "eval_interval=0"), data, run, TestRuns.QUIET).run();
        List<Logged> logged = new ArrayList<>();
        for (JsonObject r : TestRuns.metrics(run)) {
            if (!r.has("pe_examples")) continue;
            for (JsonElement e : r.getAsJsonArray("pe_examples")) {
                JsonObject o = e.getAsJsonObject();
                logged.add(new Logged(r.get("step").getAsLong(), o.get("offset").getAsLong(),
                        o.get("norm_total").getAsDouble(), o.get("norm_ln").getAsDouble()));
            }
        }
        assertEquals(32, logged.size());
        List<Logged> byNorm = logged.stream().sorted(Comparator.comparingDouble(Logged::total)).toList();
        byte[] train = Files.readAllBytes(data.resolve(DatasetPreparer.TRAIN_FILE));

        String html = Files.readString(ReportWriter.writeForRun(run)); // the report the train command writes
        List<List<String>> high = rows(html, "highest"), low = rows(html, "lowest");
        assertEquals(10, high.size());
        assertEquals(10, low.size());
        for (int i = 0; i < 10; i++) {
            check(high.get(i), byNorm.get(byNorm.size() - 1 - i), i, train);
            check(low.get(i), byNorm.get(i), i, train);
        }
        assertTrue(html.contains("<th>text</th>"));
        assertFalse(html.contains("shown without text"));

        // the data dir deleted: same rows, no text column, and the notes say why
        try (Stream<Path> files = Files.walk(data)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
        html = Files.readString(ReportWriter.writeForRun(run));
        List<List<String>> bare = rows(html, "highest");
        assertEquals(10, bare.size());
        for (int i = 0; i < 10; i++) {
            assertEquals(5, bare.get(i).size(), "no text cell: " + bare.get(i));
            assertEquals(high.get(i).subList(0, 5), bare.get(i));
        }
        assertFalse(html.contains("<th>text</th>"));
        Matcher notes = Pattern.compile("<section class=\"notes\">(.*?)</section>", Pattern.DOTALL).matcher(html);
        assertTrue(notes.find(), "a notes box");
        assertTrue(text(notes.group(1)).contains("top-K examples shown without text: data dir " + data + " not found"),
                notes.group(1));
    }

    private static void check(List<String> row, Logged e, int rank, byte[] train) {
        assertEquals(6, row.size(), row.toString());
        assertEquals(String.valueOf(rank + 1), row.get(0));
        assertEquals(String.valueOf(e.step()), row.get(1), "rank " + (rank + 1) + ": " + row);
        assertEquals(String.valueOf(e.offset()), row.get(2), "rank " + (rank + 1) + ": " + row);
        assertEquals(Fmt.num(e.total()), row.get(3));
        assertEquals(Fmt.num(e.ln()), row.get(4));
        // block_size (16) tokens from the offset, read straight from the file's little-endian uint16 ids
        ByteBuffer b = ByteBuffer.wrap(train).order(ByteOrder.LITTLE_ENDIAN);
        int[] ids = new int[16];
        for (int t = 0; t < 16; t++) ids[t] = Short.toUnsignedInt(b.getShort((int) (2 * (e.offset() + t))));
        String expected = Snippet.printable(Tokenizers.byName("byte").decode(ids, 0, 16), TopExamples.SNIPPET_CHARS);
        assertFalse(expected.isEmpty());
        assertEquals(expected, row.get(5), "rank " + (rank + 1));
    }

    @Test
    void snippetsAreEscapedAndRunsWithoutExamplesSayso() throws IOException {
        Path text = tmp.resolve("doc.txt");
        Files.writeString(text, "<script>alert('x')</script> & \"quotes\" then plain text for the rest of the file.");
        Path data = tmp.resolve("data");
        DatasetPreparer.prepare(List.of(text), data, Tokenizers.byName("byte"), 0, false, (d, t) -> {});
        Path run = Files.createDirectories(tmp.resolve("hand"));
        Files.writeString(run.resolve("config.json"), "{\"block_size\": 16}");
        new RunInfo(data.toString(), "byte", null, null).write(run);
        Files.writeString(run.resolve("metrics.jsonl"), """
                {"step":1,"tokens":16,"loss":3,"pe_examples":[{"offset":0,"norm_total":2.5,"norm_ln":0.5},\
                {"offset":"x","norm_total":9,"norm_ln":1},{"offset":30,"norm_total":null,"norm_ln":null}]}
                {"step":2,"tokens":32,"loss":2.9}
                """);
        String html = Files.readString(ReportWriter.writeForRun(run));
        List<List<String>> rows = rows(html, "highest");
        assertEquals(1, rows.size(), "the bad offset and the example without norms are not ranked");
        assertEquals("<script>alert('x", rows.getFirst().get(5)); // block_size = 16 bytes
        assertFalse(html.contains("<script>alert"), "snippet text is escaped");
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x</td>"));
        assertTrue(html.contains("non-numeric values ignored: pe_examples.offset ×1"));

        Path none = SyntheticRun.write(tmp.resolve("plain"), 5, 1);
        html = Files.readString(ReportWriter.writeForRun(none));
        assertFalse(html.contains("data-topk"));
        assertTrue(html.contains("No per-example records (pe_examples) in this run"));
        assertNotNull(html);
    }

    /** The cells (as text) of each body row of the report's top-K table of the given kind. */
    static List<List<String>> rows(String html, String kind) {
        Matcher t = Pattern.compile("<table class=\"topk-table\" data-topk=\"" + kind + "\">(.*?)</table>", Pattern.DOTALL)
                .matcher(html);
        assertTrue(t.find(), "no " + kind + " table");
        Matcher body = Pattern.compile("<tbody>(.*?)</tbody>", Pattern.DOTALL).matcher(t.group(1));
        assertTrue(body.find());
        List<List<String>> out = new ArrayList<>();
        Matcher tr = Pattern.compile("<tr>(.*?)</tr>", Pattern.DOTALL).matcher(body.group(1));
        while (tr.find()) {
            List<String> cells = new ArrayList<>();
            Matcher td = Pattern.compile("<td[^>]*>(.*?)</td>", Pattern.DOTALL).matcher(tr.group(1));
            while (td.find()) cells.add(text(td.group(1)));
            out.add(cells);
        }
        return out;
    }

    /** HTML to text: tags dropped, the entities Fmt.esc writes decoded. */
    static String text(String html) {
        return html.replaceAll("<[^>]*>", "").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
                .replace("&#39;", "'").replace("&amp;", "&");
    }
}
