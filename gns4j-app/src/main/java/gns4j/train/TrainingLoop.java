package gns4j.train;

import gns4j.UserError;
import gns4j.backend.Backend;
import gns4j.data.TokenDataset;
import gns4j.parallel.Communicator;
import gns4j.schedule.BatchSchedule;
import gns4j.schedule.Throughput;
import gns4j.schedule.LrSchedule;
import gns4j.tensorboard.EventFile;

import java.io.IOException;
import java.nio.file.Path;

import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The training loop of one run (rank), on an open backend with its run folder prepared: one optimizer step per
 * iteration, until max_steps or max_tokens, or a stop request (SIGINT/SIGTERM; data parallel: any rank's, agreed on
 * by all ranks at the same step), which ends the run with a checkpoint.
 */
final class TrainingLoop {
    private final TrainConfig cfg;
    private final Backend backend;
    private final Communicator comm;
    private final StatusLine status;
    private final Trainer.Hooks hooks;
    private final MetricsWriter metrics;
    private final BooleanSupplier stopRequested;
    private final Checkpoints checkpoints;
    /** The stop request all ranks agreed on at the last step (data parallel). */
    private boolean stopAgreed, stopped;
    /** metrics.jsonl could not be appended (a full disk): end the run as a stop request would. */
    private boolean stopOnFullDisk;

    /** {@code metrics}: null on ranks other than 0, which write nothing. */
    TrainingLoop(TrainConfig cfg, Backend backend, Communicator comm, StatusLine status, Trainer.Hooks hooks,
                 MetricsWriter metrics, BooleanSupplier stopRequested, Checkpoints checkpoints) {
        this.cfg = cfg;
        this.backend = backend;
        this.comm = comm;
        this.status = status;
        this.hooks = hooks;
        this.metrics = metrics;
        this.stopRequested = stopRequested;
        this.checkpoints = checkpoints;
    }

    Checkpoints checkpoints() { return checkpoints; }

    /** Whether the run ended early on a stop request. */
    boolean stopped() { return stopped; }

    /** This process asks to stop: a signal, or metrics that could not be written (data parallel: the ranks agree). */
    private boolean stopAsked() { return stopOnFullDisk || stopRequested.getAsBoolean(); }

    private boolean stopNow() { return comm == null ? stopAsked() : stopAgreed; }

    /** The LR of the next step if it keeps the last step's batch (stored in checkpoints, for the record). */
    private double nextLr(LrSchedule lrs, Progress p) {
        return cfg.lr(lrs, p.tokens, p.previousBatch > 0 ? p.previousBatch : cfg.batch().first());
    }

