package gns4j.parallel;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class InProcessCommunicatorTest {

    @Test
    void allReduceIsTheRankOrderSumAndIdenticalOnEveryRank() {
        int n = 4;
        List<float[]> out = InProcessCommunicator.run(n, c -> {
            float[] a = new float[1000];
            for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i * 0.37 + c.rank()) * (c.rank() + 1) * 1e-3f;
            c.allReduceSum(a);
            return a;
        });
        for (int i = 0; i < 1000; i++) {
            double want = 0;
            for (int r = 0; r < n; r++) want += (float) Math.sin(i * 0.37 + r) * (r + 1) * 1e-3f;
            assertEquals((float) want, out.get(0)[i]);
            for (int r = 1; r < n; r++) assertEquals(Float.floatToRawIntBits(out.get(0)[i]), Float.floatToRawIntBits(out.get(r)[i]));
        }
    }

    @Test
    void slicesDoublesLongsSegmentsAndBroadcast() {
        List<String> res = InProcessCommunicator.run(3, c -> {
            int r = c.rank();
            double[] d = {-1, r, 10 * r, -1};
            c.allReduceSum(d, 1, 2);
            assertArrayEquals(new double[]{-1, 3, 30, -1}, d);
            long[] l = {r, 1L << 40};
            c.allReduceSum(l);
            assertArrayEquals(new long[]{3, 3L << 40}, l);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = a.allocate(ValueLayout.JAVA_FLOAT, 3);
                for (int i = 0; i < 3; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, r + i);
                c.allReduceSum(s, 2, Communicator.DataType.FLOAT32);
                assertEquals(3f, s.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
                assertEquals(6f, s.getAtIndex(ValueLayout.JAVA_FLOAT, 1));
                assertEquals(r + 2f, s.getAtIndex(ValueLayout.JAVA_FLOAT, 2)); // beyond count: untouched
            }
            float[] f = {r, r};
            c.broadcast(f, 2);
            assertArrayEquals(new float[]{2, 2}, f);
            byte[] b = new byte[5];
            if (r == 1) b = new byte[]{1, 2, 3, 4, 5};
            c.broadcast(b, 1);
            assertArrayEquals(new byte[]{1, 2, 3, 4, 5}, b);
            c.barrier();
            return "ok";
        });
        assertEquals(List.of("ok", "ok", "ok"), res);
    }

    @Test
    void aFailingRankStopsTheOthersWithItsName() {
        var e = assertThrows(IllegalStateException.class, () -> InProcessCommunicator.run(3, c -> {
            if (c.rank() == 1) throw new IllegalStateException("out of memory on rank 1");
            c.allReduceSum(new float[4]);   // ranks 0 and 2 wait here and must not hang
            c.barrier();
            return null;
        }));
        assertEquals("out of memory on rank 1", e.getMessage());
    }

    @Test
    void othersSeeCommunicatorExceptionNamingTheFailedRank() throws Exception {
        var g = new InProcessCommunicator.Group(2, Duration.ofSeconds(30));
        var c0 = g.member(0);
        var c1 = g.member(1);
        CommunicatorException[] seen = new CommunicatorException[1];
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                c0.allReduceSum(new double[2]);
            } catch (CommunicatorException e) {
                seen[0] = e;
            }
        });
        Thread.sleep(50);
        c1.abort(new RuntimeException("loss is NaN"));
        t.join(5000);
        assertNotNull(seen[0]);
        assertEquals(1, seen[0].failedRank);
        assertTrue(seen[0].getMessage().contains("rank 1 failed") && seen[0].getMessage().contains("loss is NaN"), seen[0].getMessage());
        assertThrows(CommunicatorException.class, c1::barrier);  // the group stays failed
    }

    @Test
    void timeoutAndMismatchFail() {
        var g = new InProcessCommunicator.Group(2, Duration.ofMillis(200));
        var e = assertThrows(CommunicatorException.class, () -> g.member(0).barrier());
        assertTrue(e.getMessage().contains("timed out"), e.getMessage());

        var m = assertThrows(CommunicatorException.class, () -> InProcessCommunicator.run(2, c -> {
            c.allReduceSum(new float[c.rank() == 0 ? 3 : 4]);
            return null;
        }));
        assertTrue(m.getMessage().contains("mismatched collectives"), m.getMessage());
    }
}
