package gns4j.bench;

import gns4j.model.Arch;
import gns4j.model.ModelConfig;
import gns4j.model.NormType;

import java.util.ArrayList;
import java.util.List;

/** A named benchmark shape: model plus micro-batch. */
record BenchModel(String name, ModelConfig config, int batch) {
    static BenchModel gpt(String name, int nLayer, int nHead, int nEmbd, int blockSize, int vocab, int batch) {
        return new BenchModel(name, new ModelConfig(nLayer, nHead, nEmbd, blockSize, vocab, true, NormType.LAYERNORM, true), batch);
    }

    String shape() {
        ModelConfig c = config;
        boolean llama = c.arch() == Arch.LLAMA;
        String kv = llama ? " KV" + c.nKvHead() + " F" + c.ffnHidden() + (c.tiedHead() ? " tied" : " untied") : "";
        return (llama ? "llama " : "") + "L" + c.nLayer() + " H" + c.nHead() + kv + " C" + c.nEmbd() + " T" + c.blockSize() + " V"
                + c.vocabSize() + " B" + batch;
    }

    /** Arguments of scripts/torch_baseline.py for the same shape. */
    List<String> torchArgs() {
        ModelConfig c = config;
        List<String> args = new ArrayList<>(List.of("--name", name, "--n-layer", "" + c.nLayer(), "--n-head", "" + c.nHead(),
                "--n-embd", "" + c.nEmbd(), "--block-size", "" + c.blockSize(), "--vocab", "" + c.vocabSize(), "--batch", "" + batch));
        if (c.arch() == Arch.LLAMA) {
            args.addAll(List.of("--arch", "llama", "--n-kv-head", "" + c.nKvHead(), "--ffn", "" + c.ffnHidden(), "--rope-theta",
                    "" + c.ropeTheta(), "--modes", "eager,compile,hf"));
            if (c.tiedHead()) args.add("--tied");
        }
        return args;
    }
}
