package gns4j;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the Python scripts under scripts/ with the python3 on PATH, for tests that skip where it lacks a module. */
public final class PythonScripts {
    private PythonScripts() {}

    public record Result(int exitCode, String output) {}

    /** Skips the calling test (with the reason) unless python3 can import every one of {@code modules}. */
    public static void assumeModules(String... modules) {
        Result r;
        try {
            r = exec(List.of("python3", "-c", "import " + String.join(", ", modules)));
        } catch (UncheckedIOException e) {
            r = new Result(-1, e.getMessage());
        }
        Assumptions.assumeTrue(r.exitCode() == 0, "python3 cannot import " + String.join(", ", modules) + ": skipped");
    }

    /** Runs {@code python3 script args...} from the repository root, stdout and stderr together, at most 10 minutes. */
    public static Result run(Path script, String... args) {
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString()));
        cmd.addAll(List.of(args));
        return exec(cmd);
    }

    private static Result exec(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + cmd);
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
