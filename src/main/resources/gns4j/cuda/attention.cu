// Causal multi-head attention without a T×T matrix in memory. qkv (B,T,3C) bf16: per token q | k | v, head h at
// columns h·HS of each. out (B,T,C) bf16; lse and delta (B,NH,T) fp32. One warp per row; lane owns dims lane+32i.

#define ROW_SETUP                                                                     \
    long w = (blockIdx.x * (long) blockDim.x + threadIdx.x) >> 5;                     \
    int lane = threadIdx.x & 31;                                                      \
    if (w >= (long) B * NH * T) return;                                               \
    int t = (int) (w % T);                                                            \
    long bh = w / T;                                                                  \
    int h = (int) (bh % NH), b = (int) (bh / NH);                                     \
    const bf16* base = qkv + (long) b * T * 3 * C + h * HS;

__device__ __forceinline__ void loadRow(float* dst, const bf16* src, int lane, float scale) {
#pragma unroll
    for (int i = 0; i < HL; i++) {
        int d = lane + 32 * i;
        dst[i] = d < HS ? bf2f(src[d]) * scale : 0.f;
    }
}

__device__ __forceinline__ float dotRow(const float* a, const bf16* src, int lane) {
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < HL; i++) {
        int d = lane + 32 * i;
        if (d < HS) s += a[i] * bf2f(src[d]);
    }
    return warpSum(s);
}

// Online softmax over keys u ≤ t; lse = log Σ_u exp(s_tu) with s = scale·q·k.
extern "C" __global__ void attn_fwd(bf16* out, float* lse, const bf16* qkv, int B, int T, int C, int NH, float scale) {
    ROW_SETUP
    float q[HL], o[HL], m = -INFINITY, l = 0.f;
    loadRow(q, base + (long) t * 3 * C, lane, scale);
#pragma unroll
    for (int i = 0; i < HL; i++) o[i] = 0.f;
    for (int u = 0; u <= t; u++) {
        const bf16* kr = base + (long) u * 3 * C + C;
        float s = dotRow(q, kr, lane), mn = fmaxf(m, s), corr = expf(m - mn), p = expf(s - mn);
        l = l * corr + p;
#pragma unroll
        for (int i = 0; i < HL; i++) {
            int d = lane + 32 * i;
            o[i] = o[i] * corr + (d < HS ? p * bf2f(kr[C + d]) : 0.f);
        }
        m = mn;
    }
    bf16* orow = out + ((long) b * T + t) * C + h * HS;
#pragma unroll
    for (int i = 0; i < HL; i++) {
        int d = lane + 32 * i;
        if (d < HS) orow[d] = f2bf(o[i] / l);
    }
    if (lane == 0) lse[bh * T + t] = m + logf(l);
}

// dq for query row t (written into dqkv's q slot) and delta_t = dO_t·O_t for attn_bwd_dkv.
extern "C" __global__ void attn_bwd_dq(bf16* dqkv, float* delta, const bf16* dout, const bf16* out, const bf16* qkv,
                                      const float* lse, int B, int T, int C, int NH, float scale) {
    ROW_SETUP
    long orow = ((long) b * T + t) * C + h * HS;
    float q[HL], dO[HL], dq[HL];
    loadRow(q, base + (long) t * 3 * C, lane, scale);
    loadRow(dO, dout + orow, lane, 1.f);
    float D = dotRow(dO, out + orow, lane), L = lse[bh * T + t];
#pragma unroll
    for (int i = 0; i < HL; i++) dq[i] = 0.f;
    for (int u = 0; u <= t; u++) {
        const bf16* kr = base + (long) u * 3 * C + C;
        float p = expf(dotRow(q, kr, lane) - L), ds = p * (dotRow(dO, kr + C, lane) - D) * scale;
#pragma unroll
        for (int i = 0; i < HL; i++) {
            int d = lane + 32 * i;
            if (d < HS) dq[i] += ds * bf2f(kr[d]);
        }
    }
    bf16* dst = dqkv + ((long) b * T + t) * 3 * C + h * HS;
#pragma unroll
    for (int i = 0; i < HL; i++) {
        int d = lane + 32 * i;
        if (d < HS) dst[d] = f2bf(dq[i]);
    }
    if (lane == 0) delta[bh * T + t] = D;
}

// dk, dv for key row t (as u ranges over the queries u ≥ t that see it).
extern "C" __global__ void attn_bwd_dkv(bf16* dqkv, const float* delta, const bf16* dout, const bf16* qkv,
                                       const float* lse, int B, int T, int C, int NH, float scale) {
    ROW_SETUP
    float k[HL], v[HL], dk[HL], dv[HL];
    loadRow(k, base + (long) t * 3 * C + C, lane, scale);
    loadRow(v, base + (long) t * 3 * C + 2 * C, lane, 1.f);
#pragma unroll
    for (int i = 0; i < HL; i++) dk[i] = dv[i] = 0.f;
    for (int u = t; u < T; u++) {
        const bf16* qr = base + (long) u * 3 * C;
        const bf16* dOr = dout + ((long) b * T + u) * C + h * HS;
        float p = expf(dotRow(k, qr, lane) - lse[bh * T + u]), ds = p * (dotRow(v, dOr, lane) - delta[bh * T + u]) * scale;
#pragma unroll
        for (int i = 0; i < HL; i++) {
            int d = lane + 32 * i;
            if (d < HS) {
                dv[i] += p * bf2f(dOr[d]);
                dk[i] += ds * bf2f(qr[d]);
            }
        }
    }
    bf16* dst = dqkv + ((long) b * T + t) * 3 * C + h * HS;
#pragma unroll
    for (int i = 0; i < HL; i++) {
        int d = lane + 32 * i;
        if (d < HS) {
            dst[C + d] = f2bf(dk[i]);
            dst[2 * C + d] = f2bf(dv[i]);
        }
    }
}
