package gns4j.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import gns4j.UserError;
import gns4j.train.MetricsFile;
import gns4j.train.MetricsFile.Damage;
import gns4j.train.MetricsLine;
import gns4j.train.RunDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Reads a run folder ({@link RunDir}: config, metrics through {@link MetricsFile}, summary) written by the trainer,
 * possibly while it is still running or after it was killed. Nothing here throws on bad content: whatever cannot be used is skipped and
 * described in {@link Run#notes()}, so the report shows what exists and says what does not.
 */
public final class RunReader {
    private RunReader() {}

    public static Run read(Path dir) {
        List<String> notes = new ArrayList<>();
        RunDir run = new RunDir(dir);
        Map<String, String> config = readConfig(run.config(), notes);
        List<MetricsLine> steps = readMetrics(run.metrics(), notes);
        Path abs = dir.toAbsolutePath().normalize();
        String name = abs.getFileName() == null ? abs.toString() : abs.getFileName().toString();
        return new Run(name, dir, config, List.copyOf(steps), Files.isRegularFile(run.summary()),
                List.copyOf(notes));
    }

    private static Map<String, String> readConfig(Path file, List<String> notes) {
        if (!Files.isRegularFile(file)) {
            notes.add(RunDir.CONFIG + " missing");
            return Map.of();
        }
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file));
            if (!root.isJsonObject()) throw new IllegalStateException("not a JSON object");
            Map<String, String> config = new LinkedHashMap<>();
            root.getAsJsonObject().entrySet().forEach(e -> config.put(e.getKey(),
                    e.getValue().isJsonPrimitive() ? e.getValue().getAsString() : e.getValue().toString()));
            return config;
        } catch (IOException | RuntimeException e) {
            notes.add(RunDir.CONFIG + " unreadable, ignored");
            return Map.of();
        }
    }

    private static List<MetricsLine> readMetrics(Path file, List<String> notes) {
        if (!Files.isRegularFile(file)) {
            notes.add(RunDir.METRICS + " missing: no training metrics");
            return List.of();
        }
        MetricsFile m;
        try {
            m = MetricsFile.read(file);
        } catch (UserError e) {
            notes.add(RunDir.METRICS + " unreadable: " + e.getMessage());
            return List.of();
        }
        if (m.cutShort()) notes.add("last line of " + RunDir.METRICS + " cut short (run killed while writing?), skipped");
        List<Integer> badLines = m.damaged().stream().filter(d -> d.key() == null).map(Damage::line).toList();
        if (!badLines.isEmpty()) {
            String shown = badLines.stream().limit(5).map(String::valueOf).collect(Collectors.joining(", "));
            notes.add(RunDir.METRICS + ": " + badLines.size() + " line(s) not valid JSON, skipped (line " + shown
                    + (badLines.size() > 5 ? ", ..." : "") + ")");
        }
        if (m.withoutStep() > 0) notes.add(m.withoutStep() + " record(s) without a numeric step skipped");
        if (m.superseded() > 0) notes.add(m.superseded() + " record(s) replaced by a resumed run repeating their steps");
        if (!m.events().isEmpty()) notes.add("event records not plotted: " + counts(m.events()));
        Map<String, Integer> junk = new TreeMap<>();
        m.damaged().stream().filter(d -> d.key() != null).forEach(d -> junk.merge(d.key(), 1, Integer::sum));
        if (!junk.isEmpty()) notes.add("non-numeric values ignored: " + counts(junk));
        if (m.steps().isEmpty()) notes.add(RunDir.METRICS + " has no step records");
        return m.steps();
    }

    private static String counts(Map<String, Integer> byKey) {
        return byKey.entrySet().stream().map(e -> e.getKey() + " ×" + e.getValue()).collect(Collectors.joining(", "));
    }
}
