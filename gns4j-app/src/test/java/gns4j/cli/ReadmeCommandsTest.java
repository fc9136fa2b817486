package gns4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * README.md's commands, in the README's order, from a folder that holds only what a clone brings (the tracked files
 * under configs/) and what earlier commands wrote: each runs as its own JVM with that folder as working directory,
 * as a user would type it, and exits 0 without record dumps or escape codes in its output. Long commands are
 * shortened by flags the README also shows (--max-steps, --set max_tokens=N, --batches, --max-new-tokens), and a
 * command that shortens to one already run runs once; the download is replaced by the bundled demo text, since the
 * tests run offline.
 */
class ReadmeCommandsTest {
    private static final Path README = Path.of("README.md");

    /** The shortening of each subcommand: option and value, replacing the README's value or added after it. */
    private static final Map<String, List<String>> SHORTER = Map.of(
            "demo", List.of("--max-steps", "1"),
            "train", List.of("--set", "max_tokens=2048"),
            "measure", List.of("--batches", "2"),
            "sample", List.of("--max-new-tokens", "20"));

    /** README commands this test does not run, each with why; every entry must still match a README command. */
    private static final Map<String, String> NOT_RUN = Map.of(
            "./gns4j test", "it is this suite",
            "book-gpu.json", "it needs an NVIDIA GPU",
            "sample gpt2", "it needs GPT-2's weights from Hugging Face (a download)",
            "experiment schedule", "the experiment runs for hours; docs/schedule.md sizes it",
            "--from-stats", "it reads statistics that another framework wrote",
            "mvn -q package", "the library route: .ci/core-jdk17.sh builds it with JDK 17 and runs the example",
            "java -cp gns4j-core", "the library's example: ExampleProgramTest runs it");

    /** An argument that is a placeholder for the reader to fill in (RUN_DIR, KEY=VALUE). */
    private static final Pattern PLACEHOLDER = Pattern.compile("[A-Z][A-Z_]+(=[A-Z_]+)?");

    @TempDir Path clone;

    @Test
    void everyReadmeCommandRunsInOrderFromAClone() throws IOException, InterruptedException {
        copyTrackedConfigs();
        List<String> commands = commands(Files.readString(README));
        Set<String> unmatched = new LinkedHashSet<>(NOT_RUN.keySet());
        Set<List<String>> done = new HashSet<>(); // a command shortened to one run earlier adds nothing
        int ran = 0, demos = 0;
        for (String command : commands) {
            String skip = NOT_RUN.keySet().stream().filter(command::contains).findFirst().orElse(null);
            if (skip != null) {
                unmatched.remove(skip);
                continue;
            }
            for (String step : command.split(" && ")) {
                List<String> words = words(step);
                if (words.stream().anyMatch(w -> PLACEHOLDER.matcher(w).matches())) continue;
                switch (words.getFirst()) {
                    case "mkdir" -> Files.createDirectories(clone.resolve(words.getLast()));
                    case "curl" -> standInForTheDownload(clone.resolve(words.get(words.indexOf("-o") + 1)));
                    case "./gns4j" -> {
                        List<String> args = shortened(words.subList(1, words.size()));
                        if (!done.add(List.copyOf(args))) continue;
                        // two demos a second apart would share the default folder runs/demo-<time>
                        if (args.getFirst().equals("demo")) args.addAll(List.of("--out-dir", "runs/demo-" + ++demos));
                        run(args);
                        ran++;
                    }
                    default -> throw new AssertionError("README command of an unknown kind: " + step);
                }
            }
        }
        assertEquals(Set.of(), unmatched, "exceptions that match no README command any more");
        assertTrue(ran >= 8, "only " + ran + " commands ran: " + commands);
        assertTrue(Files.isRegularFile(clone.resolve("report.html")), "report of the two runs in the working folder");
        assertFalse(Files.exists(clone.resolve("runs/book-1/lock")), "a finished run leaves no lock file");
    }

    @Test
    void theReadmeIsShortAndLeadsWithTheCommands() throws IOException {
        String readme = Files.readString(README);
        assertTrue(readme.length() < 10_000, "README.md has " + readme.length() + " characters");
        List<String> firstScreen = readme.lines().limit(24).toList();
        for (String first : List.of("./gns4j demo ", "./gns4j test "))
            assertTrue(firstScreen.stream().anyMatch(l -> l.startsWith(first)), first + "is not in the first screen");
    }

    /** The README's commands: every line of its bash blocks, and every inline `./gns4j ...` of its text. */
    static List<String> commands(String readme) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("```bash\n(.*?)```|`(\\./gns4j[^`]*)`", Pattern.DOTALL).matcher(readme);
        while (m.find()) {
            if (m.group(2) != null) {
                out.add(m.group(2).replace('\n', ' '));
                continue;
            }
            for (String line : m.group(1).replace("\\\n", " ").split("\n")) {
                String command = line.replaceFirst("\\s+#.*", "").strip();
                if (!command.isEmpty()) out.add(command.replaceAll("\\s+", " "));
            }
        }
        return out;
    }

    /** Shell words: split at spaces outside double quotes, the quotes removed. */
    static List<String> words(String command) {
        List<String> words = new ArrayList<>();
        Matcher m = Pattern.compile("\"([^\"]*)\"|(\\S+)").matcher(command);
        while (m.find()) words.add(m.group(1) != null ? m.group(1) : m.group(2));
        return words;
    }

    private static List<String> shortened(List<String> args) {
        List<String> out = new ArrayList<>(args);
        List<String> shorter = SHORTER.get(out.getFirst());
        if (shorter == null) return out;
        int at = out.indexOf(shorter.getFirst());
        if (at >= 0 && !shorter.getFirst().equals("--set")) out.set(at + 1, shorter.get(1));
        else out.addAll(shorter);
        return out;
    }

    private void run(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(Main.JVM_FLAGS.split(" ")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).directory(clone.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                .replace("WARNING: Using incubator modules: jdk.incubator.vector\n", "");
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "gns4j " + args + " did not end");
        String what = "gns4j " + String.join(" ", args) + "\n" + output;
        assertEquals(0, p.exitValue(), what);
        assertFalse(output.contains("ModelConfig[") || output.contains("Config["), "a record dump: " + what);
        assertFalse(output.contains("\u001b"), "an escape code in output that is not a terminal: " + what);
    }

    /** configs/ as a clone has it: its tracked files only (git ls-files), or all of it outside a git checkout. */
    private void copyTrackedConfigs() throws IOException, InterruptedException {
        List<String> files;
        Process git = new ProcessBuilder("git", "ls-files", "configs").redirectErrorStream(true).start();
        String listed = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (git.waitFor() == 0) files = listed.lines().toList();
        else try (var all = Files.list(Path.of("configs"))) {
            files = all.map(Path::toString).toList();
        }
        for (String f : files) {
            Files.createDirectories(clone.resolve(f).getParent());
            Files.copy(Path.of(f), clone.resolve(f));
        }
    }

    /** The bundled demo text (public-domain KJV, ~400 KB) where the README downloads a book, written as .txt.xz. */
    private static void standInForTheDownload(Path target) throws IOException {
        try (InputStream in = ReadmeCommandsTest.class.getResourceAsStream("/gns4j/demo/corpus.txt.xz")) {
            assertTrue(in != null, "the demo corpus is on the classpath");
            Files.copy(in, target.resolveSibling(target.getFileName() + ".xz"));
        }
    }
}
