package gns4j.checkpoint;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import gns4j.UserError;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The safetensors format: layout of what we write, and one-line errors for every kind of damage. */
class SafeTensorsTest {
    static final List<SafeTensors.Tensor> TENSORS = List.of(
            new SafeTensors.Tensor("a.weight", new int[]{2, 3}, new float[]{1, -2, 3.5f, Float.MIN_VALUE, -0f, 1e30f}),
            new SafeTensors.Tensor("scalar", new int[0], new float[]{7}),
            new SafeTensors.Tensor("empty", new int[]{0, 4}, new float[0]),
            new SafeTensors.Tensor("b", new int[]{3}, new float[]{9, 8, 7, 6, 5}, 2));

    @Test
    void writesTheDocumentedLayoutAndReadsItBack() {
        byte[] bytes = SafeTensors.toBytes(TENSORS, Map.of("format", "pt"));
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + n) % 8, "header padded to 8 bytes");
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals(header.strip(), header.substring(0, header.strip().length()), "padding is trailing spaces");
        JsonObject h = JsonParser.parseString(header).getAsJsonObject();
        assertEquals("pt", h.getAsJsonObject("__metadata__").get("format").getAsString());
        assertEquals("[0,24]", h.getAsJsonObject("a.weight").get("data_offsets").toString());
        assertEquals("[24,28]", h.getAsJsonObject("scalar").get("data_offsets").toString());
        assertEquals("[28,28]", h.getAsJsonObject("empty").get("data_offsets").toString());
        assertEquals("[28,40]", h.getAsJsonObject("b").get("data_offsets").toString());
        assertEquals("F32", h.getAsJsonObject("b").get("dtype").getAsString());
        assertEquals(8 + n + 40, bytes.length);
        assertEquals(3.5f, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getFloat((int) (8 + n + 8)));

        SafeTensors.Contents c = SafeTensors.parse(bytes, "t");
        assertEquals(Map.of("format", "pt"), c.metadata());
        assertEquals(List.of("a.weight", "scalar", "empty", "b"), List.copyOf(c.tensors().keySet()));
        for (SafeTensors.Tensor t : TENSORS) {
            SafeTensors.Tensor r = c.tensors().get(t.name());
            assertArrayEquals(t.shape(), r.shape());
            assertArrayEquals(bits(t.values()), bits(r.values()), t.name());
        }
    }

    @Test
    void readsHalfAndDoubleAndListsOtherDtypes() {
        Map<String, HfFixture.Raw> raw = new LinkedHashMap<>();
        raw.put("h", new HfFixture.Raw(new int[]{2}, "F16", le16(Float.floatToFloat16(1.5f), Float.floatToFloat16(-2f))));
        raw.put("bf", new HfFixture.Raw(new int[]{1}, "BF16", le16((short) (Float.floatToIntBits(0.15625f) >>> 16))));
        raw.put("d", new HfFixture.Raw(new int[]{1}, "F64", ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.25).array()));
        raw.put("mask", new HfFixture.Raw(new int[]{2, 2}, "BOOL", new byte[]{1, 0, 1, 1}));
        SafeTensors.Contents c = SafeTensors.parse(HfFixture.safetensors(raw), "t");
        assertArrayEquals(new float[]{1.5f, -2f}, c.tensors().get("h").values());
        assertArrayEquals(new float[]{0.15625f}, c.tensors().get("bf").values());
        assertArrayEquals(new float[]{0.25f}, c.tensors().get("d").values());
        assertEquals(Map.of("mask", "BOOL"), c.otherDtypes());
    }

    @Test
    void truncatedFilesAreOneLineErrorsAtEveryCut() {
        byte[] bytes = SafeTensors.toBytes(TENSORS, Map.of("format", "pt"));
        for (int cut : new int[]{0, 5, 8, 20, bytes.length - 40, bytes.length - 1}) {
            String msg = assertThrows(UserError.class, () -> SafeTensors.parse(Arrays.copyOf(bytes, cut), "f.safetensors"),
                    "cut at " + cut).getMessage();
            assertTrue(msg.startsWith("f.safetensors: not a valid safetensors file: truncated"), cut + ": " + msg);
            assertFalse(msg.contains("\n"));
        }
    }

    @Test
    void corruptedFilesAreOneLineErrors() {
        byte[] good = SafeTensors.toBytes(TENSORS, Map.of());
        int n = (int) ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(good, 8, n, StandardCharsets.UTF_8);

        byte[] hugeLength = good.clone();
        ByteBuffer.wrap(hugeLength).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE);
        assertError(hugeLength, "header length");
        byte[] garbage = good.clone();
        garbage[8 + 1] = '}';
        assertError(garbage, "corrupted");
        assertError(withHeader(good, header.replace("[24,28]", "[20,24]")), "corrupted");   // overlap
        assertError(withHeader(good, header.replace("[28,40]", "[29,41]")), "starts at byte 29"); // gap
        assertError(withHeader(good, header.replace("\"F32\"", "\"Q7\"")), "unknown dtype Q7");
        assertError(withHeader(good, header.replace("\"shape\":[2,3]", "\"shape\":[2,4]")), "shape needs 32");
        byte[] trailing = Arrays.copyOf(good, good.length + 4);
        assertError(trailing, "4 bytes after the last tensor");
    }

    private static void assertError(byte[] bytes, String expected) {
        String msg = assertThrows(UserError.class, () -> SafeTensors.parse(bytes, "x")).getMessage();
        assertTrue(msg.contains(expected), msg);
        assertFalse(msg.contains("\n"), msg);
    }

    /** The same file with another header JSON of the same length (space padded). */
    private static byte[] withHeader(byte[] file, String header) {
        int n = (int) ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        assertTrue(h.length <= n);
        byte[] out = file.clone();
        Arrays.fill(out, 8, 8 + n, (byte) ' ');
        System.arraycopy(h, 0, out, 8, h.length);
        return out;
    }

    private static byte[] le16(short... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : v) b.putShort(s);
        return b.array();
    }

    private static int[] bits(float[] f) {
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) out[i] = Float.floatToRawIntBits(f[i]);
        return out;
    }
}
