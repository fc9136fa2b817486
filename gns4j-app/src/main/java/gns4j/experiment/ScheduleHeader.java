package gns4j.experiment;

import gns4j.CpuInfo;
import gns4j.data.TokenDataset;
import gns4j.model.ModelConfig;
import gns4j.model.ParameterLayout;
import gns4j.schedule.BatchSchedule;
import gns4j.train.BatchSettings;
import gns4j.train.OptimizerSettings;
import gns4j.train.RunSettings;
import gns4j.train.TrainConfig;

import java.io.IOException;
import java.net.InetAddress;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;

/** The head of results.md: what the experiment compared, on what, and where it was analysed. */
final class ScheduleHeader {
    private ScheduleHeader() {}

    /** The setting: date, machine, data, model, budget, seeds, validation, and one line per arm. */
    static String of(ScheduleExperimentConfig cfg, Map<String, TrainConfig> configs) {
        TrainConfig first = configs.values().iterator().next();
        var meta = TokenDataset.readMeta(cfg.dataDir());
        ModelConfig model = first.model().modelConfig(meta == null ? 0 : meta.vocabSize());
        ParameterLayout layout = new ParameterLayout(model);
        long embedding = layout.wte.size() + (layout.wpe == null ? 0 : layout.wpe.size()); // Llama: no position table
        long nonEmbedding = layout.totalSize - embedding;
        StringBuilder sb = new StringBuilder();
        sb.append("- date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
        RunSettings run = first.run();
        OptimizerSettings opt = first.optimizer();
        sb.append("- analysed on: ").append(machine()).append("; runs on device ")
                .append(run.device().name().toLowerCase(Locale.ROOT)).append('\n');
        sb.append(String.format(Locale.ROOT, "- data: %s (%s tokenizer, vocabulary %d)%n", cfg.dataDir(),
                meta == null ? "?" : meta.tokenizer(), model.vocabSize()));
        sb.append(String.format(Locale.ROOT, "- model: %d layers, %d heads, n_embd %d, block %d: %,d parameters, %,d without the embeddings%n",
                model.nLayer(), model.nHead(), model.nEmbd(), model.blockSize(), layout.totalSize, nonEmbedding));
        sb.append(String.format(Locale.ROOT, "- budget: %,d tokens per run (%.1f per non-embedding parameter, %.1f per parameter); LR %s, peak %.3g, floor %.3g, warmup %,d tokens, horizon %,d tokens%n",
                run.maxTokens(), (double) run.maxTokens() / nonEmbedding, (double) run.maxTokens() / layout.totalSize,
                opt.lrDecay().name().toLowerCase(Locale.ROOT), opt.learningRate(), opt.minLr(), opt.warmupTokens(),
                first.lrSchedule().decayTokens()));
        sb.append("- seeds: ").append(cfg.seeds()).append('\n');
        sb.append(String.format(Locale.ROOT, "- validation: the same %d windows of %d tokens spread over all of val.bin for every run, every %s%n",
                run.evalSequences(), first.model().blockSize(), run.evalIntervalTokens() > 0
                        ? String.format(Locale.ROOT, "%,d tokens", run.evalIntervalTokens()) : run.evalInterval() + " steps"));
        sb.append("- arms:\n");
        for (var e : configs.entrySet()) {
            TrainConfig c = e.getValue();
            BatchSettings b = c.batch();
            String desc = switch (b.batchSchedule()) {
                case FIXED -> "fixed batch " + b.batchSize();
                case LINEAR_RAMP -> String.format(Locale.ROOT, "linear ramp %d -> %d sequences over %,d tokens",
                        b.batchSizeStart(), b.batchSize(), b.rampTokens());
                case ADAPTIVE -> String.format(Locale.ROOT, "adaptive: %s, in [%d, %d], start %d, every >= %d steps%s",
                        b.adaptivePolicy() == BatchSchedule.Adaptive.Policy.GOODPUT
                                ? String.format(Locale.ROOT, "goodput, min (B + %s x %s GNS) / tok/s(B) on %s", ScheduleTables.fmtG(b.adaptiveK()),
                                b.adaptiveSource().name().toLowerCase(Locale.ROOT), !b.throughputCurve().isEmpty() ? "the curve " + b.throughputCurve()
                                        : cfg.arms().getOrDefault(e.getKey(), Map.of()).containsKey(ScheduleExperimentConfig.GOODPUT_GPUS)
                                        ? "the experiment's throughput curve projected to " + cfg.arms().get(e.getKey())
                                                .get(ScheduleExperimentConfig.GOODPUT_GPUS) + " GPUs (a projection)"
                                        : "the experiment's throughput curve")
                                : String.format(Locale.ROOT, "%s x %s GNS", ScheduleTables.fmtG(b.adaptiveK()), b.adaptiveSource().name().toLowerCase(Locale.ROOT)),
                        b.minResolved(), b.batchSize(), b.batchSizeStart(), b.adaptiveInterval(),
                        b.adaptiveAllowDecrease() ? ", may decrease" : ", non-decreasing");
            };
            double lrExponent = c.optimizer().lrBatchExponent();
            sb.append(String.format(Locale.ROOT, "  - `%s`: %s, peak LR %.3g%s; micro-batch %s; per-example norms %s%n",
                    e.getKey(), desc, c.optimizer().learningRate(),
                    lrExponent > 0 ? " x (batch / " + b.first() + ")^" + ScheduleTables.fmtG(lrExponent) : "",
                    b.autoMicroBatch() ? "= batch" : Integer.toString(b.microBatchSize()),
                    c.gns().perExampleNorms().name().toLowerCase(Locale.ROOT)));
        }
        return sb.toString();
    }

    static String machine() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown host";
        }
        String cpu = CpuInfo.model();
        return String.format(Locale.ROOT, "%s, %d cores available%s, %s %s, Java %s", host,
                Runtime.getRuntime().availableProcessors(), cpu.isEmpty() ? "" : " (" + cpu + ")",
                System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"));
    }
}
