package gns4j.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import gns4j.backend.Backend;
import gns4j.backend.DelegatingBackend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.checkpoint.CheckpointStore;
import gns4j.parallel.Communicator;
import gns4j.parallel.InProcessCommunicator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static gns4j.train.TestRuns.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Data-parallel training with ranks as threads ({@link InProcessCommunicator}, a CPU backend each): W ranks on the
 * same global batch and seed give the losses, GNS values and weights of one process (to float rounding: the sums run
 * in another order), rank 0 alone writes the run folder, a failing rank stops the others, and a stop request on one
 * rank stops all of them after the same step.
 */
class DataParallelTest {
    @TempDir static Path tmp;
    static Path data;
    /** 16 sequences a step in 4 micro-batches of 4: 2 per rank at W = 2, 1 at W = 4, 1/1/2 at W = 3. */
    static final TrainConfig CFG = tiny("max_steps=6", "batch_size=16", "checkpoint_interval=0", "eval_interval=3", "eval_sequences=12");
    static Path single;
    static float[] singleWeights;

    @BeforeAll
    static void singleProcessReference() {
        data = demoData(tmp.resolve("data"));
        single = tmp.resolve("single");
        float[][] w = new float[1][];
        new Trainer(CFG, data, single, QUIET).hooks(capture(w)).run();
        singleWeights = w[0];
    }

    /** Hooks that keep the backend's final weights in {@code out[0]} when the run closes it. */
    static Trainer.Hooks capture(float[][] out) {
        return new Trainer.Hooks(b -> new DelegatingBackend(b) {
            @Override
            public void close() {
                out[0] = new float[layout().totalSize];
                readParams(out[0]);
                super.close();
            }
        }, s -> {}, CheckpointStore.DISK);
    }

    /** W ranks, rank r into run folder {@code name-r}; returns each rank's final weights. */
    static float[][] runRanks(int world, String name, TrainConfig cfg) {
        float[][] weights = new float[world][];
        InProcessCommunicator.run(world, c -> {
            float[][] w = new float[1][];
            Trainer.Result r = new Trainer(cfg, data, tmp.resolve(name + "-" + c.rank()), QUIET)
                    .dataParallel(c, 0).hooks(capture(w)).run();
            weights[c.rank()] = w[0];
            return r;
        });
        return weights;
    }

    @Test
    void twoRanksMatchOneProcess() { assertMatchesSingle(2, "w2"); }

    @Test
    void fourRanksMatchOneProcess() { assertMatchesSingle(4, "w4"); }

    /** 4 micro-batches over 3 ranks: unequal shards (1, 1, 2), so the two-batch estimate is undefined. */
    @Test
    void unequalShardsMatchOneProcess() {
        assertMatchesSingle(3, "w3");
        for (JsonObject line : metrics(tmp.resolve("w3-0"))) assertTrue(line.get("gns_ddp").isJsonNull(), line.toString());
    }

