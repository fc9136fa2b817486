package gns4j.tensorboard;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A protocol-buffer message being encoded, field by field, with the four wire types TensorBoard's Event and Summary
 * messages need. Fields are written in call order; a reader accepts any order.
 */
final class ProtoWriter {
    private static final int VARINT = 0, FIXED64 = 1, LENGTH_DELIMITED = 2, FIXED32 = 5;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** An int64 field (varint; a negative value takes ten bytes, as in protobuf). */
    ProtoWriter int64(int field, long value) {
        tag(field, VARINT);
        varint(value);
        return this;
    }

    /** A double field: eight bytes, little-endian. */
    ProtoWriter float64(int field, double value) {
        tag(field, FIXED64);
        littleEndian(Double.doubleToRawLongBits(value), 8);
        return this;
    }

    /** A float field: four bytes, little-endian. */
    ProtoWriter float32(int field, float value) {
        tag(field, FIXED32);
        littleEndian(Float.floatToRawIntBits(value), 4);
        return this;
    }

    /** A string field, UTF-8. */
    ProtoWriter string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    /** An embedded message field. */
    ProtoWriter message(int field, ProtoWriter message) {
        return bytes(field, message.toByteArray());
    }

    byte[] toByteArray() { return out.toByteArray(); }

    private ProtoWriter bytes(int field, byte[] value) {
        tag(field, LENGTH_DELIMITED);
        varint(value.length);
        out.writeBytes(value);
        return this;
    }

    private void tag(int field, int wireType) { varint((long) field << 3 | wireType); }

    /** Seven bits a byte, least significant group first, the high bit set on every byte but the last. */
    private void varint(long value) {
        while ((value & ~0x7FL) != 0) {
            out.write((int) (value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out.write((int) value);
    }

    private void littleEndian(long bits, int bytes) {
        for (int i = 0; i < bytes; i++) out.write((int) (bits >>> 8 * i) & 0xFF);
    }
}
