package gns4j.train;

import gns4j.UserError;
import gns4j.model.Arch;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;

import static gns4j.train.TrainConfig.check;

/**
 * The model keys of a {@link TrainConfig}: the architecture and its shape. {@code vocab_size} 0 is the dataset's
 * vocabulary ({@link #modelConfig}); {@code n_kv_head} 0 is n_head; {@code ffn_hidden} 0 is 4·n_embd for GPT-2 and
 * {@link ModelConfig#defaultFfnHidden} for Llama. bias, norm and tied_head hold the resolved values ({@code auto} in a
 * file is the architecture's choice, {@link TrainConfig#ARCH_DEFAULTS}).
 */
public record ModelSettings(Arch arch, int nLayer, int nHead, int nEmbd, int blockSize, int vocabSize, boolean bias,
                            NormType norm, boolean tiedHead, int nKvHead, double ropeTheta, int ffnHidden) {
    /** Vocabulary used when neither the config nor the dataset gives one (GPT-2's 50257 padded to a multiple of 64). */
    public static final int DEFAULT_VOCAB = 50304;

    public ModelSettings {
        check(nKvHead >= 0, "n_kv_head", "must be >= 0 (0 = n_head), got " + nKvHead);
        check(ffnHidden >= 0, "ffn_hidden", "must be >= 0 (0 = the architecture's default), got " + ffnHidden);
        // ModelConfig owns the shape's rules; a 0 vocab is filled in later, so check the shape with the default.
        shape(arch, nLayer, nHead, nEmbd, blockSize, vocabSize == 0 ? DEFAULT_VOCAB : vocabSize, bias, norm, tiedHead,
                nKvHead, ropeTheta, ffnHidden);
    }

    /** The model shape, taking the vocabulary from the dataset when vocab_size is 0 ({@code vocabFromData} <= 0: none). */
    public ModelConfig modelConfig(int vocabFromData) {
        if (vocabSize > 0 && vocabFromData > 0 && vocabSize < vocabFromData)
            throw new UserError("config key vocab_size (" + vocabSize + ") is smaller than the dataset's vocabulary ("
                    + vocabFromData + ")");
        int vocab = vocabSize > 0 ? vocabSize : vocabFromData > 0 ? vocabFromData : DEFAULT_VOCAB;
        return shape(arch, nLayer, nHead, nEmbd, blockSize, vocab, bias, norm, tiedHead, nKvHead, ropeTheta, ffnHidden);
    }

    private static ModelConfig shape(Arch arch, int nLayer, int nHead, int nEmbd, int blockSize, int vocab,
                                     boolean bias, NormType norm, boolean tiedHead, int nKvHead, double ropeTheta,
                                     int ffnHidden) {
        boolean llama = arch == Arch.LLAMA;
        int ffn = ffnHidden > 0 ? ffnHidden : llama ? ModelConfig.defaultFfnHidden(nEmbd) : 4 * nEmbd;
        try {
            return new ModelConfig(nLayer, nHead, nEmbd, blockSize, vocab, bias, norm, tiedHead, arch,
                    nKvHead > 0 ? nKvHead : nHead, llama ? ropeTheta : 0, ffn);
        } catch (IllegalArgumentException e) {
            throw new UserError("invalid model config: " + e.getMessage());
        }
    }
}
