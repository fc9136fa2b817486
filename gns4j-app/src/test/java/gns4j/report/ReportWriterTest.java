package gns4j.report;

import gns4j.UserError;
import gns4j.cli.Cli;
import gns4j.cli.ReportCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Renders pages without a browser; ReportBrowserTest checks that one in Chromium. */
class ReportWriterTest {
    static final Pattern CHART = Pattern.compile("<svg data-chart=\"([a-z_]+)\" data-points=\"(\\d+)\"");
    @TempDir Path tmp;

    /** data-points of each chart name, summed over that name's charts. */
    static Map<String, Integer> charts(String html) {
        Map<String, Integer> points = new TreeMap<>();
        Matcher m = CHART.matcher(html);
        while (m.find()) points.merge(m.group(1), Integer.parseInt(m.group(2)), Integer::sum);
        return points;
    }

    @Test
    void overlaysRunsAndNotesWhatIsMissing() throws IOException {
        Path a = SyntheticRun.write(tmp.resolve("arm-fixed"), 30, 1);
        Path b = SyntheticRun.write(tmp.resolve("arm-<ramp>"), 20, 2);
        Files.writeString(b.resolve("metrics.jsonl"), "{\"step\":21,\"tok", StandardOpenOption.APPEND);
        Path empty = Files.createDirectories(tmp.resolve("never-started"));
        Path out = tmp.resolve("cmp/report.html");
        String caution = ReportWriter.write(List.of(a, b, empty), out);
        String html = Files.readString(out);
        // 30 steps against 20 of the same batches: the ends do not compare, and the page and the caller are told
        assertTrue(caution != null && caution.startsWith("the runs saw different numbers of tokens (arm-fixed "), caution);
        assertTrue(html.contains("<p class=\"caution\"><b>Not comparable at their ends:</b> the runs saw different"), "caution");

        // 50 steps in all, GNS from step 5 of each run, 7 types and 6 layers, 4 histograms of 40 bins
        assertEquals(Map.ofEntries(Map.entry("loss", 55), Map.entry("loss_time", 55), Map.entry("lr", 50),
                Map.entry("batch", 50), Map.entry("gns", 84), Map.entry("gns_ratio", 42), Map.entry("grad_norm", 50),
                Map.entry("gns_type", 294), Map.entry("gns_layer", 252), Map.entry("pe_norm_total", 160),
                Map.entry("pe_norm_ln", 160), Map.entry("throughput", 50)), charts(html));
        assertTrue(html.contains("<b>arm-&lt;ramp&gt;</b>: last line of metrics.jsonl cut short"), "notes box");
        assertTrue(html.contains("<b>never-started</b>: metrics.jsonl missing"));
        assertTrue(html.contains("<tr class=\"diff\"><td>seed</td>"), "differing config keys are marked");
        assertFalse(html.contains("arm-<ramp>"), "run names are escaped");
        // self-contained: no external references beyond the SVG namespace name
        assertFalse(Pattern.compile("(src|href)=|<link|@import|url\\((?!#)").matcher(html).find());
        assertEquals(List.of("http://www.w3.org/2000/svg"), Pattern.compile("https?://[^\"' )]+").matcher(html)
                .results().map(r -> r.group()).distinct().toList());
        try (var left = Files.list(out.getParent())) {
            assertEquals(List.of(out), left.toList()); // no temporary file left behind
        }
    }

    @Test
    void chartsWithoutDataSayTheyAreEmpty() throws IOException {
        Files.writeString(tmp.resolve("metrics.jsonl"), "{\"step\":1,\"tokens\":100,\"loss\":3}\n");
        Path out = ReportWriter.writeForRun(tmp);
        assertEquals(tmp.resolve("report.html"), out);
        String html = Files.readString(out);
        assertEquals(Map.of("loss", 1), charts(html));
        assertTrue(html.contains("No data recorded for this chart."));
    }

    @Test
    void userErrorsForMissingFoldersAndMetrics() throws IOException {
        Path out = tmp.resolve("r.html");
        var e = assertThrows(UserError.class, () -> ReportWriter.write(List.of(tmp.resolve("nope")), out));
        assertTrue(e.getMessage().contains("no such run folder"), e.getMessage());
        Files.writeString(tmp.resolve("metrics.jsonl"), "{\"event\":\"start\"}\n");
        e = assertThrows(UserError.class, () -> ReportWriter.write(List.of(tmp), out));
        assertTrue(e.getMessage().contains("no metrics in"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void runsOfOneTokenCountCompareWithoutACaution() throws IOException {
        Path a = SyntheticRun.write(tmp.resolve("a"), 20, 1), b = SyntheticRun.write(tmp.resolve("b"), 20, 2);
        Path out = tmp.resolve("r.html");
        assertEquals(null, ReportWriter.write(List.of(a, b), out));
        assertFalse(Files.readString(out).contains("class=\"caution\""));
        assertEquals(null, ReportWriter.write(List.of(a), out), "one run has nothing to compare with");
    }

    @Test
    void commandWritesBesideASingleRunOrToOutAndSaysWhere() throws IOException {
        Path run = SyntheticRun.write(tmp.resolve("run"), 3, 3);
        Cli one = Cli.run("report", run.toString());
        assertEquals(0, one.exitCode(), one.toString());
        assertEquals("wrote " + run.resolve("report.html").toAbsolutePath() + "\n", one.out());
        assertTrue(Files.isRegularFile(run.resolve("report.html")));
        Path out = tmp.resolve("elsewhere.html");
        Cli two = Cli.run("report", run.toString(), run.toString(), "--out", out.toString());
        assertEquals(0, two.exitCode(), two.toString());
        assertTrue(Files.readString(out).contains("data-chart=\"loss\""));
        assertEquals("wrote " + out.toAbsolutePath() + "\n", two.out());
        var cmd = new ReportCommand();
        new CommandLine(cmd).parseArgs(tmp.resolve("missing").toString());
        assertThrows(UserError.class, cmd::call);
    }

    @Test
    void severalRunsWithoutOutGoToTheCurrentFolderAndTheCommandSaysSoAndWhyTheyDoNotCompare() throws IOException {
        Path longer = SyntheticRun.write(tmp.resolve("longer"), 30, 1), shorter = SyntheticRun.write(tmp.resolve("shorter"), 10, 2);
        Path file = Path.of("report.html").toAbsolutePath();
        assumeFalse(Files.exists(file), "the working folder (the repository root) holds a report.html of its own");
        try {
            Cli r = Cli.run("report", longer.toString(), shorter.toString());
            assertEquals(0, r.exitCode(), r.toString());
            assertEquals("wrote " + file + " (2 runs overlaid; --out FILE writes elsewhere)\n", r.out());
            assertTrue(r.err().startsWith("note: the runs saw different numbers of tokens (longer "), r.err());
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
