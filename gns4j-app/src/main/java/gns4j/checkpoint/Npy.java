package gns4j.checkpoint;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes NumPy's .npy format (version 1.0) for float32 arrays: the magic {@code \x93NUMPY}, version bytes 1 0, a
 * little-endian uint16 header length, an ASCII Python-dict header padded with spaces and ended by a newline so the
 * data starts at a multiple of 64 bytes, then the little-endian C-order data. {@code numpy.load} reads it.
 */
public final class Npy {
    private Npy() {}

    public static byte[] header(int... shape) {
        StringBuilder dims = new StringBuilder();
        for (int d : shape) dims.append(d).append(", ");
        String tuple = shape.length == 1 ? "(" + shape[0] + ",)" : "(" + dims.substring(0, dims.length() - 2) + ")";
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }";
        int unpadded = 10 + dict.length() + 1;
        int total = (unpadded + 63) / 64 * 64;
        String header = dict + " ".repeat(total - unpadded) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length()).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    /** Writes {@code data} (row-major, product of shape elements) to {@code file}. */
    public static void write(Path file, float[] data, int... shape) throws IOException {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != data.length) throw new IllegalArgumentException("shape holds " + n + " elements, data " + data.length);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(header(shape));
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < data.length; ) {
                int k = Math.min(data.length - i, buf.capacity() / 4);
                buf.clear();
                buf.asFloatBuffer().put(data, i, k);
                out.write(buf.array(), 0, 4 * k);
                i += k;
            }
        }
    }
}
