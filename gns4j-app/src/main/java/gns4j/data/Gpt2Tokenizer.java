package gns4j.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/** GPT-2's byte-level BPE (r50k_base), as used by nanoGPT's OpenWebText and Shakespeare preparers. */
public final class Gpt2Tokenizer implements Tokenizer {
    private static final int END_OF_TEXT = 50256;
    // Loading the BPE ranks takes a while; share one immutable, thread-safe encoding.
    private static final Encoding ENCODING =
            Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    @Override public String name() { return "gpt2"; }

    @Override public int vocabSize() { return 50257; }

    @Override public int endOfText() { return END_OF_TEXT; }

    // encodeOrdinary: plain encode() throws on a literal "<|endoftext|>" inside web text.
    @Override public int[] encode(String text) { return ENCODING.encodeOrdinary(text).toArray(); }

    @Override public String decode(int[] ids, int from, int to) {
        var list = new IntArrayList(Math.max(0, to - from));
        for (int i = from; i < to; i++) list.add(ids[i]);
        return ENCODING.decode(list);
    }
}
