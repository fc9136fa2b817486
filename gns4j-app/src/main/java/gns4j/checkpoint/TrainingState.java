package gns4j.checkpoint;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import gns4j.JsonFiles;
import gns4j.gns.GnsTracker;

/**
 * Everything besides weights and optimizer moments that a run needs to continue exactly: state.json of a
 * checkpoint. Doubles are written by Gson in Java's shortest round-trip form, so they read back bit for bit.
 *
 * <p>Data position: the trainer draws step s's batches from an RNG seeded by {@code (seed, s)} alone
 * ({@code rng} names the scheme), so the step number is the whole data position and no generator state is saved.
 * The LR and the open-loop batch schedules are functions of tokens and step, so {@code tokens} and {@code step} are
 * their state ({@code nextLr} is recorded for people reading the file); the adaptive batch schedule's own state and
 * what the metrics of the next step refer back to are in {@link Schedule}.
 *
 * @param step           optimizer steps done (including skipped ones)
 * @param tokens         tokens consumed by those steps
 * @param updates        AdamW updates applied (steps minus skipped steps): AdamW's bias-correction step count
 * @param badStepsInARow skipped steps immediately before this point
 * @param skippedSteps   skipped steps in the whole run
 * @param elapsedS       wall-clock seconds of training so far (metrics' elapsed_s continues from here)
 * @param loss           train loss of the last step, null if it was not finite
 * @param valLoss        last validation loss, null if none yet
 * @param schedule       batch-schedule state
 * @param gns            GNS EMA state, null when per_example_norms=off
 * @param config         the run's TrainConfig as written to config.json
 */
public record TrainingState(int format, int step, long tokens, int updates, int badStepsInARow, int skippedSteps,
                            double elapsedS, Double loss, Double valLoss, double nextLr, Schedule schedule,
                            String rng, long seed, GnsTracker.Snapshot gns, JsonObject config) {
    /**
     * @param lastBatch          batch size of the last step (0 before any): the next step's batch_change refers to it
     * @param gnsFed             the GNS last fed to the batch schedule (null: none yet)
     * @param adaptiveBatch      the adaptive schedule's batch in force, null for other schedules
     * @param adaptiveLastChange the step of its last change
     * @param adaptiveGns        the latest finite GNS it observed, or null
     */
    public record Schedule(int lastBatch, Double gnsFed, Integer adaptiveBatch, int adaptiveLastChange, Double adaptiveGns) {}

    public static final int FORMAT = 1;
    /** The data-order scheme: splitmix64 finaliser of (seed, step) seeds a SplittableRandom per step. */
    public static final String RNG_SCHEME = "splittable-random(splitmix64(seed + (step+1)*golden))";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls()
            .setFieldNamingPolicy(com.google.gson.FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).create();

    public String toJson() { return GSON.toJson(this) + "\n"; }

    /**
     * Reads state.json and checks what a run can check without its config: counters that fit together, a finite
     * non-negative elapsed time, the data-order scheme this version uses.
     *
     * @throws JsonParseException with a message in our words (the place in the file, or the field that is wrong)
     */
    public static TrainingState fromJson(String json) {
        TrainingState s;
        try {
            s = GSON.fromJson(json, TrainingState.class);
        } catch (JsonParseException | StackOverflowError e) {
            throw new JsonParseException("not valid JSON" + JsonFiles.describe(e), e);
        } catch (RuntimeException e) { // a record's constructor refused a value (a GNS state of the wrong length, ...)
            throw new JsonParseException("a value is missing, of the wrong type or out of range" + rootReason(e), e);
        }
        if (s == null || s.config() == null) throw new JsonParseException("no \"config\"");
        if (s.format() != FORMAT) throw new JsonParseException("unknown state format " + s.format());
        if (s.step() < 0 || s.updates() < 0 || s.updates() > s.step() || s.tokens() < 0 || s.skippedSteps() < 0
                || s.skippedSteps() > s.step() || s.badStepsInARow() < 0 || s.badStepsInARow() > s.skippedSteps()
                || s.step() - s.skippedSteps() != s.updates())
            throw new JsonParseException("inconsistent step counters");
        if (!(s.elapsedS() >= 0) || !Double.isFinite(s.elapsedS()))
            throw new JsonParseException("elapsed_s " + s.elapsedS() + " is not a finite time >= 0");
        if (!RNG_SCHEME.equals(s.rng())) throw new JsonParseException("unknown data order \"rng\": " + s.rng());
        return s;
    }

    /** ": reason" of the innermost exception that gives one (an IllegalArgumentException of ours), or "". */
    private static String rootReason(Throwable e) {
        String reason = null;
        for (Throwable t = e; t != null; t = t.getCause())
            if (t instanceof IllegalArgumentException && t.getMessage() != null) reason = t.getMessage();
        return reason == null ? "" : " (" + reason + ")";
    }
}
