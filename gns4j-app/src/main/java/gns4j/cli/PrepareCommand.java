package gns4j.cli;

import gns4j.data.DatasetPreparer;
import gns4j.data.Tokenizer;
import gns4j.data.Tokenizers;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gns4j prepare}: tokenizes text files into train.bin / val.bin / meta.json for training. */
@Command(name = "prepare", mixinStandardHelpOptions = true,
        description = "Tokenize .txt/.jsonl files (optionally .gz/.xz) into train.bin, val.bin and meta.json.")
public final class PrepareCommand implements Callable<Integer> {
    @Option(names = "--input", arity = "1..*", required = true, paramLabel = "PATH",
            description = "Input files or folders (folders are searched recursively).")
    List<Path> inputs;

    @Option(names = "--out-dir", required = true, paramLabel = "DIR", description = "Where to write the dataset.")
    Path outDir;

    @Option(names = "--tokenizer", defaultValue = "gpt2", paramLabel = "NAME",
            description = "gpt2 or byte (default: ${DEFAULT-VALUE}).")
    String tokenizer;

    @Option(names = "--val-fraction", defaultValue = "0.05", paramLabel = "F",
            description = "Share of each document's tail kept for validation (default: ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--force", description = "Overwrite an existing dataset in --out-dir.")
    boolean force;

    @Override
    public Integer call() {
        Tokenizer tok = Tokenizers.byName(tokenizer);
        long start = System.nanoTime();
        long[] lastReport = {start};
        var summary = DatasetPreparer.prepare(inputs, outDir, tok, valFraction, force, (docs, tokens) -> {
            long now = System.nanoTime();
            if (now - lastReport[0] < 1_000_000_000L) return;
            lastReport[0] = now;
            System.err.printf("prepare: %,d documents, %,d tokens%n", docs, tokens);
        });
        System.out.printf("prepared %s: %,d documents, %,d train + %,d val tokens (%s, vocab %d) in %.1f s%n",
                outDir, summary.documents(), summary.trainTokens(), summary.valTokens(), tok.name(),
                tok.vocabSize(), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
