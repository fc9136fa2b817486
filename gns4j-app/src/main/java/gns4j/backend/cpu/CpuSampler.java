package gns4j.backend.cpu;

import gns4j.model.Arch;
import gns4j.model.ModelConfig;
import gns4j.model.ParamKind;
import gns4j.model.ParamTensor;
import gns4j.model.NormType;
import gns4j.model.ParameterLayout;

import java.util.Arrays;
import java.util.function.BiConsumer;
import java.util.random.RandomGenerator;

/**
 * Forward-only GPT-2 or Llama on the CPU for generation, with a KV cache: the keys and values of every position
 * already seen are kept per layer, so each new token costs one row through the model instead of the whole context.
 * Walks the same {@link GptBlock} or {@link LlamaBlock} as {@link CpuModel}'s forward (and the same attention
 * arithmetic, in the same order), so a cached step gives the logits of a full recomputation. Reads the weights from a
 * flat buffer in {@link ParameterLayout} order. A Llama cache holds the keys turned by RoPE and repeated for every
 * query head, the rows the attention kernels read.
 *
 * <p>Positions are absolute (GPT-2 position embeddings, or RoPE tables of block_size positions), so the cache holds at
 * most block_size positions; once the context is longer, {@link #generate} keeps its last block_size tokens and
 * recomputes them for every new token, as nanoGPT's sampler does. Not thread-safe.
 */
public final class CpuSampler implements AutoCloseable {
    private final ModelConfig config;
    private final ParameterLayout layout;
    private final float[] params;
    /** Every Linear weight (and the head) as Wᵀ packed for the forward product, once, by tensor index; others null. */
    private final Gemm.Packed[] packedT;
    private final Parallel par;
    private final int maxRows;
    /** Runs block l over the n rows of x at positions pos..pos+n-1. */
    private final BiConsumer<Integer, Integer> blocks;
    // Per layer caches: keys and values of positions [0, pos), (block_size, C) each.
    private final float[][] keys, values;
    // One set of buffers of block_size rows for every layer: x (T,C) is the residual stream, added into in place.
    private final float[] x, lastNorm, logits;
    private final CpuKernels.NormStats stats;
    private int pos;

    /** @param params weights in {@code new ParameterLayout(config)} order (not copied: do not change them meanwhile) */
    public CpuSampler(ModelConfig config, float[] params, int threads) {
        this.config = config;
        this.layout = new ParameterLayout(config);
        if (params.length != layout.totalSize)
            throw new IllegalArgumentException("params has " + params.length + " floats, the layout " + layout.totalSize);
        this.params = params;
        this.par = new Parallel(threads);
        this.packedT = new Gemm.Packed[layout.numTensors()];
        for (ParamTensor t : layout.tensors)
            if (t.shape().length == 2 && t.kind() != ParamKind.POSITION_EMBEDDING
                    && (t.kind() != ParamKind.TOKEN_EMBEDDING || config.tiedHead()))
                packedT[t.index()] = LinearKernels.packTransposed(par, Mat.of(params, t), 1, // most steps: one new row
                        new float[Gemm.packedSize(t.shape()[1], t.shape()[0])]);
        int C = config.nEmbd(), T = config.blockSize(), L = config.nLayer();
        this.maxRows = T;
        keys = new float[L][T * C];
        values = new float[L][T * C];
        x = new float[T * C];
        float[] norm = new float[T * C], proj = new float[T * C];
        stats = CpuKernels.NormStats.of(config.norm() == NormType.LAYERNORM, T);
        lastNorm = new float[T * C];
        logits = new float[Math.multiplyExact(T, config.vocabSize())];
        GptBlock.Linear linear = (out, in, w, b, after) ->
                LinearKernels.forward(par, out, in, transposed(w), Mat.of(params, b), after);
        if (config.arch() == Arch.LLAMA) {
            int kvC = config.kvDim(), F = config.ffnHidden();
            LlamaBlock.Buffers buffers = new LlamaBlock.Buffers(x, norm, stats, new float[T * C], new float[T * kvC],
                    new float[T * kvC], new float[3 * T * C], new float[T * C], null, proj, x, norm, stats,
                    new float[T * F], new float[T * F], new float[T * F], x);
            LlamaBlock block = new LlamaBlock(par, params, config, linear, this::cachedAttention);
            blocks = (l, n) -> block.forward(l, layout.llamaBlocks[l], buffers, n, n, pos);
        } else {
            GptBlock.Buffers buffers = new GptBlock.Buffers(x, norm, stats, new float[3 * T * C], new float[T * C], null,
                    proj, x, norm, stats, new float[4 * T * C], new float[4 * T * C], x);
            GptBlock block = new GptBlock(par, params, config, linear, this::cachedAttention);
            blocks = (l, n) -> block.forward(l, layout.blocks[l], buffers, n);
        }
    }