    private void assertMatchesSingle(int world, String name) {
        float[][] weights = runRanks(world, name, CFG);
        Path run0 = tmp.resolve(name + "-0");
        for (int r = 1; r < world; r++) {
            assertFalse(Files.exists(tmp.resolve(name + "-" + r)), "rank " + r + " wrote files");
            assertArrayEquals(weights[0], weights[r], "rank " + r + " has other weights than rank 0");
        }
        List<JsonObject> ref = metrics(single), got = metrics(run0);
        assertEquals(ref.size(), got.size());
        for (int i = 0; i < ref.size(); i++) {
            JsonObject e = ref.get(i), a = got.get(i);
            for (String key : List.of("step", "tokens", "batch_size", "micro_batches", "lr"))
                assertEquals(e.get(key), a.get(key), "step " + (i + 1) + " " + key);
            for (String key : List.of("loss", "grad_norm", "gns_total", "gns_ln", "val_loss", "gns_type", "gns_layer",
                    "pe_norm_total", "pe_norm_ln"))
                assertClose(e.get(key), a.get(key), "step " + (i + 1) + " " + key);
            assertTrue(a.has("gns_ddp"), a.toString());
        }
        assertTrue(ref.getLast().has("val_loss"));
        double maxAbs = 0, maxDiff = 0;
        for (int i = 0; i < singleWeights.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(singleWeights[i]));
            maxDiff = Math.max(maxDiff, Math.abs(singleWeights[i] - weights[0][i]));
        }
        assertTrue(maxDiff <= 1e-5 * maxAbs, "weights differ by " + maxDiff + " (largest weight " + maxAbs + ")");
        assertTrue(Files.exists(run0.resolve("summary.json")));
        assertEquals(List.of(6), checkpointSteps(run0));
    }

    /** Numbers equal to 1e-5 relative, recursively through arrays and objects; nulls must match. */
    static void assertClose(JsonElement e, JsonElement a, String what) {
        if (e == null || e.isJsonNull()) {
            assertTrue(a == null || a.isJsonNull(), what + ": expected null, got " + a);
        } else if (e.isJsonArray()) {
            assertEquals(e.getAsJsonArray().size(), a.getAsJsonArray().size(), what);
            for (int i = 0; i < e.getAsJsonArray().size(); i++)
                assertClose(e.getAsJsonArray().get(i), a.getAsJsonArray().get(i), what + "[" + i + "]");
        } else if (e.isJsonObject()) {
            assertEquals(e.getAsJsonObject().keySet(), a.getAsJsonObject().keySet(), what);
            for (String k : e.getAsJsonObject().keySet()) assertClose(e.getAsJsonObject().get(k), a.getAsJsonObject().get(k), what + "." + k);
        } else {
            double x = e.getAsDouble(), y = a.getAsDouble();
            assertTrue(Math.abs(x - y) <= 1e-5 * Math.max(Math.abs(x), 1e-12), what + ": " + x + " vs " + y);
        }
    }

    @Test
    void theDdpEstimateIsLoggedWithEqualShards() {
        runRanks(2, "w2-ddp", CFG);
        List<JsonObject> m = metrics(tmp.resolve("w2-ddp-0"));
        assertTrue(m.stream().anyMatch(l -> !l.get("gns_ddp").isJsonNull()), "no step has a two-batch estimate");
        assertFalse(metrics(single).getFirst().has("gns_ddp"), "one process logs no two-batch estimate");
    }

    /**
     * grad_overlap: each rank asks its backend to start the all-reduce (with grad_bucket_mb's bytes) right before its
     * last micro-batch of every step, and completes it with allReduceGrads after reading its local |G_r|²; without it
     * the backend is never asked. The CPU backend reduces after backward either way, so the run equals one process's.
     */
    @Test
    void gradOverlapStartsTheReduceBeforeEachRanksLastMicroBatch() {
        for (boolean overlap : new boolean[]{true, false}) {
            TrainConfig cfg = CFG.with("grad_overlap=" + overlap, "grad_bucket_mb=0.5");
            String name = "overlap-" + overlap;
            StringBuilder[] calls = new StringBuilder[3];
            InProcessCommunicator.run(3, c -> {
                StringBuilder log = calls[c.rank()] = new StringBuilder();
                return new Trainer(cfg, data, tmp.resolve(name + "-" + c.rank()), QUIET).dataParallel(c, 0)
                        .hooks(new Trainer.Hooks(b -> new DelegatingBackend(b) {
                            @Override
                            public double forwardBackward(int[] inputs, int[] targets, int B, int T, float gradScale,
                                                          NormTracking tracking, LinearNormMethod method, double[] sq) {
                                log.append("fb ");
                                return d.forwardBackward(inputs, targets, B, T, gradScale, tracking, method, sq);
                            }

                            @Override
                            public double[] gradSqPerTensor() {
                                log.append("sq ");
                                return d.gradSqPerTensor();
                            }

                            @Override
                            public void overlapGradReduce(Communicator comm, long bucketBytes) {
                                assertSame(c, comm);
                                log.append("overlap:").append(bucketBytes).append(' ');
                                d.overlapGradReduce(comm, bucketBytes);
                            }

                            @Override
                            public void allReduceGrads(Communicator comm) {
                                log.append("reduce ");
                                d.allReduceGrads(comm);
                            }
                        }, s -> {}, CheckpointStore.DISK)).run();
            });
            // 4 micro-batches over 3 ranks: 1, 1, 2; per step: local |G_r|², the sum, then |G_B|² (rank 0 alone)
            String step = (overlap ? "overlap:524288 " : "") + "fb sq reduce ";
            for (int r = 0; r < 3; r++)
                assertEquals(((r == 2 ? "fb " : "") + step + (r == 0 ? "sq " : "")).repeat(6), calls[r].toString(),
                        "rank " + r + ", grad_overlap=" + overlap);
            List<JsonObject> ref = metrics(single), got = metrics(tmp.resolve(name + "-0"));
            for (int i = 0; i < ref.size(); i++)
                for (String key : List.of("loss", "grad_norm", "gns_total", "gns_ln"))
                    assertClose(ref.get(i).get(key), got.get(i).get(key), "step " + (i + 1) + " " + key);
        }
    }

    /**
     * |G_B|² of the summed gradient may differ in the last bits between GPUs (atomics); every rank takes rank 0's, so
     * clipping (here on every step) scales every rank's gradient alike even where rank 1 would compute other norms.
     */
    @Test
    void everyRankTakesRankZerosGradientNorms() {
        TrainConfig cfg = CFG.with("grad_clip=0.001");
        float[][] weights = new float[2][];
        InProcessCommunicator.run(2, c -> {
            float[][] w = new float[1][];
            Trainer.Hooks keep = capture(w);
            Trainer.Result r = new Trainer(cfg, data, tmp.resolve("norms-" + c.rank()), QUIET).dataParallel(c, 0)
                    .hooks(new Trainer.Hooks(b -> keep.backend().apply(c.rank() == 0 ? b : new DelegatingBackend(b) {
                        @Override
                        public double[] gradSqPerTensor() {
                            double[] sq = d.gradSqPerTensor();
                            for (int t = 0; t < sq.length; t++) sq[t] *= 1.001;
                            return sq;
                        }
                    }), s -> {}, CheckpointStore.DISK)).run();
            weights[c.rank()] = w[0];
            return r;
        });
        assertArrayEquals(weights[0], weights[1]);
    }

    /** A rank whose backend throws at step 5 stops the others: its own error surfaces, nobody hangs. */
    @Test
    void aFailingRankStopsTheOthers() {
        AtomicInteger steps = new AtomicInteger();
        RuntimeException e = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertThrows(RuntimeException.class, () ->
                InProcessCommunicator.run(3, c -> new Trainer(CFG, data, tmp.resolve("fail-" + c.rank()), QUIET).dataParallel(c, 0)
                        .hooks(new Trainer.Hooks(b -> c.rank() != 1 ? b : new DelegatingBackend(b) {
                            @Override
                            public double forwardBackward(int[] inputs, int[] targets, int B, int T, float gradScale,
                                                          NormTracking tracking, LinearNormMethod method, double[] sq) {
                                if (steps.incrementAndGet() > 4) throw new IllegalStateException("rank 1 broke");
                                return d.forwardBackward(inputs, targets, B, T, gradScale, tracking, method, sq);
                            }
                        }, s -> {}, CheckpointStore.DISK)).run())));
        assertEquals("rank 1 broke", e.getMessage());
        // rank 1 has 1 micro-batch a step of 4 micro-batches over 3 ranks; it broke in step 5
        assertEquals(4, metrics(tmp.resolve("fail-0")).size());
        assertFalse(Files.exists(tmp.resolve("fail-0/summary.json")));
    }

    /** A stop request on rank 1 alone (as a signal to one process) stops every rank after the same step. */
    @Test
    void aStopRequestOnOneRankStopsAllAfterTheSameStep() {
        Trainer[] trainers = new Trainer[2];
        List<Trainer.Result> results = InProcessCommunicator.run(2, (Communicator c) -> {
            Trainer t = new Trainer(CFG, data, tmp.resolve("stop-" + c.rank()), QUIET).dataParallel(c, 0);
            trainers[c.rank()] = t;
            return t.hooks(new Trainer.Hooks(b -> b, s -> {
                if (c.rank() == 1 && s == 2) t.requestStop();
            }, CheckpointStore.DISK)).run();
        });
        // requested after step 2, seen by all at step 3's all-reduce
        assertEquals(List.of(3, 3), results.stream().map(Trainer.Result::steps).toList());
        assertTrue(trainers[0].stopped() && trainers[1].stopped());
        assertEquals(List.of(3), checkpointSteps(tmp.resolve("stop-0")));
    }
}
