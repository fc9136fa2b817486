package gns4j.report;

import gns4j.UserError;
import gns4j.train.RunDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;

/**
 * Writes the HTML report of one or more run folders: one self-contained file (inline CSS, SVG and script; nothing
 * fetched), readable offline, on paper, and with scripts off.
 */
public final class ReportWriter {
    private ReportWriter() {}

    /** The report of one run, as RUN/report.html (what the trainer calls at the end of a run). */
    public static Path writeForRun(Path runDir) {
        Path out = new RunDir(runDir).report();
        write(List.of(runDir), out);
        return out;
    }

    /**
     * @return a caution to show beside the page, or null: the runs saw different numbers of tokens, so that their
     *         ends do not compare
     * @throws UserError when a folder does not exist, no folder has any step record, or the file cannot be written
     */
    public static String write(List<Path> runDirs, Path outFile) {
        if (runDirs.isEmpty()) throw new UserError("no run folder given");
        for (Path d : runDirs) {
            if (!Files.isDirectory(d)) throw new UserError("no such run folder: " + d);
        }
        List<Run> runs = runDirs.stream().map(RunReader::read).toList();
        if (runs.stream().allMatch(r -> r.steps().isEmpty())) {
            throw new UserError("no metrics in " + (runDirs.size() == 1 ? runDirs.getFirst()
                    : "any of the " + runDirs.size() + " run folders") + " (metrics.jsonl missing or empty)");
        }
        byte[] html = ReportPage.html(runs, Instant.now()).getBytes(StandardCharsets.UTF_8);
        Path target = outFile.toAbsolutePath().normalize();
        try {
            Files.createDirectories(target.getParent());
            // written beside the target and moved in, so a reader (or a browser reload) never sees half a page
            Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
            try {
                Files.write(tmp, html);
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UserError("cannot write " + outFile + ": " + e.getMessage(), e);
        }
        return ReportPage.tokenDifference(runs);
    }
}
