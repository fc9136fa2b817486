package gns4j.backend;

import gns4j.parallel.Communicator;
import gns4j.model.ParameterLayout;

/**
 * The training operations a device provides, at the granularity of a micro-batch: the trainer, the GNS code and
 * the tests are written against this. Implementations: the CPU reference (fp32) and CUDA (bf16 compute, fp32
 * master weights). Parameter and gradient buffers follow {@link ParameterLayout}'s flat order.
 */
public interface Backend extends AutoCloseable {
    /** Human-readable device name for logs, e.g. "cpu (2 threads)". */
    String name();

    ParameterLayout layout();

    /** Largest micro-batch (sequences) the activations were sized for. */
    int maxMicroBatch();

    /** GPT-2 initialisation from a seed. */
    void initWeights(long seed);

    /** Copies the fp32 (master) parameters into dst (length layout().totalSize). */
    void readParams(float[] dst);

    void writeParams(float[] src);

    /** Copies the accumulated gradient into dst. */
    void readGrads(float[] dst);

    void zeroGrad();

    /**
     * Forward and backward of one micro-batch of B sequences of T tokens (inputs/targets [B·T]). Adds
     * gradScale·Σ_b ∇L_b into the gradient (L_b: example b's mean token loss) and, unless tracking is OFF, writes
     * |∇L_b|² of each tracked tensor into sq[tensor.index·B + b] (untracked rows NaN). Returns the mean token loss.
     */
    double forwardBackward(int[] inputs, int[] targets, int B, int T, float gradScale,
                           NormTracking tracking, LinearNormMethod method, double[] sq);

    /** Mean token loss without touching gradients. */
    double evaluate(int[] inputs, int[] targets, int B, int T);

    /** |grad_t|² for every tensor t of the accumulated gradient. */
    double[] gradSqPerTensor();

    /**
     * Replaces the accumulated gradient by its sum over the ranks of {@code comm} (data parallelism), in place; returns
     * when the sum is in the gradient buffer. Collective: every rank calls it once per optimizer step. After
     * {@link #overlapGradReduce} it completes the sum begun during backward.
     */
    void allReduceGrads(Communicator comm);

    /**
     * Makes the next {@link #forwardBackward} (this rank's last micro-batch of the step) start the gradient sum over
     * {@code comm} while it runs: buckets of at most {@code bucketBytes} ({@code GradientBuckets}) are reduced as
     * backward finishes their gradients, overlapping communication with the rest of backward. {@link #allReduceGrads}
     * with the same communicator then completes it; until then the gradient (and {@link #gradSqPerTensor}) is still
     * this rank's own. Backends that cannot overlap ignore it: allReduceGrads reduces as without it.
     */
    default void overlapGradReduce(Communicator comm, long bucketBytes) {}

    /** grad *= factor (gradient clipping). */
    void scaleGrads(float factor);

    /** One AdamW update with learning rate lr; step counts from 1. Weight decay only on decayed kinds. */
    void adamwStep(AdamWSettings settings, double lr, int step);

    /** Optimizer moments (m then v, each layout().totalSize) for checkpoints. */
    void readOptimizerState(float[] m, float[] v);

    void writeOptimizerState(float[] m, float[] v);

    @Override
    void close();
}
