package gns4j.bench;

import gns4j.model.ModelConfig;
import gns4j.model.NormType;

/** A named benchmark shape: model plus micro-batch. */
record BenchModel(String name, ModelConfig config, int batch) {
    static BenchModel gpt(String name, int nLayer, int nHead, int nEmbd, int blockSize, int vocab, int batch) {
        return new BenchModel(name, new ModelConfig(nLayer, nHead, nEmbd, blockSize, vocab, true, NormType.LAYERNORM, true), batch);
    }

    String shape() {
        ModelConfig c = config;
        return "L" + c.nLayer() + " H" + c.nHead() + " C" + c.nEmbd() + " T" + c.blockSize() + " V" + c.vocabSize() + " B" + batch;
    }

    /** Arguments of scripts/torch_baseline.py for the same shape. */
    String[] torchArgs() {
        ModelConfig c = config;
        return new String[]{"--name", name, "--n-layer", "" + c.nLayer(), "--n-head", "" + c.nHead(), "--n-embd", "" + c.nEmbd(),
                "--block-size", "" + c.blockSize(), "--vocab", "" + c.vocabSize(), "--batch", "" + batch};
    }
}
