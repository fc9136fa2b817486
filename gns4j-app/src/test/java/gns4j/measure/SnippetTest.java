package gns4j.measure;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SnippetTest {
    @Test
    void snippetsArePrintableOneLiners() {
        // input: a \ b newline c tab d BEL e
        assertEquals("a\\\\b\\nc\\td\\x07e", Snippet.printable("a\\b\nc\td\u0007e", 80));
        assertEquals("abc…", Snippet.printable("abcdef", 3));
    }
}
