package gns4j.parallel;

import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The flat gradient buffer cut into buckets for an all-reduce overlapped with backward (as PyTorch DDP does).
 *
 * <p>Backward produces gradients roughly in reverse {@link ParameterLayout} order (LM head and last block first,
 * embeddings last), so buckets are filled walking the tensors from the last to the first: bucket 0 holds the end of
 * the buffer and is complete first. Whole tensors are added greedily while the bucket stays within
 * {@code bucketBytes}; a bucket closes at a tensor boundary. A tensor larger than a bucket is cut into full buckets
 * from its end, and its remaining head stays open for the tensors before it — the only boundaries not on tensor
 * boundaries. Buckets are contiguous, in decreasing offset, and cover every element exactly once.
 *
 * <p>Bucket k can be reduced as soon as tensor {@link Bucket#firstTensor()} (its lowest index) has its gradient:
 * {@link #readyAfter(int)}. With gradient accumulation only the last micro-batch's backward is overlapped.
 */
public final class GradientBuckets {
    /** PyTorch DDP's default bucket size. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    /**
     * Elements {@code [offset, offset + length)} of the flat buffer, holding (parts of) tensors
     * {@code firstTensor..lastTensor} (layout indices).
     */
    public record Bucket(int index, int offset, int length, int firstTensor, int lastTensor) {
        public int end() { return offset + length; }
    }

    private final List<Bucket> buckets;
    private final List<List<Bucket>> readyAfter;
    private final int totalElements;
    private final long bucketBytes;

    /** 25 MiB buckets of float32 gradients. */
    public GradientBuckets(ParameterLayout layout) { this(layout.tensors, DEFAULT_BUCKET_BYTES, 4); }

    /**
     * @param tensors          contiguous, in layout order ({@code tensors.get(i).index() == i}, each starting where the
     *                         previous ends)
     * @param bucketBytes      the most bytes of one bucket
     * @param bytesPerElement  4 for float32 gradients, 2 for bf16
     */
    public GradientBuckets(List<ParamTensor> tensors, long bucketBytes, int bytesPerElement) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("no tensors");
        if (bytesPerElement < 1) throw new IllegalArgumentException("bytes per element must be >= 1");
        long capL = bucketBytes / bytesPerElement;
        if (capL < 1) throw new IllegalArgumentException("bucket of " + bucketBytes + " bytes holds no element");
        int cap = (int) Math.min(capL, Integer.MAX_VALUE);
        this.bucketBytes = bucketBytes;
        int expect = tensors.getFirst().offset();
        for (int i = 0; i < tensors.size(); i++) {
            ParamTensor t = tensors.get(i);
            if (t.index() != i || t.offset() != expect)
                throw new IllegalArgumentException("tensor " + t.name() + " is not contiguous in layout order");
            expect += t.size();
        }
        totalElements = expect - tensors.getFirst().offset();

        List<Bucket> out = new ArrayList<>();
        // the open bucket: [openStart, openEnd), tensors openFirst..openLast
        int openEnd = expect, openStart = expect, openFirst = -1, openLast = -1;
        for (int i = tensors.size() - 1; i >= 0; i--) {
            ParamTensor t = tensors.get(i);
            if (t.size() == 0) continue;
            int open = openEnd - openStart;
            if (open > 0 && (long) open + t.size() > cap) {   // close at the tensor boundary
                out.add(new Bucket(out.size(), openStart, open, openFirst, openLast));
                openEnd = openStart;
                openLast = -1;
            }
            int tailEnd = t.offset() + t.size();
            if (t.size() > cap) {                             // full buckets from the tensor's end
                while (tailEnd - t.offset() > cap) {
                    out.add(new Bucket(out.size(), tailEnd - cap, cap, i, i));
                    tailEnd -= cap;
                }
                openEnd = tailEnd;
                openLast = i;
            }
            if (openLast < 0) openLast = i;
            openStart = t.offset();
            openFirst = i;
        }
        if (openEnd > openStart) out.add(new Bucket(out.size(), openStart, openEnd - openStart, openFirst, openLast));
        buckets = Collections.unmodifiableList(out);

        List<List<Bucket>> ready = new ArrayList<>();
        for (int i = 0; i < tensors.size(); i++) ready.add(new ArrayList<>());
        for (Bucket b : buckets) ready.get(b.firstTensor()).add(b);
        for (int i = 0; i < ready.size(); i++) ready.set(i, List.copyOf(ready.get(i)));
        readyAfter = Collections.unmodifiableList(ready);
    }

    /** The buckets in reduction order (decreasing offset). */
    public List<Bucket> buckets() { return buckets; }

    public int size() { return buckets.size(); }

    public int totalElements() { return totalElements; }

    /** The cap on one bucket's bytes this was built with. */
    public long bucketBytes() { return bucketBytes; }

    /**
     * The buckets that become complete once tensor {@code tensorIndex}'s gradient is final, assuming backward finishes
     * tensors in decreasing index: launch their all-reduce then. Empty for most tensors.
     */
    public List<Bucket> readyAfter(int tensorIndex) { return readyAfter.get(tensorIndex); }

    /** All-reduces (sums) {@code grads} bucket by bucket, in order; the non-overlapped form for host buffers. */
    public void allReduceSum(Communicator comm, float[] grads) {
        for (Bucket b : buckets) comm.allReduceSum(grads, b.offset(), b.length());
    }

    /** As {@link #allReduceSum(Communicator, float[])} for double gradients. */
    public void allReduceSum(Communicator comm, double[] grads) {
        for (Bucket b : buckets) comm.allReduceSum(grads, b.offset(), b.length());
    }
}
