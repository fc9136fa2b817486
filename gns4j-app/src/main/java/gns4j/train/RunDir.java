package gns4j.train;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.IoErrors;
import gns4j.Folders;
import gns4j.UserError;
import gns4j.checkpoint.CheckpointStore;
import gns4j.checkpoint.RunInfo;
import gns4j.checkpoint.RunLock;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A run folder and the one place that names its files:
 * <pre>
 *   RUN/config.json     the exact config (TrainConfig.toJson, with every derived value resolved)
 *   RUN/run.json        data dir, tokenizer, pretrained weights ({@link RunInfo})
 *   RUN/metrics.jsonl   one JSON object per optimizer step (written by {@link MetricsWriter}, read by {@link MetricsFile})
 *   RUN/summary.json    the result; its presence marks a run that reached its end
 *   RUN/report.html     the HTML report (written by the caller of the trainer)
 *   RUN/ckpt-*          checkpoints ({@link CheckpointStore})
 * </pre>
 * A run folder is created and locked ({@link RunLock}) by {@link #create}; a resumed run locks it with {@link #lock}.
 */
public record RunDir(Path path) {
    public static final String CONFIG = "config.json", METRICS = "metrics.jsonl", SUMMARY = "summary.json",
            REPORT = "report.html";

    public Path config() { return path.resolve(CONFIG); }

    public Path metrics() { return path.resolve(METRICS); }

    public Path summary() { return path.resolve(SUMMARY); }

    public Path report() { return path.resolve(REPORT); }

    /** Whether the folder holds a run that reached its end. */
    public boolean finished() { return Files.exists(summary()); }

    /** Whether the folder holds a run (finished or not). */
    public boolean hasRun() { return Files.exists(metrics()); }

    /** Refuses a path that is a file or already holds a run. */
    public void checkFree() {
        if (Files.exists(path) && !Files.isDirectory(path)) throw new UserError("out dir " + path + " is a file");
        if (hasRun())
            throw new UserError("out dir " + path + " already holds a run (" + METRICS + "); choose another --out-dir"
                    + " or continue it with --resume " + path);
    }

    /**
     * Creates the folder, locks it, and records config.json and run.json; returns the lock.
     *
     * @throws UserError if the folder cannot be made or written (read-only, no permission, disk full); what this
     *                   call created is removed again
     */
    public RunLock create(TrainConfig resolved, RunInfo info) {
        checkFree();
        Folders.Created created = Folders.Created.before(path);
        try {
            Files.createDirectories(path);
        } catch (IOException e) {
            throw new UserError("cannot create out dir " + path + ": " + IoErrors.reason(e) + "; choose another --out-dir", e);
        }
        RunLock lock = RunLock.acquire(path);
        try {
            checkFree(); // again under the lock: another run may have started there meanwhile
        } catch (UserError e) {
            lock.close();
            throw e;
        }
        try {
            Files.writeString(config(), resolved.toJson());
            info.write(path);
            return lock;
        } catch (IOException | UserError e) {
            lock.close();
            created.undo(List.of(config(), path.resolve(RunInfo.FILE), path.resolve(RunLock.FILE)));
            String reason = e instanceof IOException io ? IoErrors.reason(io) : e.getMessage();
            throw new UserError("cannot write out dir " + path + ": " + reason + "; choose another --out-dir", e);
        }
    }

    /** Locks the folder of a run to resume; the caller records itself as owner once the resume is accepted. */
    public RunLock lock() { return RunLock.acquireOnly(path); }

    /** The stored config of a run to resume. */
    public TrainConfig readConfig() {
        try {
            return TrainConfig.fromJson(Files.readString(config(), StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new UserError(path + " has no " + CONFIG + "; cannot resume");
        } catch (IOException e) {
            throw new UserError("cannot read " + config() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Keeps the lines of metrics.jsonl up to and including {@code step} (and drops a partial last line), replacing
     * the file atomically if anything changes; the resumed run then logs the later steps again, with the same values.
     */
    public void truncateMetrics(int step) {
        Path file = metrics();
        if (!Files.exists(file)) return;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), e);
        }
        int keep = 0;
        for (int start = 0; start < bytes.length; ) {
            int nl = start;
            while (nl < bytes.length && bytes[nl] != '\n') nl++;
            if (nl == bytes.length) break; // partial last line
            String line = new String(bytes, start, nl - start, StandardCharsets.UTF_8);
            try {
                JsonElement e = JsonParser.parseString(line);
                if (e.isJsonObject() && e.getAsJsonObject().has("step") && e.getAsJsonObject().get("step").getAsDouble() > step)
                    break;
            } catch (RuntimeException ex) {
                break; // a damaged line: it and everything after it are redone
            }
            start = nl + 1;
            keep = start;
        }
        if (keep < bytes.length) CheckpointStore.writeAtomically(file, Arrays.copyOf(bytes, keep));
    }

    /** summary.json, in snake_case like metrics.jsonl; non-finite values are null. */
    public void writeSummary(Trainer.Result r) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("steps", r.steps());
        o.addProperty("tokens", r.tokens());
        o.addProperty("loss", finiteOrNull(r.loss()));
        o.addProperty("val_loss", finiteOrNull(r.valLoss()));
        o.addProperty("gns_total", finiteOrNull(r.gnsTotal()));
        o.addProperty("gns_ln", finiteOrNull(r.gnsLn()));
        o.addProperty("seconds", r.seconds());
        Files.writeString(summary(), new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(o));
    }

    static Double finiteOrNull(Double v) { return v != null && Double.isFinite(v) ? v : null; }
}
