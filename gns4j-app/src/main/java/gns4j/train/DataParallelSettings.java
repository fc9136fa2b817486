package gns4j.train;

import static gns4j.train.TrainConfig.check;

/**
 * The data-parallel keys of a {@link TrainConfig} ({@code train --gpus N}): the gradient all-reduce after backward,
 * or bucketed and overlapped with it.
 */
public record DataParallelSettings(boolean gradOverlap, double gradBucketMb) {
    public DataParallelSettings {
        check(gradBucketMb * (1 << 20) >= 4 && gradBucketMb <= 1 << 20, "grad_bucket_mb",
                "must hold at least one float and be at most 1 TB, got " + gradBucketMb);
    }

    /** grad_bucket_mb in bytes (MiB, as PyTorch's bucket_cap_mb). */
    public long gradBucketBytes() { return (long) (gradBucketMb * (1 << 20)); }
}
