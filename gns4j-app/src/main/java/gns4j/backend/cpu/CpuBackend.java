package gns4j.backend.cpu;

import gns4j.backend.AdamWSettings;
import gns4j.backend.Backend;
import gns4j.backend.LinearNormMethod;
import gns4j.backend.NormTracking;
import gns4j.parallel.Communicator;
import gns4j.model.ModelConfig;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.util.Arrays;
import java.util.List;

/** The fp32 CPU reference backend: {@link CpuModel} plus AdamW on the same flat buffers. */
public final class CpuBackend implements Backend {
    private final CpuModel model;
    private final AdamW adam;

    public CpuBackend(ModelConfig config, int maxMicroBatch, int threads) {
        this.model = new CpuModel(config, maxMicroBatch, threads);
        this.adam = new AdamW(model.layout);
    }

    @Override public String name() { return "cpu (" + model.threads() + " threads, " + kernelDescription() + ")"; }

    /** The inner loops this JVM runs: "scalar", or the vector width and the product's register tile. */
    public static String kernelDescription() {
        return VectorMath.VECTOR ? VectorMath.LANES * 32 + "-bit vectors, " + Gemm.TILE + " tile " + Gemm.TILE.mr + "x" + Gemm.NR
                : "scalar";
    }

    @Override public ParameterLayout layout() { return model.layout; }

    @Override public int maxMicroBatch() { return model.maxBatch(); }

    @Override public void initWeights(long seed) { model.initWeights(seed); }

    @Override public void readParams(float[] dst) { System.arraycopy(model.params, 0, dst, 0, model.params.length); }

    @Override public void writeParams(float[] src) { System.arraycopy(src, 0, model.params, 0, model.params.length); }

    @Override public void readGrads(float[] dst) { System.arraycopy(model.grads, 0, dst, 0, model.grads.length); }

    @Override public void zeroGrad() { Profile.time(Profile.Op.ZERO_GRAD, model::zeroGrad); }

    @Override
    public double forwardBackward(int[] inputs, int[] targets, int B, int T, float gradScale,
                                  NormTracking tracking, LinearNormMethod method, double[] sq) {
        double loss = model.forward(inputs, targets, B, T);
        // AUTO is SIMULTANEOUS here: the weight-gradient pass forms each example's dW_b tile in cache anyway, so its
        // norm costs one sum of squares per tile, while the ghost method adds 2·B·T²·(K+N) FLOPs (at L6-C384 the
        // tied head's Grams halved the all-layer rate on 16 cores, 2026-12-07).
        model.backward(gradScale, tracking, method == LinearNormMethod.AUTO ? LinearNormMethod.SIMULTANEOUS : method, sq);
        return loss;
    }

    @Override public double evaluate(int[] inputs, int[] targets, int B, int T) { return model.forward(inputs, targets, B, T); }

    @Override
    public double[] gradSqPerTensor() { return Profile.time(Profile.Op.GNS, this::sqPerTensor); }

    /** Each tensor's |g|², summed over chunks of fixed size (the large embeddings spread over threads), in order. */
    private double[] sqPerTensor() {
        List<ParamTensor> tensors = model.layout.tensors;
        int[] first = new int[tensors.size() + 1];
        for (int i = 0; i < tensors.size(); i++) first[i + 1] = first[i] + Parallel.chunks(tensors.get(i).size());
        double[] partial = new double[first[tensors.size()]];
        int[] owner = new int[partial.length];
        for (int i = 0; i < tensors.size(); i++) Arrays.fill(owner, first[i], first[i + 1], i);
        model.parallel().forEach(partial.length, k -> {
            ParamTensor t = tensors.get(owner[k]);
            int start = (k - first[owner[k]]) * Parallel.CHUNK;
            partial[k] = VectorMath.sumSq(model.grads, t.offset() + start, Math.min(Parallel.CHUNK, t.size() - start));
        });
        double[] out = new double[model.layout.numTensors()];
        for (int i = 0; i < tensors.size(); i++)
            for (int k = first[i]; k < first[i + 1]; k++) out[tensors.get(i).index()] += partial[k];
        return out;
    }

    @Override
    public void allReduceGrads(Communicator comm) { comm.allReduceSum(model.grads); }

    @Override
    public void scaleGrads(float factor) { VectorMath.scale(factor, model.grads, 0, model.grads.length); }

    @Override
    public void adamwStep(AdamWSettings settings, double lr, int step) {
        Profile.time(Profile.Op.ADAMW, () -> adam.step(model.parallel(), model.params, model.grads, settings, lr, step));
    }

    @Override
    public void readOptimizerState(float[] m, float[] v) {
        System.arraycopy(adam.m, 0, m, 0, m.length);
        System.arraycopy(adam.v, 0, v, 0, v.length);
    }

    @Override
    public void writeOptimizerState(float[] m, float[] v) {
        System.arraycopy(m, 0, adam.m, 0, m.length);
        System.arraycopy(v, 0, adam.v, 0, v.length);
    }

    @Override public void close() { model.close(); }
}