    /**
     * The training loop: per step the batch size from the schedule, forward and backward ({@link StepRunner}), the
     * GNS update, clipping and AdamW, validation when due, one metrics line, a checkpoint when due.
     */
    /** {@code events}: the TensorBoard event file to append to (tensorboard_dir), or null; the caller closes it. */
    Trainer.Result run(TokenDataset train, Validation val, RunInputs.ResumePoint from, float[] initParams, EventFile events) {
        BatchSchedule batches = cfg.batch().schedule();
        LrSchedule lrs = cfg.lrSchedule();
        StepGns gns = new StepGns(backend.layout(), cfg.gns().perExampleNorms(), cfg.gns().gnsAlpha());
        StepStats stats = new StepStats(backend.layout(), cfg.gns().perExampleNorms(), cfg.batch().largest());
        StepRunner runner = new StepRunner(cfg, backend, comm, stats, cfg.batch().largest());
        backend.initWeights(cfg.run().seed());
        if (initParams != null) backend.writeParams(initParams);
        Progress p = new Progress();
        if (from != null) checkpoints.restore(from, gns, batches, p);
        if (batches instanceof BatchSchedule.Adaptive goodput && goodput.needsThroughput()) {
            Throughput curve = ThroughputProbe.measure(runner, train, cfg.batch().minResolved(), cfg.batch().largest(),
                    cfg.model().blockSize(), cfg.run().seed());
            goodput.useThroughput(curve);
            status.notice("goodput: throughput measured before the first step (forward + backward): " + curve.spec() + " (B:tok/s)");
        }
        int checkpointed = from != null ? p.step : -1;
        boolean checkpointPending = false;
        try {
            while (!reachedEnd(p) && !stopNow()) {
                long stepStart = System.nanoTime();
                int B = batches.batchSize(p.tokens, p.step);
                if (comm != null) RunInputs.checkShards(cfg, B, p.step + 1, comm.worldSize());
                StepRunner.Result r = runner.run(train, B, stepSeed(cfg.run().seed(), p.step), stopAsked());
                if (comm != null) stopAgreed = r.stop();
                p.loss = r.loss();
                double gradNorm = Math.sqrt(java.util.Arrays.stream(r.gradSq()).sum());
                double[] exampleSq = gns.exampleSq(stats);
                String bad = badReason(p.loss, gradNorm, exampleSq);
                long tokensBefore = p.tokens;
                p.tokens += (long) B * cfg.model().blockSize();
                double lr = cfg.lr(lrs, p.tokens, B);
                p.step++;
                Double gnsBefore = p.gnsFed;
                if (bad == null) {
                    p.badInARow = 0;
                    p.gnsFed = gns.update(exampleSq, B, r.gradSq(), r.ranks(), cfg.batch().adaptiveSource());
                    batches.observe(p.gnsFed); // closed-loop schedules follow it; the others ignore it
                    double clip = cfg.optimizer().gradClip();
                    if (clip > 0 && gradNorm > clip) backend.scaleGrads((float) (clip / gradNorm));
                    backend.adamwStep(cfg.optimizer().adamW(), lr, ++p.updates);
                } else {
                    p.badInARow++;
                    p.skipped++;
                }
                double tokPerS = (double) B * cfg.model().blockSize() / ((System.nanoTime() - stepStart) / 1e9);
                boolean last = reachedEnd(p);
                StepMetrics m = new StepMetrics(p.step, p.tokens, p.loss, lr, B, r.passes(), r.largest(), tokPerS,
                        p.elapsed(), gradNorm, p.previousBatch != 0 && B != p.previousBatch ? p.previousBatch : null, gnsBefore,
                        gns.total(), gns.ln(), comm != null, gns.ddp(), gns.byType(), gns.byLayer(),
                        gns.normsTotal(stats), gns.normsLn(stats), examplesDue(p) ? gns.examples(runner.offsets(), B, stats) : null,
                        bad);
                p.previousBatch = B;
                Map<String, Object> rec = m.toMap();
                if (val != null && (last || evaluationDue(tokensBefore, p))) {
                    p.valLoss = val.loss(backend, comm);
                    rec.put("val_loss", p.valLoss);
                }
                if (metrics != null && !metrics.write(rec)) stopOnFullDisk = true; // stops as SIGTERM does
                if (events != null) writeEvent(events, m, p.valLoss, rec.containsKey("val_loss"));
                if (p.step % cfg.run().logInterval() == 0 || last || rec.containsKey("val_loss"))
                    status.step(new StatusLine.Position(p.step, cfg.run().maxSteps(), p.tokens, cfg.run().maxTokens(), p.elapsed()),
                            p.loss, p.valLoss, lr, B, tokPerS, m.gnsTotal(), m.gnsLn(),
                            GnsWindow.of(cfg.gns().gnsAlpha(), p.updates, (long) B * cfg.model().blockSize()));
                if (bad != null) skipped(bad, p);
                // A checkpoint that falls on a skipped step waits for the next good one.
                if ((cfg.run().checkpointInterval() > 0 && p.step % cfg.run().checkpointInterval() == 0) || checkpointPending) {
                    checkpointPending = bad != null;
                    if (bad == null) {
                        checkpoints.write(gns, p, batches, nextLr(lrs, p), cfg.run().seed());
                        checkpointed = p.step;
                    }
                }
                hooks.afterStep().accept(p.step);
            }
        } catch (IOException e) {
            throw new UserError("cannot write the TensorBoard event file in " + cfg.run().tensorboardDir() + ": " + e.getMessage());
        }
        status.done();
        // Checkpoint only a step whose metrics line is out; else the last checkpoint stays and a resume redoes the rest.
        if (p.step != checkpointed && (metrics == null || metrics.flush()))
            checkpoints.write(gns, p, batches, nextLr(lrs, p), cfg.run().seed());
        UserError metricsLost = metrics == null ? null : metrics.stopError(p.step, checkpoints.last(), checkpoints.runDir());
        if (metricsLost != null) throw metricsLost;
        if (stopNow() && !reachedEnd(p)) {
            stopped = true;
            status.notice("stopped at step " + p.step + " on request; checkpoint " + checkpoints.last()
                    + "; continue with: ./gns4j train --resume " + checkpoints.runDir());
        }
        return new Trainer.Result(p.step, p.tokens, p.loss, p.valLoss, gns.total(), gns.ln(), p.elapsed(), backend.name());
    }

