package gns4j.data;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** UTF-8 bytes as tokens 0..255 plus a separator 256: tiny vocabulary, handy for small CPU models. */
public final class ByteTokenizer implements Tokenizer {
    private static final int END_OF_TEXT = 256;

    @Override public String name() { return "byte"; }

    @Override public int vocabSize() { return 257; }

    @Override public int endOfText() { return END_OF_TEXT; }

    @Override public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) ids[i] = bytes[i] & 0xFF;
        return ids;
    }

    @Override public String decode(int[] ids, int from, int to) {
        var out = new ByteArrayOutputStream(to - from);
        for (int i = from; i < to; i++) {
            int id = ids[i];
            if (id == END_OF_TEXT) out.writeBytes(new byte[] {'\n', '\n'});
            else if (id >= 0 && id < END_OF_TEXT) out.write(id);
            else throw new IllegalArgumentException("byte token id out of range: " + id);
        }
        return out.toString(StandardCharsets.UTF_8); // String decoding replaces malformed UTF-8
    }
}
