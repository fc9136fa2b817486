package gns4j.checkpoint;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import gns4j.IoErrors;
import gns4j.JsonFiles;
import gns4j.UserError;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The safetensors file format (Hugging Face): an unsigned 64-bit little-endian header length N, N bytes of UTF-8
 * JSON (padded with spaces to a multiple of 8), then the tensors' bytes back to back. The header maps each tensor
 * name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets into the data part, row-major,
 * little-endian) and may hold a {@code "__metadata__"} object of string values.
 *
 * <p>We write F32 only, tensors in the order given, with {@code "format": "pt"} metadata (transformers refuses
 * files without it). We read F32, F16, BF16 and F64 into float arrays (other dtypes are validated and listed), and check everything the reference
 * implementation checks: the header length, the JSON, each entry, and that the entries tile the data part exactly
 * (no gap, no overlap, nothing missing at the end), so a truncated or corrupted file is a one-line {@link UserError}.
 */
public final class SafeTensors {
    /** Largest header we accept (the reference implementation's limit). */
    static final long MAX_HEADER = 100_000_000L;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final java.util.Set<String> FLOAT_TYPES = java.util.Set.of("F32", "F16", "BF16", "F64");

    private SafeTensors() {}

    /** One tensor: {@code shape} row-major elements of {@code data} from {@code offset}. */
    public record Tensor(String name, int[] shape, float[] data, int offset) {
        public Tensor {
            long n = numel(shape);
            if (offset < 0 || offset + n > data.length)
                throw new IllegalArgumentException("tensor " + name + " of " + n + " elements does not fit its array");
        }

        public Tensor(String name, int[] shape, float[] data) { this(name, shape, data, 0); }

        public int size() { return (int) numel(shape); }

        /** The elements as a new array. */
        public float[] values() {
            float[] out = new float[size()];
            System.arraycopy(data, offset, out, 0, out.length);
            return out;
        }
    }

    /**
     * A file's metadata strings and tensors, in the order of their data; tensors of other dtypes (integers, bool,
     * fp8: e.g. the attention-mask buffers of old GPT-2 files) and tensors the reader did not ask for are only listed,
     * by name with their dtype, in {@code otherDtypes}.
     */
    public record Contents(Map<String, String> metadata, Map<String, Tensor> tensors, Map<String, String> otherDtypes) {}

    // ------------------------------------------------------------------------------------------------ writing

    /** The complete header block: 8-byte length, then the JSON padded with spaces to a multiple of 8 bytes. */
    static byte[] header(List<Tensor> tensors, Map<String, String> metadata) {
        JsonObject root = new JsonObject();
        if (!metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            new TreeMap<>(metadata).forEach(meta::addProperty); // sorted: the same bytes whatever map the caller passed
            root.add("__metadata__", meta);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            if (root.has(t.name())) throw new IllegalArgumentException("duplicate tensor name " + t.name());
            JsonObject e = new JsonObject();
            e.addProperty("dtype", "F32");
            JsonArray shape = new JsonArray();
            for (int d : t.shape()) shape.add(d);
            e.add("shape", shape);
            JsonArray range = new JsonArray();
            range.add(offset);
            offset += 4L * t.size();
            range.add(offset);
            e.add("data_offsets", range);
            root.add(t.name(), e);
        }
        byte[] json = new Gson().toJson(root).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(json);
        while (out.hasRemaining()) out.put((byte) ' ');
        return out.array();
    }