    public ModelConfig config() { return config; }

    /** Positions held in the cache. */
    public int position() { return pos; }

    /** Empties the cache. */
    public void reset() { pos = 0; }

    /**
     * Runs {@code n} tokens ({@code tokens[from..from+n)}) at the next positions, adding them to the cache.
     * Returns the logits of the last of them (a new array of vocab_size floats).
     */
    public float[] append(int[] tokens, int from, int n) {
        forward(tokens, from, n, false);
        int V = config.vocabSize();
        return Arrays.copyOfRange(logits, 0, V);
    }

    /** Logits [T, vocab_size] of every position of {@code tokens[0..T)} from an empty cache (a full forward). */
    public float[] logitsAll(int[] tokens, int T) {
        reset();
        forward(tokens, 0, T, true);
        return Arrays.copyOf(logits, T * config.vocabSize());
    }

    private void forward(int[] tokens, int from, int n, boolean allLogits) {
        if (n < 1) throw new IllegalArgumentException("no tokens");
        if (pos + n > maxRows)
            throw new IllegalArgumentException("context of " + (pos + n) + " tokens exceeds block_size " + maxRows);
        int C = config.nEmbd(), V = config.vocabSize();
        int[] ids = Arrays.copyOfRange(tokens, from, from + n);
        for (int id : ids) if (id < 0 || id >= V) throw new IllegalArgumentException("token id " + id + " outside [0, " + V + ")");
        ParameterLayout p = layout;
        CpuKernels.embeddingForward(par, Mat.of(x, n, C), ids, Mat.of(params, p.wte), Mat.of(params, p.wpe), n, pos);
        for (int l = 0; l < config.nLayer(); l++) blocks.accept(l, n);
        // Only the rows whose logits are wanted go through the final norm and the head: all n, or the last one.
        int rows = allLogits ? n : 1;
        Mat last = new Mat(x, (n - rows) * C, rows, C), lastNormed = Mat.of(lastNorm, rows, C);
        CpuKernels.normForward(par, lastNormed, stats, last, Mat.of(params, p.lnfWeight), Mat.of(params, p.lnfBias));
        LinearKernels.forward(par, Mat.of(logits, rows, V), lastNormed, transposed(p.lmHead != null ? p.lmHead : p.wte), null, null);
        pos += n;
    }

    /**
     * Stores the keys and values of the new rows of qkv (n,3C) in layer l's cache, then attends over the cache into
     * out (n,C). No log-sum-exp is kept: sampling has no backward.
     */
    private void cachedAttention(int l, Mat out, Mat qkv, float[] lse) {
        int C = config.nEmbd(), n = qkv.rows();
        for (int i = 0; i < n; i++) {
            System.arraycopy(qkv.data(), qkv.row(i) + C, keys[l], (pos + i) * C, C);
            System.arraycopy(qkv.data(), qkv.row(i) + 2 * C, values[l], (pos + i) * C, C);
        }
        Mat cachedKeys = Mat.of(keys[l], pos + n, C), cachedValues = Mat.of(values[l], pos + n, C);
        AttentionKernels.forwardCached(par, out, qkv, cachedKeys, cachedValues, pos, config.nHead());
    }

