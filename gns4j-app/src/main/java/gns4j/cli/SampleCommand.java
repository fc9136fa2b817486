package gns4j.cli;

import gns4j.UserError;
import gns4j.backend.cpu.CpuSampler;
import gns4j.checkpoint.ModelSource;
import gns4j.checkpoint.Npy;
import gns4j.data.Tokenizer;
import gns4j.data.Tokenizers;
import gns4j.model.Arch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code gns4j sample}: text from a trained run, a checkpoint or Hugging Face GPT-2 or Llama weights, on the CPU. */
@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Generate text from a run folder (its newest checkpoint), a checkpoint folder, or a Hugging Face "
                + "GPT-2 or Llama folder (model.safetensors + config.json), with a KV cache on the CPU.")
public final class SampleCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "RUN_DIR, a checkpoint folder, or a Hugging Face folder.")
    Path model;

    @Option(names = "--prompt", defaultValue = "", paramLabel = "TEXT", description = "Text to continue (default: "
            + "start from the end-of-text token).")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "100", paramLabel = "N", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0.8", paramLabel = "T", description = "Softmax temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "200", paramLabel = "K", description = "Sample among the K most likely tokens; 0 = all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--seed", defaultValue = "1337", paramLabel = "S", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tokenizer", paramLabel = "NAME", description = "gpt2 or byte (default: the run's; gpt2 for a Hugging Face folder).")
    String tokenizer;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "CPU threads (0 = all cores).")
    int threads;

    @Option(names = "--no-kv-cache", description = "Recompute the whole context for every token (slow; for checks).")
    boolean noCache;

    @Option(names = "--dump-logits", paramLabel = "FILE", description = "Also write the logits of every prompt position "
            + "as float32 .npy [T, vocab] and FILE.json with the prompt and generated token ids (for scripts/compare_hf.py).")
    Path dumpLogits;

    @Override
    public Integer call() throws IOException {
        if (maxNewTokens < 0) throw param("--max-new-tokens must be >= 0, got " + maxNewTokens);
        if (!(temperature >= 0) || Double.isInfinite(temperature)) throw param("--temperature must be >= 0, got " + temperature);
        if (topK < 0) throw param("--top-k must be >= 0, got " + topK);
        if (threads < 0) throw param("--threads must be >= 0, got " + threads);
        ModelSource src = ModelSource.open(model);
        if (tokenizer == null && src.tokenizer() == null && src.config().arch() == Arch.LLAMA)
            throw new UserError(model + " is a Llama without a gns4j run's tokenizer, and its own tokenizer.json is not"
                    + " read; name the one it was trained with (--tokenizer gpt2 or byte)");
        String tokName = tokenizer != null ? tokenizer : src.tokenizer() != null ? src.tokenizer() : "gpt2";
        Tokenizer tok = Tokenizers.byName(tokName);
        if (src.config().vocabSize() < tok.vocabSize() && tokenizer == null && src.tokenizer() == null)
            throw new UserError("the model's vocabulary (" + src.config().vocabSize() + ") is smaller than the " + tokName
                    + " tokenizer's (" + tok.vocabSize() + "); name the tokenizer with --tokenizer");
        int[] ids = prompt.isEmpty() ? new int[]{tok.endOfText()} : tok.encode(prompt);
        for (int id : ids)
            if (id >= src.config().vocabSize())
                throw new UserError("the prompt has token id " + id + ", outside the model's vocabulary of " + src.config().vocabSize());
        float[] params = src.params(); // may refuse the weights: before anything is printed
        PrintStream err = System.err;
        err.println("model " + src.config().describe() + " from " + (src.checkpoint() != null ? src.checkpoint() : src.weights())
                + ", tokenizer " + tok.name());
        try (CpuSampler sampler = new CpuSampler(src.config(), params, threads)) {
            if (dumpLogits != null) dump(sampler, ids);
            var sampling = new CpuSampler.Sampling(temperature, topK, Math.min(tok.vocabSize(), src.config().vocabSize()));
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            out.print(prompt);
            int[] generated = new int[maxNewTokens];
            int[] count = {0};
            int[] printed = {0};
            long t0 = System.nanoTime();
            int[] all = maxNewTokens == 0 ? new int[0] : sampler.generate(ids, maxNewTokens, sampling, new SplittableRandom(seed), !noCache, token -> {
                generated[count[0]++] = token;
                String text = tok.decode(generated, 0, count[0]);
                // hold back a trailing partial UTF-8 character until the next token completes it
                if (!text.endsWith("\uFFFD") || count[0] == maxNewTokens) {
                    out.print(text.substring(Math.min(printed[0], text.length())));
                    printed[0] = text.length();
                }
            });
            String text = tok.decode(all, 0, all.length);
            if (printed[0] < text.length()) out.print(text.substring(printed[0]));
            out.println();
            double s = (System.nanoTime() - t0) / 1e9;
            err.printf("%d tokens in %.2f s (%.1f tok/s)%n", all.length, s, all.length / Math.max(s, 1e-9));
            if (dumpLogits != null) writeIds(ids, all, sampling.allowedVocab());
        }
        return 0;
    }

    /** The tokens whose logits --dump-logits wrote (the prompt's last block_size tokens). */
    private int[] dumpedWindow;

    private void dump(CpuSampler sampler, int[] ids) throws IOException {
        int T = Math.min(ids.length, sampler.config().blockSize());
        int[] window = Arrays.copyOfRange(ids, ids.length - T, ids.length);
        dumpedWindow = window;
        float[] logits = sampler.logitsAll(window, T);
        Npy.write(dumpLogits, logits, T, sampler.config().vocabSize());
        sampler.reset();
    }

    private void writeIds(int[] prompt, int[] generated, int allowedVocab) throws IOException {
        String json = "{\n  \"prompt_tokens\": " + list(prompt) + ",\n  \"logits_tokens\": " + list(dumpedWindow)
                + ",\n  \"generated_tokens\": " + list(generated)
                + ",\n  \"allowed_vocab\": " + allowedVocab + ",\n  \"kv_cache\": " + !noCache
                + ",\n  \"temperature\": " + temperature + ",\n  \"top_k\": " + topK + ",\n  \"model\": \""
                + model.toAbsolutePath().toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"\n}\n";
        Files.writeString(Path.of(dumpLogits + ".json"), json);
    }

    private static String list(int[] a) { return Arrays.stream(a).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]")); }

    private CommandLine.ParameterException param(String message) { return new CommandLine.ParameterException(spec.commandLine(), message); }
}
