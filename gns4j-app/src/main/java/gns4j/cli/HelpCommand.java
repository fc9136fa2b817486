package gns4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help;
import picocli.CommandLine.IHelpCommandInitializable2;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code gns4j help [COMMAND [SUBCOMMAND ...]]}: the usage of the command the whole path names, so that
 * {@code help experiment schedule} prints the schedule's help (picocli's own help command reads one name only).
 */
@Command(name = "help", helpCommand = true,
        description = "Print the usage of a command or subcommand, e.g. help train, help experiment schedule.")
final class HelpCommand implements IHelpCommandInitializable2, Runnable {
    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command and any subcommands under it.")
    List<String> path = new ArrayList<>();

    private CommandLine self;
    private Help.ColorScheme colors;
    private PrintWriter out;

    @Override
    public void init(CommandLine helpCommandLine, Help.ColorScheme colorScheme, PrintWriter out, PrintWriter err) {
        this.self = helpCommandLine;
        this.colors = colorScheme;
        this.out = out;
    }

    @Override
    public void run() {
        CommandLine target = self.getParent();
        for (int i = 0; i < path.size(); i++) {
            CommandLine sub = target.getSubcommands().get(path.get(i));
            if (sub == null)
                throw new ParameterException(self, "no command '" + String.join(" ", path.subList(0, i + 1))
                        + "'; commands: " + String.join(", ", target.getSubcommands().keySet()));
            target = sub;
        }
        target.usage(out, colors);
    }
}
