package gns4j.cli;

import gns4j.UserError;
import gns4j.experiment.ScheduleExperiment;
import gns4j.experiment.ScheduleExperimentConfig;
import gns4j.experiment.ScheduleResults;
import gns4j.train.StatusLine;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gns4j experiment}: experiments made of several training runs. */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = "Experiments made of several training runs.",
        subcommands = {ExperimentCommand.Schedule.class, CommandLine.HelpCommand.class})
public final class ExperimentCommand implements Callable<Integer> {

    public ExperimentCommand() {}

    @Override
    public Integer call() {
        throw new UserError("experiment needs a subcommand: schedule (see: ./gns4j experiment --help)");
    }

    /** {@code gns4j experiment schedule --config FILE}: batch-size schedule arms, compared on time to a target loss. */
    @Command(name = "schedule", mixinStandardHelpOptions = true, sortOptions = false,
            description = {
                    "Run batch-size schedule arms (fixed, linear ramp, adaptive, ...) with the same token budget, LR schedule "
                            + "and seeds, one after the other, into OUT/<arm>-seed<s>/; then compare them.",
                    "Writes OUT/results.md and OUT/results.csv (final val loss; steps, tokens and training time to reach the "
                            + "baseline arm's final val loss; savings), OUT/gns_ln_vs_total.csv (LayerNorm-only vs total GNS "
                            + "per step and run), OUT/estimators.json (B_simple estimators compared on one model) and OUT/report-seed<s>.html "
                            + "(the arms of each seed overlaid). "
                            + "Finished runs in OUT are reused, so an interrupted experiment continues."},
            footer = {"", "Examples:",
                    "  ./gns4j experiment schedule --config configs/schedule-cpu.json",
                    "  ./gns4j experiment schedule --config configs/schedule-gpu.json --device cuda"})
    public static final class Schedule implements Callable<Integer> {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "Experiment JSON (see configs/schedule-*.json).")
        Path config;

        @Option(names = "--out-dir", paramLabel = "DIR", description = "Output folder (overrides the config's out_dir).")
        Path outDir;

        @Option(names = "--device", paramLabel = "DEVICE", description = "cpu, cuda or auto for every run (overrides the config).")
        String device;

        @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a train config key in every run; repeatable.")
        List<String> sets = new ArrayList<>();

        @Option(names = "--seeds", split = ",", paramLabel = "S", description = "Run and compare only these of the config's seeds "
                + "(e.g. one seed per session; a later run with all seeds reuses the finished runs).")
        List<Long> seeds;

        public Schedule() {}

        @Override
        public Integer call() {
            ScheduleExperimentConfig cfg = ScheduleExperimentConfig.load(config);
            if (outDir != null || seeds != null) {
                if (seeds != null && !cfg.seeds().containsAll(seeds))
                    throw new UserError("--seeds " + seeds + " are not all among the config's seeds " + cfg.seeds());
                if (seeds != null && new java.util.HashSet<>(seeds).size() != seeds.size())
                    throw new UserError("--seeds " + seeds + " lists a seed twice");
                cfg = new ScheduleExperimentConfig(outDir != null ? outDir : cfg.outDir(), cfg.dataDir(), cfg.prepareInputs(),
                        cfg.tokenizer(), cfg.valFraction(), cfg.base(), cfg.arms(), cfg.baseline(),
                        seeds != null ? List.copyOf(seeds) : cfg.seeds(), cfg.estimatorBatches(), cfg.estimatorGroups(),
                        cfg.estimatorBatchSize());
            }
            List<String> overrides = new ArrayList<>(sets);
            if (device != null) overrides.add("device=" + device);
            ScheduleResults r = new ScheduleExperiment(cfg, overrides, System.err, StatusLine.stderr()).run();
            System.out.println(r.markdown());
            System.out.println("written: " + cfg.outDir().resolve("results.md") + ", results.csv, gns_ln_vs_total.csv, "
                    + String.join(", ", cfg.seeds().stream().map(ScheduleExperiment::reportFile).toList()));
            return 0;
        }
    }
}
