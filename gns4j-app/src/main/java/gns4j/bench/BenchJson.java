package gns4j.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/** What the JSON of every bench command starts with (the machine, the date, the git commit) and how it is written. */
final class BenchJson {
    private BenchJson() {}

    /** Adds the machine under its key ("cpu", "card"), then the date (UTC, seconds) and {@link #gitCommit}. */
    static void stamp(JsonObject json, String machineKey, String machine) {
        json.addProperty(machineKey, machine);
        json.addProperty("date", OffsetDateTime.now(ZoneOffset.UTC).withNano(0).toString());
        json.addProperty("commit", gitCommit());
    }

    /** json pretty-printed, with a final newline. */
    static String pretty(JsonObject json) { return new GsonBuilder().setPrettyPrinting().create().toJson(json) + "\n"; }

    /**
     * HEAD of the git repository of the working directory (run the bench from the checkout it measures), "-dirty"
     * appended when tracked files differ; "" outside git. GNS4J_COMMIT, when set, names it instead (a jar built from
     * one checkout and run from another directory, as on the GPU machine).
     */
    static String gitCommit() {
        String given = System.getenv("GNS4J_COMMIT");
        if (given != null && !given.isBlank()) return given.strip();
        try {
            String head = git("rev-parse", "HEAD");
            return head.isEmpty() ? "" : head + (git("status", "--porcelain", "--untracked-files=no").isEmpty() ? "" : "-dirty");
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    private static String git(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("git"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return p.waitFor() == 0 ? text : "";
    }
}
