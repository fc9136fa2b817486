package gns4j.backend.cuda;

import gns4j.backend.AdamWSettings;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

import java.util.ArrayList;
import java.util.List;

/** AdamW on the GPU: fp32 moments m and v beside the flat weights, one launch per run of tensors sharing weight decay. */
final class CudaAdamW {
    private final Gpu gpu;
    private final List<DecayRun> runs;
    final long m, v;

    CudaAdamW(Gpu gpu, ParameterLayout layout) {
        this.gpu = gpu;
        runs = decayRuns(layout);
        long P = layout.totalSize;
        m = gpu.alloc(4L * P);
        v = gpu.alloc(4L * P);
        gpu.zero(m, 4L * P);
        gpu.zero(v, 4L * P);
    }

    /** One step (1-based, for the bias corrections) over params from grads; refreshes the bf16 weights paramsBf. */
    void step(AdamWSettings st, double lr, int step, long params, long paramsBf, long grads) {
        float bc1 = (float) (1 - Math.pow(st.beta1(), step)), bc2 = (float) (1 - Math.pow(st.beta2(), step));
        for (DecayRun r : runs) {
            long off = r.offset(), n = r.size();
            gpu.launch("adamw", gpu.blocksFor(n), 1, 256, 0, params + 4 * off, paramsBf + 2 * off, grads + 4 * off,
                    m + 4 * off, v + 4 * off, n, (float) lr, (float) st.beta1(), (float) st.beta2(), (float) st.eps(),
                    r.decayed() ? (float) st.weightDecay() : 0f, bc1, bc2);
        }
        gpu.sync();
    }

    /** A maximal run [offset, offset + size) of consecutive tensors with the same weight-decay flag. */
    record DecayRun(long offset, long size, boolean decayed) {}

    static List<DecayRun> decayRuns(ParameterLayout layout) {
        List<DecayRun> runs = new ArrayList<>();
        for (ParamTensor t : layout.tensors) {
            DecayRun last = runs.isEmpty() ? null : runs.getLast();
            if (last != null && last.decayed() == t.kind().decayed) runs.set(runs.size() - 1, new DecayRun(last.offset(), last.size() + t.size(), last.decayed()));
            else runs.add(new DecayRun(t.offset(), t.size(), t.kind().decayed));
        }
        return runs;
    }
}
