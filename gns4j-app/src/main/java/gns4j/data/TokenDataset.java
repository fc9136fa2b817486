package gns4j.data;

import com.google.gson.JsonParseException;
import gns4j.IoErrors;
import gns4j.JsonFiles;
import gns4j.UserError;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.random.RandomGenerator;

/**
 * One memory-mapped nanoGPT {@code .bin} file (flat little-endian uint16 token ids), validated once at open so
 * training never meets a bad id mid-run. Thread-safe for reads; {@link #close()} unmaps it.
 */
public final class TokenDataset implements AutoCloseable {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena;
    private final MemorySegment data;
    private final long numTokens;

    private TokenDataset(Arena arena, MemorySegment data) {
        this.arena = arena;
        this.data = data;
        this.numTokens = data.byteSize() / 2;
    }

    /** Maps {@code file}, requiring at least blockSize+1 tokens and every id below vocabSize. */
    public static TokenDataset open(Path file, int vocabSize, int blockSize) {
        long bytes;
        try {
            bytes = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new UserError("data file not found: " + file);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (bytes == 0) throw new UserError(file + " is empty");
        if (bytes % 2 != 0) throw new UserError(file + " is corrupted or truncated: odd number of bytes (" + bytes + ")");
        long tokens = bytes / 2;
        if (tokens < blockSize + 1L)
            throw new UserError("block_size " + blockSize + " larger than data: " + file + " has " + tokens
                    + " tokens, needs at least block_size+1");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file)) {
            var ds = new TokenDataset(arena, ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes, arena));
            ds.checkIds(file, vocabSize);
            return ds;
        } catch (IOException | RuntimeException e) {
            arena.close();
            if (e instanceof UserError u) throw u;
            throw new UserError("cannot map " + file + ": " + e.getMessage(), e);
        }
    }

    private void checkIds(Path file, int vocabSize) {
        if (vocabSize >= 65536) return; // every uint16 fits
        for (long i = 0; i < numTokens; i++) {
            int id = token(i);
            if (id >= vocabSize)
                throw new UserError(file + ": token id " + id + " at position " + i + " >= vocab_size " + vocabSize
                        + " (prepared with another tokenizer?)");
        }
    }

    /**
     * Reads {@code dataDir/meta.json}, or returns null when there is none (plain nanoGPT .bin files carry no meta;
     * the model's vocab_size then comes from its config).
     */
    public static DataMeta readMeta(Path dataDir) {
        Path file = dataDir.resolve(DatasetPreparer.META_FILE);
        if (!Files.exists(file)) return null;
        DataMeta meta;
        try {
            meta = DataMeta.JSON.fromJson(Files.readString(file, StandardCharsets.UTF_8), DataMeta.class);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        } catch (JsonParseException e) {
            throw new UserError(file + " is not a valid meta.json" + JsonFiles.describe(e), e);
        }
        if (meta == null || meta.tokenizer() == null || meta.vocabSize() <= 0)
            throw new UserError(file + " lacks \"tokenizer\" or \"vocab_size\"");
        return meta;
    }

    public long numTokens() { return numTokens; }

    public int token(long i) { return Short.toUnsignedInt(data.get(U16, 2 * i)); }

    /**
     * Fills B random windows of T tokens: inputs[b*T+t] = tok[off+t], targets[b*T+t] = tok[off+t+1], offsets[b] =
     * off, so a per-example statistic can be traced back to where in the file it came from.
     */
    public void sampleBatch(RandomGenerator rng, int batch, int T, int[] inputs, int[] targets, long[] offsets) {
        checkBatch(batch, T, inputs, targets);
        if (offsets.length < batch) throw new IllegalArgumentException("offsets shorter than batch " + batch);
        for (int b = 0; b < batch; b++) {
            long off = rng.nextLong(numTokens - T); // off+T, the last target, stays in range
            offsets[b] = off;
            fill(off, b * T, T, inputs, targets);
        }
    }

    /**
     * Deterministic batch number {@code batchIndex} of consecutive non-overlapping windows, wrapping around
     * after {@link #windows(int)} windows; meant for validation.
     */
    public void sequentialBatch(long batchIndex, int batch, int T, int[] inputs, int[] targets) {
        checkBatch(batch, T, inputs, targets);
        long n = windows(T);
        for (int b = 0; b < batch; b++) {
            long w = Math.floorMod(batchIndex * batch + b, n);
            fill(w * T, b * T, T, inputs, targets);
        }
    }

    /** Windows of T tokens starting at {@code starts[from..from+count)} (token offsets), one after the other. */
    public void windowsAt(long[] starts, int from, int count, int T, int[] inputs, int[] targets) {
        checkBatch(count, T, inputs, targets);
        for (int b = 0; b < count; b++) {
            long off = starts[from + b];
            if (off < 0 || off + T >= numTokens) throw new IllegalArgumentException("window at " + off + " is outside the data");
            fill(off, b * T, T, inputs, targets);
        }
    }

    /** Number of distinct windows {@link #sequentialBatch} visits before wrapping. */
    public long windows(int T) { return (numTokens - 1) / T; }

    private void fill(long off, int at, int T, int[] inputs, int[] targets) {
        int prev = token(off);
        for (int t = 0; t < T; t++) {
            int next = token(off + t + 1);
            inputs[at + t] = prev;
            targets[at + t] = next;
            prev = next;
        }
    }

    private void checkBatch(int batch, int T, int[] inputs, int[] targets) {
        if (T < 1 || T >= numTokens) throw new IllegalArgumentException("T must be in [1, " + (numTokens - 1) + "]");
        long need = (long) batch * T;
        if (batch < 1 || inputs.length < need || targets.length < need)
            throw new IllegalArgumentException("batch " + batch + " x T " + T + " does not fit the arrays");
    }

    @Override public void close() { arena.close(); }
}
