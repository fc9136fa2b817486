package gns4j.tensorboard;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.CRC32C;

/**
 * Writes the TFRecord framing that event files use: per record the data length (uint64), the masked CRC32C of
 * those eight bytes (uint32), the data, and the masked CRC32C of the data (uint32), all little-endian.
 */
public final class TfRecordWriter implements Closeable {
    private final OutputStream out;

    TfRecordWriter(OutputStream out) { this.out = out; }

    void write(byte[] data) throws IOException {
        byte[] length = new byte[8];
        for (int i = 0; i < 8; i++) length[i] = (byte) ((long) data.length >>> 8 * i);
        out.write(length);
        writeUint32(maskedCrc32c(length));
        out.write(data);
        writeUint32(maskedCrc32c(data));
    }

    /**
     * CRC32C rotated right by 15 bits plus a constant: the masking TFRecord applies so that a CRC computed over data
     * that itself holds CRCs does not degenerate.
     */
    public static int maskedCrc32c(byte[] data) {
        CRC32C crc = new CRC32C();
        crc.update(data);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + 0xa282ead8;
    }

    private void writeUint32(int v) throws IOException {
        for (int i = 0; i < 4; i++) out.write(v >>> 8 * i);
    }

    void flush() throws IOException { out.flush(); }

    @Override
    public void close() throws IOException { out.close(); }
}
