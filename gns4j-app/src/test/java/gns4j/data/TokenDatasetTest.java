package gns4j.data;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenDatasetTest {
    @TempDir Path tmp;

    private Path bin(int... ids) throws IOException {
        var buf = ByteBuffer.allocate(2 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int id : ids) buf.putShort((short) id);
        return Files.write(tmp.resolve("d" + ids.length + ".bin"), buf.array());
    }

    private static int[] range(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = i;
        return ids;
    }

    private static void assertOpenFails(Path file, int vocab, int block, String expected) {
        var e = assertThrows(UserError.class, () -> TokenDataset.open(file, vocab, block).close());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }

    @Test
    void readsLittleEndianUint16() throws IOException {
        try (var ds = TokenDataset.open(bin(1, 65535, 258, 50256), 65536, 2)) {
            assertEquals(4, ds.numTokens());
            assertArrayEquals(new int[] {1, 65535, 258, 50256},
                    new int[] {ds.token(0), ds.token(1), ds.token(2), ds.token(3)});
        }
    }

    @Test
    void badFilesGiveClearUserErrors() throws IOException {
        assertOpenFails(tmp.resolve("missing.bin"), 100, 4, "not found");
        assertOpenFails(Files.write(tmp.resolve("empty.bin"), new byte[0]), 100, 4, "is empty");
        assertOpenFails(Files.write(tmp.resolve("odd.bin"), new byte[7]), 100, 2,
                "corrupted or truncated: odd number of bytes");
        assertOpenFails(bin(range(10)), 100, 10, "block_size 10 larger than data");
        assertOpenFails(bin(3, 1, 99, 100, 7), 100, 2, "token id 100 at position 3 >= vocab_size 100");
        TokenDataset.open(bin(range(11)), 100, 10).close(); // exactly block_size+1 tokens is enough
    }

    @Test
    void sampleBatchTargetsAreShiftedInputsWithinData() throws IOException {
        int n = 1000, batch = 8, T = 16;
        try (var ds = TokenDataset.open(bin(range(n)), n, T)) {
            int[] x = new int[batch * T], y = new int[batch * T];
            long[] offsets = new long[batch];
            var rng = new Random(42);
            for (int rep = 0; rep < 50; rep++) {
                ds.sampleBatch(rng, batch, T, x, y, offsets);
                for (int b = 0; b < batch; b++) {
                    assertTrue(offsets[b] >= 0 && offsets[b] + T < n, "window inside data");
                    for (int t = 0; t < T; t++) {
                        assertEquals(offsets[b] + t, x[b * T + t]); // token i has id i
                        assertEquals(x[b * T + t] + 1, y[b * T + t]);
                    }
                }
            }
        }
    }

    @Test
    void sequentialBatchIsDeterministicNonOverlappingAndWraps() throws IOException {
        int T = 4, batch = 2;
        try (var ds = TokenDataset.open(bin(range(21)), 100, T)) {
            assertEquals(5, ds.windows(T)); // starts 0, 4, 8, 12, 16; the last target is token 20
            int[] x = new int[batch * T], y = new int[batch * T], x2 = new int[batch * T], y2 = new int[batch * T];
            ds.sequentialBatch(0, batch, T, x, y);
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, x);
            assertArrayEquals(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, y);
            ds.sequentialBatch(2, batch, T, x, y); // windows 4 and 5 -> wraps to 0
            assertArrayEquals(new int[] {16, 17, 18, 19, 0, 1, 2, 3}, x);
            assertArrayEquals(new int[] {17, 18, 19, 20, 1, 2, 3, 4}, y);
            ds.sequentialBatch(2, batch, T, x2, y2);
            assertArrayEquals(x, x2);
            assertArrayEquals(y, y2);
        }
    }
}
