package gns4j.schedule;

/**
 * Number of sequences in each optimizer step. The trainer realises a batch as {@code batchSize / microBatch}
 * gradient-accumulation steps, so every schedule that knows the micro batch returns a multiple of it.
 * Closed-loop schedules (driven by the gradient noise scale) receive each new estimate through {@link #observe}.
 */
public sealed interface BatchSchedule {

    /** Sequences in optimizer step {@code step} (0-based), which starts after {@code tokensSeen} tokens. */
    int batchSize(long tokensSeen, int step);

    /** The latest smoothed GNS estimate, or null while none is available yet. Open-loop schedules ignore it. */
    default void observe(Double gns) {}

    /** The same batch size for every step. */
    record Fixed(int batchSize) implements BatchSchedule {
        public Fixed {
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }

        @Override
        public int batchSize(long tokensSeen, int step) { return batchSize; }
    }

    /**
     * The paper's schedule: the batch grows linearly in tokens from {@code start} to {@code end} over the first
     * {@code rampTokens} tokens, rounded to the nearest multiple of {@code microBatch} (at least one micro batch),
     * then stays at {@code end}.
     */
    record LinearRamp(int start, int end, long rampTokens, int microBatch) implements BatchSchedule {
        public LinearRamp {
            if (microBatch < 1) throw new IllegalArgumentException("micro batch must be >= 1, got " + microBatch);
            if (start < 1) throw new IllegalArgumentException("start batch size must be >= 1, got " + start);
            if (end < 1 || end % microBatch != 0)
                throw new IllegalArgumentException("end batch size must be a positive multiple of " + microBatch
                        + ", got " + end);
            if (rampTokens < 0) throw new IllegalArgumentException("ramp tokens must be >= 0, got " + rampTokens);
        }

        @Override
        public int batchSize(long tokensSeen, int step) {
            if (tokensSeen >= rampTokens) return end;
            double raw = start + (end - start) * ((double) tokensSeen / rampTokens);
            return (int) Math.max(microBatch, Math.round(raw / microBatch) * microBatch);
        }
    }
}
