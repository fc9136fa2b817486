package gns4j.cli;

import gns4j.train.TrainConfig;
import gns4j.train.Trainer;
import gns4j.train.StatusLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gns4j train}: one training run into a run folder. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model on a prepared dataset, logging loss and GNS to OUT/metrics.jsonl.")
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "Folder with train.bin (and val.bin).")
    Path dataDir;

    @Option(names = "--out-dir", required = true, paramLabel = "DIR", description = "Run folder to create (must not hold a run).")
    Path outDir;

    @Option(names = "--config", paramLabel = "FILE", description = "JSON file of config keys (flat object).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key; repeatable.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--device", paramLabel = "DEVICE", description = "cpu, cuda or auto (overrides the config).")
    String device;

    @Option(names = "--max-steps", paramLabel = "N", description = "Optimizer steps (overrides the config).")
    Integer maxSteps;

    @Override
    public Integer call() {
        List<String> overrides = new ArrayList<>(sets);
        if (device != null) overrides.add("device=" + device);
        if (maxSteps != null) overrides.add("max_steps=" + maxSteps);
        TrainConfig cfg = TrainConfig.load(config, overrides);
        Trainer.Result r = new Trainer(cfg, dataDir, outDir, StatusLine.stderr()).run();
        System.out.printf("done: %d steps, %,d tokens, loss %.4f%s, %.1f s; run folder %s%n", r.steps(), r.tokens(), r.loss(),
                r.valLoss() == null ? "" : String.format(", val loss %.4f", r.valLoss()), r.seconds(), outDir);
        return 0;
    }
}
