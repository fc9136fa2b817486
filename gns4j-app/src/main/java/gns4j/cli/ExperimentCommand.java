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

    /** {@code gns4j experiment schedule --config FILE}: batch-size schedules against the best of a sweep of fixed batches. */
    @Command(name = "schedule", mixinStandardHelpOptions = true, sortOptions = false,
            description = {
                    "Run a sweep of fixed batch sizes (fixed-<B>), the best of them at other peak LRs (fixed-<B>-lr<f>) and the "
                            + "batch-size schedules under test (linear ramp, adaptive, ...), all with the same token budget, LR "
                            + "schedule and seeds, one after the other, into OUT/<arm>-seed<s>/; then compare them.",
                    "Writes OUT/throughput.json (tok/s per batch size, micro-batch = batch), OUT/results.md and results.csv "
                            + "(final val loss; steps, tokens, training time and the time projected to N GPUs to L*, the best "
                            + "fixed arm's mean final val loss, and to the rungs above it; savings against the fixed run cheapest "
                            + "in each), OUT/savings.csv (every run, rung and currency), OUT/curves.csv (every evaluation of every run), OUT/gns_ln_vs_total.csv, "
                            + "OUT/estimators.json and OUT/report-seed<s>.html. Finished runs are reused and unfinished ones "
                            + "resumed, so the experiment can be spread over several calls (--arms, --seeds, --time-limit)."},
            footer = {"", "Examples:",
                    "  ./gns4j experiment schedule --config configs/schedule-cpu.json",
                    "  ./gns4j experiment schedule --config configs/schedule-gpu.json --seeds 1 --time-limit 8",
                    "  ./gns4j experiment schedule --config configs/schedule-gpu.json --arms 'fixed-*' --seeds 2,3"})
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
                + "(e.g. one seed per call; a later call with all seeds reuses the finished runs).")
        List<Long> seeds;

        @Option(names = "--arms", split = ",", paramLabel = "ARM", description = "Run only these arms (names, or prefixes ending in *, "
                + "e.g. fixed-*); the results still cover every finished run.")
        List<String> arms;

        @Option(names = "--time-limit", paramLabel = "MINUTES", description = "Stop the run in progress with a checkpoint after this "
                + "many minutes and start no other; the same command continues.")
        Double timeLimit;

        @Option(names = "--project-gpus", split = ",", paramLabel = "N", description = "Also project the runs to these GPU counts "
                + "(always 1, 8 and 64): the time each run's own batch sequence would take data parallel on N GPUs.")
        List<Integer> projectGpus = new ArrayList<>();

        @Option(names = "--bus-gbps", paramLabel = "GB/S", description = "All-reduce bus bandwidth of the projection in GB/s "
                + "(default 200: the 2-GPU H100 runs of docs/multi-gpu.md; between hosts it is lower).")
        Double busGbps;

        public Schedule() {}

        @Override
        public Integer call() {
            ScheduleExperimentConfig cfg = ScheduleExperimentConfig.load(config);
            if (timeLimit != null && !(timeLimit > 0)) throw new UserError("--time-limit must be > 0 minutes, got " + timeLimit);
            if (outDir != null)
                cfg = new ScheduleExperimentConfig(outDir, cfg.dataDir(), cfg.prepareInputs(), cfg.tokenizer(), cfg.valFraction(),
                        cfg.base(), cfg.fixedBatches(), cfg.lrFactors(), cfg.arms(), cfg.seeds(), cfg.estimatorBatches(),
                        cfg.estimatorGroups(), cfg.estimatorBatchSize());
            List<String> overrides = new ArrayList<>(sets);
            if (device != null) overrides.add("device=" + device);
            ScheduleExperiment experiment = new ScheduleExperiment(cfg, overrides, System.err, StatusLine.stderr());
            if (arms != null) experiment.arms(armFilter(arms));
            if (seeds != null) experiment.seeds(seeds);
            if (timeLimit != null) experiment.timeLimitMinutes(timeLimit);
            List<Integer> gpus = new ArrayList<>(ScheduleResults.DEFAULT_GPUS);
            gpus.addAll(projectGpus);
            experiment.projection(new ScheduleResults.ProjectionSettings(gpus,
                    busGbps == null ? ScheduleResults.DEFAULT_BUS_BYTES_PER_S : busGbps * 1e9));
            ScheduleResults r = experiment.run();
            System.out.println(r.markdown());
            System.out.println("written: " + cfg.outDir().resolve("results.md") + ", results.csv, savings.csv, curves.csv, gns_ln_vs_total.csv, "
                    + String.join(", ", cfg.seeds().stream().map(ScheduleExperiment::reportFile).toList()));
            if (experiment.timeUp()) System.out.println("time limit reached: runs are left; the same command continues them");
            return 0;
        }

        /** Arm names, or prefixes ending in '*'. */
        static java.util.function.Predicate<String> armFilter(List<String> patterns) {
            return arm -> patterns.stream().anyMatch(p -> p.endsWith("*") ? arm.startsWith(p.substring(0, p.length() - 1)) : arm.equals(p));
        }
    }
}
