package gns4j.export;

import gns4j.UserError;
import gns4j.tensorboard.EventFile;
import gns4j.report.RunReader;
import gns4j.train.MetricsLine;
import gns4j.train.RunDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;


/**
 * A run's per-step metrics as one TensorBoard event file: one event per step (the step as x) holding the scalars
 * loss, val_loss, lr, batch_size, tok_per_s, grad_norm, gns_total, gns_ln, gns_type/&lt;type&gt; and
 * gns_layer/&lt;layer&gt; that the step has. Wall times are the run's start (when its config.json was written) plus
 * each step's elapsed_s, so TensorBoard's "relative" axis is training time.
 */
public final class TensorBoardExport {
    /** The event files' name prefix ({@link EventFile#FILE_PREFIX}). */
    public static final String FILE_PREFIX = EventFile.FILE_PREFIX;

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
        List<Path> earlier = EventFile.existing(outDir);
        if (!earlier.isEmpty() && !replace)
            throw new UserError(outDir + " already holds " + earlier.getFirst().getFileName()
                    + " (TensorBoard would show both): pass --replace to delete it, or choose another --out");
        try {
            for (Path p : earlier) Files.delete(p);
            long now = System.currentTimeMillis();
            double start = startSeconds(runDir, now), wallTime = start;
            try (EventFile out = EventFile.create(outDir, now)) {
                for (MetricsLine r : steps) {
                    if (r.elapsedS() != null) wallTime = start + r.elapsedS();
                    out.write(r.step(), wallTime, scalars(r));
                }
                return new Result(out.file(), out.steps(), out.values());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the event file in " + outDir + ": " + e.getMessage(), e);
        }
    }

    /** The scalars of one step by tag ({@link EventFile#scalars}). */
    static Map<String, Float> scalars(MetricsLine r) {
        return EventFile.scalars(r.loss(), r.valLoss(), r.lr(), r.batchSize(), r.tokPerS(), r.gradNorm(), r.gnsTotal(),
                r.gnsLn(), r.gnsType(), r.gnsLayer());
    }

    /** When the run started, in Unix seconds: its config.json's time, else {@code nowMillis}. */
    private static double startSeconds(Path runDir, long nowMillis) {
        try {
            return Files.getLastModifiedTime(new RunDir(runDir).config()).toMillis() / 1e3;
        } catch (IOException e) {
            return nowMillis / 1e3;
        }
    }

}
