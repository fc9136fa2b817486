package gns4j.data;

import gns4j.UserError;

/** Looks tokenizers up by the names used on the command line and in meta.json. */
public final class Tokenizers {
    public static final String NAMES = "gpt2, byte";

    private Tokenizers() {}

    public static Tokenizer byName(String name) {
        return switch (name) {
            case "gpt2" -> new Gpt2Tokenizer();
            case "byte" -> new ByteTokenizer();
            case null, default -> throw new UserError("unknown tokenizer '" + name + "' (valid: " + NAMES + ")");
        };
    }
}
