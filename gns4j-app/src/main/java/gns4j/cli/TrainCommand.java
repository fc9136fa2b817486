package gns4j.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.checkpoint.ModelSource;
import gns4j.parallel.NcclBootstrap;
import gns4j.backend.cuda.NcclCommunicator;
import gns4j.model.Arch;
import gns4j.model.ModelConfig;
import gns4j.train.ConfigKeys;
import gns4j.train.SignalStop;
import gns4j.train.StatusLine;
import gns4j.train.TrainConfig;
import gns4j.report.ReportWriter;
import gns4j.train.Trainer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code gns4j train}: one training run into a run folder, or the continuation of one (--resume). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model on a prepared dataset, logging loss and GNS to OUT/metrics.jsonl and writing "
                + "checkpoints to OUT/checkpoints; or continue such a run with --resume. With --gpus N, or in a process "
                + "started with RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT set (WORLD_SIZE > 1), data parallel "
                + "over GPUs through NCCL.")
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Folder with train.bin (and val.bin). With --resume: "
            + "only if the data moved.")
    Path dataDir;

    @Option(names = "--out-dir", paramLabel = "DIR", description = "Run folder to create (must not hold a run).")
    Path outDir;

    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue this run from its newest checkpoint, "
            + "with its stored config and data dir, appending to its metrics.jsonl; --max-steps or --set max_tokens=N "
            + "give it a new length.")
    Path resume;

    @Option(names = "--init-from", paramLabel = "PATH", description = "Start from Hugging Face GPT-2 or Llama weights: a "
            + "folder with model.safetensors and config.json, or a run folder (its newest checkpoint) or checkpoint folder "
            + "(the model shape comes from it; block_size may be smaller).")
    Path initFrom;

    @Option(names = "--config", paramLabel = "FILE", description = "JSON file of config keys (flat object).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config key; repeatable.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--device", paramLabel = "DEVICE", description = "cpu, cuda or auto (overrides the config).")
    String device;

    @Option(names = "--max-steps", paramLabel = "N", description = "Optimizer steps (overrides the config; with --resume "
            + "the run's new length).")
    Integer maxSteps;

    @Option(names = "--gpus", paramLabel = "N", description = "Data parallel on N GPUs of this host: one process per GPU, "
            + "NCCL all-reduce, the same global batch as one GPU (batch_size must hold at least N micro-batches); "
            + "implies --device cuda. Rank 0 writes the run folder.")
    Integer gpus;

    /** The config keys and examples under train's usage; built from {@link ConfigKeys}, so no annotation constant. */
    static void addHelpFooter(CommandLine train) {
        List<String> footer = new ArrayList<>(List.of("", "Config keys (JSON file for --config, or --set key=value):"));
        footer.addAll(ConfigKeys.helpLines());
        footer.addAll(List.of("", "Examples:",
                "  ./gns4j train --data-dir data/book --out-dir runs/book-1 --max-steps 300",
                "  ./gns4j train --data-dir data/book --out-dir runs/book-2 --config my.json --set batch_size=32",
                "  ./gns4j train --data-dir data/book --out-dir runs/ramp --config my.json \\",
                "      --set batch_schedule=linear_ramp --set batch_size_start=8 --set ramp_tokens=2e6",
                "  ./gns4j train --resume runs/book-1",
                "  ./gns4j train --init-from gpt2 --data-dir data/book --out-dir runs/ft --set block_size=256"));
        // Wide enough that each key stays on one line (picocli wraps at 80 by default).
        train.getCommandSpec().usageMessage().width(140).footer(footer.toArray(String[]::new));
    }

    @Override
    public Integer call() {
        if (gpus != null && gpus < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--gpus must be >= 1, got " + gpus);
        boolean launch = gpus != null && gpus > 1;
        // --gpus means CUDA unless a device was chosen; the ranks get it spelled out.
        boolean impliedCuda = launch && resume == null && device == null && !explicitKeys(config, sets).contains("device");
        if (impliedCuda) device = "cuda";
        Trainer trainer = trainer();
        Path run = resume != null ? resume : outDir;
        NcclBootstrap.Env child = launch ? null : MultiGpu.child(System.getenv());
        if (launch || child != null) {
            String option = launch ? "--gpus " + gpus : "rank " + child.rank() + " (LOCAL_RANK " + child.localRank() + ")";
            if (trainer.config().run().device() == TrainConfig.Device.CPU)
                throw new UserError(option + " trains on GPUs, but the device is cpu (use --device cuda)");
            // The ranks would each refuse bad input; the launcher refuses it once, before starting them.
            if (launch) trainer.checkInputs(gpus);
            MultiGpu.require(launch ? gpus : child.localRank() + 1, option);
        }
        if (launch) {
            List<String> args = withoutGpus(spec.commandLine().getParseResult().originalArgs());
            if (impliedCuda) args.addAll(List.of("--device", "cuda"));
            return MultiGpu.launch(gpus, args, Map.of());
        }
        if (child == null) return runAndReport(trainer, run, true);
        NcclCommunicator comm;
        try {
            comm = NcclCommunicator.fromEnvironment(System.getenv());
        } catch (RuntimeException e) {
            throw new UserError("rank " + child.rank() + ": cannot join the NCCL group: " + e.getMessage(), e);
        }
        try (comm) {
            return runAndReport(trainer.dataParallel(comm, child.localRank()), run, child.rank() == 0);
        } catch (UserError e) {
            throw child.rank() == 0 ? e : new UserError("rank " + child.rank() + ": " + e.getMessage(), e);
        }
    }

    /** The arguments of this command less --gpus and its value. */
    static List<String> withoutGpus(List<String> args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--gpus")) i++;
            else if (!a.startsWith("--gpus=")) out.add(a);
        }
        return out;
    }

    /** The trainer the options ask for; reads the config (and a resumed run's files) but writes nothing. */
    private Trainer trainer() {
        Trainer trainer;
        if (resume != null) {
            List<String> extra = new ArrayList<>(), length = new ArrayList<>();
            if (outDir != null) extra.add("--out-dir");
            if (initFrom != null) extra.add("--init-from");
            if (config != null) extra.add("--config");
            if (device != null) extra.add("--device");
            if (maxSteps != null) length.add("max_steps=" + maxSteps);
            for (String kv : sets) {
                String key = kv.substring(0, Math.max(0, kv.indexOf('='))).trim();
                if (Trainer.LENGTH_KEYS.contains(key)) length.add(kv);
                else extra.add("--set " + (key.isEmpty() ? kv : key));
            }
            if (!extra.isEmpty())
                throw new CommandLine.ParameterException(spec.commandLine(), "--resume continues with the run's stored "
                        + "config; it cannot be combined with " + String.join(", ", extra) + " (only the length may change:"
                        + " --max-steps N, --set max_tokens=N)");
            trainer = Trainer.resume(resume, dataDir, StatusLine.stderr(), length);
        } else {
            List<String> missing = new ArrayList<>();
            if (dataDir == null) missing.add("'--data-dir=DIR'");
            if (outDir == null) missing.add("'--out-dir=DIR'");
            if (!missing.isEmpty())
                throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option"
                        + (missing.size() > 1 ? "s: " : ": ") + String.join(", ", missing) + " (or --resume RUN_DIR)");
            List<String> overrides = new ArrayList<>(sets);
            if (device != null) overrides.add("device=" + device);
            if (maxSteps != null) overrides.add("max_steps=" + maxSteps);
            TrainConfig cfg = TrainConfig.load(config, overrides);
            // a run folder gives its newest checkpoint (verified), as measure and sample take it
            ModelSource source = initFrom == null ? null : ModelSource.open(initFrom);
            if (source != null) cfg = pretrainedShape(cfg, source.config(), explicitKeys(config, sets), initFrom);
            trainer = new Trainer(cfg, dataDir, outDir, StatusLine.stderr());
            if (source != null) trainer.initFrom(source.weights());
        }
        return trainer;
    }

    /** Runs and prints the last line ({@code print}: only rank 0 of several); the exit code. */
    private static int runAndReport(Trainer trainer, Path run, boolean print) {
        // Signals are handled around the run and the last line, so a stopped process still prints it.
        try (SignalStop _ = SignalStop.install(trainer)) {
            Trainer.Result r = trainer.run();
            if (!print) return trainer.stopped() ? 130 : 0;
            System.err.println("report: " + ReportWriter.writeForRun(run));
            if (trainer.stopped()) {
                System.out.printf("stopped: %d steps, %,d tokens; checkpoint %s; continue with ./gns4j train --resume %s%n",
                        r.steps(), r.tokens(), trainer.lastCheckpoint(), run);
                System.out.flush();
                return 130;
            }
            System.out.printf("done: %d steps, %,d tokens, loss %.4f%s, %.1f s; run folder %s%n", r.steps(), r.tokens(), r.loss(),
                    r.valLoss() == null ? "" : String.format(", val loss %.4f", r.valLoss()), r.seconds(), run);
            return 0;
        }
    }

    /** Config keys the user gave explicitly (in --config or --set). */
    public static Set<String> explicitKeys(Path configFile, List<String> sets) {
        Set<String> keys = new LinkedHashSet<>();
        if (configFile != null) {
            try {
                JsonElement e = JsonParser.parseString(Files.readString(configFile));
                if (e.isJsonObject()) keys.addAll(e.getAsJsonObject().keySet());
            } catch (IOException | RuntimeException e) {
                // TrainConfig.load has already reported a bad file
            }
        }
        for (String s : sets) if (s.indexOf('=') > 0) keys.add(s.substring(0, s.indexOf('=')).trim());
        return keys;
    }

    /**
     * The config with the pretrained model's shape. A shape key the user set explicitly must agree with it, except
     * block_size, which may be smaller than n_positions (the position table is cut).
     */
    public static TrainConfig pretrainedShape(TrainConfig cfg, ModelConfig hf, Set<String> explicit, Path source) {
        List<String> shape = new ArrayList<>();
        agree(explicit, "arch", cfg.model().arch().name().toLowerCase(), hf.arch().name().toLowerCase(), source, shape);
        if (hf.arch() == Arch.LLAMA) {
            int kvHeads = cfg.model().nKvHead() > 0 ? cfg.model().nKvHead() : cfg.model().nHead();
            agree(explicit, "n_kv_head", kvHeads, hf.nKvHead(), source, shape);
            agree(explicit, "rope_theta", cfg.model().ropeTheta(), hf.ropeTheta(), source, shape);
            agree(explicit, "ffn_hidden", cfg.model().ffnHidden(), hf.ffnHidden(), source, shape);
        }
        agree(explicit, "n_layer", cfg.model().nLayer(), hf.nLayer(), source, shape);
        agree(explicit, "n_head", cfg.model().nHead(), hf.nHead(), source, shape);
        agree(explicit, "n_embd", cfg.model().nEmbd(), hf.nEmbd(), source, shape);
        agree(explicit, "vocab_size", cfg.model().vocabSize(), hf.vocabSize(), source, shape);
        agree(explicit, "bias", cfg.model().bias(), hf.bias(), source, shape);
        agree(explicit, "norm", cfg.model().norm().name().toLowerCase(), hf.norm().name().toLowerCase(), source, shape);
        agree(explicit, "tied_head", cfg.model().tiedHead(), hf.tiedHead(), source, shape);
        if (explicit.contains("block_size")) {
            if (cfg.model().blockSize() > hf.blockSize())
                throw new UserError("block_size " + cfg.model().blockSize() + " exceeds the " + hf.blockSize()
                        + " positions of the model in " + source);
        } else shape.add("block_size=" + hf.blockSize());
        return cfg.with(shape.toArray(String[]::new));
    }

    private static void agree(Set<String> explicit, String key, Object mine, Object theirs, Path source, List<String> out) {
        if (explicit.contains(key) && !String.valueOf(mine).equals(String.valueOf(theirs)))
            throw new UserError("config key " + key + " is " + mine + " but the model in " + source + " has " + theirs
                    + " (--init-from takes the model shape from its config.json)");
        out.add(key + "=" + theirs);
    }
}
