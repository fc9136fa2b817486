package gns4j.data;

import static org.junit.jupiter.api.Assertions.*;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.UserError;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

class DatasetPreparerTest {
    private static final ByteTokenizer BYTES = new ByteTokenizer();
    @TempDir Path tmp;

    /** Documents in the order prepare must read them (sorted paths, jsonl lines in order). */
    private List<String> writeCorpus(Path in) throws IOException {
        var docs = List.of(
                "Alpha document from a plain text file.\nSecond line of alpha.",
                "Beta document, gzip compressed, with a few more words in it.",
                "Gamma document, xz compressed: ünïcödé survives the round trip.",
                "Delta is the first jsonl line, long enough to be split in two.",
                "Epsilon is the second jsonl line\twith \"quotes\" and escapes.",
                "Zeta lives in a sub folder as plain text, also long enough.");
        Files.createDirectories(in.resolve("sub"));
        Files.writeString(in.resolve("a.txt"), docs.get(0));
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(in.resolve("b.txt.gz")))) {
            out.write(docs.get(1).getBytes(StandardCharsets.UTF_8));
        }
        try (OutputStream out = new XZOutputStream(Files.newOutputStream(in.resolve("c.txt.xz")), new LZMA2Options())) {
            out.write(docs.get(2).getBytes(StandardCharsets.UTF_8));
        }
        var line3 = new JsonObject();
        line3.addProperty("text", docs.get(3));
        line3.addProperty("id", 7);
        var line4 = new JsonObject();
        line4.addProperty("text", docs.get(4));
        Files.writeString(in.resolve("d.jsonl"), line3 + "\n\n" + line4 + "\n");
        Files.writeString(in.resolve("notes.md"), "skipped: unsupported extension inside a folder");
        Files.writeString(in.resolve("sub/e.txt"), docs.get(5));
        return docs;
    }

    static int[] readBin(Path file) throws IOException {
        var buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        int[] ids = new int[buf.remaining()];
        for (int i = 0; i < ids.length; i++) ids[i] = Short.toUnsignedInt(buf.get(i));
        return ids;
    }

    /** Splits a token stream at separators; each piece must end with one. */
    private static List<String> pieces(int[] ids, Tokenizer tok) {
        var out = new ArrayList<String>();
        int start = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == tok.endOfText()) {
                out.add(tok.decode(ids, start, i));
                start = i + 1;
            }
        }
        assertEquals(ids.length, start, "stream must end with a separator");
        return out;
    }

    @Test
    void preparesAllFormatsWithEveryDocumentInTrainAndVal() throws IOException {
        Path in = tmp.resolve("in"), out = tmp.resolve("out");
        List<String> docs = writeCorpus(in);
        long[] lastProgress = new long[2];
        var summary = DatasetPreparer.prepare(List.of(in), out, BYTES, 0.1, false, (d, t) -> {
            lastProgress[0] = d;
            lastProgress[1] = t;
        });

        int[] train = readBin(out.resolve("train.bin")), val = readBin(out.resolve("val.bin"));
        List<String> trainPieces = pieces(train, BYTES), valPieces = pieces(val, BYTES);
        assertEquals(docs.size(), trainPieces.size());
        assertEquals(docs.size(), valPieces.size(), "every document (all >= 20 tokens) gives val a tail");
        for (int i = 0; i < docs.size(); i++) {
            assertEquals(docs.get(i), trainPieces.get(i) + valPieces.get(i));
            int len = BYTES.encode(docs.get(i)).length;
            assertEquals((int) Math.ceil(0.1 * len), BYTES.encode(valPieces.get(i)).length);
        }

        JsonObject meta = JsonParser.parseString(Files.readString(out.resolve("meta.json"))).getAsJsonObject();
        assertEquals("byte", meta.get("tokenizer").getAsString());
        assertEquals(257, meta.get("vocab_size").getAsInt());
        assertEquals(train.length, meta.get("train_tokens").getAsLong());
        assertEquals(val.length, meta.get("val_tokens").getAsLong());
        assertEquals(docs.size(), meta.get("documents").getAsLong());
        assertEquals(5, meta.getAsJsonArray("sources").size(), "one entry per file; notes.md skipped");
        assertEquals(new DatasetPreparer.Summary(docs.size(), train.length, val.length), summary);
        assertArrayEquals(new long[] {docs.size(), train.length + val.length}, lastProgress);
        assertEquals(new DataMeta("byte", 257, train.length, val.length), TokenDataset.readMeta(out));
        try (var stream = Files.list(out)) {
            assertEquals(3, stream.count(), "only train.bin, val.bin, meta.json; no temp files left");
        }
    }

    @Test
    void shortDocumentsGoWholeToValAtTheValRate() throws IOException {
        var lines = new StringBuilder();
        for (int i = 0; i < 200; i++) lines.append("{\"text\": \"doc ").append(i).append("\"}\n");
        Path file = Files.writeString(tmp.resolve("short.jsonl"), lines);
        var s = DatasetPreparer.prepare(List.of(file), tmp.resolve("out"), BYTES, 0.05, false, (d, t) -> {});
        assertEquals(200, s.documents());
        List<String> val = pieces(readBin(tmp.resolve("out/val.bin")), BYTES);
        List<String> train = pieces(readBin(tmp.resolve("out/train.bin")), BYTES);
        assertEquals(200, val.size() + train.size(), "short documents are never cut");
        double share = (double) s.valTokens() / (s.trainTokens() + s.valTokens());
        assertTrue(share > 0.03 && share <= 0.05, "val share " + share);
        for (String d : val) assertTrue(d.matches("doc \\d+"), d);
    }

    @Test
    void refusesToOverwriteUnlessAsked() throws IOException {
        Path file = Files.writeString(tmp.resolve("a.txt"), "some text that is long enough to be split up.");
        Path out = tmp.resolve("out");
        DatasetPreparer.prepare(List.of(file), out, BYTES, 0.05, false, (d, t) -> {});
        var e = assertThrows(UserError.class,
                () -> DatasetPreparer.prepare(List.of(file), out, BYTES, 0.05, false, (d, t) -> {}));
        assertTrue(e.getMessage().contains("already exists") && e.getMessage().contains("--force"), e.getMessage());
        Files.writeString(file, "different text, also long enough to be split in two.");
        DatasetPreparer.prepare(List.of(file), out, BYTES, 0.05, true, (d, t) -> {});
        assertTrue(pieces(readBin(out.resolve("train.bin")), BYTES).getFirst().startsWith("different"));
    }

    @Test
    void badJsonlLineFailsNamingFileAndLineAndLeavesNothing() throws IOException {
        Path file = Files.writeString(tmp.resolve("x.jsonl"), "{\"text\": \"fine\"}\n{\"body\": \"no text\"}\n");
        Path out = tmp.resolve("out");
        var e = assertThrows(UserError.class,
                () -> DatasetPreparer.prepare(List.of(file), out, BYTES, 0.05, false, (d, t) -> {}));
        assertTrue(e.getMessage().contains("x.jsonl:2") && e.getMessage().contains("\"text\""), e.getMessage());
        assertFalse(Files.exists(out), "no output folder left behind");
        Files.writeString(file, "{\"text\": \"fine\"}\nnot json\n");
        e = assertThrows(UserError.class,
                () -> DatasetPreparer.prepare(List.of(file), out, BYTES, 0.05, false, (d, t) -> {}));
        assertTrue(e.getMessage().contains("x.jsonl:2: invalid JSON"), e.getMessage());
    }

    @Test
    void truncatedCompressedInputSaysSoAndLeavesNoFolder() throws IOException {
        Path in = tmp.resolve("in");
        Files.createDirectories(in);
        writeCorpus(in);
        for (String name : List.of("b.txt.gz", "c.txt.xz")) {
            Path whole = in.resolve(name);
            byte[] bytes = Files.readAllBytes(whole);
            Path cut = Files.write(tmp.resolve("cut-" + name), java.util.Arrays.copyOf(bytes, bytes.length - 12));
            Path out = tmp.resolve("new").resolve("data");
            var e = assertThrows(UserError.class,
                    () -> DatasetPreparer.prepare(List.of(cut), out, BYTES, 0.05, false, (d, t) -> {}));
            assertEquals("cannot read " + cut + ": it ends early (truncated or not fully downloaded?)", e.getMessage());
            assertFalse(Files.exists(out.getParent()), "the folders prepare made are removed again");
        }
    }

    @Test
    void inputProblemsAreUserErrors() throws IOException {
        Path out = tmp.resolve("out");
        Path md = Files.writeString(tmp.resolve("readme.md"), "text");
        Path emptyTxt = Files.writeString(tmp.resolve("empty.txt"), "");
        Path noTextDir = Files.createDirectories(tmp.resolve("nothing"));
        Files.writeString(noTextDir.resolve("data.csv"), "a,b");
        assertUserError("input not found", List.of(tmp.resolve("missing.txt")), out);
        assertUserError("unsupported input file", List.of(md), out);
        assertUserError("no input files", List.of(noTextDir), out);
        assertUserError("no documents found", List.of(emptyTxt), out);
        var e = assertThrows(UserError.class, () -> DatasetPreparer.prepare(List.of(emptyTxt), out, BYTES, 0.9,
                false, (d, t) -> {}));
        assertTrue(e.getMessage().contains("val fraction"), e.getMessage());
    }

    private static void assertUserError(String expected, List<Path> inputs, Path out) {
        var e = assertThrows(UserError.class,
                () -> DatasetPreparer.prepare(inputs, out, BYTES, 0.05, false, (d, t) -> {}));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void readMetaIsNullWithoutMetaJson() {
        assertNull(TokenDataset.readMeta(tmp));
    }

    /** Uses the shared corpus next to the project when present; the project itself never reads it. */
    @Test
    void sharedJargonFilePreparesWithGpt2() throws IOException {
        Path jargon = Path.of("../shared/data/jargon.txt.xz");
        Assumptions.assumeTrue(Files.isRegularFile(jargon), "no " + jargon.toAbsolutePath());
        var tok = new Gpt2Tokenizer();
        var summary = DatasetPreparer.prepare(List.of(jargon), tmp, tok, 0.05, false, (d, t) -> {});
        int[] train = readBin(tmp.resolve("train.bin"));
        assertEquals(summary.trainTokens(), train.length);
        assertEquals(tok.endOfText(), train[train.length - 1]);
        assertTrue(tok.decode(train, 0, 20_000).contains("hacker"));
    }
}
