package gns4j.data;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.UserError;
import org.junit.jupiter.api.Test;

class TokenizerTest {
    @Test
    void byteRoundTripIncludingNonAscii() {
        var tok = new ByteTokenizer();
        String text = "Größe — naïve 日本 🙂\n";
        int[] ids = tok.encode(text);
        assertEquals(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, ids.length);
        for (int id : ids) assertTrue(id >= 0 && id < 256);
        assertEquals(text, tok.decode(ids, 0, ids.length));
        assertEquals(257, tok.vocabSize());
        assertEquals(256, tok.endOfText());
    }

    @Test
    void byteDecodeSeparatorAndMalformedUtf8() {
        var tok = new ByteTokenizer();
        assertEquals("a\n\nb", tok.decode(new int[] {'a', 256, 'b'}, 0, 3));
        // A lone continuation byte and a cut-off 3-byte sequence decode to replacement characters.
        assertEquals("x\uFFFDy", tok.decode(new int[] {'x', 0x80, 'y'}, 0, 3));
        int[] cut = tok.encode("日");
        assertEquals("\uFFFD", tok.decode(cut, 0, 2));
        assertEquals("b", tok.decode(new int[] {'a', 'b', 'c'}, 1, 2));
    }

    @Test
    void gpt2KnownIdsAndRoundTrip() {
        var tok = new Gpt2Tokenizer();
        assertArrayEquals(new int[] {15496, 995}, tok.encode("Hello world"));
        assertEquals(50257, tok.vocabSize());
        assertEquals(50256, tok.endOfText());
        String text = "The quick brown fox, 1234 — über naïve!\n\nNew paragraph.";
        int[] ids = tok.encode(text);
        assertEquals(text, tok.decode(ids, 0, ids.length));
        assertEquals(" world", tok.decode(new int[] {15496, 995}, 1, 2));
    }

    @Test
    void gpt2TreatsSpecialTokenSpellingAsText() {
        var tok = new Gpt2Tokenizer();
        int[] ids = tok.encode("a<|endoftext|>b");
        for (int id : ids) assertNotEquals(tok.endOfText(), id);
        assertEquals("a<|endoftext|>b", tok.decode(ids, 0, ids.length));
    }

    @Test
    void byNameKnowsBothAndListsThemOnError() {
        assertEquals("gpt2", Tokenizers.byName("gpt2").name());
        assertEquals("byte", Tokenizers.byName("byte").name());
        var e = assertThrows(UserError.class, () -> Tokenizers.byName("bpe"));
        assertTrue(e.getMessage().contains("'bpe'") && e.getMessage().contains("gpt2, byte"), e.getMessage());
    }
}
