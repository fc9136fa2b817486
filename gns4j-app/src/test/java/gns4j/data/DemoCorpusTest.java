package gns4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCorpusTest {
    @TempDir Path tmp;

    @Test
    void demoCorpusIsSmallAndPreparesWithGpt2() throws IOException {
        try (InputStream in = DemoCorpus.class.getResourceAsStream(DemoCorpus.RESOURCE)) {
            assertNotNull(in);
            assertTrue(in.readAllBytes().length < 150_000, "resource stays small");
        }
        var tok = new Gpt2Tokenizer();
        var summary = DemoCorpus.prepare(tmp, tok);
        assertEquals(1, summary.documents());
        assertTrue(summary.trainTokens() > 50_000 && summary.valTokens() > 1_000, summary.toString());
        try (var train = TokenDataset.open(tmp.resolve("train.bin"), tok.vocabSize(), 256);
             var val = TokenDataset.open(tmp.resolve("val.bin"), tok.vocabSize(), 256)) {
            assertEquals(summary.trainTokens(), train.numTokens());
            assertEquals(summary.valTokens(), val.numTokens());
            int[] head = new int[16];
            for (int i = 0; i < head.length; i++) head[i] = train.token(i);
            assertTrue(tok.decode(head, 0, head.length).startsWith("Ge1:1 In the beginning God created"));
        }
        assertEquals(new DataMeta("gpt2", 50257, summary.trainTokens(), summary.valTokens()),
                TokenDataset.readMeta(tmp));
        DemoCorpus.prepare(tmp, new ByteTokenizer()); // the demo refreshes its own data dir
        assertEquals("byte", TokenDataset.readMeta(tmp).tokenizer());
    }
}
