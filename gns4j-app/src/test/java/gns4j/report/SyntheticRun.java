package gns4j.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Writes run folders shaped like the trainer's: config.json and a metrics.jsonl of plausible values. */
final class SyntheticRun {
    private static final Gson GSON = new GsonBuilder().serializeNulls().create();

    private SyntheticRun() {}

    /** {@code steps} records, 4 layers, val loss every 10 steps, GNS from step 5, batch size ramping 8 → 16. */
    static Path write(Path dir, int steps, long seed) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), GSON.toJson(Map.of("n_layer", 4, "n_embd", 64,
                "batch_size", 16, "learning_rate", 6e-4, "per_example_norms", "all", "seed", seed)));
        Random rnd = new Random(seed);
        StringBuilder lines = new StringBuilder();
        long tokens = 0;
        for (int step = 1; step <= steps; step++) {
            int batch = Math.min(16, 8 + step / 4);
            tokens += batch * 256L;
            double progress = (double) step / steps, gns = 20 * Math.exp(3 * progress);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("step", step);
            r.put("tokens", tokens);
            r.put("loss", 4 + 6.8 * Math.exp(-5 * progress) + 0.05 * rnd.nextGaussian());
            r.put("lr", 6e-4 * Math.min(1, step / 10.0) * (0.55 + 0.45 * Math.cos(Math.PI * progress)));
            r.put("batch_size", batch);
            r.put("micro_batches", batch / 8);
            r.put("tok_per_s", 50_000 + 2_000 * rnd.nextGaussian());
            r.put("elapsed_s", tokens / 50_000.0);
            r.put("grad_norm", 5 * Math.exp(-2 * progress) + 0.3);
            boolean ready = step >= 5; // the EMA needs a few steps before the trainer reports GNS
            r.put("gns_total", ready ? gns : null);
            r.put("gns_ln", ready ? 0.9 * gns : null);
            Map<String, Object> types = new LinkedHashMap<>();
            for (String t : Extract.TYPE_ORDER) {
                types.put(t, ready ? gns * (0.5 + Extract.TYPE_ORDER.indexOf(t) / 4.0) : null);
            }
            r.put("gns_type", types);
            Map<String, Object> layers = new LinkedHashMap<>();
            layers.put("embed", ready ? gns * 0.6 : null);
            for (int l = 0; l < 4; l++) layers.put("h." + l, ready ? gns * (0.8 + 0.2 * l) : null);
            layers.put("head", ready ? gns * 1.5 : null);
            r.put("gns_layer", layers);
            List<Double> pe = new ArrayList<>(), peLn = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                double norm = (8 * Math.exp(-3 * progress) + 0.5) * Math.exp(0.3 * rnd.nextGaussian());
                pe.add(norm);
                peLn.add(0.1 * norm);
            }
            r.put("pe_norm_total", pe);
            r.put("pe_norm_ln", peLn);
            if (step % 10 == 0) r.put("val_loss", 4.1 + 6.8 * Math.exp(-5 * progress));
            lines.append(GSON.toJson(r)).append('\n');
        }
        Files.writeString(dir.resolve("metrics.jsonl"), lines);
        return dir;
    }
}
