package gns4j.data;

/** Maps text to token ids and back. Ids are in [0, vocabSize) and must fit the uint16 .bin format. */
public interface Tokenizer {
    /** Name recorded in meta.json and accepted by {@link Tokenizers#byName}. */
    String name();

    int vocabSize();

    /** Id written after every document (and after each split piece of one). */
    int endOfText();

    /** Plain text to ids; special-token spellings in the text are treated as ordinary text. */
    int[] encode(String text);

    /** Decodes ids[from, to); invalid UTF-8 produced by partial tokens is replaced, never thrown. */
    String decode(int[] ids, int from, int to);
}
