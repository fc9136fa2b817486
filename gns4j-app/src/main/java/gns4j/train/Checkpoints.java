package gns4j.train;

import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.backend.Backend;
import gns4j.checkpoint.CheckpointStore;
import gns4j.model.ParameterLayout;
import gns4j.schedule.BatchSchedule;

import java.nio.file.Path;

/**
 * The trainer's side of checkpoints: what goes into one (weights, AdamW moments, GNS state, counters, schedule state,
 * the resolved config) and back. Only the process that writes the run folder writes them; weights that are no longer
 * finite are never checkpointed.
 */
final class Checkpoints {
    private final CheckpointStore store;
    private final Backend backend;
    private final boolean writer;
    private final JsonObject config;
    private Path last;

    Checkpoints(CheckpointStore store, Backend backend, boolean writer, JsonObject config, Path last) {
        this.store = store;
        this.backend = backend;
        this.writer = writer;
        this.config = config;
        this.last = last;
    }

    /** The run folder the checkpoints are in. */
    Path runDir() { return store.runDir(); }

    /** The newest checkpoint written or resumed from, or null. */
    Path last() { return last; }

    /** Puts the backend, the GNS, the counters and the batch schedule back to the checked checkpoint {@code from}. */
    void restore(RunInputs.ResumePoint from, StepGns gns, BatchSchedule batches, Progress p) {
        backend.writeParams(from.params());
        backend.writeOptimizerState(from.m(), from.v());
        String where = from.checkpoint().dir().toString();
        gns.restore(from.state(), where);
        p.restore(from.state(), batches, where);
        last = from.checkpoint().dir();
    }

    /** Writes the state after step {@code p.step} (the LR of the next step is {@code nextLr}). */
    void write(StepGns gns, Progress p, BatchSchedule batches, double nextLr, long seed) {
        if (!writer) return;
        ParameterLayout layout = backend.layout();
        float[] params = new float[layout.totalSize], m = new float[layout.totalSize], v = new float[layout.totalSize];
        backend.readParams(params);
        backend.readOptimizerState(m, v);
        for (float x : params)
            if (!Float.isFinite(x))
                throw new UserError("the weights are no longer finite at step " + p.step + "; not checkpointed"
                        + (last != null ? " (last good checkpoint: " + last + ")" : ""));
        last = store.write(layout, params, m, v, p.state(batches, nextLr, seed, gns.snapshot(), config));
    }
}
