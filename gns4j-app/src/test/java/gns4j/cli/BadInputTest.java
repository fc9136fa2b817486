package gns4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input through the real command line: exit status 2, exactly one line on stderr ("gns4j: ...") that names the
 * problem, and nothing written — every file and folder under the test's temp dir (data dirs, out dirs, an earlier
 * run) is byte-for-byte what it was before the command ran.
 *
 * <p>Every case differs from {@link #baselineArgumentsTrain()} (which must succeed) in one place only, so each
 * failure is caused by the input named in the test.
 */
class BadInputTest {
    @TempDir Path tmp;
    Path data, out;

    @BeforeEach
    void setUp() throws IOException {
        data = tmp.resolve("data");
        writeTokens(data.resolve("train.bin"), bytes(400, 7));
        writeTokens(data.resolve("val.bin"), bytes(100, 11));
        writeMeta(data, 257);
        out = tmp.resolve("run");
    }

    // ---- the baseline the cases vary ------------------------------------------------------------------------------

    @Test
    void baselineArgumentsTrain() throws IOException {
        Cli r = Cli.run(train(data, out));
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(1, Files.readAllLines(out.resolve("metrics.jsonl")).size());
    }

    // ---- config ---------------------------------------------------------------------------------------------------

    @Test
    void unknownConfigKey() {
        assertRejected("lerning_rate", train(data, out, "--set", "lerning_rate=1"));
    }

    @Test
    void configFileThatNeverEnds() {
        assertRejected("config file /dev/zero is larger than 1 MiB", train(data, out, "--config", "/dev/zero"));
    }

    @Test
    void missingConfigFileIsNamedOnce() {
        assertRejected("cannot read config file nope\\.json: no such file or folder$", train(data, out, "--config", "nope.json"));
    }

    @Test
    void configFileThatIsNotText() throws IOException {
        Path binary = Files.write(tmp.resolve("binary.json"), new byte[]{'{', (byte) 0xff, '}'});
        assertRejected("binary\\.json is not UTF-8 text", train(data, out, "--config", binary.toString()));
    }

    @Test
    void configKeyGivenTwice() throws IOException {
        Path twice = Files.writeString(tmp.resolve("twice.json"), "{\"learning_rate\": 1e-3, \"learning_rate\": 1e-2}");
        assertRejected("config key learning_rate is given twice", train(data, out, "--config", twice.toString()));
    }

    @Test
    void batchTooLargeForItsRecords() {
        assertRejected("a batch of 100000000 sequences needs about [0-9,]+ MiB for its per-example records",
                train(data, out, "--set", "batch_size=100000000"));
    }

    @Test
    void tooManyThreads() {
        assertRejected("threads must be in \\[0, 4096\\]", train(data, out, "--set", "threads=40000"));
    }

    @Test
    void unwritableTensorBoardDir() {
        assertRejected("cannot write the TensorBoard event file in /proc/gns4j-tb",
                train(data, out, "--set", "tensorboard_dir=/proc/gns4j-tb"));
    }

    @Test
    void tensorBoardFileIsRemovedWhenTheOutDirIsRefused() throws IOException {
        Files.createDirectories(out);
        Files.writeString(out.resolve("mine.txt"), "mine");
        assertRejected("is not empty \\(it holds mine\\.txt\\)",
                train(data, out, "--set", "tensorboard_dir=" + tmp.resolve("tb/inner")));
    }

    @Test
    void unknownTokenizerInMeta() throws IOException {
        Files.writeString(data.resolve("meta.json"),
                "{\"tokenizer\": \"klingon\", \"vocab_size\": 257, \"train_tokens\": 0, \"val_tokens\": 0}\n");
        assertRejected("names the tokenizer 'klingon'", train(data, out));
    }

    @Test
    void unparsableConfigValue() {
        assertRejected("n_embd.*sixteen", train(data, out, "--set", "n_embd=sixteen"));
    }

    @Test
    void unparsableOptionValue() {
        assertRejected("--max-steps.*many", train(data, out, "--max-steps", "many"));
    }

    @Test
    void nEmbdNotDivisibleByNHead() {
        assertRejected("n_embd.*n_head", train(data, out, "--set", "n_embd=15"));
    }

    @Test
    void negativeMaxSteps() {
        assertRejected("max.steps.*-3", train(data, out, "--max-steps", "-3"));
        assertRejected("max.steps.*-3", train(data, out, "--set", "max_steps=-3"));
    }

    @Test
    void batchSizeNotAMultipleOfMicroBatchSize() {
        assertRejected("batch_size.*micro_batch_size", train(data, out, "--set", "micro_batch_size=2", "--set", "batch_size=3"));
        // Memory preflight: refused with the numbers before anything is allocated or written.
        assertRejected("MiB.*lower n_embd, n_layer", train(data, out, "--set", "n_layer=100000"));
        assertRejected("too large for a flat float buffer.*lower n_embd", train(data, out, "--set", "n_layer=1000000", "--set", "n_embd=64"));
        assertRejected("micro-batch of 100000 sequences needs about .* MiB.*lower micro_batch_size",
                train(data, out, "--set", "n_embd=512", "--set", "block_size=256", "--set", "micro_batch_size=100000",
                        "--set", "batch_size=100000"));
    }

    @Test
    void unknownOption() {
        assertRejected("unknown option.*--bogus", train(data, out, "--bogus"));
    }

    @Test
    void unknownSubcommand() {
        assertRejected("trian", "trian", "--data-dir", data.toString());
    }

    // ---- data -----------------------------------------------------------------------------------------------------

    @Test
    void missingDataDir() {
        assertRejected("no-such-dir", train(tmp.resolve("no-such-dir"), out));
    }

    @Test
    void dataDirWithoutTrainBin() throws IOException {
        Path d = tmp.resolve("val-only");
        writeTokens(d.resolve("val.bin"), bytes(100, 3));
        assertRejected("train.bin", train(d, out, "--set", "vocab_size=257"));
    }

    @Test
    void emptyTrainBin() throws IOException {
        Path d = tmp.resolve("zero-bytes");
        writeTokens(d.resolve("train.bin"));
        assertRejected("\\bempty\\b", train(d, out, "--set", "vocab_size=257"));
    }

    @Test
    void oddLengthTrainBin() throws IOException {
        Path d = tmp.resolve("short-by-one");
        writeTokens(d.resolve("train.bin"), bytes(400, 7));
        byte[] whole = Files.readAllBytes(d.resolve("train.bin"));
        Files.write(d.resolve("train.bin"), Arrays.copyOf(whole, whole.length - 1));
        assertRejected("truncated|odd", train(d, out, "--set", "vocab_size=257"));
    }

    @Test
    void tokenIdAtLeastVocabSizeFromConfig() throws IOException {
        Path d = tmp.resolve("raw-big-id");
        writeTokens(d.resolve("train.bin"), withId300(bytes(400, 7)));
        assertRejected("token id 300", train(d, out, "--set", "vocab_size=257"));
    }

    @Test
    void tokenIdAtLeastVocabSizeFromMeta() throws IOException {
        Path d = tmp.resolve("meta-big-id");
        writeTokens(d.resolve("train.bin"), withId300(bytes(400, 7)));
        writeMeta(d, 257);
        assertRejected("token id 300", train(d, out));
    }

    @Test
    void tokenIdAtLeastVocabSizeInValBin() throws IOException {
        Path d = tmp.resolve("val-big-id");
        writeTokens(d.resolve("train.bin"), bytes(400, 7));
        writeTokens(d.resolve("val.bin"), withId300(bytes(100, 11)));
        writeMeta(d, 257);
        assertRejected("token id 300", train(d, out, "--set", "eval_interval=1"));
    }

    @Test
    void blockSizeLargerThanData() {
        assertRejected("block_size.*larger than", train(data, out, "--set", "block_size=400"));
    }

    // ---- the run folder -------------------------------------------------------------------------------------------

    @Test
    void outDirAlreadyHoldingARun() throws IOException {
        // A plain nanoGPT folder (train.bin only) with evaluation asked for: the trainer has a notice to give about
        // the missing val.bin, which must not come out before (or instead of) the refusal.
        Path d = tmp.resolve("train-only");
        writeTokens(d.resolve("train.bin"), bytes(400, 5));
        String[] args = train(d, out, "--set", "vocab_size=257", "--set", "eval_interval=5");
        Cli first = Cli.run(args);
        assertEquals(0, first.exitCode(), first.toString());
        byte[] metrics = Files.readAllBytes(out.resolve("metrics.jsonl"));
        assertFalse(metrics.length == 0);

        assertRejected("already holds a run", args);
        assertArrayEquals(metrics, Files.readAllBytes(out.resolve("metrics.jsonl")));
    }

    @Test
    void outDirIsAFile() throws IOException {
        Files.writeString(out, "not a folder\n");
        assertRejected("is a file", train(data, out));
    }

    @Test
    void unavailableDeviceWritesNothing() {
        // Without a CUDA backend (or device) this must be refused before the run folder exists; where CUDA works
        // there is nothing to refuse, and the test says it was skipped.
        Assumptions.assumeFalse(gns4j.backend.cuda.CudaBackend.available(), "CUDA works here: nothing to refuse");
        Cli r = Cli.run(train(data, out, "--device", "cuda"));
        assertEquals(2, r.exitCode(), r.toString());
        assertOneLineNaming("cuda", r);
        assertFalse(Files.exists(out), "out dir created although the device was refused");
        Path demo = tmp.resolve("demo-cuda");
        Cli d = Cli.run("demo", "--out-dir", demo.toString(), "--set", "device=cuda");
        assertEquals(2, d.exitCode(), d.toString());
        assertOneLineNaming("cuda", d);
        assertFalse(Files.exists(demo), "the demo wrote its data although the device was refused");
    }

    // ---- other subcommands ----------------------------------------------------------------------------------------

    @Test
    void prepareWithMissingInput() {
        assertRejected("missing.txt", "prepare", "--input", tmp.resolve("missing.txt").toString(),
                "--out-dir", tmp.resolve("prepared").toString(), "--tokenizer", "byte");
    }

    @Test
    void demoWithUnknownConfigKey() {
        assertRejected("lerning_rate", "demo", "--out-dir", out.toString(), "--max-steps", "1",
                "--set", "lerning_rate=1");
    }

    @Test
    void demoIntoAFolderHoldingARun() throws IOException {
        Files.createDirectories(out);
        Files.writeString(out.resolve("metrics.jsonl"), "{\"step\":1}\n");
        assertRejected("already holds a run", "demo", "--out-dir", out.toString(), "--max-steps", "1");
    }

    @Test
    void demoIntoAFolderHoldingOtherFiles() throws IOException {
        Files.createDirectories(out);
        Files.writeString(out.resolve("notes.txt"), "mine");
        assertRejected("is not empty \\(it holds notes\\.txt\\)", "demo", "--out-dir", out.toString(), "--max-steps", "1");
    }

    @Test
    void checkExportOfAnUnknownArchitecture() {
        assertRejected("--arch must be gpt2 or llama, got mistral", "check", "export", tmp.resolve("pe").toString(),
                "--arch", "mistral");
    }

    @Test
    void benchGpuOfAnUnknownShape() {
        assertRejected("--model takes 111M or medium, got 'large'", "bench", "gpu", "--model", "large");
    }

    @Test
    void benchGpuMediumIsGpt2Only() {
        assertRejected("--model medium is a GPT-2 shape", "bench", "gpu", "--model", "medium", "--arch", "llama");
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /** A tiny valid training command (1 step) plus {@code extra}; later --set values win. */
    private static String[] train(Path dataDir, Path outDir, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data-dir", dataDir.toString(), "--out-dir", outDir.toString(),
                "--set", "max_steps=1", "--set", "n_layer=1", "--set", "n_head=2", "--set", "n_embd=16",
                "--set", "block_size=8", "--set", "micro_batch_size=2", "--set", "batch_size=2",
                "--set", "threads=1", "--set", "eval_interval=0", "--set", "eval_sequences=2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /**
     * Exit 2, one line naming the problem (the regex {@code mustName}, case-insensitive, is found in it), and the
     * temp dir exactly as it was. Data dirs are named so that no path matches a test's regex by accident.
     */
    private void assertRejected(String mustName, String... args) {
        Map<String, String> before = snapshot(tmp);
        Cli r = Cli.run(args);
        assertEquals(2, r.exitCode(), r.toString());
        assertOneLineNaming(mustName, r);
        assertEquals(before, snapshot(tmp), "files changed although the input was refused:\n" + r);
    }

    private static void assertOneLineNaming(String mustName, Cli r) {
        assertTrue(r.err().matches("gns4j: [^\\r\\n]+\\R"), "expected exactly one 'gns4j: ...' line on stderr:\n" + r);
        assertTrue(Pattern.compile(mustName, Pattern.CASE_INSENSITIVE).matcher(r.err()).find(),
                "the message should name '" + mustName + "':\n" + r);
    }

    /** Every path under {@code root}, relative, mapped to its bytes (Base64) or "dir/". */
    private static Map<String, String> snapshot(Path root) {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                String key = root.relativize(p).toString();
                m.put(key, Files.isDirectory(p) ? "dir/" : Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }

    /** n byte-level token ids (0..255), a simple repeating pattern with the given stride. */
    private static int[] bytes(int n, int stride) {
        return IntStream.range(0, n).map(i -> (i * stride) % 256).toArray();
    }

    /** The same ids with one 300 (valid uint16, but not a byte-tokenizer id) in the middle. */
    private static int[] withId300(int[] ids) {
        int[] copy = ids.clone();
        copy[copy.length / 2] = 300;
        return copy;
    }

    /** A nanoGPT .bin: flat little-endian uint16. */
    static void writeTokens(Path file, int... ids) throws IOException {
        Files.createDirectories(file.getParent());
        ByteBuffer b = ByteBuffer.allocate(2 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int id : ids) b.putShort((short) id);
        Files.write(file, b.array());
    }

    private static void writeMeta(Path dir, int vocab) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("meta.json"),
                "{\"tokenizer\": \"byte\", \"vocab_size\": " + vocab + ", \"train_tokens\": 0, \"val_tokens\": 0}\n");
    }
}
