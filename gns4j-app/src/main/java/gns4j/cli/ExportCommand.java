package gns4j.cli;

import gns4j.export.TensorBoardExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code gns4j export ...}: a run's metrics in other tools' formats. */
@Command(name = "export", mixinStandardHelpOptions = true, subcommands = ExportCommand.TensorBoard.class,
        description = "Export a run's metrics for other tools.")
public final class ExportCommand {

    @Command(name = "tensorboard", mixinStandardHelpOptions = true,
            description = "Write a run's per-step metrics (loss, val_loss, lr, batch_size, tok_per_s, grad_norm, "
                    + "gns_total, gns_ln, gns_type/*, gns_layer/*) as a TensorBoard event file, step as x.",
            footer = {"", "Examples:",
                    "  ./gns4j export tensorboard runs/jargon && tensorboard --logdir runs",
                    "  ./gns4j export tensorboard runs/jargon --out tb/jargon --replace"})
    static final class TensorBoard implements Callable<Integer> {
        @Parameters(paramLabel = "RUN_DIR", description = "Run folder written by train.")
        Path runDir;

        @Option(names = "--out", paramLabel = "DIR", description = "Folder for the event file (default: RUN_DIR).")
        Path out;

        @Option(names = "--replace", description = "Delete event files already in the folder (an earlier export).")
        boolean replace;

        @Override
        public Integer call() {
            var r = TensorBoardExport.write(runDir, out != null ? out : runDir, replace);
            System.out.printf("wrote %s: %d steps, %d values%n", r.file(), r.steps(), r.values());
            return 0;
        }
    }
}