    /** The step's scalars, as `export tensorboard` writes them from metrics.jsonl. */
    private static void writeEvent(EventFile events, StepMetrics m, Double valLoss, boolean evaluated) throws IOException {
        events.write(m.step(), System.currentTimeMillis() / 1e3, EventFile.scalars(m.loss(), evaluated ? valLoss : null,
                m.lr(), m.batchSize(), m.tokPerS(), m.gradNorm(), m.gnsTotal(), m.gnsLn(), m.gnsType(), m.gnsLayer()));
    }

    /** Whether this step logs each example's offset and norms (every pe_log_interval-th step). */
    private boolean examplesDue(Progress p) {
        return cfg.run().peLogInterval() > 0 && p.step % cfg.run().peLogInterval() == 0;
    }

    /**
     * Whether the step that ended at {@code p} evaluates: every eval_interval_tokens tokens when that is set (the
     * same token points for every batch schedule), else every eval_interval steps.
     */
    private boolean evaluationDue(long tokensBefore, Progress p) {
        long everyTokens = cfg.run().evalIntervalTokens();
        if (everyTokens > 0) return p.tokens / everyTokens > tokensBefore / everyTokens;
        return cfg.run().evalInterval() > 0 && p.step % cfg.run().evalInterval() == 0;
    }

    /** Whether the run has made all its steps or seen all its tokens. */
    private boolean reachedEnd(Progress p) {
        return p.step >= cfg.run().maxSteps() || (cfg.run().maxTokens() > 0 && p.tokens >= cfg.run().maxTokens());
    }

    /** Reports a skipped step; max_bad_steps of them in a row end the run. */
    private void skipped(String bad, Progress p) {
        status.notice("step " + p.step + " skipped: " + bad + " (" + p.badInARow + " in a row; the run stops at max_bad_steps="
                + cfg.run().maxBadSteps() + ")");
        if (p.badInARow >= cfg.run().maxBadSteps())
            throw new UserError(p.badInARow + " steps in a row (" + (p.step - p.badInARow + 1) + " to " + p.step
                    + ") had a non-finite loss or gradient (last: " + bad + "): training diverged (lower learning_rate?)"
                    + (checkpoints.last() != null ? "; last checkpoint: " + checkpoints.last() : ""));
    }

    /** Why a step must be skipped (a non-finite loss, gradient or per-example norm), or null if it is good. */
    private static String badReason(double loss, double gradNorm, double[] exampleSq) {
        if (!Double.isFinite(loss)) return "loss is " + loss;
        if (!Double.isFinite(gradNorm)) return "gradient norm is " + gradNorm;
        if (exampleSq != null)
            for (double v : exampleSq) if (!Double.isFinite(v)) return "a per-example gradient norm is " + v;
        return null;
    }

    /**
     * The seed of step {@code step}'s data RNG: the splitmix64 finaliser of seed + (step+1)·golden gamma, so each
     * step's batches depend on (seed, step) only.
     */
    static long stepSeed(long seed, long step) {
        long z = seed + (step + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
