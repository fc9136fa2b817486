package gns4j.backend.cpu;

import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParameterLayout;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Forward-only GPT on the CPU for generation, with a KV cache: the keys and values of every position already seen
 * are kept per layer, so each new token costs one row through the model instead of the whole context. Same
 * kernels (and the same attention arithmetic, in the same order) as {@link CpuModel}'s forward, so a cached step
 * gives the logits of a full recomputation. Reads the weights from a flat buffer in {@link ParameterLayout} order.
 *
 * <p>Positions are absolute (GPT-2 position embeddings), so the cache holds at most block_size positions; once the
 * context is longer, {@link #generate} keeps its last block_size tokens and recomputes them for every new token, as
 * nanoGPT's sampler does. Not thread-safe.
 */
public final class CpuSampler implements AutoCloseable {
    private final ModelConfig config;
    private final ParameterLayout layout;
    private final float[] params;
    /** params with every Linear weight (and the head) stored transposed, [in, out], as the forward GEMM wants it. */
    private final float[] paramsT;
    private final Parallel par;
    private final int maxRows;
    // Per layer caches: keys and values of positions [0, pos), (block_size, C) each.
    private final float[][] keys, values;
    private final float[] x, norm, mean, rstd, qkv, atty, tmp, fc, fcAct, lastNorm, logits;
    private int pos;

    /** @param params weights in {@code new ParameterLayout(config)} order (not copied: do not change them meanwhile) */
    public CpuSampler(ModelConfig config, float[] params, int threads) {
        this.config = config;
        this.layout = new ParameterLayout(config);
        if (params.length != layout.totalSize)
            throw new IllegalArgumentException("params has " + params.length + " floats, the layout " + layout.totalSize);
        this.params = params;
        this.par = new Parallel(threads);
        this.paramsT = params.clone();
        float[] scratch = new float[Math.max(4 * config.nEmbd() * config.nEmbd(), config.vocabSize() * config.nEmbd())];
        for (gns4j.model.ParamTensor t : layout.tensors)
            if (t.shape().length == 2 && t.kind() != gns4j.model.ParamKind.POSITION_EMBEDDING
                    && (t.kind() != gns4j.model.ParamKind.TOKEN_EMBEDDING || config.tiedHead())) {
                Gemm.transpose(par, scratch, params, t.offset(), t.shape()[0], t.shape()[1]);
                System.arraycopy(scratch, 0, paramsT, t.offset(), t.size());
            }
        int C = config.nEmbd(), T = config.blockSize(), L = config.nLayer();
        this.maxRows = T;
        keys = new float[L][T * C];
        values = new float[L][T * C];
        x = new float[T * C];
        norm = new float[T * C];
        mean = new float[T];
        rstd = new float[T];
        qkv = new float[3 * T * C];
        atty = new float[T * C];
        tmp = new float[T * C];
        fc = new float[4 * T * C];
        fcAct = new float[4 * T * C];
        lastNorm = new float[T * C];
        logits = new float[Math.multiplyExact(T, config.vocabSize())];
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
        int C = config.nEmbd(), NH = config.nHead(), V = config.vocabSize();
        ParameterLayout p = layout;
        for (int i = 0; i < n; i++) {
            int id = tokens[from + i];
            if (id < 0 || id >= V) throw new IllegalArgumentException("token id " + id + " outside [0, " + V + ")");
            int t = pos + i;
            for (int c = 0; c < C; c++) x[i * C + c] = params[p.wte.offset() + id * C + c] + params[p.wpe.offset() + t * C + c];
        }
        boolean ln = config.norm() == NormType.LAYERNORM;
        float[] meanOrNull = ln ? mean : null;
        for (int l = 0; l < config.nLayer(); l++) {
            ParameterLayout.Block w = p.blocks[l];
            CpuKernels.normForward(par, norm, meanOrNull, rstd, x, params, w.ln1Weight().offset(), off(w.ln1Bias()), n, C);
            linear(qkv, norm, w.qkvWeight().offset(), off(w.qkvBias()), n, C, 3 * C);
            for (int i = 0; i < n; i++) {
                System.arraycopy(qkv, i * 3 * C + C, keys[l], (pos + i) * C, C);
                System.arraycopy(qkv, i * 3 * C + 2 * C, values[l], (pos + i) * C, C);
            }
            attention(l, n, C, NH);
            linear(tmp, atty, w.attnProjWeight().offset(), off(w.attnProjBias()), n, C, C);
            CpuKernels.add(par, x, x, tmp, n, C);
            CpuKernels.normForward(par, norm, meanOrNull, rstd, x, params, w.ln2Weight().offset(), off(w.ln2Bias()), n, C);
            linear(fc, norm, w.fcWeight().offset(), off(w.fcBias()), n, C, 4 * C);
            CpuKernels.geluForward(par, fcAct, fc, n, 4 * C);
            linear(tmp, fcAct, w.mlpProjWeight().offset(), off(w.mlpProjBias()), n, 4 * C, C);
            CpuKernels.add(par, x, x, tmp, n, C);
        }
        int head = p.lmHead != null ? p.lmHead.offset() : p.wte.offset();
        if (allLogits) {
            CpuKernels.normForward(par, lastNorm, meanOrNull, rstd, x, params, p.lnfWeight.offset(), off(p.lnfBias), n, C);
            linear(logits, lastNorm, head, -1, n, C, V);
        } else {
            System.arraycopy(x, (n - 1) * C, tmp, 0, C);
            CpuKernels.normForward(par, lastNorm, meanOrNull, rstd, tmp, params, p.lnfWeight.offset(), off(p.lnfBias), 1, C);
            linear(logits, lastNorm, head, -1, 1, C, V);
        }
        pos += n;
    }

    /**
     * Causal attention of the n new rows (positions pos..pos+n-1) over the cache: the arithmetic of
     * {@code CpuKernels.attentionForward} step for step (scores, max, exp, double sum, weighted sum of values).
     */
    private void attention(int l, int n, int C, int NH) {
        int hs = C / NH;
        float scale = (float) (1.0 / Math.sqrt(hs));
        float[] K = keys[l], Vc = values[l];
        par.forEach(n * NH, ih -> {
            int i = ih / NH, h = ih % NH, t = pos + i;
            float[] s = new float[t + 1];
            int q = i * 3 * C + h * hs;
            float max = Float.NEGATIVE_INFINITY;
            for (int u = 0; u <= t; u++) {
                s[u] = scale * VectorMath.dot(qkv, q, K, u * C + h * hs, hs);
                max = Math.max(max, s[u]);
            }
            double sum = 0;
            for (int u = 0; u <= t; u++) {
                s[u] = (float) Math.exp(s[u] - max);
                sum += s[u];
            }
            int o = i * C + h * hs;
            Arrays.fill(atty, o, o + hs, 0f);
            float inv = (float) (1.0 / sum);
            for (int u = 0; u <= t; u++) VectorMath.axpy(s[u] * inv, Vc, u * C + h * hs, atty, o, hs);
        });
    }

    /** out (R,N) = inp (R,K) · Wᵀ + bias, as CpuKernels.matmulForward computes it (same GEMM, Wᵀ prepared once). */
    private void linear(float[] out, float[] inp, int wOff, int bOff, int R, int K, int N) {
        if (bOff >= 0) for (int r = 0; r < R; r++) System.arraycopy(params, bOff, out, r * N, N);
        Gemm.parallel(par, inp, 0, K, 1, paramsT, wOff, N, R, N, K, out, 0, N, bOff >= 0);
    }

    private static int off(gns4j.model.ParamTensor t) { return t == null ? -1 : t.offset(); }

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
