package gns4j.cli;

import gns4j.UserError;
import gns4j.backend.Backend;
import gns4j.backend.select.Backends;
import gns4j.data.DataMeta;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import gns4j.data.Tokenizer;
import gns4j.data.Tokenizers;
import gns4j.gns.GnsResult;
import gns4j.gns.IntervalMethod;
import gns4j.measure.ExampleNorm;
import gns4j.measure.GnsStatsFile;
import gns4j.measure.MeasureReport;
import gns4j.measure.ModelMeasurement;
import gns4j.measure.ModelMeasurer;
import gns4j.measure.Snippet;
import gns4j.measure.StatsReport;
import gns4j.model.ModelConfig;
import gns4j.train.StatusLine;
import gns4j.train.TrainConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.IntConsumer;

/**
 * {@code gns4j measure}: GNS with a confidence interval, the critical batch size, and per-example norms of a model
 * as it stands (no optimizer step).
 */
@Command(name = "measure", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Measure a model's gradient noise scale (GNS) with a confidence interval, the critical batch size, and "
                        + "per-example gradient norms; no optimizer step.",
                "Runs N batches of random windows through forward and backward with per-example norms of every tensor; "
                        + "GNS = mean tr(Σ) / mean |G|² over the batches, for all parameters, the norm layers, each "
                        + "type and each layer, with a bootstrap (or jackknife) interval over the batches. Without "
                        + "--init-from or --config: a fresh model of the default config with the --set keys.",
                "With --from-stats FILE: the same table from per-batch statistics another program wrote (PyTorch: "
                        + "scripts/torch_gns_stats.py; format: docs/gns-stats-format.md)."},
        footer = {"", "Examples:",
                "  ./gns4j measure --data-dir data/jargon --config my.json --batches 40",
                "  ./gns4j measure --data-dir data/jargon --set n_layer=4 --set n_embd=128 --set n_head=4",
                "  ./gns4j measure --data-dir data/jargon --config my.json --top 10 --json > gns.json",
                "  ./gns4j measure --data-dir data/jargon --init-from RUN_DIR   (its newest checkpoint)",
                "  ./gns4j measure --data-dir data/gpt2 --init-from HF_GPT2_DIR  (model.safetensors + config.json)",
                "  ./gns4j measure --from-stats stats.jsonl --seed 1337"})
