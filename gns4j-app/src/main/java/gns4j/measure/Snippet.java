package gns4j.measure;

import gns4j.data.TokenDataset;
import gns4j.data.Tokenizer;

/** A one-line, printable piece of text from a window of a token file. */
public final class Snippet {
    private Snippet() {}

    /**
     * Decodes tokens [offset, offset + length) and makes them one printable line of at most {@code maxChars}
     * characters: newlines and tabs as \n and \t, other control characters as \xNN, an ellipsis when cut.
     * Ids the tokenizer cannot decode give a note in brackets instead of text.
     */
    public static String of(TokenDataset data, long offset, int length, Tokenizer tok, int maxChars) {
        long end = Math.min(data.numTokens(), offset + length);
        int[] ids = new int[(int) Math.max(0, end - offset)];
        for (int i = 0; i < ids.length; i++) ids[i] = data.token(offset + i);
        String text;
        try {
            text = tok.decode(ids, 0, ids.length);
        } catch (RuntimeException e) { // ids the tokenizer does not know (e.g. vocabulary padding)
            return "(cannot decode with the " + tok.name() + " tokenizer: " + e.getMessage() + ")";
        }
        return printable(text, maxChars);
    }

    /** The escaping and cutting of {@link #of}. */
    public static String printable(String text, int maxChars) {
        StringBuilder sb = new StringBuilder();
        int count = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            String piece = switch (cp) {
                case '\n' -> "\\n";
                case '\t' -> "\\t";
                case '\\' -> "\\\\";
                default -> Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT
                        ? String.format("\\x%02x", cp & 0xFF) : Character.toString(cp);
            };
            if (count + piece.codePointCount(0, piece.length()) > maxChars) {
                sb.append('…');
                break;
            }
            sb.append(piece);
            count += piece.codePointCount(0, piece.length());
        }
        return sb.toString();
    }
}
