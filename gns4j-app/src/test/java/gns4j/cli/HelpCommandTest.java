package gns4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code gns4j help PATH...} prints the usage of the command the whole path names. */
class HelpCommandTest {

    @Test
    void aSubcommandsPathGetsThatSubcommandsUsage() {
        Cli schedule = Cli.run("help", "experiment", "schedule");
        assertEquals(0, schedule.exitCode(), schedule.toString());
        assertTrue(schedule.out().startsWith("Usage: gns4j experiment schedule "), schedule.out());
        assertEquals(Cli.run("experiment", "schedule", "--help").out(), schedule.out());
    }

    @Test
    void oneNameAndNoneWorkAsBefore() {
        Cli train = Cli.run("help", "train");
        assertEquals(0, train.exitCode(), train.toString());
        assertTrue(train.out().startsWith("Usage: gns4j train ") && train.out().contains("learning_rate"), train.out());
        Cli top = Cli.run("help");
        assertEquals(0, top.exitCode(), top.toString());
        assertTrue(top.out().startsWith("Usage: gns4j ") && top.out().contains("experiment"), top.out());
    }

    @Test
    void anUnknownNameIsOneLineAndStatus2() {
        Cli r = Cli.run("help", "experiment", "shedule");
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("gns4j: no command 'experiment shedule'; commands: schedule, help")
                && r.err().indexOf('\n') == r.err().length() - 1, r.err());
    }
}
