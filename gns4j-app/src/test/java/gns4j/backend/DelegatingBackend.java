package gns4j.backend;

import gns4j.parallel.Communicator;
import gns4j.model.ParameterLayout;

/** A backend that forwards every call to another: tests override the few calls they observe or break. */
public abstract class DelegatingBackend implements Backend {
    protected final Backend d;

    protected DelegatingBackend(Backend delegate) { this.d = delegate; }

    @Override public String name() { return d.name(); }
    @Override public ParameterLayout layout() { return d.layout(); }
    @Override public int maxMicroBatch() { return d.maxMicroBatch(); }
    @Override public void initWeights(long seed) { d.initWeights(seed); }
    @Override public void readParams(float[] dst) { d.readParams(dst); }
    @Override public void writeParams(float[] src) { d.writeParams(src); }
    @Override public void readGrads(float[] dst) { d.readGrads(dst); }
    @Override public void zeroGrad() { d.zeroGrad(); }

    @Override
    public double forwardBackward(int[] inputs, int[] targets, int B, int T, float gradScale, NormTracking tracking,
                                  LinearNormMethod method, double[] sq) {
        return d.forwardBackward(inputs, targets, B, T, gradScale, tracking, method, sq);
    }

    @Override public double evaluate(int[] inputs, int[] targets, int B, int T) { return d.evaluate(inputs, targets, B, T); }
    @Override public double[] gradSqPerTensor() { return d.gradSqPerTensor(); }
    @Override public void allReduceGrads(Communicator comm) { d.allReduceGrads(comm); }
    @Override public void overlapGradReduce(Communicator comm, long bucketBytes) { d.overlapGradReduce(comm, bucketBytes); }
    @Override public void scaleGrads(float factor) { d.scaleGrads(factor); }
    @Override public void adamwStep(AdamWSettings s, double lr, int step) { d.adamwStep(s, lr, step); }
    @Override public void readOptimizerState(float[] m, float[] v) { d.readOptimizerState(m, v); }
    @Override public void writeOptimizerState(float[] m, float[] v) { d.writeOptimizerState(m, v); }
    @Override public void close() { d.close(); }
}
