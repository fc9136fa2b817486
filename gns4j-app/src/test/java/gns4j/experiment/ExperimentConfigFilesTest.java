package gns4j.experiment;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every experiment file under configs/ loads, and every arm of it makes a valid train config for every seed. */
class ExperimentConfigFilesTest {
    static Path configs() {
        Path here = Path.of("configs");
        return Files.isDirectory(here) ? here : Path.of("..", "configs");
    }

    @Test
    void everyExperimentFileLoads() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(configs())) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        int experiments = 0;
        for (Path f : files) {
            if (!Files.readString(f).contains("\"fixed_batches\"")) continue;
            ScheduleExperimentConfig c = ScheduleExperimentConfig.load(f);
            for (long seed : c.seeds())
                assertEquals(c.plannedArms().size(), c.trainConfigs(seed).size(), f + " seed " + seed);
            experiments++;
        }
        assertTrue(experiments >= 4, "experiment files found under " + configs() + ": " + experiments);
    }
}
