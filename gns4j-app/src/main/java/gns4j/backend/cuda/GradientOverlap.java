package gns4j.backend.cuda;

import gns4j.model.ParamTensor;
import gns4j.parallel.Communicator;
import gns4j.parallel.GradientBuckets;

import java.util.ArrayList;
import java.util.List;

/**
 * The gradient all-reduce overlapped with backward: requested for the next backward ({@link #request}), begun when it
 * starts ({@link #begin}), each bucket's sum queued on the communicator's stream as soon as backward has finished its
 * tensors ({@link #gradsFinal}, called in decreasing layout order), and completed by {@link #complete}. The sums go out
 * of place into a second gradient buffer, so this rank's gradient stays readable until the two are swapped.
 */
final class GradientOverlap {
    private final Gpu gpu;
    private final List<ParamTensor> tensors;
    private final long paramCount;
    private GradientBuckets buckets;
    private long bucketReady, gradsSum;
    /** next: asked for the next backward; queuedOn: begun there and queued until complete. */
    private Communicator next, queuedOn;
    /** nextBucket: buckets queued so far; finalFrom: backward has finished tensors finalFrom.. so far. */
    private int nextBucket, finalFrom;

    GradientOverlap(Gpu gpu, List<ParamTensor> tensors, long paramCount) {
        this.gpu = gpu;
        this.tensors = tensors;
        this.paramCount = paramCount;
    }

    /** The next backward queues its bucket sums on comm (buckets of bucketBytes; the sum buffer allocated on first use). */
    void request(Communicator comm, long bucketBytes) {
        if (gradsSum == 0) {
            bucketReady = gpu.driver.eventCreate(Driver.EVENT_DISABLE_TIMING);
            gradsSum = gpu.alloc(4L * paramCount);
        }
        if (buckets == null || buckets.bucketBytes() != bucketBytes) buckets = new GradientBuckets(tensors, bucketBytes, 4);
        next = comm;
    }

    /** A backward starts: takes up the request, if any. */
    void begin() {
        Communicator comm = next;
        next = null;
        if (comm == null) return;
        queuedOn = comm;
        nextBucket = 0;
        finalFrom = tensors.size();
    }

    /**
     * Backward has finished the gradients of tensors {@code lowest.index()} and up. While a sum is begun, queues the
     * sums of the buckets this completes ({@link GradientBuckets#readyAfter}), in bucket order, behind an event recorded
     * on the compute stream after the kernels that wrote them into {@code grads}.
     */
    void gradsFinal(ParamTensor lowest, long grads) {
        if (queuedOn == null) return;
        int t = lowest.index();
        if (t >= finalFrom)
            throw new IllegalStateException("backward finished " + lowest.name() + " after tensor " + finalFrom + ": not in decreasing layout order");
        List<GradientBuckets.Bucket> ready = new ArrayList<>();
        for (int i = finalFrom - 1; i >= t; i--) ready.addAll(buckets.readyAfter(i));
        finalFrom = t;
        if (ready.isEmpty()) return;
        gpu.driver.eventRecord(bucketReady, gpu.stream);
        for (GradientBuckets.Bucket b : ready) {
            if (b.index() != nextBucket) throw new IllegalStateException("gradient bucket " + b.index() + " ready before bucket " + nextBucket);
            queuedOn.queueAllReduceSum(grads + 4L * b.offset(), gradsSum + 4L * b.offset(), b.length(), Communicator.DataType.FLOAT32, bucketReady);
            nextBucket++;
        }
    }

    /** After the backward: every bucket must have been queued. */
    void endBackward() {
        if (queuedOn != null && nextBucket != buckets.size())
            throw new IllegalStateException("backward queued " + nextBucket + " of " + buckets.size() + " gradient buckets");
    }

    boolean queued() { return queuedOn != null; }

    /**
     * Waits for the bucket sums queued on comm's stream (the host polls, with the communicator's timeout and abort) and
     * returns the buffer holding them, which becomes the gradient; {@code grads}, the local one, becomes the next sum buffer.
     */
    long complete(Communicator comm, long grads) {
        if (comm != queuedOn) throw new IllegalStateException("allReduceGrads on another communicator than the sum begun in backward");
        comm.awaitQueued();
        long summed = gradsSum;
        gradsSum = grads;
        queuedOn = null;
        return summed;
    }

    /** The backend closes: sums still queued read and write its buffers, so they are aborted (ncclCommAbort) first. */
    void close() {
        if (queuedOn != null) queuedOn.abort(new IllegalStateException("the backend closed with a gradient sum queued"));
        gpu.makeCurrent();
        if (bucketReady != 0) gpu.driver.eventDestroy(bucketReady);
    }
}
