package gns4j.measure;

import gns4j.backend.LinearNormMethod;
import gns4j.backend.cpu.CpuBackend;
import gns4j.checkpoint.HfGpt2;
import gns4j.data.DatasetPreparer;
import gns4j.data.TokenDataset;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

import static gns4j.measure.PlantedFixture.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Documents of random bytes planted among real English text must come out on top of the per-example gradient-norm
 * ranking of a model trained briefly on the text (see {@link PlantedFixture} for why it is trained first).
 */
class PlantedDocumentsTest {
    @Test
    void plantedRandomDocumentsTopTheHighNormList() throws IOException {
        PlantedFixture.build();
        try (TokenDataset ds = TokenDataset.open(data.resolve(DatasetPreparer.TRAIN_FILE), 257, T);
             CpuBackend backend = new CpuBackend(MODEL, MICRO, 2)) {
            backend.writeParams(HfGpt2.open(run).params(MODEL));
            ModelMeasurement m = ModelMeasurer.measure(backend, ds, 10, 16, MICRO, T, LinearNormMethod.AUTO,
                    new SplittableRandom(9), null);
            assertEquals(160, m.examples().size());
            long full = m.examples().stream().filter(PlantedFixture::fullyPlanted).count();
            assertTrue(full >= 5, "the sample should hit the planted documents (7.8% of the file), got " + full);

            // The 5 highest are planted windows ...
            for (ExampleNorm e : m.highest(5))
                assertTrue(fullyPlanted(e), "top-5 example at offset " + e.offset() + " is not in a planted document");
            // ... every fully planted window outranks every clean one, by the total and by the LayerNorm-only norm ...
            for (ToDoubleFunction<ExampleNorm> norm : List.<ToDoubleFunction<ExampleNorm>>of(ExampleNorm::normTotal, ExampleNorm::normLn)) {
                double lowestPlanted = m.examples().stream().filter(PlantedFixture::fullyPlanted).mapToDouble(norm).min().orElseThrow();
                double highestClean = m.examples().stream().filter(PlantedFixture::clean).mapToDouble(norm).max().orElseThrow();
                assertTrue(lowestPlanted > highestClean,
                        "a clean window (" + highestClean + ") outranks a planted one (" + lowestPlanted + ")");
            }
            // ... and the lowest are real text.
            for (ExampleNorm e : m.lowest(5)) assertTrue(clean(e), "bottom-5 example at offset " + e.offset() + " is planted");
            assertEquals(m.examples().stream().sorted(Comparator.comparingDouble(ExampleNorm::normTotal).reversed()).toList(),
                    m.highest(m.examples().size()));
        }
    }
}
