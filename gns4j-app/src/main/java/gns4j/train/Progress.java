package gns4j.train;

import com.google.gson.JsonObject;
import gns4j.UserError;
import gns4j.checkpoint.TrainingState;
import gns4j.gns.GnsTracker;
import gns4j.schedule.BatchSchedule;

/**
 * The training loop's counters and the schedule state that a checkpoint keeps, and their conversion to and from
 * {@link TrainingState}: what a resumed run needs to repeat exactly the steps the uninterrupted run would make.
 */
final class Progress {
    int step, updates, badInARow, skipped, previousBatch;
    long tokens;
    double loss = Double.NaN, elapsedBefore;
    Double valLoss, gnsFed;
    private final long segmentStart = System.nanoTime();

    /** Wall time of the run so far, earlier segments (before a resume) included. */
    double elapsed() { return elapsedBefore + (System.nanoTime() - segmentStart) / 1e9; }

    /** The state to checkpoint after this step. */
    TrainingState state(BatchSchedule batches, double lr, long seed, GnsTracker.Snapshot gns, JsonObject config) {
        BatchSchedule.Adaptive adaptive = batches instanceof BatchSchedule.Adaptive a ? a : null;
        TrainingState.Schedule sched = new TrainingState.Schedule(previousBatch, RunDir.finiteOrNull(gnsFed),
                adaptive != null ? adaptive.current() : null, adaptive != null ? adaptive.lastChangeStep() : 0,
                adaptive != null ? adaptive.lastGns() : null);
        return new TrainingState(TrainingState.FORMAT, step, tokens, updates, badInARow, skipped, elapsed(),
                RunDir.finiteOrNull(loss), RunDir.finiteOrNull(valLoss), lr, sched, TrainingState.RNG_SCHEME, seed, gns, config);
    }

    /** Takes the counters of checkpoint {@code s} (from {@code where}) and restores an adaptive schedule's state. */
    void restore(TrainingState s, BatchSchedule batches, String where) {
        step = s.step();
        tokens = s.tokens();
        updates = s.updates();
        badInARow = s.badStepsInARow();
        skipped = s.skippedSteps();
        elapsedBefore = s.elapsedS();
        loss = s.loss() == null ? Double.NaN : s.loss();
        valLoss = s.valLoss();
        TrainingState.Schedule sched = s.schedule();
        if (sched == null) return;
        previousBatch = sched.lastBatch();
        gnsFed = sched.gnsFed();
        if (batches instanceof BatchSchedule.Adaptive a) {
            if (sched.adaptiveBatch() == null) throw new UserError("checkpoint " + where + " has no adaptive batch state");
            try {
                a.restore(sched.adaptiveBatch(), sched.adaptiveLastChange(), sched.adaptiveGns());
            } catch (IllegalArgumentException e) {
                throw new UserError("checkpoint " + where + ": " + e.getMessage(), e);
            }
        }
    }
}
