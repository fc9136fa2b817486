package gns4j.cli;

import gns4j.data.DemoCorpus;
import gns4j.data.Tokenizers;
import gns4j.model.Arch;
import gns4j.train.GnsWindow;
import gns4j.train.RunDir;
import gns4j.train.StatusLine;
import gns4j.train.TrainConfig;
import gns4j.report.ReportWriter;
import gns4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code gns4j demo}: a small GPT-2- (or Llama-) shaped model over bytes, trained on the bundled text
 * (Genesis–Leviticus, public domain) for about half a minute on two cores, measuring per-example norms of every tensor
 * and the GNS as it goes.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Train a small model on bundled text for about half a minute and show loss and GNS.")
public final class DemoCommand implements Callable<Integer> {
    static final List<String> DEMO_CONFIG = List.of(
            "n_layer=2", "n_head=4", "n_embd=128", "block_size=128", "micro_batch_size=8", "batch_size=16",
            "learning_rate=2e-3", "min_lr=2e-4", "warmup_tokens=40960", "eval_interval=25", "eval_sequences=32",
            "log_interval=5", "per_example_norms=all", "gns_alpha=0.95", "device=cpu");

    @Option(names = "--out-dir", paramLabel = "DIR", description = "Run folder (default: runs/demo-<time>).")
    Path outDir;

    @Option(names = "--max-steps", defaultValue = "150", paramLabel = "N", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a demo config key; repeatable.")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Path run = outDir != null ? outDir
                : Path.of("runs", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        List<String> overrides = new ArrayList<>(DEMO_CONFIG);
        overrides.add("max_steps=" + maxSteps);
        overrides.addAll(sets);
        TrainConfig cfg = TrainConfig.defaults().with(overrides.toArray(String[]::new));
        Path data = run.resolve("data");
        new RunDir(run).checkFree(data); // before the data is prepared there: a refused demo writes nothing
        // The demo prepares its data before the trainer checks the device: refuse a missing GPU first.
        String noGpu = cfg.run().device() == TrainConfig.Device.CUDA ? gns4j.backend.cuda.CudaBackend.unavailableReason() : null;
        if (noGpu != null) throw new gns4j.UserError(noGpu + " (use --set device=cpu)");
        boolean llama = cfg.model().arch() == Arch.LLAMA;
        String normLayers = llama ? "RMSNorm" : "LayerNorm";
        System.err.println("gns4j demo: a small " + (llama ? "Llama" : "GPT-2") + "-shaped model over bytes, trained on"
                + " bundled text (Genesis to Leviticus, KJV) for " + maxSteps + " steps of " + cfg.batch().batchSize()
                + " sequences x " + cfg.model().blockSize() + " tokens");
        DemoCorpus.prepare(data, Tokenizers.byName("byte"));
        Trainer.Result r = new Trainer(cfg, data, run, StatusLine.stderr()).run();
        ReportWriter.writeForRun(run);
        GnsWindow window = GnsWindow.of(cfg.gns().gnsAlpha(), r.steps(), (long) cfg.batch().batchSize() * cfg.model().blockSize());
        System.out.printf("%nloss %.3f -> val loss %s after %,d tokens in %.0f s%n", r.loss(),
                r.valLoss() == null ? "-" : String.format("%.3f", r.valLoss()), r.tokens(), r.seconds());
        System.out.printf("gradient noise scale B_simple (training estimate, in sequences; the batch was %d): total %s,"
                + " %s-only %s, each a moving average over the %s%n", cfg.batch().batchSize(), fmt(r.gnsTotal()),
                normLayers, fmt(r.gnsLn()), window.describe());
        System.out.println("The weights changed during those steps, so this average lags the GNS of the final weights;"
                + " to pick a batch size, take " + measureCommand(run) + ", which holds the final weights fixed and gives"
                + " an interval.");
        System.out.println("Under McCandlish et al.'s assumptions B_simple approximates the critical batch, beyond which"
                + " larger batches stop paying off; Gray et al. found that the norm layers' GNS (here " + normLayers
                + "-only) tracks the total, at a fraction of the cost.");
        System.out.println("run folder: " + run + " (metrics.jsonl: one JSON line per step; open report.html in a browser)");
        return 0;
    }

    static String measureCommand(Path run) { return "./gns4j measure --data-dir " + run.resolve("data") + " --init-from " + run; }

    private static String fmt(Double v) { return v == null ? "-" : String.format("%.1f", v); }
}
