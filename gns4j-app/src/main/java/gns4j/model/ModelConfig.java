package gns4j.model;

/**
 * Decoder shape. {@code bias} adds biases to every Linear and a β to every LayerNorm; {@code tiedHead} shares the
 * token embedding with the LM head. Llama only: {@code nKvHead} key/value heads, each shared by nHead/nKvHead query
 * heads (grouped-query attention), {@code ropeTheta} the RoPE base, {@code ffnHidden} the SwiGLU hidden width.
 * A GPT-2 shape has nKvHead = nHead, ropeTheta 0 (no RoPE) and ffnHidden = 4·nEmbd.
 */
public record ModelConfig(int nLayer, int nHead, int nEmbd, int blockSize, int vocabSize,
                          boolean bias, NormType norm, boolean tiedHead,
                          Arch arch, int nKvHead, double ropeTheta, int ffnHidden) {

    public ModelConfig {
        require(nLayer >= 1, "n_layer must be >= 1, got " + nLayer);
        require(nHead >= 1, "n_head must be >= 1, got " + nHead);
        require(nEmbd >= 1, "n_embd must be >= 1, got " + nEmbd);
        require(nEmbd % nHead == 0, "n_embd (" + nEmbd + ") must be divisible by n_head (" + nHead + ")");
        require(blockSize >= 1, "block_size must be >= 1, got " + blockSize);
        require(vocabSize >= 2 && vocabSize <= 65536,
                "vocab_size must be in [2, 65536] (tokens are stored as uint16), got " + vocabSize);
        if (norm == null) throw new IllegalArgumentException("norm must be layernorm or rmsnorm");
        if (arch == null) throw new IllegalArgumentException("arch must be gpt2 or llama");
        require(ffnHidden >= 1, "ffn_hidden must be >= 1, got " + ffnHidden);
        if (arch == Arch.GPT2) {
            require(nKvHead == nHead, "n_kv_head must equal n_head (" + nHead + ") for arch=gpt2, got " + nKvHead);
            require(ffnHidden == 4 * nEmbd, "ffn_hidden must be 4 * n_embd (" + 4 * nEmbd + ") for arch=gpt2, got " + ffnHidden);
        } else {
            require(nKvHead >= 1 && nHead % nKvHead == 0,
                    "n_kv_head must divide n_head (" + nHead + ") for arch=llama, got " + nKvHead);
            require(nEmbd / nHead % 2 == 0, "the head size n_embd / n_head must be even for RoPE, got " + nEmbd / nHead);
            require(ropeTheta > 1 && Double.isFinite(ropeTheta), "rope_theta must be a finite number > 1, got " + ropeTheta);
            require(!bias, "bias must be false for arch=llama (Llama has no biases)");
            require(norm == NormType.RMSNORM, "norm must be rmsnorm for arch=llama");
        }
    }

    /** A GPT-2 shape. */
    public ModelConfig(int nLayer, int nHead, int nEmbd, int blockSize, int vocabSize, boolean bias, NormType norm,
                       boolean tiedHead) {
        this(nLayer, nHead, nEmbd, blockSize, vocabSize, bias, norm, tiedHead, Arch.GPT2, nHead, 0, 4 * nEmbd);
    }

    /** A Llama shape: no biases, RMSNorm. */
    public static ModelConfig llama(int nLayer, int nHead, int nKvHead, int nEmbd, int blockSize, int vocabSize,
                                    int ffnHidden, double ropeTheta, boolean tiedHead) {
        return new ModelConfig(nLayer, nHead, nEmbd, blockSize, vocabSize, false, NormType.RMSNORM, tiedHead, Arch.LLAMA,
                nKvHead, ropeTheta, ffnHidden);
    }

    /** Llama's SwiGLU width for n_embd C: 8C/3 (the parameters of a 4C GELU MLP in three matrices), rounded up to 64. */
    public static int defaultFfnHidden(int nEmbd) { return (8 * nEmbd / 3 + 63) / 64 * 64; }

    public int headSize() { return nEmbd / nHead; }

    /** Width of the keys (and of the values): nKvHead heads of headSize. */
    public int kvDim() { return nKvHead * headSize(); }

    /**
     * RoPE's tables {cos, sin}, each (block_size, hs/2): pair i of a head at position p turns by p·θ^(−2i/hs), the pairs
     * being (i, i + hs/2) as in transformers' rotate_half. Both backends turn q and k by these.
     */
    public float[][] ropeTables() {
        int half = headSize() / 2;
        float[] cos = new float[blockSize * half], sin = new float[blockSize * half];
        for (int p = 0; p < blockSize; p++)
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(ropeTheta, -2.0 * i / headSize());
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        return new float[][]{cos, sin};
    }

    /** Floats of the largest Linear weight (the MLP's F·C, or the head's V·C): the size of a packed-weight scratch. */
    public long largestMatrix() { return (long) Math.max(ffnHidden, vocabSize) * nEmbd; }

    /** Whether norm layers carry a β (RMSNorm never has one; LayerNorm has one when biases are on). */
    public boolean normHasBias() { return norm == NormType.LAYERNORM && bias; }

    /**
     * The shape in words, naming only what the architecture has: "GPT-2 (2 layers, 4 heads, width 128, context 128,
     * vocabulary 256)" or "Llama (..., 4 query heads, 2 key/value heads, width 128, SwiGLU 384, ...)".
     */
    public String describe() {
        String heads = nKvHead != nHead ? nHead + " query heads, " + nKvHead + " key/value heads" : nHead + " heads";
        String mlp = arch == Arch.LLAMA ? ", SwiGLU " + ffnHidden : "";
        return (arch == Arch.LLAMA ? "Llama" : "GPT-2") + " (" + nLayer + (nLayer == 1 ? " layer, " : " layers, ") + heads + ", width " + nEmbd + mlp
                + ", context " + blockSize + ", vocabulary " + vocabSize + ")";
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
