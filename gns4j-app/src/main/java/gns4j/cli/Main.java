package gns4j.cli;

import gns4j.UserError;
import gns4j.parallel.CommunicatorException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.nio.file.InvalidPathException;

/** The gns4j command line: one subcommand per pipeline stage. */
@Command(name = "gns4j", mixinStandardHelpOptions = true, version = "gns4j 0.1.0",
        description = "Train GPT-style transformers while measuring per-example gradient norms and gradient noise scale.",
        subcommands = {DemoCommand.class, PrepareCommand.class, TrainCommand.class, SampleCommand.class, ReportCommand.class,
                MeasureCommand.class, ExportCommand.class, BenchCommand.class, CheckCommand.class, ExperimentCommand.class,
                HelpCommand.class})
public final class Main {
    /** The JVM options every command needs: the Vector API (CPU kernels) and FFM downcalls (CUDA, NCCL). */
    static final String JVM_FLAGS = "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED";

    public static void main(String[] args) {
        // Without the module the first CPU kernel fails with NoClassDefFoundError after a run folder exists: stop first.
        if (!vectorModulePresent()) {
            System.err.println("gns4j: start the JVM with " + JVM_FLAGS + " (the ./gns4j launcher does)");
            System.exit(2);
        }
        System.exit(run(args));
    }

    static boolean vectorModulePresent() { return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(); }

    /**
     * Runs the CLI and returns the exit status: 0 ok, 2 bad input (one line on stderr), 1 internal error; a failed
     * data-parallel peer (CommunicatorException, which names the ranks) is a runtime failure: one line, status 1.
     */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        TrainCommand.addHelpFooter(cli.getSubcommands().get("train"));
        cli.setParameterExceptionHandler((e, a) -> {
            String sub = e.getCommandLine().getCommandName();
            // A non-ASCII argument under LC_ALL=C reaches the JVM as '?'s that no path may hold.
            if (String.valueOf(e.getMessage()).contains(InvalidPathException.class.getName())) {
                System.err.println("gns4j: a path in the arguments has characters the current locale cannot represent;"
                        + " run under a UTF-8 locale (e.g. LC_ALL=C.UTF-8)");
                return 2;
            }
            System.err.println("gns4j: " + e.getMessage() + " (see: ./gns4j " + (sub.equals("gns4j") ? "" : sub + " ") + "--help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, c, p) -> {
            int code = exitCode(e);
            if (code < 0) throw e;
            System.err.println("gns4j: " + e.getMessage());
            return code;
        });
        return cli.execute(args);
    }

    /** The exit status of a command that threw {@code e} with a one-line message, or -1 for a stack trace (status 1). */
    static int exitCode(Exception e) {
        return e instanceof UserError ? 2 : e instanceof CommunicatorException ? 1 : -1;
    }
}
