package gns4j.cli;

import gns4j.report.ReportWriter;
import gns4j.train.RunDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code gns4j report}: one self-contained HTML page of one or more runs, overlaid for comparison. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write a self-contained HTML report (loss, schedules, GNS, per-example norms, throughput) "
                + "of one or more run folders.")
public final class ReportCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "Run folders written by train.")
    List<Path> runDirs;

    @Option(names = "--out", paramLabel = "FILE",
            description = "Output file (default: RUN_DIR/report.html for one run, ./report.html for several).")
    Path out;

    @Override
    public Integer call() {
        Path file = out != null ? out
                : runDirs.size() == 1 ? new RunDir(runDirs.getFirst()).report() : Path.of(RunDir.REPORT);
        String caution = ReportWriter.write(runDirs, file);
        System.out.println("wrote " + file.toAbsolutePath().normalize() + (runDirs.size() > 1 && out == null
                ? " (" + runDirs.size() + " runs overlaid; --out FILE writes elsewhere)" : ""));
        if (caution != null) System.err.println("note: " + caution);
        return 0;
    }
}
