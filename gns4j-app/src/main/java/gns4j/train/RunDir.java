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
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

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

    /** Whether the folder holds a run (finished or not): its metrics or its run record. */
    public boolean hasRun() { return Files.exists(metrics()) || Files.exists(path.resolve(RunInfo.FILE)); }

    /**
     * Refuses an out dir that is a file, holds a run, or holds anything else: a new run only writes into a new or
     * empty folder, so it never replaces a file it did not make. Allowed inside it are our lock file (left by an
     * earlier attempt that stopped before writing) and {@code dataDir} when the data lives in the run folder (the demo).
     */
    public void checkFree(Path dataDir) { checkFree(dataDir, false); }

    /**
     * {@link #checkFree(Path)}; {@code lockHeld}: this process holds the folder's lock, whose file is then ours and
     * must not be read (closing any other descriptor of a file drops the process's POSIX lock on it).
     */
    private void checkFree(Path dataDir, boolean lockHeld) {
        if (Files.exists(path) && !Files.isDirectory(path)) throw new UserError("out dir " + path + " is a file");
        if (hasRun())
            throw new UserError("out dir " + path + " already holds a run; choose another --out-dir"
                    + " or continue it with --resume " + path);
        List<String> foreign = foreignEntries(dataDir, lockHeld);
        if (!foreign.isEmpty())
            throw new UserError("out dir " + path + " is not empty (it holds " + describe(foreign)
                    + "); a run writes only into a new or empty folder: choose another --out-dir");
    }

    /**
     * Names in the folder other than our lock file and the data dir, sorted; none when the folder does not exist.
     */
    private List<String> foreignEntries(Path dataDir, boolean lockHeld) {
        if (!Files.isDirectory(path)) return List.of();
        Path data = dataDir == null ? null : dataDir.toAbsolutePath().normalize();
        try (Stream<Path> entries = Files.list(path)) {
            return entries.filter(p -> !(lockHeld ? p.getFileName().toString().equals(RunLock.FILE) : isOurLock(p)))
                    .filter(p -> data == null || !data.startsWith(p.toAbsolutePath().normalize()))
                    .map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UserError("cannot list out dir " + path + ": " + IoErrors.reason(e) + "; choose another --out-dir", e);
        }
    }

    /** Whether {@code p} is a lock file as {@link RunLock} writes it: "lock" holding a pid, or nothing. */
    private static boolean isOurLock(Path p) {
        try {
            return p.getFileName().toString().equals(RunLock.FILE) && Files.isRegularFile(p) && Files.size(p) < 32
                    && Files.readString(p, StandardCharsets.US_ASCII).matches("[0-9]*\\n?");
        } catch (IOException e) {
            return false;
        }
    }

    private static String describe(List<String> names) {
        return names.size() <= 3 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 3)) + " and " + (names.size() - 3) + " more";
    }

    /**
     * Creates the folder, locks it, and records config.json and run.json; returns the lock.
     *
     * @throws UserError if the folder is not free ({@link #checkFree}) or cannot be made or written (read-only, no
     *                   permission, disk full); what this call created is removed again
     */
    public RunLock create(TrainConfig resolved, RunInfo info, Path dataDir) {
        checkFree(dataDir);
        Folders.Created created = Folders.Created.before(path);
        List<Path> made = List.of(config(), path.resolve(RunInfo.FILE), path.resolve(RunLock.FILE));
        try {
            Files.createDirectories(path);
        } catch (IOException e) {
            created.undo(List.of()); // the parents made before the failure (no inodes left, say)
            throw new UserError("cannot create out dir " + path + ": " + IoErrors.reason(e) + "; choose another --out-dir", e);
        }
        RunLock lock;
        try {
            lock = RunLock.acquire(path);
        } catch (UserError e) {
            created.undo(List.of()); // only empty folders this call made; another run's lock file stays
            throw e;
        }
        try {
            checkFree(dataDir, true); // again under the lock: another run may have started there meanwhile
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
            created.undo(made);
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
        } catch (CharacterCodingException e) {
            throw new UserError(config() + " is not UTF-8 text; cannot resume", e);
        } catch (IOException e) {
            throw new UserError("cannot read " + config() + ": " + IoErrors.reason(e), e);
        }
    }

    /**
     * The cut of metrics.jsonl that resuming from the checkpoint of {@code step} needs, checked but not yet made: the
     * lines up to and including {@code step} stay; the lines after it go (the resumed run logs those steps again,
     * with the same values), and so does a partial last line a killed run left.
     *
     * @throws UserError naming the line when a complete line before the checkpoint's step does not parse: cutting
     *                   there would lose the good lines after it, which no later step writes again
     */
    public MetricsCut metricsCut(int step) {
        Path file = metrics();
        if (!Files.exists(file)) return new MetricsCut(file, null, 0);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        int keep = 0, lineNumber = 0;
        double lastStep = 0;
        for (int start = 0; start < bytes.length; ) {
            int nl = start;
            while (nl < bytes.length && bytes[nl] != '\n') nl++;
            if (nl == bytes.length) break; // partial last line
            lineNumber++;
            Double lineStep = stepOf(new String(bytes, start, nl - start, StandardCharsets.UTF_8));
            if (lineStep == null) { // a damaged line
                if (lastStep >= step) break; // it comes after the checkpoint: redone with everything after it
                throw new UserError(file + " line " + lineNumber + " is damaged and comes before step " + step
                        + " of the checkpoint, so no resumed step writes it again; nothing was changed (repair or"
                        + " delete that line, then resume again)");
            }
            if (lineStep > step) break;
            lastStep = Math.max(lastStep, lineStep);
            start = nl + 1;
            keep = start;
        }
        return new MetricsCut(file, bytes, keep);
    }

    /** A line's step; 0 for a JSON line without one, null for a line that is not JSON. */
    private static Double stepOf(String line) {
        try {
            JsonElement e = JsonParser.parseString(line);
            JsonElement step = e.isJsonObject() ? e.getAsJsonObject().get("step") : null;
            return step != null && step.isJsonPrimitive() && step.getAsJsonPrimitive().isNumber() ? step.getAsDouble() : 0.0;
        } catch (RuntimeException ex) {
            return null;
        }
    }

    /** metrics.jsonl ({@code bytes}, null when absent) to be cut to its first {@code keep} bytes. */
    public record MetricsCut(Path file, byte[] bytes, int keep) {
        /** Cuts the file, replacing it atomically, when anything goes. */
        public void apply() {
            if (bytes != null && keep < bytes.length) CheckpointStore.writeAtomically(file, Arrays.copyOf(bytes, keep));
        }
    }

    /** summary.json, in snake_case like metrics.jsonl, written atomically; non-finite values are null. */
    public void writeSummary(Trainer.Result r) {
        JsonObject o = new JsonObject();
        o.addProperty("steps", r.steps());
        o.addProperty("tokens", r.tokens());
        o.addProperty("loss", finiteOrNull(r.loss()));
        o.addProperty("val_loss", finiteOrNull(r.valLoss()));
        o.addProperty("gns_total", finiteOrNull(r.gnsTotal()));
        o.addProperty("gns_ln", finiteOrNull(r.gnsLn()));
        o.addProperty("seconds", r.seconds());
        o.addProperty("device", r.device());
        CheckpointStore.writeAtomically(summary(), new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(o)
                .getBytes(StandardCharsets.UTF_8));
    }

    /** The device summary.json names ("" for a summary written before summaries named it). */
    public String trainedOn() {
        try {
            JsonElement device = JsonParser.parseString(Files.readString(summary())).getAsJsonObject().get("device");
            return device == null || !device.isJsonPrimitive() ? "" : device.getAsString();
        } catch (IOException | RuntimeException e) {
            throw new UserError("cannot read " + summary() + ": " + e.getMessage(), e);
        }
    }

    /** Removes summary.json: the run goes on past the end it recorded. */
    void removeSummary() {
        try {
            Files.deleteIfExists(summary());
        } catch (IOException e) {
            throw new UserError("cannot remove " + summary() + ": " + IoErrors.reason(e), e);
        }
    }

    static Double finiteOrNull(Double v) { return v != null && Double.isFinite(v) ? v : null; }
}
