package gns4j.data;

import static org.junit.jupiter.api.Assertions.*;

import gns4j.UserError;
import gns4j.cli.PrepareCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The CLI wiring lives in gns4j.cli, but it only forwards to this package, so it is tested here. */
class PrepareCommandTest {
    @TempDir Path tmp;

    private static PrepareCommand parse(String... args) {
        var cmd = new PrepareCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }

    @Test
    void preparesWithFlagsAndRefusesOverwriteWithoutForce() throws IOException {
        Path a = Files.writeString(tmp.resolve("a.txt"), "a first document that is long enough to split");
        Path b = Files.writeString(tmp.resolve("b.txt"), "a second document that is long enough to split");
        String out = tmp.resolve("out").toString();
        assertEquals(0, parse("--input", a.toString(), b.toString(), "--out-dir", out, "--tokenizer", "byte",
                "--val-fraction", "0.1").call());
        assertEquals(new DataMeta("byte", 257, 83, 12), TokenDataset.readMeta(Path.of(out)));
        var again = parse("--input", a.toString(), "--out-dir", out);
        assertThrows(UserError.class, again::call);
        assertEquals(0, parse("--input", a.toString(), "--out-dir", out, "--force").call());
        assertEquals("gpt2", TokenDataset.readMeta(Path.of(out)).tokenizer()); // gpt2 is the default
    }

    @Test
    void unknownTokenizerIsAUserError() {
        var cmd = parse("--input", "x.txt", "--out-dir", tmp.toString(), "--tokenizer", "nope");
        assertThrows(UserError.class, cmd::call);
    }
}