    /** Writes a safetensors file of F32 tensors to {@code out} (not closed). */
    public static void write(OutputStream out, List<Tensor> tensors, Map<String, String> metadata) throws IOException {
        out.write(header(tensors, metadata));
        ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor t : tensors) {
            int done = 0, n = t.size();
            while (done < n) {
                int chunk = Math.min(n - done, buf.capacity() / 4);
                buf.clear();
                buf.asFloatBuffer().put(t.data(), t.offset() + done, chunk);
                out.write(buf.array(), 0, chunk * 4);
                done += chunk;
            }
        }
    }

    /** {@link #write} into a byte array (tests, small files). */
    public static byte[] toBytes(List<Tensor> tensors, Map<String, String> metadata) {
        var out = new java.io.ByteArrayOutputStream();
        try {
            write(out, tensors, metadata);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    // ------------------------------------------------------------------------------------------------ reading

    /**
     * Reads and validates a whole file.
     *
     * @throws UserError naming the file and what is wrong with it (missing, truncated, corrupted header, ...)
     */
    public static Contents read(Path file) { return read(file, name -> true); }

    /**
     * Validates a whole file but decodes only the float tensors whose names {@code decode} accepts (the others are
     * listed in {@link Contents#otherDtypes}), so a large tensor the caller does not use costs no memory.
     *
     * @throws UserError naming the file and what is wrong with it (missing, truncated, corrupted header, ...)
     */
    public static Contents read(Path file, Predicate<String> decode) {
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file)) {
            long size = ch.size();
            MemorySegment seg = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return parse(seg, size, file.toString(), decode);
        } catch (NoSuchFileException e) {
            throw new UserError("file not found: " + file);
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    /** Parses a file held in memory; {@code source} names it in errors. */
    public static Contents parse(byte[] bytes, String source) {
        return parse(MemorySegment.ofArray(bytes), bytes.length, source, name -> true);
    }

    private static Contents parse(MemorySegment seg, long size, String source, Predicate<String> decode) {
        if (size < 8) throw bad(source, "truncated: " + size + " bytes, shorter than the 8-byte header length");
        long n = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 2 || n > MAX_HEADER) throw bad(source, "corrupted: header length " + Long.toUnsignedString(n) + " is impossible");
        if (8 + n > size) throw bad(source, "truncated: header of " + n + " bytes but the file has " + size + " bytes");
        byte[] headerBytes = seg.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        String json = new String(headerBytes, StandardCharsets.UTF_8);
        if (json.charAt(0) != '{') throw bad(source, "corrupted: the header is not a JSON object");
        JsonObject root;
        try {
            JsonElement e = JsonParser.parseString(json);
            if (!e.isJsonObject()) throw bad(source, "corrupted: the header is not a JSON object");
            root = e.getAsJsonObject();
        } catch (JsonParseException | StackOverflowError e) {
            throw bad(source, "corrupted: the header is not valid JSON" + JsonFiles.describe(e));
        }
        long dataStart = 8 + n, dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        record Info(String name, String dtype, int[] shape, long begin, long end) {}
        List<Info> infos = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                if (!e.getValue().isJsonObject()) throw bad(source, "corrupted: __metadata__ is not an object");
                for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                    if (!(m.getValue() instanceof JsonPrimitive p) || !p.isString())
                        throw bad(source, "corrupted: __metadata__ value " + m.getKey() + " is not a string");
                    metadata.put(m.getKey(), p.getAsString());
                }
                continue;
            }
            if (!e.getValue().isJsonObject()) throw bad(source, "corrupted: entry " + name + " is not an object");
            JsonObject o = e.getValue().getAsJsonObject();
            String dtype = string(o, "dtype", name, source);
            int width = switch (dtype) {
                case "F32", "I32", "U32" -> 4;
                case "F16", "BF16", "I16", "U16" -> 2;
                case "F64", "I64", "U64" -> 8;
                case "BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2" -> 1;
                default -> throw bad(source, "tensor " + name + " has unknown dtype " + dtype);
            };
            long[] shapeL = longs(o, "shape", name, source, -1);
            long[] range = longs(o, "data_offsets", name, source, 2);
            long numel = 1;
            int[] shape = new int[shapeL.length];
            for (int i = 0; i < shapeL.length; i++) {
                if (shapeL[i] < 0 || shapeL[i] > Integer.MAX_VALUE) throw bad(source, "tensor " + name + " has an impossible shape");
                shape[i] = (int) shapeL[i];
                numel = Math.multiplyHigh(numel, shapeL[i]) != 0 ? Long.MAX_VALUE : numel * shapeL[i];
            }
            if (numel > Integer.MAX_VALUE - 8) throw bad(source, "tensor " + name + " is too large (" + numel + " elements)");
            if (range[0] < 0 || range[1] < range[0] || range[1] - range[0] != numel * width)
                throw bad(source, "corrupted: tensor " + name + " spans bytes " + range[0] + ".." + range[1]
                        + " but its shape needs " + numel * width);
            infos.add(new Info(name, dtype, shape, range[0], range[1]));
        }
        List<Info> byOffset = new ArrayList<>(infos);
        byOffset.sort(Comparator.comparingLong(Info::begin).thenComparingLong(Info::end));
        long expected = 0;
        for (Info i : byOffset) {
            if (i.begin() != expected)
                throw bad(source, "corrupted: tensor " + i.name() + " starts at byte " + i.begin() + ", expected " + expected);
            expected = i.end();
        }
        if (expected > dataLen)
            throw bad(source, "truncated: the header lists " + expected + " bytes of tensor data but the file holds "
                    + dataLen);
        if (expected < dataLen)
            throw bad(source, "corrupted: " + (dataLen - expected) + " bytes after the last tensor");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> other = new LinkedHashMap<>();
        for (Info i : byOffset) {
            if (!FLOAT_TYPES.contains(i.dtype()) || !decode.test(i.name())) {
                other.put(i.name(), i.dtype());
                continue;
            }
            int count = (int) numel(i.shape());
            float[] data = new float[count];
            long at = dataStart + i.begin();
            switch (i.dtype()) {
                case "F32" -> MemorySegment.copy(seg, F32_LE, at, data, 0, count);
                case "F64" -> { for (int k = 0; k < count; k++) data[k] = (float) seg.get(F64_LE, at + 8L * k); }
                case "BF16" -> { for (int k = 0; k < count; k++) data[k] = Float.intBitsToFloat(Short.toUnsignedInt(seg.get(U16_LE, at + 2L * k)) << 16); }
                default -> { for (int k = 0; k < count; k++) data[k] = Float.float16ToFloat(seg.get(U16_LE, at + 2L * k)); }
            }
            tensors.put(i.name(), new Tensor(i.name(), i.shape(), data));
        }
        return new Contents(metadata, tensors, other);
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    private static String string(JsonObject o, String key, String name, String source) {
        if (!(o.get(key) instanceof JsonPrimitive p) || !p.isString())
            throw bad(source, "corrupted: tensor " + name + " lacks a string \"" + key + "\"");
        return p.getAsString();
    }

    private static long[] longs(JsonObject o, String key, String name, String source, int length) {
        if (!(o.get(key) instanceof JsonArray a) || (length >= 0 && a.size() != length))
            throw bad(source, "corrupted: tensor " + name + " lacks a valid \"" + key + "\"");
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            try {
                out[i] = new java.math.BigDecimal(a.get(i).getAsString()).longValueExact();
            } catch (RuntimeException e) {
                throw bad(source, "corrupted: tensor " + name + " has a non-integer in \"" + key + "\"");
            }
        }
        return out;
    }

    private static UserError bad(String source, String what) { return new UserError(source + ": not a valid safetensors file: " + what); }

}
