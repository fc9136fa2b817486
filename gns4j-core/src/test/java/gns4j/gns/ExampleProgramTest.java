package gns4j.gns;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's example runs as documented: the source file launched by {@code java} with only this library. */
class ExampleProgramTest {
    private static final Path EXAMPLE = Path.of("../examples/NoiseScaleExample.java");

    @Test
    void exampleMeasuresTheKnownNoiseScale() throws IOException, InterruptedException, URISyntaxException {
        assertTrue(Files.isRegularFile(EXAMPLE), EXAMPLE.toAbsolutePath().toString());
        Path library = Path.of(GnsEstimator.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // English number format, whatever this machine's locale, so that the output can be parsed
        Process p = new ProcessBuilder(java, "-Duser.language=en", "-cp", library.toString(), EXAMPLE.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the example did not finish");
        assertEquals(0, p.exitValue(), out);
        Matcher m = Pattern.compile("first batch alone: GNS [0-9.]+\n40 batches: GNS [0-9.]+, 90% interval "
                + "\\[([0-9.]+), ([0-9.]+)\\] \\(true 25\\); [0-9]+ batches would halve it\n").matcher(out);
        assertTrue(m.matches(), out);
        assertTrue(Double.parseDouble(m.group(1)) <= 25 && 25 <= Double.parseDouble(m.group(2)), out);
    }
}
