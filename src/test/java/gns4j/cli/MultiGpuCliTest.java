package gns4j.cli;

import gns4j.backend.cuda.CudaDevice;
import gns4j.train.TestRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code train --gpus N} that cannot run: exit 2, one line naming the reason, no run folder. */
class MultiGpuCliTest {
    @TempDir Path tmp;

    private Cli train(String... extra) {
        Path data = TestRuns.demoData(tmp.resolve("data"));
        List<String> args = new java.util.ArrayList<>(List.of("train", "--data-dir", data.toString(), "--out-dir",
                tmp.resolve("run").toString(), "--max-steps", "1"));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    private void assertRefused(Cli r, String reason) {
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.err().strip().lines().count(), r.toString());
        assertTrue(r.err().contains(reason), r.toString());
        assertFalse(Files.exists(tmp.resolve("run")), "a refused run wrote its folder");
    }

    @Test
    void zeroGpusIsRefused() { assertRefused(train("--gpus", "0"), "--gpus must be >= 1, got 0"); }

    @Test
    void theCpuDeviceIsRefused() {
        assertRefused(train("--gpus", "2", "--device", "cpu"), "--gpus 2 trains on GPUs, but the device is cpu");
        assertRefused(train("--gpus=2", "--set", "device=cpu"), "--gpus 2 trains on GPUs, but the device is cpu");
    }

    @Test
    void moreGpusThanVisibleAreRefused() {
        assumeTrue(CudaDevice.count() < 2, "this machine has 2 GPUs: it would train");
        assertRefused(train("--gpus", "2"), "--gpus 2 needs 2 GPUs");
    }

    @Test
    void oneGpuIsThePlainRun() {
        Cli r = train("--gpus", "1", "--device", "cpu");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(Files.exists(tmp.resolve("run/summary.json")));
    }

    /** The launcher starts this program again: every rank runs and the job succeeds. */
    @Test
    void theLauncherRunsThisProgramOncePerRank() {
        assertEquals(0, MultiGpu.launch(2, List.of("--version"), java.util.Map.of()));
    }

    /** A child (WORLD_SIZE > 1 in its environment) on the CPU device refuses; the job's exit code is not 0. */
    @Test
    void aRefusingRankFailsTheJob() {
        Path data = TestRuns.demoData(tmp.resolve("data"));
        int code = MultiGpu.launch(2, List.of("train", "--device", "cpu", "--data-dir", data.toString(), "--out-dir",
                tmp.resolve("run").toString()), java.util.Map.of());
        assertEquals(2, code);
        assertFalse(Files.exists(tmp.resolve("run")));
    }

    @Test
    void theRanksGetTheArgumentsLessGpus() {
        assertEquals(List.of("train", "--data-dir", "d", "--out-dir", "o"),
                TrainCommand.withoutGpus(List.of("train", "--gpus", "2", "--data-dir", "d", "--out-dir", "o")));
        assertEquals(List.of("train", "--data-dir", "d"), TrainCommand.withoutGpus(List.of("train", "--gpus=4", "--data-dir", "d")));
    }
}
