package gns4j.schedule;

/**
 * Number of sequences in each optimizer step. Schedules that change the batch return whole multiples of a
 * {@code unit}: the micro-batch when the run fixes one, else a small granularity (the trainer then splits each batch
 * into as few micro-batches as memory allows).
 * Closed-loop schedules (driven by the gradient noise scale) receive each new estimate through {@link #observe}.
 */
public sealed interface BatchSchedule {

    /** Sequences in optimizer step {@code step} (0-based), which starts after {@code tokensSeen} tokens. */
    int batchSize(long tokensSeen, int step);

    /** The latest smoothed GNS estimate, or null while none is available yet. Open-loop schedules ignore it. */
    default void observe(Double gns) {}

    /** The smallest batch this schedule can return at any step (what data parallel must split over its ranks). */
    int smallest();

    /** The same batch size for every step. */
    record Fixed(int batchSize) implements BatchSchedule {
        public Fixed {
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }

        @Override
        public int batchSize(long tokensSeen, int step) { return batchSize; }

        @Override
        public int smallest() { return batchSize; }
    }

    /**
     * The paper's schedule: the batch grows linearly in tokens from {@code start} to {@code end} over the first
     * {@code rampTokens} tokens, rounded to the nearest multiple of {@code unit} (at least one unit),
     * then stays at {@code end}.
     */
    record LinearRamp(int start, int end, long rampTokens, int unit) implements BatchSchedule {
        public LinearRamp {
            if (unit < 1) throw new IllegalArgumentException("unit must be >= 1, got " + unit);
            if (start < 1) throw new IllegalArgumentException("start batch size must be >= 1, got " + start);
            if (end < 1 || end % unit != 0)
                throw new IllegalArgumentException("end batch size must be a positive multiple of " + unit
                        + ", got " + end);
            if (rampTokens < 0) throw new IllegalArgumentException("ramp tokens must be >= 0, got " + rampTokens);
        }

        @Override
        public int batchSize(long tokensSeen, int step) {
            if (tokensSeen >= rampTokens) return end;
            double raw = start + (end - start) * ((double) tokensSeen / rampTokens);
            return (int) Math.max(unit, Math.round(raw / unit) * unit);
        }

        /** The ramp is monotone: its smallest batch is at one of its ends. */
        @Override
        public int smallest() { return Math.min(batchSize(0, 0), end); }
    }

    /**
     * Closed loop: the batch follows the latest smoothed gradient noise scale in sequences (LayerNorm only or total, as
     * the caller feeds it through {@link #observe}), by one of two {@link Policy policies}: {@code k × GNS}, or the
     * goodput batch for B_noise = k × GNS on a {@link Throughput} curve.
     *
     * <ul>
     *   <li>Until a finite GNS has been observed the batch is {@code start} (rounded and bounded like every target).</li>
     *   <li>A target is {@code round(k·GNS / unit)·unit}, clamped to {@code [min, max]}; a negative or
     *       tiny GNS (the unbiased tr(Σ) estimate can dip below 0) gives {@code min}. With the goodput policy it is
     *       the multiple of {@code unit} in {@code [min, max]} that minimises (B + k·GNS) / tok/s(B)
     *       ({@link Throughput#goodputBatch}).</li>
     *   <li>Unless {@code allowDecrease}, the batch never shrinks: a target below the current batch is ignored.</li>
     *   <li>The batch changes at most once every {@code interval} steps: a change at step s allows the next at step
     *       s + interval at the earliest; the first change may come at step {@code interval} (0-based), which also
     *       keeps the first, noisiest GNS estimates from setting the batch.</li>
     * </ul>
     * Stateful and not thread-safe: {@link #batchSize} must be called once per step with increasing steps, as the
     * trainer does. The state for a checkpoint is {@link #current()} and {@link #lastChangeStep()}.
     */
    final class Adaptive implements BatchSchedule {
        /** How a GNS becomes a target batch. */
        public enum Policy {
            /** B = k × GNS. */
            K_GNS,
            /** The B that minimises (B + k × GNS) / tok/s(B) on the throughput curve. */
            GOODPUT
        }

