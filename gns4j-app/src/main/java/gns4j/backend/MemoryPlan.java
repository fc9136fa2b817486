package gns4j.backend;

import gns4j.model.Arch;
import gns4j.model.ModelConfig;

/**
 * The largest micro-batch that fits a backend's memory, from the buffers each backend allocates: a fixed part
 * (weights, gradient, AdamW moments, weight scratch) and a part per sequence of block_size tokens (activations kept
 * for backward, the logits, the backward's scratch). The estimate leaves a quarter of the memory free for what it
 * does not count (the JVM's own objects, cuBLASLt workspaces, the data and the allocator's slack).
 *
 * <p>Per sequence (T tokens, C channels, L layers, V vocabulary, H heads), counted from the allocations:
 * <ul>
 *   <li>CPU (fp32): per layer 15·T·C + 4·T + H·T floats, residual stream (L+1)·T·C, final norm T·C + 2T, logits
 *       T·V, backward scratch 14·T·C, the packed rows of the widest Linear input 4·T·C.</li>
 *   <li>CUDA (bf16 activations, fp32 residual and statistics): per layer 32·T·C + 16·T + 4·H·T bytes, residual
 *       4·(L+1)·T·C, final norm 2·T·C + 8·T, logits 2·T·V, losses and ids 12·T, backward 20·T·C + 4·H·T, per-example
 *       partial sums 24·C and norms 8 per tensor.</li>
 *   <li>CPU Llama (F = ffn_hidden, kv = n_kv_head·C/H): per layer 7·T·C + 3·T·F + 2·T + H·T floats, residual stream
 *       (L+1)·T·C, final norm T·C + 2T, logits T·V, forward scratch (q, k, v, proj) T·(2C + 2kv), backward scratch
 *       5·T·C + 3·T·F, the packed rows of the widest Linear input T·max(F, C).</li>
 *   <li>CUDA Llama (Q = C + 2kv, the fused q|k|v width): per layer 10·T·C + 8·T + 2·T·Q + 4·H·T + 6·T·F bytes,
 *       residual 4·(L+1)·T·C, final norm 2·T·C + 4·T, logits 2·T·V, losses and ids 12·T, backward 12·T·C + 4·H·T +
 *       2·T·max(2F, Q) + 2·T·F, per-example partial sums 8·C and norms 8 per tensor.</li>
 * </ul>
 */
public final class MemoryPlan {
    private MemoryPlan() {}

    /** The JVM heap not in use now: what allocations made from here on may take. */
    public static long freeHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /** Fraction of the available memory the estimate may plan for. */
    static final double USABLE = 0.75;

    /** Bytes of a micro-batch of one sequence on {@code device} ("cpu" or "cuda"). */
    public static long bytesPerSequence(String device, ModelConfig m) {
        long T = m.blockSize(), C = m.nEmbd(), L = m.nLayer(), V = m.vocabSize(), H = m.nHead();
        if (m.arch() == Arch.LLAMA) {
            long F = m.ffnHidden(), kv = m.kvDim(), qkv = C + 2 * kv;
            return switch (device) {
                case "cpu" -> 4 * (L * (7 * T * C + 3 * T * F + 2 * T + H * T) + (L + 1) * T * C + T * C + 2 * T + T * V
                        + T * (2 * C + 2 * kv) + 5 * T * C + 3 * T * F + T * Math.max(F, C)); // last: packed input rows
                case "cuda" -> L * (10 * T * C + 8 * T + 2 * T * qkv + 4 * H * T + 6 * T * F) + 4 * (L + 1) * T * C + 2 * T * C
                        + 4 * T + 2 * T * V + 12 * T + 12 * T * C + 4 * H * T + 8 * C + 2 * T * Math.max(2 * F, qkv) + 2 * T * F
                        + 8 * (2 + 9 * L + (m.tiedHead() ? 0 : 1));
                default -> throw new IllegalArgumentException("unknown device " + device);
            };
        }
        return switch (device) {
            // the last term: the packed rows of a Linear layer's widest input (4C), the weight gradient's operand
            case "cpu" -> 4 * (L * (15 * T * C + 4 * T + H * T) + (L + 1) * T * C + T * C + 2 * T + T * V + 14 * T * C
                    + 4 * T * C);
            case "cuda" -> L * (32 * T * C + 16 * T + 4 * H * T) + 4 * (L + 1) * T * C + 2 * T * C + 8 * T + 2 * T * V
                    + 12 * T + 20 * T * C + 4 * H * T + 24 * C + 8L * (4 + 12 * L);
            default -> throw new IllegalArgumentException("unknown device " + device);
        };
    }

    /** Bytes that do not grow with the micro-batch: weights, gradient and moments (plus bf16 weights on CUDA). */
    public static long fixedBytes(String device, ModelConfig m, long parameters) {
        long weightScratch = 4L * m.largestMatrix();
        return device.equals("cuda") ? 18 * parameters + weightScratch / 2 : 16 * parameters + weightScratch;
    }

    /**
     * The largest micro-batch in [1, cap] that fits {@code availableBytes}; 0 when not even one sequence fits (the
     * caller refuses the run with both numbers).
     */
    public static int largestMicroBatch(String device, ModelConfig m, long parameters, long availableBytes, int cap) {
        long usable = (long) (availableBytes * USABLE) - fixedBytes(device, m, parameters);
        long fit = usable <= 0 ? 0 : usable / bytesPerSequence(device, m);
        return (int) Math.min(cap, fit);
    }
}
