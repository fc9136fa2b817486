package gns4j.data;

import gns4j.IoErrors;
import gns4j.Folders;
import gns4j.UserError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Tokenizes text inputs into nanoGPT's format: {@code train.bin} and {@code val.bin} hold flat little-endian uint16
 * token ids, every document (or piece of one) followed by the tokenizer's end-of-text id; {@code meta.json} records
 * the tokenizer and counts.
 *
 * <p>Split: so that validation covers every source, each document of at least {@link #MIN_SPLIT_TOKENS} tokens
 * gives its trailing ceil(valFraction × length) tokens to val and the rest to train (both pieces end with the
 * separator). Shorter documents are not cut: a whole one goes to val when that keeps its source's val share of
 * tokens within valFraction, else to train, so sources made of many short documents (e.g. jsonl) still get val.
 */
public final class DatasetPreparer {
    public static final String TRAIN_FILE = "train.bin";
    public static final String VAL_FILE = "val.bin";
    public static final String META_FILE = "meta.json";
    public static final double DEFAULT_VAL_FRACTION = 0.05;
    static final int MIN_SPLIT_TOKENS = 20;

    /** Called after every document with running totals (tokens counts separators, train and val together). */
    @FunctionalInterface
    public interface Progress {
        void update(long documents, long tokens);
    }

    public record Summary(long documents, long trainTokens, long valTokens) {}

    /** Per-source entry of meta.json. */
    private static final class SourceStats {
        final String path;
        long documents, trainTokens, valTokens;

        SourceStats(String path) { this.path = path; }
    }

    private record MetaFile(String tokenizer, int vocabSize, double valFraction, long documents,
                            long trainTokens, long valTokens, List<SourceStats> sources) {}

    private DatasetPreparer() {}

    /** Prepares {@code outDir} from files and folders; refuses to replace an existing train.bin unless asked. */
    public static Summary prepare(List<Path> inputs, Path outDir, Tokenizer tok, double valFraction,
                                  boolean overwrite, Progress progress) {
        List<Path> files = TextSources.files(inputs); // fail on bad paths before writing anything
        return prepare(sink -> files.forEach(f -> TextSources.read(f, sink)), outDir, tok, valFraction,
                overwrite, progress);
    }

    /** Prepares {@code outDir} from whatever documents {@code documents} pushes into the sink it is given. */
    static Summary prepare(Consumer<TextSources.Sink> documents, Path outDir, Tokenizer tok, double valFraction,
                           boolean overwrite, Progress progress) {
        if (!(valFraction >= 0 && valFraction <= 0.5))
            throw new UserError("val fraction must be in [0, 0.5], got " + valFraction);
        if (tok.vocabSize() > 65536)
            throw new UserError("tokenizer " + tok.name() + " has " + tok.vocabSize()
                    + " tokens; the .bin format stores uint16 ids (at most 65536)");
        Path trainPath = outDir.resolve(TRAIN_FILE);
        if (Files.exists(trainPath) && !overwrite)
            throw new UserError(trainPath + " already exists (use --force to overwrite)");
        var temps = new ArrayList<Path>();
        Folders.Created created = Folders.Created.before(outDir);
        boolean done = false;
        try {
            Files.createDirectories(outDir);
            Path trainTmp = temp(outDir, TRAIN_FILE, temps), valTmp = temp(outDir, VAL_FILE, temps);
            Path metaTmp = temp(outDir, META_FILE, temps);
            Map<String, SourceStats> sources = new LinkedHashMap<>();
            long[] docs = {0};
            long trainTokens, valTokens;
            try (var train = new TokenWriter(trainTmp); var val = new TokenWriter(valTmp)) {
                documents.accept((source, text) -> {
                    int[] ids = tok.encode(text);
                    if (ids.length == 0) return;
                    SourceStats s = sources.computeIfAbsent(source, SourceStats::new);
                    split(ids, tok.endOfText(), valFraction, s, train, val);
                    s.documents++;
                    progress.update(++docs[0], train.count + val.count);
                });
                trainTokens = train.count;
                valTokens = val.count;
            }
            if (docs[0] == 0) throw new UserError("no documents found: all inputs are empty");
            var meta = new MetaFile(tok.name(), tok.vocabSize(), valFraction, docs[0], trainTokens, valTokens,
                    List.copyOf(sources.values()));
            Files.writeString(metaTmp, DataMeta.JSON.toJson(meta) + "\n", StandardCharsets.UTF_8);
            // train.bin goes last: its presence marks a complete dataset.
            move(valTmp, outDir.resolve(VAL_FILE));
            move(metaTmp, outDir.resolve(META_FILE));
            move(trainTmp, trainPath);
            done = true;
            return new Summary(docs[0], trainTokens, valTokens);
        } catch (IOException e) {
            throw new UserError("cannot write dataset to " + outDir + ": " + IoErrors.reason(e), e);
        } catch (UncheckedIOException e) {
            throw new UserError("cannot write dataset to " + outDir + ": " + IoErrors.reason(e.getCause()), e);
        } finally {
            if (!done) created.undo(temps); // the temporary files and the folders this prepare made
        }
    }

    private static void split(int[] ids, int eot, double valFraction, SourceStats s, TokenWriter train,
                              TokenWriter val) {
        int n = ids.length;
        if (n >= MIN_SPLIT_TOKENS) {
            int k = (int) Math.ceil(valFraction * n);
            s.trainTokens += train.write(ids, 0, n - k, eot);
            if (k > 0) s.valTokens += val.write(ids, n - k, n, eot);
        } else if (s.valTokens + n + 1 <= valFraction * (s.trainTokens + s.valTokens + n + 1)) {
            s.valTokens += val.write(ids, 0, n, eot);
        } else {
            s.trainTokens += train.write(ids, 0, n, eot);
        }
    }

    /** A per-process temp name beside the target (createTempFile would make the final files owner-only). */
    private static Path temp(Path dir, String name, List<Path> temps) {
        Path p = dir.resolve("." + name + "." + ProcessHandle.current().pid() + ".tmp");
        temps.add(p);
        return p;
    }

    private static void move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Buffered little-endian uint16 writer that counts tokens. */
    private static final class TokenWriter implements AutoCloseable {
        private final FileChannel channel;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        long count;

        TokenWriter(Path file) throws IOException {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
        }

        /** Writes ids[from, to) then the separator; returns the number of tokens written. */
        int write(int[] ids, int from, int to, int eot) {
            for (int i = from; i < to; i++) put(ids[i]);
            put(eot);
            count += to - from + 1;
            return to - from + 1;
        }

        private void put(int id) {
            if (!buf.hasRemaining()) flush();
            buf.putShort((short) id);
        }

        private void flush() {
            try {
                buf.flip();
                while (buf.hasRemaining()) channel.write(buf);
                buf.clear();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override public void close() throws IOException {
            try (channel) {
                flush();
            }
        }
    }
}