        private final double k;
        private final Policy policy;
        private Throughput throughput;
        private final int min, max, unit, interval;
        private final boolean allowDecrease;
        private int current, lastChangeStep;
        private Double gns;

        /**
         * @param k             batch per unit of GNS, &gt; 0
         * @param min           smallest batch, a positive multiple of unit
         * @param max           largest batch, a multiple of unit, &ge; min
         * @param start         batch until a GNS is known (rounded to units and clamped to [min, max])
         * @param unit          what every batch is a multiple of, &ge; 1
         * @param interval      steps between changes, &ge; 1
         * @param allowDecrease whether the batch may shrink when the GNS falls
         * @param policy        k × GNS or goodput
         * @param throughput    the goodput policy's curve; null for k × GNS, or until {@link #useThroughput} gives one
         */
        public Adaptive(double k, int min, int max, int start, int unit, int interval, boolean allowDecrease, Policy policy,
                        Throughput throughput) {
            if (!(k > 0) || Double.isInfinite(k)) throw new IllegalArgumentException("k must be > 0, got " + k);
            if (unit < 1) throw new IllegalArgumentException("unit must be >= 1, got " + unit);
            if (min < 1 || min % unit != 0)
                throw new IllegalArgumentException("min batch size must be a positive multiple of " + unit + ", got " + min);
            if (max < min || max % unit != 0)
                throw new IllegalArgumentException("max batch size must be a multiple of " + unit + " and >= "
                        + min + ", got " + max);
            if (start < 1) throw new IllegalArgumentException("start batch size must be >= 1, got " + start);
            if (interval < 1) throw new IllegalArgumentException("interval must be >= 1, got " + interval);
            this.k = k;
            this.min = min;
            this.max = max;
            this.unit = unit;
            this.interval = interval;
            this.allowDecrease = allowDecrease;
            this.policy = policy;
            this.throughput = throughput;
            this.current = bounded(start);
            this.lastChangeStep = 0;
        }

        @Override
        public void observe(Double gns) {
            if (gns != null && Double.isFinite(gns)) this.gns = gns;
        }

        @Override
        public int batchSize(long tokensSeen, int step) {
            if (gns != null && step - lastChangeStep >= interval) {
                int target = target(gns);
                if (!allowDecrease) target = Math.max(target, current);
                if (target != current) {
                    current = target;
                    lastChangeStep = step;
                }
            }
            return current;
        }

        /**
         * The batch that {@code gns} asks for: k·gns rounded to whole units, clamped to [min, max]; or, with the
         * goodput policy, the goodput batch for B_noise = k·gns.
         */
        public int target(double gns) {
            if (policy == Policy.K_GNS) return bounded(k * gns);
            if (throughput == null) throw new IllegalStateException("the goodput policy has no throughput curve yet");
            return throughput.goodputBatch(k * gns, min, max, unit);
        }

        /** Whether this is a goodput schedule still waiting for its throughput curve. */
        public boolean needsThroughput() { return policy == Policy.GOODPUT && throughput == null; }

        /** Gives the goodput policy its throughput curve (measured by the trainer when the config has none). */
        public void useThroughput(Throughput curve) { this.throughput = curve; }

        private int bounded(double raw) {
            double units = Math.rint(raw / unit);   // NaN-free: callers pass finite values
            long b = (long) Math.min(units, (double) Integer.MAX_VALUE) * unit;
            return (int) Math.max(min, Math.min(max, b));
        }

        /** The batch size in force. */
        public int current() { return current; }

        @Override
        public int smallest() { return min; }

        /** The step (0-based) of the last change, 0 before any. */
        public int lastChangeStep() { return lastChangeStep; }

        /** The latest finite GNS observed, or null. */
        public Double lastGns() { return gns; }

        /** Continues from a checkpoint's {@link #current()} and {@link #lastChangeStep()} (and GNS, may be null). */
        public void restore(int current, int lastChangeStep, Double gns) {
            if (current < min || current > max || current % unit != 0)
                throw new IllegalArgumentException("batch " + current + " is not a multiple of " + unit
                        + " in [" + min + ", " + max + "]");
            this.current = current;
            this.lastChangeStep = lastChangeStep;
            this.gns = null;
            observe(gns);
        }
    }
}
