package gns4j;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses JSON from users' files with errors in our words: one line naming the file, the line and column, and what
 * was expected, never the parser's internals (its advice on lenient mode, its troubleshooting link, or a JSON path
 * that grows with the nesting).
 */
public final class JsonFiles {
    private JsonFiles() {}

    private static final Pattern WHERE = Pattern.compile(" at line (\\d+) column (\\d+)");
    private static final Pattern NESTING = Pattern.compile("Nesting limit (\\d+) reached");
    private static final Pattern EXPECTED = Pattern.compile("Expected (\\w+) but was (\\w+)");

    /**
     * The JSON value in {@code text} (comments, unquoted keys and single quotes are accepted, as before).
     *
     * @param source the file (or other origin) that messages name
     * @throws UserError one line if the text is not JSON
     */
    public static JsonElement parse(String text, String source) {
        try {
            return JsonParser.parseString(text);
        } catch (JsonParseException | StackOverflowError e) {
            throw new UserError(source + " is not valid JSON" + describe(e), e);
        }
    }

    /** " at line L, column C: what went wrong" from the parser's exception (the cause's message holds the place). */
    public static String describe(Throwable e) {
        String msg = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause().getMessage()
                : String.valueOf(e.getMessage());
        String first = msg.lines().findFirst().orElse("");
        Matcher at = WHERE.matcher(first);
        if (!at.find()) return ": " + what(first, e);
        return " at line " + at.group(1) + ", column " + at.group(2) + ": " + what(first.substring(0, at.start()), e);
    }

    private static String what(String reason, Throwable e) {
        if (e instanceof StackOverflowError) return "nested too deeply";
        Matcher m = NESTING.matcher(reason);
        if (m.find()) return "nested deeper than " + m.group(1) + " levels";
        m = EXPECTED.matcher(reason);
        if (m.find()) return "expected " + token(m.group(1)) + ", found " + token(m.group(2));
        if (reason.startsWith("End of input")) return "the text ends before the value is complete";
        if (reason.startsWith("Expected ':'")) return "expected ':' after a key";
        if (reason.startsWith("Expected name")) return "expected a quoted key";
        if (reason.startsWith("Unterminated string")) return "a string is not closed with \"";
        if (reason.startsWith("Unterminated escape")) return "an incomplete \\ escape in a string";
        if (reason.startsWith("Unterminated")) return "an object or array is not closed";
        if (reason.startsWith("Use JsonReader")) return "unexpected text (expected one JSON value and nothing after it)";
        return "malformed JSON";
    }

    private static String token(String gsonName) {
        return switch (gsonName) {
            case "BEGIN_OBJECT" -> "an object '{'";
            case "END_OBJECT" -> "'}'";
            case "BEGIN_ARRAY" -> "an array '['";
            case "END_ARRAY" -> "']'";
            case "NAME" -> "a key";
            case "STRING" -> "a string";
            case "NUMBER" -> "a number";
            case "BOOLEAN" -> "true or false";
            case "NULL" -> "null";
            case "END_DOCUMENT" -> "the end of the text";
            default -> gsonName.toLowerCase();
        };
    }
}
