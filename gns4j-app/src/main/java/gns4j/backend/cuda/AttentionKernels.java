package gns4j.backend.cuda;

/**
 * Causal attention launches shared by the model (CudaOps) and `bench kernels`, over a packed qkv (R, (NH + 2·KVH)·hs)
 * bf16 with R = B·T rows: the query heads, then the key heads, then the value heads of each token; grouped-query
 * heads are handled inside the kernels (attention.cu), with no copies of K/V per query head.
 */
public final class AttentionKernels {
    private final Gpu gpu;
    private final int NH, KVH, headSize;
    /** Only the warp-per-row kernels (fp32 arithmetic, any head size): the reference `check cuda` holds the others to. */
    private final boolean rowsOnly;

    /** The head size must be the one the GPU's kernels were compiled for (its HS macro). */
    public AttentionKernels(Gpu gpu, int nHead, int nKvHead, int headSize) { this(gpu, nHead, nKvHead, headSize, false); }

    private AttentionKernels(Gpu gpu, int nHead, int nKvHead, int headSize, boolean rowsOnly) {
        this.gpu = gpu;
        this.NH = nHead;
        this.KVH = nKvHead;
        this.headSize = headSize;
        this.rowsOnly = rowsOnly;
        if (tensorCore()) gpu.setMaxDynamicShared("attn_bwd_dkv_tc", dkvSmem());
    }

    /** The same launches with the warp-per-row kernels at any head size. */
    public static AttentionKernels rowReference(Gpu gpu, int nHead, int nKvHead, int headSize) {
        return new AttentionKernels(gpu, nHead, nKvHead, headSize, true);
    }

    /**
     * out (R, NH·hs) bf16 and lse (B,NH,T) fp32 from qkv: tensor-core flash kernel (head sizes 16..64 in steps of 16) or
     * one warp per row.
     */
    public void forward(long out, long lse, long qkv, int B, int T) {
        if (tensorCore()) gpu.launch("attn_fwd_tc", (T + 63) / 64, NH * B, 128, 0, out, lse, qkv, T, NH, KVH, scale());
        else gpu.launch("attn_fwd", rowWarpBlocks(B, T, NH), 1, 256, 0, out, lse, qkv, B, T, NH, KVH, scale());
    }

    /**
     * dqkv (laid out as qkv) from dout (R, NH·hs) bf16, with delta (B,NH,T) fp32 as scratch for rowsum(dO∘O): dQ and
     * delta per query tile, then dK/dV per key tile of each kv head summed over its query heads inside the kernel; or
     * one warp per row.
     */
    public void backward(long dqkv, long delta, long dout, long out, long qkv, long lse, int B, int T) {
        if (tensorCore()) {
            int tiles = (T + 63) / 64;
            gpu.launch("attn_bwd_dq_tc", tiles, NH * B, 128, 0, dqkv, delta, dout, out, qkv, lse, T, NH, KVH, scale());
            gpu.launch("attn_bwd_dkv_tc", tiles, KVH * B, 128, dkvSmem(), dqkv, delta, dout, qkv, lse, T, NH, KVH, scale());
        } else {
            gpu.launch("attn_bwd_dq", rowWarpBlocks(B, T, NH), 1, 256, 0, dqkv, delta, dout, out, qkv, lse, B, T, NH, KVH, scale());
            gpu.launch("attn_bwd_dkv", rowWarpBlocks(B, T, KVH), 1, 256, 0, dqkv, delta, dout, qkv, lse, B, T, NH, KVH, scale());
        }
    }

    /** The mma.sync flash kernels cover head sizes that are multiples of 16 up to 64 (attention.cu). */
    private boolean tensorCore() { return !rowsOnly && headSize % 16 == 0 && headSize <= 64; }

    /** attn_bwd_dkv_tc's shared memory: K, V and two stages of Q and dO (64 × (HS + 8) bf16), two of lse | delta. */
    private int dkvSmem() { return 6 * 64 * (headSize + 8) * 2 + 4 * 64 * 4; }

    private float scale() { return (float) (1.0 / Math.sqrt(headSize)); }

    /** 256-thread blocks holding one warp per (example, head, token) row. */
    private static int rowWarpBlocks(int B, int T, int heads) { return (int) (((long) B * heads * T + 7) / 8); }
}
