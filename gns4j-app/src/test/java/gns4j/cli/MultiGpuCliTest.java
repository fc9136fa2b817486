package gns4j.cli;

import gns4j.backend.cuda.CudaDevice;
import gns4j.train.TestRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

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
        assertRefused(train("--gpus", "2", "--set", "batch_size=16"), "--gpus 2 needs 2 GPUs");
    }

    /** What every rank would refuse is refused once, by the launching process, before any GPU is asked for. */
    @Test
    void badInputIsRefusedBeforeTheRanksStart() {
        assertRefused(train("--gpus", "2", "--set", "micro_batch_size=8"), "batch 8 is 1 micro-batch(es) of 8, fewer than the 2 data-parallel ranks");
        assertRefused(train("--gpus", "2", "--set", "micro_batch_size=8", "--set", "batch_size=32", "--set", "batch_schedule=linear_ramp",
                "--set", "ramp_tokens=1000", "--set", "batch_size_start=8"), "batch 8 is 1 micro-batch(es) of 8");
        assertRefused(train("--gpus", "2", "--set", "micro_batch_size=8", "--set", "batch_size=32", "--set", "batch_schedule=adaptive",
                "--set", "batch_size_min=8", "--set", "batch_size_start=16", "--set", "max_tokens=100000"), "batch 8 is 1 micro-batch(es) of 8");
        // With the micro-batch following the batch, each rank needs one sequence.
        assertRefused(train("--gpus", "2", "--set", "batch_size=1"), "batch 1 is 1 sequence(s), fewer than the 2 data-parallel ranks");
        assertRefused(Cli.run("train", "--gpus", "2", "--data-dir", tmp.resolve("nodata").toString(), "--out-dir",
                tmp.resolve("run").toString()), "data dir not found");
    }

    @Test
    void anOutDirHoldingARunIsRefusedBeforeTheRanksStart() throws Exception {
        Path held = Files.createDirectories(tmp.resolve("held"));
        Files.writeString(held.resolve("metrics.jsonl"), "");
        Cli r = Cli.run("train", "--gpus", "2", "--set", "batch_size=16", "--data-dir",
                TestRuns.demoData(tmp.resolve("data")).toString(), "--out-dir", held.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.err().strip().lines().count(), r.toString());
        assertTrue(r.err().contains("already holds a run"), r.toString());
        assertEquals(List.of(held.resolve("metrics.jsonl")), Files.list(held).toList());
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

    /**
     * Children (WORLD_SIZE > 1 in their environment) on the CPU device refuse: the job exits with 2 and one line (the
     * refusal, not repeated by another rank or the launcher), and no run folder.
     */
    @Test
    void aRefusingRankFailsTheJob() {
        Path data = TestRuns.demoData(tmp.resolve("data"));
        PrintStream console = System.err;
        var err = new ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = MultiGpu.launch(2, List.of("train", "--device", "cpu", "--data-dir", data.toString(), "--out-dir",
                    tmp.resolve("run").toString()), java.util.Map.of());
        } finally {
            System.setErr(console);
        }
        // each JVM's own startup warning aside
        String lines = err.toString(StandardCharsets.UTF_8).lines()
                .filter(l -> !l.startsWith("WARNING: Using incubator modules")).collect(Collectors.joining("\n")).strip();
        assertEquals(2, code, lines);
        assertEquals(1, lines.lines().count(), lines);
        assertTrue(lines.matches("gns4j: (rank 1: )?rank \\d \\(LOCAL_RANK \\d\\) trains on GPUs, but the device is cpu.*"), lines);
        assertFalse(Files.exists(tmp.resolve("run")));
    }

    /** Another rank's refusal is hidden only when rank 0 printed the same line, rank numbers aside. */
    @Test
    void aRefusalIsShownOnceButADifferentCauseIsNot() {
        String rank0 = "WARNING: x\ngns4j: rank 0 (LOCAL_RANK 0) trains on GPUs, but the device is cpu\n";
        assertTrue(MultiGpu.saidAlready(rank0, "gns4j: rank 1 (LOCAL_RANK 1) trains on GPUs, but the device is cpu\n"));
        assertTrue(MultiGpu.saidAlready(rank0, "gns4j: rank 1: rank 1 (LOCAL_RANK 1) trains on GPUs, but the device is cpu\n"));
        assertFalse(MultiGpu.saidAlready("gns4j: the NCCL group lost rank 1\n", "gns4j: rank 1: cannot join the NCCL group\n"));
        assertFalse(MultiGpu.saidAlready(rank0, "Exception in thread main\n"));
        assertFalse(MultiGpu.saidAlready("", "gns4j: rank 1 (LOCAL_RANK 1) trains on GPUs, but the device is cpu\n"));
    }

    @Test
    void theRanksGetTheArgumentsLessGpus() {
        assertEquals(List.of("train", "--data-dir", "d", "--out-dir", "o"),
                TrainCommand.withoutGpus(List.of("train", "--gpus", "2", "--data-dir", "d", "--out-dir", "o")));
        assertEquals(List.of("train", "--data-dir", "d"), TrainCommand.withoutGpus(List.of("train", "--gpus=4", "--data-dir", "d")));
    }

    /** A failed peer is a runtime failure, not bad input: one line, exit 1. */
    @Test
    void aCommunicatorFailureIsNoBadInput() {
        assertEquals(1, Main.exitCode(new gns4j.parallel.CommunicatorException(1, "rank 0: all-reduce timed out", null)));
        assertEquals(2, Main.exitCode(new gns4j.UserError("bad")));
        assertEquals(-1, Main.exitCode(new IllegalStateException("bug")));
    }
}
