package gns4j.parallel;

import gns4j.model.ModelConfig;
import gns4j.model.NormType;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class GradientBucketsTest {
    /** The 111M config of the paper (L10 H12 C768, T 2048, GPT-2 vocabulary, tied head). */
    static final ModelConfig M111 = new ModelConfig(10, 12, 768, 2048, 50304, true, NormType.LAYERNORM, true);

    @Test
    void coversEveryElementOnceAlignedToTensorsWherePossible() {
        ParameterLayout big = new ParameterLayout(M111);
        for (long bytes : new long[]{GradientBuckets.DEFAULT_BUCKET_BYTES, 1L << 20})
            check(big, new GradientBuckets(big.tensors, bytes, 4), bytes / 4);
        ParameterLayout small = new ParameterLayout(new ModelConfig(2, 2, 64, 32, 97, false, NormType.RMSNORM, false));
        for (long bytes : new long[]{1L << 20, 4096, 400, 4})
            check(small, new GradientBuckets(small.tensors, bytes, 4), bytes / 4);
        // bf16 gradients: twice the elements per bucket
        assertEquals(big.totalSize, new GradientBuckets(big.tensors, 1L << 20, 2).buckets().stream().mapToInt(GradientBuckets.Bucket::length).sum());
        assertEquals(GradientBuckets.DEFAULT_BUCKET_BYTES, 25L << 20);
    }

    private static void check(ParameterLayout layout, GradientBuckets gb, long cap) {
        byte[] seen = new byte[layout.totalSize];
        Set<Integer> tensorStarts = new HashSet<>();
        for (ParamTensor t : layout.tensors) tensorStarts.add(t.offset());
        tensorStarts.add(layout.totalSize);
        int expectEnd = layout.totalSize;
        List<GradientBuckets.Bucket> bs = gb.buckets();
        for (int k = 0; k < bs.size(); k++) {
            var b = bs.get(k);
            assertEquals(k, b.index());
            assertEquals(expectEnd, b.end(), "buckets are contiguous, in decreasing offset");
            assertTrue(b.length() > 0 && b.length() <= cap, "bucket within the cap");
            for (int i = b.offset(); i < b.end(); i++) seen[i]++;
            expectEnd = b.offset();
            // a boundary inside a tensor only where that tensor alone exceeds the cap
            for (int edge : new int[]{b.offset(), b.end()}) {
                if (!tensorStarts.contains(edge)) {
                    ParamTensor inside = layout.tensors.stream().filter(t -> t.offset() < edge && edge < t.offset() + t.size()).findFirst().orElseThrow();
                    assertTrue(inside.size() > cap, "cut inside " + inside.name() + " which fits a bucket");
                }
            }
            assertTrue(layout.tensors.get(b.firstTensor()).offset() <= b.offset() || b.firstTensor() == b.lastTensor());
            // greedy: the next bucket's first whole tensor would not have fitted
            if (k + 1 < bs.size() && tensorStarts.contains(b.offset())) {
                ParamTensor next = layout.tensors.get(b.firstTensor() - 1);
                assertTrue((long) b.length() + next.size() > cap, "bucket " + k + " closed early");
            }
        }
        assertEquals(0, expectEnd);
        for (int i = 0; i < seen.length; i++) assertEquals(1, seen[i], "element " + i);
        assertEquals(layout.totalSize, gb.totalElements());
    }

    @Test
    void bucketsBecomeReadyInOrderAsBackwardProceeds() {
        ParameterLayout layout = new ParameterLayout(M111);
        GradientBuckets gb = new GradientBuckets(layout);
        assertTrue(gb.size() > 4, "111M makes several 25 MB buckets, got " + gb.size());
        int next = 0;
        for (int t = layout.numTensors() - 1; t >= 0; t--) {
            for (var b : gb.readyAfter(t)) {
                assertEquals(next++, b.index(), "buckets complete in reduction order");
                // every tensor of the bucket has been produced (indices ≥ t)
                assertTrue(b.firstTensor() == t && b.lastTensor() >= t);
            }
        }
        assertEquals(gb.size(), next, "every bucket launched exactly once");
    }

    @Test
    void bucketedAllReduceEqualsWholeBufferAllReduce() {
        ParameterLayout layout = new ParameterLayout(new ModelConfig(2, 2, 64, 32, 97, true, NormType.LAYERNORM, true));
        GradientBuckets gb = new GradientBuckets(layout.tensors, 16 * 1024, 4);
        assertTrue(gb.size() > 3);
        List<float[][]> res = InProcessCommunicator.run(3, c -> {
            float[] a = new float[layout.totalSize], b = new float[layout.totalSize];
            for (int i = 0; i < a.length; i++) a[i] = b[i] = (float) Math.cos(i + 7.0 * c.rank());
            gb.allReduceSum(c, a);
            c.allReduceSum(b);
            return new float[][]{a, b};
        });
        for (float[][] r : res) assertArrayEquals(r[1], r[0]);
    }
}
