package gns4j.export;

import gns4j.UserError;
import gns4j.report.RunReader;
import gns4j.train.MetricsLine;
import gns4j.train.RunDir;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * A run's per-step metrics as one TensorBoard event file: one event per step (the step as x) holding the scalars
 * loss, val_loss, lr, batch_size, tok_per_s, grad_norm, gns_total, gns_ln, gns_type/&lt;type&gt; and
 * gns_layer/&lt;layer&gt; that the step has. Wall times are the run's start (when its config.json was written) plus
 * each step's elapsed_s, so TensorBoard's "relative" axis is training time.
 */
public final class TensorBoardExport {
    /** Event files are named {@code events.out.tfevents.<unix seconds>.<host>}; TensorBoard looks for the prefix. */
    public static final String FILE_PREFIX = "events.out.tfevents.";

    private TensorBoardExport() {}

    /** The written file, the steps in it and the scalar values over all steps. */
    public record Result(Path file, int steps, int values) {}

    /**
     * Writes the run's event file into {@code outDir} (created if needed). Refuses when {@code outDir} already holds
     * an event file (TensorBoard would merge both) unless {@code replace}, which deletes those first.
     *
     * @throws UserError when runDir has no step records or outDir holds event files; nothing is written then
     */
    public static Result write(Path runDir, Path outDir, boolean replace) {
        Path metrics = new RunDir(runDir).metrics();
        if (!Files.isDirectory(runDir)) throw new UserError("run folder not found: " + runDir);
        if (!Files.isRegularFile(metrics)) throw new UserError(runDir + " has no " + RunDir.METRICS + ": not a run folder");
        List<MetricsLine> steps = RunReader.read(runDir).steps();
        if (steps.isEmpty()) throw new UserError(metrics + " has no step records");
        List<Path> earlier = eventFiles(outDir);
        if (!earlier.isEmpty() && !replace)
            throw new UserError(outDir + " already holds " + earlier.getFirst().getFileName()
                    + " (TensorBoard would show both): pass --replace to delete it, or choose another --out");
        try {
            Files.createDirectories(outDir);
            for (Path p : earlier) Files.delete(p);
            long now = System.currentTimeMillis();
            Path file = outDir.resolve(FILE_PREFIX + now / 1000 + "." + host());
            double start = startSeconds(runDir, now), wallTime = start;
            int values = 0;
            try (TfRecordWriter out = new TfRecordWriter(new BufferedOutputStream(Files.newOutputStream(file, CREATE_NEW, WRITE)))) {
                out.write(TfEvents.fileVersion(now / 1e3));
                for (MetricsLine r : steps) {
                    if (r.elapsedS() != null) wallTime = start + r.elapsedS();
                    Map<String, Float> scalars = scalars(r);
                    out.write(TfEvents.scalars(wallTime, r.step(), scalars));
                    values += scalars.size();
                }
            }
            return new Result(file, steps.size(), values);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the event file in " + outDir + ": " + e.getMessage(), e);
        }
    }

    /** The scalars of one step by tag; metrics the step lacks (null in the record) are left out. */
    static Map<String, Float> scalars(MetricsLine r) {
        Map<String, Float> out = new LinkedHashMap<>();
        put(out, "loss", r.loss());
        put(out, "val_loss", r.valLoss());
        put(out, "lr", r.lr());
        put(out, "batch_size", r.batchSize());
        put(out, "tok_per_s", r.tokPerS());
        put(out, "grad_norm", r.gradNorm());
        put(out, "gns_total", r.gnsTotal());
        put(out, "gns_ln", r.gnsLn());
        r.gnsType().forEach((type, v) -> put(out, "gns_type/" + type, v));
        r.gnsLayer().forEach((layer, v) -> put(out, "gns_layer/" + layer, v));
        return out;
    }

    private static void put(Map<String, Float> out, String tag, Number v) {
        if (v != null) out.put(tag, v.floatValue());
    }

    private static List<Path> eventFiles(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(FILE_PREFIX)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /** When the run started, in Unix seconds: its config.json's time, else {@code nowMillis}. */
    private static double startSeconds(Path runDir, long nowMillis) {
        try {
            return Files.getLastModifiedTime(new RunDir(runDir).config()).toMillis() / 1e3;
        } catch (IOException e) {
            return nowMillis / 1e3;
        }
    }

    /** This machine's name as TensorBoard's own writers put it in file names, reduced to safe characters. */
    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.-]", "_");
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
