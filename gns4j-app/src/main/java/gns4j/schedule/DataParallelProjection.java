package gns4j.schedule;

import java.util.ArrayList;
import java.util.List;

/**
 * A projection, not a measurement: the time of one optimizer step of B sequences on N data-parallel GPUs, built from
 * the one-GPU throughput curve and a ring all-reduce of the gradient.
 *
 * <ul>
 *   <li>The batch is split over min(N, B) GPUs, ceil(B / N) sequences each (one pass; the slowest GPU sets the pace).</li>
 *   <li>Compute: ceil(B/N) · T / tok/s(ceil(B/N)) from the one-GPU curve ({@link Throughput}: interpolated between
 *       measured batches, extended below the smallest by its first segment, flat above the largest).</li>
 *   <li>All-reduce over g = min(N, B) GPUs: 2(g − 1)/g × gradient bytes / bus bandwidth (a ring: each GPU sends and
 *       receives that share of the gradient; "bus bandwidth" in the nccl-tests sense).</li>
 *   <li>Without overlap the two add. With overlap (the trainer's {@code grad_overlap}, default on) the gradient's
 *       buckets are summed while the backward pass (taken as 2/3 of the compute) still runs, except the bytes that
 *       are final only when backward ends ({@code exposedBytes}: the embeddings, whose gradient, with a tied head,
 *       completes last); the step is then forward + max(backward, the overlappable all-reduce) + the exposed
 *       all-reduce.</li>
 * </ul>
 * Left out: the optimizer step and the GNS reductions (small, the same at every N), latency per collective, the
 * network between hosts being slower than the one inside a host, stragglers, and memory limits on the micro-batch.
 *
 * @param oneGpu         tok/s per batch on one GPU
 * @param blockSize      tokens per sequence, T
 * @param gradientBytes  bytes all-reduced per step (4 per parameter: the trainer reduces the fp32 gradient)
 * @param exposedBytes   of those, the bytes final only at the end of backward (overlap cannot hide them)
 * @param busBytesPerS   ring all-reduce bus bandwidth, bytes/s
 * @param overlap        whether the all-reduce overlaps backward
 */
public record DataParallelProjection(Throughput oneGpu, int blockSize, long gradientBytes, long exposedBytes,
                                     double busBytesPerS, boolean overlap) {
    /** The backward pass's share of a step's compute (two of its three matrix products per layer). */
    public static final double BACKWARD_SHARE = 2.0 / 3;

    public DataParallelProjection {
        if (blockSize < 1 || gradientBytes < 0 || exposedBytes < 0 || exposedBytes > gradientBytes || !(busBytesPerS > 0))
            throw new IllegalArgumentException("projection needs T >= 1, 0 <= exposed <= gradient bytes and a bandwidth > 0");
    }

    /** Projected seconds of one step of {@code batch} sequences on {@code gpus} GPUs. */
    public double stepSeconds(int batch, int gpus) {
        if (batch < 1 || gpus < 1) throw new IllegalArgumentException("batch and GPUs must be >= 1, got " + batch + ", " + gpus);
        int perGpu = (batch + gpus - 1) / gpus, g = Math.min(gpus, batch);
        double compute = (double) perGpu * blockSize / oneGpu.tokPerS(perGpu);
        if (g == 1) return compute;
        double allReduce = 2.0 * (g - 1) / g * gradientBytes / busBytesPerS;
        if (!overlap) return compute + allReduce;
        // a gradient of 0 bytes (allowed) has nothing exposed; its share would be 0/0
        double exposed = gradientBytes == 0 ? 0 : allReduce * exposedBytes / gradientBytes, backward = compute * BACKWARD_SHARE;
        return compute - backward + Math.max(backward, allReduce - exposed) + exposed;
    }

    /**
     * Projected seconds of a run's first {@code steps} steps (fractional: the last one counts by its fraction), the
     * batch of step i (0-based) being {@code batches[i]}.
     */
    public double runSeconds(int[] batches, double steps, int gpus) {
        if (steps < 0 || steps > batches.length) throw new IllegalArgumentException("steps " + steps + " outside [0, " + batches.length + "]");
        double total = 0;
        int whole = (int) Math.floor(steps);
        for (int i = 0; i < whole; i++) total += stepSeconds(batches[i], gpus);
        if (whole < batches.length && steps > whole) total += (steps - whole) * stepSeconds(batches[whole], gpus);
        return total;
    }

    /**
     * The projected N-GPU curve at {@code min, min + unit, ..., max}: what the goodput policy should weigh when the
     * run is meant for {@code gpus} GPUs (a config's {@code throughput_curve}).
     */
    public Throughput curve(int gpus, int min, int max, int unit) {
        List<Throughput.Point> points = new ArrayList<>();
        for (int b = min; b <= max; b += unit) points.add(new Throughput.Point(b, (double) b * blockSize / stepSeconds(b, gpus)));
        return new Throughput(points);
    }
}
