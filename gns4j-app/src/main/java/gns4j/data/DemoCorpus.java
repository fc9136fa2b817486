package gns4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The corpus shipped in the jar so the demo trains offline: about 400 KB of the public-domain King James Bible
 * (Genesis to Leviticus 4, one verse a line), xz-compressed.
 */
public final class DemoCorpus {
    static final String RESOURCE = "/gns4j/demo/corpus.txt.xz";

    private DemoCorpus() {}

    /** Writes train.bin, val.bin and meta.json for the demo corpus into {@code dataDir}, replacing earlier ones. */
    public static DatasetPreparer.Summary prepare(Path dataDir, Tokenizer tok) {
        return DatasetPreparer.prepare(sink -> {
            try (InputStream in = DemoCorpus.class.getResourceAsStream(RESOURCE)) {
                if (in == null) throw new IllegalStateException("demo corpus missing from the classpath: " + RESOURCE);
                TextSources.read("demo:" + RESOURCE, RESOURCE, in, sink);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read demo corpus", e);
            }
        }, dataDir, tok, DatasetPreparer.DEFAULT_VAL_FRACTION, true, (docs, tokens) -> {});
    }
}