public final class MeasureCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Prepared dataset (train.bin, meta.json).")
    Path dataDir;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    ModelSource model = new ModelSource();

    static final class ModelSource {
        @Option(names = "--init-from", paramLabel = "PATH",
                description = "Trained weights: a run folder (its newest checkpoint, with the run's config), a checkpoint "
                        + "folder, or a Hugging Face GPT-2 or Llama folder (model.safetensors + config.json).")
        Path initFrom;

        @Option(names = "--config", paramLabel = "FILE",
                description = "JSON config of a fresh model, initialised from --seed (default: the default config).")
        Path config;

        @Option(names = "--from-stats", paramLabel = "FILE",
                description = "Per-batch statistics (one JSON line per batch: batch_size and per group pe_sq_mean and "
                        + "grad_sq) instead of a model; takes only --confidence, --interval, --seed, --tensors, --json.")
        Path fromStats;
    }

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key; repeatable.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--batches", defaultValue = "20", paramLabel = "N", description = "Batches to measure (default: ${DEFAULT-VALUE}).")
    int batches;

    @Option(names = "--batch-size", paramLabel = "B",
            description = "Sequences per batch (default: the config's batch_size), run as micro-batches of micro_batch_size.")
    Integer batchSize;

    @Option(names = "--device", paramLabel = "DEVICE", description = "cpu, cuda or auto (default: the config's).")
    String device;

    @Option(names = "--confidence", defaultValue = "0.9", paramLabel = "C", description = "Interval coverage (default: ${DEFAULT-VALUE}).")
    double confidence;

    @Option(names = "--interval", defaultValue = "bootstrap", paramLabel = "METHOD",
            description = "bootstrap (BCa, default) or jackknife, over batches.")
    String interval;

    @Option(names = "--top", defaultValue = "5", paramLabel = "K",
            description = "List the K highest- and K lowest-norm examples with their text (default: ${DEFAULT-VALUE}; 0: none).")
    int top;

    @Option(names = "--split", defaultValue = "train", paramLabel = "SPLIT", description = "train or val token file (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--seed", paramLabel = "S",
            description = "Seed of the fresh init, the window sampling and the bootstrap (default: the config's seed).")
    Long seed;

    @Option(names = "--tensors", description = "Also list every tensor in the table (JSON always has them).")
    boolean tensors;

    @Option(names = "--json", description = "Print one JSON object (every example's norms and window offset included) "
            + "instead of the table.")
    boolean json;

    private static final int SNIPPET_CHARS = 72;

    /** The options that only a model measurement takes. */
    private static final List<String> MODEL_OPTIONS =
            List.of("--data-dir", "--set", "--batches", "--batch-size", "--device", "--top", "--split");

    @Override
    public Integer call() {
        if (!(confidence > 0 && confidence < 1)) throw new UserError("--confidence must be in (0, 1), got " + confidence);
        IntervalMethod method = switch (interval) {
            case "bootstrap" -> IntervalMethod.BOOTSTRAP;
            case "jackknife" -> IntervalMethod.JACKKNIFE;
            default -> throw new UserError("--interval must be bootstrap or jackknife, got '" + interval + "'");
        };
        if (model.fromStats != null) return fromStats(method);
        if (dataDir == null)
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--data-dir=DIR' "
                    + "(or --from-stats FILE)");
        return measureModel(method);
    }

    /** The table of a statistics file; the bootstrap seed defaults to the default config's, as for a model. */
    private int fromStats(IntervalMethod method) {
        List<String> given = MODEL_OPTIONS.stream().filter(spec.commandLine().getParseResult()::hasMatchedOption).toList();
        if (!given.isEmpty())
            throw new CommandLine.ParameterException(spec.commandLine(), "--from-stats reads batches measured "
                    + "elsewhere; it cannot be combined with " + String.join(", ", given));
        if (!Files.isRegularFile(model.fromStats)) throw new UserError("--from-stats " + model.fromStats + ": not found");
        var report = new StatsReport(GnsStatsFile.read(model.fromStats), confidence, method,
                seed != null ? seed : TrainConfig.defaults().run().seed(), tensors);
        System.out.print(json ? report.json() + "\n" : report.table());
        return 0;
    }

    private int measureModel(IntervalMethod method) {
        if (batches < 2) throw new UserError("--batches must be >= 2 (an interval needs several batches), got " + batches);
        if (top < 0) throw new UserError("--top must be >= 0, got " + top);
        String fileName = switch (split) {
            case "train" -> DatasetPreparer.TRAIN_FILE;
            case "val" -> DatasetPreparer.VAL_FILE;
            default -> throw new UserError("--split must be train or val, got '" + split + "'");
        };
        if (!Files.isDirectory(dataDir)) throw new UserError("data dir not found: " + dataDir);

        gns4j.checkpoint.ModelSource checkpoint = model.initFrom == null ? null : openModel(model.initFrom);
        List<String> overrides = new ArrayList<>(sets);
        if (device != null) overrides.add("device=" + device);
        TrainConfig cfg = checkpoint == null ? TrainConfig.load(model.config, overrides)
                : (checkpoint.trainConfig() != null ? TrainConfig.fromJson(checkpoint.trainConfig().toString())
                : TrainCommand.pretrainedShape(TrainConfig.defaults(), checkpoint.config(), java.util.Set.of(), checkpoint.weights()))
                .with(overrides.toArray(String[]::new));
        long s = seed != null ? seed : cfg.run().seed();
        int B = batchSize != null ? batchSize : cfg.batch().batchSize();
        if (B < 2) throw new UserError("--batch-size must be >= 2 (GNS compares examples within a batch), got " + B);
        int micro = cfg.batch().autoMicroBatch() ? B : Math.min(cfg.batch().microBatchSize(), B); // auto: the batch is one pass
        if (B % micro != 0)
            throw new UserError("--batch-size " + B + " must be a multiple of micro_batch_size " + micro
                    + " (set it with --set micro_batch_size=M)");

        DataMeta meta = TokenDataset.readMeta(dataDir);
        ModelConfig mc = cfg.model().modelConfig(meta == null ? 0 : meta.vocabSize());
        // Plain nanoGPT .bin files (no meta.json) hold GPT-2 tokens.
        Tokenizer tok = Tokenizers.byName(meta == null ? "gpt2" : meta.tokenizer());
        Path file = dataDir.resolve(fileName);
        try (TokenDataset data = TokenDataset.open(file, mc.vocabSize(), mc.blockSize());
             Backend backend = Backends.open(cfg.run().device().name().toLowerCase(), mc, micro, cfg.run().threadCount(),
                     n -> System.err.println("gns4j: " + n))) {
            String source;
            if (checkpoint != null) {
                backend.writeParams(new gns4j.checkpoint.HfGpt2.Pretrained(checkpoint.weights(), checkpoint.config()).params(mc));
                source = "weights " + checkpoint.weights();
            } else {
                backend.initWeights(s);
                source = "fresh init (seed " + s + ")";
            }
            System.err.println("measure: " + batches + " batches of " + B + " sequences x " + mc.blockSize() + " tokens, "
                    + mc.describe() + ", " + source + ", backend " + backend.name());
            ModelMeasurement m = ModelMeasurer.measure(backend, data, batches, B, micro, mc.blockSize(),
                    cfg.gns().linearNormMethod(), new SplittableRandom(s), new BatchProgress(batches, StatusLine.interactive()));
            Map<String, GnsResult> results = m.groups().results(confidence, method, s);
            var report = new MeasureReport(m, results, confidence, method, source, backend.name(), file.toString(), s,
                    ranked(m.highest(top), data, mc.blockSize(), tok), ranked(m.lowest(top), data, mc.blockSize(), tok),
                    tensors);
            System.out.print(json ? report.json() + "\n" : report.table());
        }
        return 0;
    }

    /**
     * "measure: batch 5/20 (40s left)" on stderr as batches finish: rewritten in place on a terminal, else a line at
     * each quarter of the batches (logs keep a few lines, yet a slow measurement shows it is moving).
     */
    private static final class BatchProgress implements IntConsumer {
        private final int batches;
        private final boolean terminal;
        private final long start = System.nanoTime();

        BatchProgress(int batches, boolean terminal) {
            this.batches = batches;
            this.terminal = terminal;
        }

        @Override
        public void accept(int done) {
            boolean quarter = done * 4 / batches != (done - 1) * 4 / batches;
            if (!terminal && !quarter) return;
            double elapsed = (System.nanoTime() - start) / 1e9;
            String line = "measure: batch " + done + "/" + batches
                    + (done < batches ? " (" + StatusLine.duration(elapsed / done * (batches - done)) + " left)" : "");
            if (terminal) System.err.print("\r\033[K" + line + (done == batches ? "\n" : ""));
            else System.err.println(line);
        }
    }

    /** The model behind --init-from, or a UserError saying why there is none. */
    static gns4j.checkpoint.ModelSource openModel(Path initFrom) {
        if (!Files.exists(initFrom)) throw new UserError("--init-from " + initFrom + ": not found");
        if (!gns4j.checkpoint.ModelSource.recognises(initFrom))
            throw new UserError("--init-from " + initFrom + ": not a model.safetensors, nor a run, checkpoint or Hugging Face"
                    + " GPT-2 or Llama folder; or measure a fresh model with --config FILE or --set KEY=VALUE");
        return gns4j.checkpoint.ModelSource.open(initFrom);
    }

    private static List<MeasureReport.Ranked> ranked(List<ExampleNorm> list, TokenDataset data, int T, Tokenizer tok) {
        List<MeasureReport.Ranked> out = new ArrayList<>();
        for (ExampleNorm e : list)
            out.add(new MeasureReport.Ranked(e, Snippet.of(data, e.offset(), T, tok, SNIPPET_CHARS)));
        return out;
    }
}