    /** Wᵀ (K,N) of a weight W (N,K), as packed in packedT. */
    private Gemm.Packed transposed(ParamTensor w) { return packedT[w.index()]; }

    // ------------------------------------------------------------------------------------------------ generation

    /** How the next token is chosen from the logits. */
    public record Sampling(double temperature, int topK, int allowedVocab) {
        /**
         * @param temperature  0 = greedy (argmax; the lowest id on ties), else logits / temperature
         * @param topK         keep the k largest logits (0 = all)
         * @param allowedVocab ids at or above it are never chosen (a vocabulary padded past the tokenizer's)
         */
        public Sampling {
            if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be >= 0");
            if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0");
            if (allowedVocab < 1) throw new IllegalArgumentException("allowed vocabulary must be >= 1");
        }
    }

    /** Receives each generated token as soon as it is chosen. */
    @FunctionalInterface
    public interface TokenSink {
        void accept(int token);
    }

    /**
     * Generates {@code maxNew} tokens after {@code prompt} (non-empty) with the KV cache.
     *
     * @param cache false recomputes the whole (cropped) context for every token instead: the reference the cache
     *              must equal
     * @return the generated tokens
     */
    public int[] generate(int[] prompt, int maxNew, Sampling sampling, RandomGenerator rng, boolean cache, TokenSink sink) {
        if (prompt.length == 0) throw new IllegalArgumentException("empty prompt");
        int T = config.blockSize();
        int[] ctx = Arrays.copyOf(prompt, prompt.length + maxNew);
        int len = prompt.length;
        int[] out = new int[maxNew];
        float[] last = cache ? prefill(ctx, len) : lastRow(ctx, len);
        for (int i = 0; i < maxNew; i++) {
            int next = choose(last, sampling, rng);
            out[i] = next;
            ctx[len++] = next;
            if (sink != null) sink.accept(next);
            if (i == maxNew - 1) break;
            if (!cache) last = lastRow(ctx, len);
            else if (pos < T) last = append(ctx, len - 1, 1);
            else last = prefill(ctx, len); // the window slides: positions change, the cache is rebuilt
        }
        return out;
    }

    private float[] prefill(int[] ctx, int len) {
        reset();
        int start = Math.max(0, len - config.blockSize());
        return append(ctx, start, len - start);
    }

    private float[] lastRow(int[] ctx, int len) {
        int start = Math.max(0, len - config.blockSize()), n = len - start, V = config.vocabSize();
        float[] all = logitsAll(Arrays.copyOfRange(ctx, start, len), n);
        return Arrays.copyOfRange(all, (n - 1) * V, n * V);
    }

    /** The next token from one row of logits. */
    public static int choose(float[] logits, Sampling s, RandomGenerator rng) {
        int V = Math.min(logits.length, s.allowedVocab());
        if (s.temperature() == 0) {
            int best = 0;
            for (int v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
            return best;
        }
        double threshold = Double.NEGATIVE_INFINITY;
        if (s.topK() > 0 && s.topK() < V) {
            float[] sorted = Arrays.copyOf(logits, V);
            Arrays.sort(sorted);
            threshold = sorted[V - s.topK()]; // ties with the k-th largest stay in, as in nanoGPT
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < V; v++) if (logits[v] >= threshold) max = Math.max(max, logits[v]);
        double[] p = new double[V];
        double sum = 0;
        for (int v = 0; v < V; v++) {
            if (logits[v] < threshold) continue;
            p[v] = Math.exp((logits[v] - max) / s.temperature());
            sum += p[v];
        }
        double u = rng.nextDouble() * sum, acc = 0;
        int lastKept = 0;
        for (int v = 0; v < V; v++) {
            if (p[v] == 0) continue;
            acc += p[v];
            lastKept = v;
            if (u < acc) return v;
        }
        return lastKept;
    }

    @Override
    public void close() { par.close(); }
}
