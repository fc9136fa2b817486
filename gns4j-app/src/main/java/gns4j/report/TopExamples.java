package gns4j.report;

import gns4j.checkpoint.RunInfo;
import gns4j.data.DataMeta;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import gns4j.data.Tokenizer;
import gns4j.data.Tokenizers;
import gns4j.measure.Snippet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The K highest- and lowest-norm examples among a run's {@code pe_examples}, each with a decoded text snippet of its
 * window when the run's data is still at hand: run.json names the data dir, its meta.json the tokenizer, config.json
 * the block size, and the window is block_size tokens of train.bin from the example's offset.
 *
 * @param rankedBy   "total" (all parameters) or "LN" (normalization layers), the norm the examples are ranked by
 * @param examples   how many examples with that norm the run logged
 * @param highest    up to K examples, largest norm first
 * @param lowest     up to K examples, smallest norm first
 * @param snippets   whether the rows carry text
 * @param note       why there is no text (null when there is), for the page's notes
 */
public record TopExamples(String rankedBy, int examples, List<Row> highest, List<Row> lowest, boolean snippets,
                          String note) {
    /** Rows show at most this many characters of a window. */
    static final int SNIPPET_CHARS = 240;

    /** One example and its text (null without snippets). */
    public record Row(PeExample example, String snippet) {}

    /** The top-K of {@code run}, or null when it logged no examples with a finite norm. */
    public static TopExamples of(Run run, int k) {
        List<PeExample> all = run.steps().stream().flatMap(r -> r.peExamples().stream()
                .map(e -> new PeExample(r.step(), e.offset(), e.normTotal(), e.normLn()))).toList();
        String rankedBy = "total";
        ToDoubleFunction<PeExample> norm = PeExample::normTotal;
        if (all.stream().noneMatch(e -> Double.isFinite(e.normTotal()))) {
            rankedBy = "LN";
            norm = PeExample::normLn;
        }
        ToDoubleFunction<PeExample> by = norm;
        List<PeExample> ranked = all.stream().filter(e -> Double.isFinite(by.applyAsDouble(e))).toList();
        if (ranked.isEmpty()) return null;
        // ties in a fixed order (earlier step, then smaller offset) so the same run always gives the same table
        Comparator<PeExample> ascending = Comparator.comparingDouble(by).thenComparingLong(PeExample::step)
                .thenComparingLong(PeExample::offset);
        List<PeExample> lowest = ranked.stream().sorted(ascending).limit(k).toList();
        List<PeExample> highest = ranked.stream().sorted(Comparator.comparingDouble(by).reversed()
                .thenComparingLong(PeExample::step).thenComparingLong(PeExample::offset)).limit(k).toList();

        Text text = Text.open(run);
        try {
            return new TopExamples(rankedBy, ranked.size(), text.rows(highest), text.rows(lowest), text.data != null,
                    text.reason == null ? null : "top-K examples shown without text: " + text.reason);
        } finally {
            text.close();
        }
    }

    /** The decoder of a run's windows, or why there is none. */
    private static final class Text implements AutoCloseable {
        TokenDataset data;
        Tokenizer tokenizer;
        int blockSize;
        String reason;

        static Text open(Run run) {
            Text t = new Text();
            try {
                t.reason = t.tryOpen(run);
            } catch (RuntimeException e) { // UserError and anything else: the report still renders
                t.close();
                t.reason = String.valueOf(e.getMessage());
            }
            if (t.reason != null) t.close();
            return t;
        }

        private String tryOpen(Run run) {
            if (!Files.isRegularFile(run.dir().resolve(RunInfo.FILE)))
                return "the run folder has no " + RunInfo.FILE + " naming its data dir";
            RunInfo info = RunInfo.read(run.dir());
            Path dir = Path.of(info.dataDir());
            if (!Files.isDirectory(dir)) return "data dir " + dir + " not found";
            Path train = dir.resolve(DatasetPreparer.TRAIN_FILE);
            if (!Files.isRegularFile(train)) return train + " not found";
            DataMeta meta = TokenDataset.readMeta(dir);
            String name = meta != null ? meta.tokenizer() : info.tokenizer();
            if (name == null) return "no tokenizer recorded (no meta.json in " + dir + ")";
            tokenizer = Tokenizers.byName(name);
            String bs = run.config().get("block_size");
            try {
                blockSize = bs == null ? 0 : Integer.parseInt(bs);
            } catch (NumberFormatException e) {
                blockSize = 0;
            }
            if (blockSize < 1) return "config.json gives no block_size";
            data = TokenDataset.open(train, 65536, 1); // 65536: no scan of every id; Snippet handles unknown ones
            return null;
        }

        List<Row> rows(List<PeExample> examples) {
            List<Row> out = new ArrayList<>();
            for (PeExample e : examples) {
                String s = null;
                if (data != null) {
                    s = e.offset() >= data.numTokens()
                            ? "(offset beyond the end of train.bin: was the data prepared again?)"
                            : Snippet.of(data, e.offset(), blockSize, tokenizer, SNIPPET_CHARS);
                }
                out.add(new Row(e, s));
            }
            return List.copyOf(out);
        }

        @Override
        public void close() {
            if (data != null) data.close();
            data = null;
        }
    }
}
