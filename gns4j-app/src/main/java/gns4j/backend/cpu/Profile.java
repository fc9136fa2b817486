package gns4j.backend.cpu;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Opt-in wall-clock profile of the CPU backend, on with {@code -Dgns4j.cpu.profile=true} ({@code bench cpu} prints it
 * per thread count): each {@link #time timed region} charges its wall time to its {@link Op}, exclusively (a region
 * inside another is charged to itself only), and {@link #take} reads the sums. Regions run on the thread that drives a
 * model, one model at a time. Off, {@link #time} only runs the region.
 */
public final class Profile {
    /** -Dgns4j.cpu.profile=true. */
    public static final boolean ON = Boolean.getBoolean("gns4j.cpu.profile");

    /** The ops of a step, per kind over all layers, in the order a step first runs them. */
    enum Op {
        EMBEDDING_FWD("embedding fwd"),
        NORM_FWD("norm fwd"),
        QKV_FWD("qkv linear fwd"),
        ROPE_FWD("rope + qkv expand"),
        ATTENTION_FWD("attention fwd"),
        ATTN_PROJ_FWD("attn proj fwd"),
        ADD("residual add"),
        MLP_FC_FWD("mlp fc fwd (+gelu)"),
        SWIGLU_FWD("swiglu fwd"),
        MLP_PROJ_FWD("mlp proj fwd"),
        HEAD_FWD("head fwd"),
        SOFTMAX_XENT("softmax-xent"),
        HEAD_INPUT_GRAD("head input-grad"),
        HEAD_WEIGHT_GRAD("head weight-grad (+tied embedding)"),
        LINEAR_INPUT_GRAD("linear input-grad (+gelu bwd)"),
        LINEAR_WEIGHT_GRAD("linear weight-grad (+norms)"),
        SWIGLU_BWD("swiglu bwd"),
        ATTENTION_BWD("attention bwd"),
        ROPE_BWD("rope + qkv reduce bwd"),
        NORM_BWD("norm bwd"),
        NORM_REDUCTIONS("per-example norm reductions"),
        EMBEDDING_BWD("embedding bwd"),
        ZERO_GRAD("zero grad"),
        ADAMW("adamw"),
        GNS("gns (|g|² per tensor)"),
        OTHER("other/serial");

        final String label;

        Op(String label) { this.label = label; }
    }

    private static final long[] nanos = new long[Op.values().length];
    /** The op being charged now; null outside every region. */
    private static Op running;
    private static long since = System.nanoTime(), window = since;

    private Profile() {}

    /** Runs region, its wall time charged to op when profiling. */
    static void time(Op op, Runnable region) {
        if (!ON) {
            region.run();
            return;
        }
        Op outer = switchTo(op);
        try {
            region.run();
        } finally {
            switchTo(outer);
        }
    }

    /** As {@link #time(Op, Runnable)}, for a region that returns a value. */
    static <T> T time(Op op, Supplier<T> region) {
        if (!ON) return region.get();
        Op outer = switchTo(op);
        try {
            return region.get();
        } finally {
            switchTo(outer);
        }
    }

    /** Charges the time since the last switch to the running op, then runs op; returns the op it replaced. */
    private static Op switchTo(Op op) {
        long now = System.nanoTime();
        if (running != null) nanos[running.ordinal()] += now - since;
        since = now;
        Op outer = running;
        running = op;
        return outer;
    }

    /** Milliseconds per op label (every op, in {@link Op} order) and the wall milliseconds they fall in. */
    public record Sample(Map<String, Double> ms, double wallMs) {}

    /** The ops' times since the last call (or class load) and that interval's wall time; starts the next interval. */
    public static Sample take() {
        long now = System.nanoTime();
        Map<String, Double> ms = new LinkedHashMap<>();
        for (Op op : Op.values()) ms.put(op.label, nanos[op.ordinal()] / 1e6);
        Arrays.fill(nanos, 0);
        Sample s = new Sample(ms, (now - window) / 1e6);
        window = since = now;
        return s;
    }
}
