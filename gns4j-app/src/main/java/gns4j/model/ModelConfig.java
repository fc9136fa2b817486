package gns4j.model;

/**
 * GPT-2 style decoder shape. {@code bias} adds biases to every Linear and a β to every LayerNorm;
 * {@code tiedHead} shares the token embedding with the LM head.
 */
public record ModelConfig(int nLayer, int nHead, int nEmbd, int blockSize, int vocabSize,
                          boolean bias, NormType norm, boolean tiedHead) {

    public ModelConfig {
        require(nLayer >= 1, "n_layer must be >= 1, got " + nLayer);
        require(nHead >= 1, "n_head must be >= 1, got " + nHead);
        require(nEmbd >= 1, "n_embd must be >= 1, got " + nEmbd);
        require(nEmbd % nHead == 0, "n_embd (" + nEmbd + ") must be divisible by n_head (" + nHead + ")");
        require(blockSize >= 1, "block_size must be >= 1, got " + blockSize);
        require(vocabSize >= 2 && vocabSize <= 65536,
                "vocab_size must be in [2, 65536] (tokens are stored as uint16), got " + vocabSize);
        if (norm == null) throw new IllegalArgumentException("norm must be layernorm or rmsnorm");
    }

    public int headSize() { return nEmbd / nHead; }

    /** Whether norm layers carry a β (RMSNorm never has one; LayerNorm has one when biases are on). */
    public boolean normHasBias() { return norm == NormType.LAYERNORM && bias; }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
