package gns4j.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Reads a TensorBoard event file from the format's description alone, as a check on the writer: TFRecord framing
 * (uint64 length, masked CRC32C of the length, data, masked CRC32C of the data), then each record as an
 * {@code Event} protobuf whose {@code Summary} values are decoded into tag → simple_value. Any framing, checksum or
 * wire-format error throws.
 */
final class EventFileReader {
    private EventFileReader() {}

    /** One decoded Event; absent fields are null (step) or empty. */
    record Event(double wallTime, Long step, String fileVersion, Map<String, Float> values) {}

    static List<Event> read(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> events = new ArrayList<>();
        while (in.hasRemaining()) {
            byte[] header = new byte[8];
            in.get(header);
            long length = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getLong();
            check(in.getInt() == masked(header), "length CRC of record " + events.size());
            byte[] data = new byte[Math.toIntExact(length)];
            in.get(data);
            check(in.getInt() == masked(data), "data CRC of record " + events.size());
            events.add(event(data));
        }
        return events;
    }

    private static int masked(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        long crc = c.getValue();
        return (int) ((((crc >>> 15) | (crc << 17)) + 0xa282ead8L) & 0xFFFFFFFFL);
    }

    private static Event event(byte[] data) {
        double wallTime = Double.NaN;
        Long step = null;
        String version = "";
        Map<String, Float> values = new LinkedHashMap<>();
        for (Field f : fields(data)) {
            switch (f.number) {
                case 1 -> wallTime = Double.longBitsToDouble(f.fixed(1));
                case 2 -> step = f.varint();
                case 3 -> version = new String(f.bytes(), StandardCharsets.UTF_8);
                case 5 -> {
                    for (Field v : fields(f.bytes())) {
                        check(v.number == 1, "Summary field " + v.number);
                        String tag = null;
                        Float simple = null;
                        for (Field x : fields(v.bytes())) {
                            if (x.number == 1) tag = new String(x.bytes(), StandardCharsets.UTF_8);
                            else if (x.number == 2) simple = Float.intBitsToFloat((int) x.fixed(5));
                        }
                        check(tag != null && simple != null, "Value without tag or simple_value");
                        check(values.put(tag, simple) == null, "tag " + tag + " twice in one event");
                    }
                }
                default -> throw new IllegalStateException("unexpected Event field " + f.number);
            }
        }
        return new Event(wallTime, step, version, values);
    }

    /** A decoded field: its number, wire type and raw value (varint or fixed bits as a long, or bytes). */
    private record Field(int number, int wireType, long bits, byte[] payload) {
        long varint() {
            check(wireType == 0, "field " + number + " is not a varint");
            return bits;
        }

        long fixed(int expectedWireType) {
            check(wireType == expectedWireType, "field " + number + " has wire type " + wireType);
            return bits;
        }

        byte[] bytes() {
            check(wireType == 2, "field " + number + " is not length-delimited");
            return payload;
        }
    }

    private static List<Field> fields(byte[] message) {
        ByteBuffer in = ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN);
        List<Field> out = new ArrayList<>();
        while (in.hasRemaining()) {
            long key = varint(in);
            int number = (int) (key >>> 3), type = (int) (key & 7);
            out.add(switch (type) {
                case 0 -> new Field(number, type, varint(in), null);
                case 1 -> new Field(number, type, in.getLong(), null);
                case 5 -> new Field(number, type, in.getInt() & 0xFFFFFFFFL, null);
                case 2 -> {
                    byte[] b = new byte[Math.toIntExact(varint(in))];
                    in.get(b);
                    yield new Field(number, type, 0, b);
                }
                default -> throw new IllegalStateException("wire type " + type);
            });
        }
        return out;
    }

    private static long varint(ByteBuffer in) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            check(shift < 64, "varint longer than ten bytes");
            byte b = in.get();
            v |= (long) (b & 0x7F) << shift;
            if (b >= 0) return v;
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new IllegalStateException("bad event file: " + what);
    }
}
