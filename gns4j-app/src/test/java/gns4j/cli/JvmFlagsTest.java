package gns4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Started without the JVM flags, every command stops before writing anything, with one line naming them. */
class JvmFlagsTest {

    @Test
    void thisJvmHasTheVectorModule() {
        assertTrue(Main.vectorModulePresent(), "the test JVM runs with " + Main.JVM_FLAGS);
    }

    @Test
    void withoutTheFlagsDemoStopsFirstWithOneLine(@TempDir Path dir) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path out = dir.resolve("stdout"), err = dir.resolve("stderr"), work = Files.createDirectory(dir.resolve("work"));
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(), "demo")
                .directory(work.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the JVM did not stop");
        assertEquals(2, p.exitValue());
        assertEquals("", Files.readString(out));
        List<String> lines = Files.readAllLines(err, StandardCharsets.UTF_8);
        assertEquals(1, lines.size(), String.join("\n", lines));
        assertTrue(lines.getFirst().contains(Main.JVM_FLAGS), lines.getFirst());
        try (var files = Files.list(work)) {
            assertEquals(List.of(), files.map(Path::getFileName).map(Path::toString).toList(), "nothing written");
        }
    }
}
