package gns4j;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonFilesTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "hello world|at line 1, column 8: unexpected text (expected one JSON value and nothing after it)",
            "'{\"a\":1,\n \"b\" 2}'|at line 2, column 7: expected ':' after a key",
            "{\"a\":1|at line 1, column 7: the text ends before the value is complete",
            "{\"a\":\"x|at line 1, column 8: a string is not closed with \"",
            "{\"a\":1,}|at line 1, column 9: expected a quoted key",
            "DEEP|at line 1, column 257: nested deeper than 255 levels"})
    void messagesNameThePlaceAndWhatWasExpectedInOneShortLine(String text, String expected) {
        String json = text.equals("DEEP") ? "[".repeat(200_000) : text;
        UserError e = assertThrows(UserError.class, () -> JsonFiles.parse(json, "f.json"));
        assertEquals("f.json is not valid JSON " + expected, e.getMessage());
    }
}
