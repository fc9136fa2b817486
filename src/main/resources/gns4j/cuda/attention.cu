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

// ---------------------------------------------------------------------------------------------------------------
// Tensor-core flash attention (mma.sync m16n8k16 bf16 → fp32) for head sizes that are multiples of 16 up to 64.
// Blocks of 4 warps take 64 rows; each warp owns 16 rows, so scores, probabilities and outputs live in registers as
// mma fragments (g = lane/4 picks rows g and g+8, q = lane%4 picks column pairs). Grid (ceil(T/64), NH·B).
#if HS % 16 == 0 && HS <= 64
#define TILE 64
#define LDS (HS + 8)

__device__ __forceinline__ void mma16816(float* d, const unsigned* a, unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Four 8×8 b16 matrices from shared memory (lane l gives the row address of matrix l/8); .trans transposes each.
__device__ __forceinline__ void ldsm4(unsigned* r, const bf16* p) {
    unsigned a = (unsigned) __cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

__device__ __forceinline__ void ldsm4t(unsigned* r, const bf16* p) {
    unsigned a = (unsigned) __cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

__device__ __forceinline__ void ldsm2(unsigned* r, const bf16* p) {
    unsigned a = (unsigned) __cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
}

__device__ __forceinline__ unsigned pack2(float lo, float hi) { return (unsigned) f2bf(lo) | ((unsigned) f2bf(hi) << 16); }

__device__ __forceinline__ unsigned ld2(const bf16* p) { return *(const unsigned*) p; }

// A fragments (16 rows × HS) of rows r0.. of a row-major (row stride rs) global matrix; rows ≥ T read as zero.
__device__ __forceinline__ void loadA(unsigned (*a)[4], const bf16* m, long rs, int r0, int T, int lane) {
    int g = lane >> 2, c = (lane & 3) * 2;
#pragma unroll
    for (int kk = 0; kk < HS / 16; kk++) {
        int k = kk * 16 + c;
        bool lo = r0 + g < T, hi = r0 + g + 8 < T;
        a[kk][0] = lo ? ld2(m + (r0 + g) * rs + k) : 0u;
        a[kk][1] = hi ? ld2(m + (r0 + g + 8) * rs + k) : 0u;
        a[kk][2] = lo ? ld2(m + (r0 + g) * rs + k + 8) : 0u;
        a[kk][3] = hi ? ld2(m + (r0 + g + 8) * rs + k + 8) : 0u;
    }
}

// A fragments (16 rows × HS) from a row-major shared tile (stride LDS) starting at row pointer s.
__device__ __forceinline__ void loadAShared(unsigned (*a)[4], const bf16* s, int lane) {
#pragma unroll
    for (int kk = 0; kk < HS / 16; kk++) ldsm4(a[kk], s + (lane & 15) * LDS + kk * 16 + (lane >> 4) * 8);
}

// TILE rows from r0 of a global matrix (row stride rs, HS columns) into the row-major shared tile s (stride LDS);
// rows ≥ T become zero. Blocks of 128 threads; all 16-byte loads issue before the stores.
__device__ __forceinline__ void loadTile(bf16* s, const bf16* m, long rs, int r0, int T) {
    constexpr int PER_ROW = HS / 8, N = TILE * PER_ROW / 128;
    uint4 v[N];
#pragma unroll
    for (int j = 0; j < N; j++) {
        int i = threadIdx.x + 128 * j, r = i / PER_ROW, c = (i % PER_ROW) * 8;
        v[j] = r0 + r < T ? *(const uint4*) (m + (r0 + r) * rs + c) : make_uint4(0u, 0u, 0u, 0u);
    }
#pragma unroll
    for (int j = 0; j < N; j++) {
        int i = threadIdx.x + 128 * j, r = i / PER_ROW, c = (i % PER_ROW) * 8;
        *(uint4*) &s[r * LDS + c] = v[j];
    }
}

// acc (16 × TILE) += a (16 × HS) · yᵀ with y a row-major shared tile [TILE][HS] (so B(k, n) = y[n][k]).
__device__ __forceinline__ void mmaTile(float (*acc)[4], const unsigned (*a)[4], const bf16* y, int lane) {
#pragma unroll
    for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
        for (int kk = 0; kk < HS / 16; kk++) {
            unsigned b[2];
            ldsm2(b, y + (nt * 8 + (lane & 7)) * LDS + kk * 16 + ((lane >> 3) & 1) * 8);
            mma16816(acc[nt], a[kk], b[0], b[1]);
        }
}

// acc (16 × HS) += P (16 × TILE, held as accumulator fragments) · y with y a row-major shared tile [TILE][HS].
__device__ __forceinline__ void mmaFromAcc(float (*acc)[4], float (*p)[4], const bf16* y, int lane) {
#pragma unroll
    for (int kk = 0; kk < TILE / 16; kk++) {
        unsigned a[4] = {pack2(p[2 * kk][0], p[2 * kk][1]), pack2(p[2 * kk][2], p[2 * kk][3]),
                         pack2(p[2 * kk + 1][0], p[2 * kk + 1][1]), pack2(p[2 * kk + 1][2], p[2 * kk + 1][3])};
#pragma unroll
        for (int nt = 0; nt < HS / 8; nt += 2) {
            unsigned b[4];
            ldsm4t(b, y + (kk * 16 + (lane & 15)) * LDS + nt * 8 + (lane >> 4) * 8);
            mma16816(acc[nt], a, b[0], b[1]);
            mma16816(acc[nt + 1], a, b[2], b[3]);
        }
    }
}

// Writes 16 rows × HS accumulator fragments as bf16 to rows r0.. (stride rs) of dst, times per-row factors.
__device__ __forceinline__ void storeRows(bf16* dst, long rs, float (*acc)[4], int r0, int T, float f0, float f1, int lane) {
    int g = lane >> 2, c = (lane & 3) * 2;
#pragma unroll
    for (int nt = 0; nt < HS / 8; nt++) {
        if (r0 + g < T) *(unsigned*) (dst + (r0 + g) * rs + nt * 8 + c) = pack2(acc[nt][0] * f0, acc[nt][1] * f0);
        if (r0 + g + 8 < T) *(unsigned*) (dst + (r0 + g + 8) * rs + nt * 8 + c) = pack2(acc[nt][2] * f1, acc[nt][3] * f1);
    }
}

extern "C" __global__ void __launch_bounds__(128, 4) attn_fwd_tc(bf16* out, float* lse, const bf16* qkv, int T, int C, int NH, float scale) {
    __shared__ __align__(16) bf16 ks[TILE * LDS];
    __shared__ __align__(16) bf16 vs[TILE * LDS];
    int lane = threadIdx.x & 31, g = lane >> 2, c = (lane & 3) * 2;
    int h = blockIdx.y % NH, b = blockIdx.y / NH, q0 = blockIdx.x * TILE, r0 = q0 + (threadIdx.x >> 5) * 16;
    long rs = 3L * C;
    const bf16* base = qkv + (long) b * T * rs + h * HS;
    unsigned qa[HS / 16][4];
    loadA(qa, base, rs, r0, T, lane);
    float o[HS / 8][4] = {}, m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    for (int k0 = 0; k0 < min(q0 + TILE, T); k0 += TILE) {
        __syncthreads();
        loadTile(ks, base + C, rs, k0, T);
        loadTile(vs, base + 2 * C, rs, k0, T);
        __syncthreads();
        float s[TILE / 8][4] = {};
        mmaTile(s, qa, ks, lane);
        float mx[2] = {m[0], m[1]};
#pragma unroll
        for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int key = k0 + nt * 8 + c + (e & 1), row = r0 + g + (e >> 1) * 8;
                float v = key <= row && key < T ? s[nt][e] * scale : -INFINITY;
                s[nt][e] = v;
                mx[e >> 1] = fmaxf(mx[e >> 1], v);
            }
        float corr[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
            corr[i] = mx[i] == -INFINITY ? 1.f : __expf(m[i] - mx[i]);
            l[i] *= corr[i];
            m[i] = mx[i];
        }
#pragma unroll
        for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float p = s[nt][e] == -INFINITY ? 0.f : __expf(s[nt][e] - m[e >> 1]);
                s[nt][e] = p;
                l[e >> 1] += p;
            }
#pragma unroll
        for (int nt = 0; nt < HS / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) o[nt][e] *= corr[e >> 1];
        mmaFromAcc(o, s, vs, lane);
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
        l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
        l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
    }
    storeRows(out + (long) b * T * C + h * HS, C, o, r0, T, 1.f / l[0], 1.f / l[1], lane);
    if ((lane & 3) == 0)
#pragma unroll
        for (int i = 0; i < 2; i++)
            if (r0 + g + 8 * i < T) lse[(long) blockIdx.y * T + r0 + g + 8 * i] = m[i] + logf(l[i]);
}

// delta (B,NH,T) = rowsum(dO ∘ O), one thread per row.
extern "C" __global__ void attn_delta(float* delta, const bf16* dout, const bf16* out, int B, int T, int C, int NH) {
    long i = blockIdx.x * (long) blockDim.x + threadIdx.x;
    if (i >= (long) B * NH * T) return;
    int t = (int) (i % T), h = (int) (i / T % NH), b = (int) (i / T / NH);
    long o = ((long) b * T + t) * C + h * HS;
    float s = 0.f;
    for (int d = 0; d < HS; d++) s += bf2f(dout[o + d]) * bf2f(out[o + d]);
    delta[i] = s;
}

// dK, dV for a tile of 64 keys (each warp 16 keys, their K/V fragments re-read from shared memory), over the query
// tiles at or after the diagonal: Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ, dV += Pᵀ·dO, dK += dSᵀ·Q.
extern "C" __global__ void __launch_bounds__(128, 3) attn_bwd_dkv_tc(bf16* dqkv, const float* delta, const bf16* dout,
                                                               const bf16* qkv, const float* lse, int T, int C, int NH, float scale) {
    __shared__ __align__(16) bf16 ks[TILE * LDS];
    __shared__ __align__(16) bf16 vs[TILE * LDS];
    __shared__ __align__(16) bf16 qs[TILE * LDS];
    __shared__ __align__(16) bf16 dos[TILE * LDS];
    __shared__ float ls[TILE], ds[TILE];
    int lane = threadIdx.x & 31, g = lane >> 2, c = (lane & 3) * 2, w = threadIdx.x >> 5;
    int h = blockIdx.y % NH, b = blockIdx.y / NH, k0 = blockIdx.x * TILE, r0 = k0 + w * 16;
    long rs = 3L * C, bh = blockIdx.y;
    const bf16* base = qkv + (long) b * T * rs + h * HS;
    const bf16* dob = dout + (long) b * T * C + h * HS;
    loadTile(ks, base + C, rs, k0, T);
    loadTile(vs, base + 2 * C, rs, k0, T);
    float dk[HS / 8][4] = {}, dv[HS / 8][4] = {};
    for (int q0 = k0; q0 < T; q0 += TILE) {
        __syncthreads();
        loadTile(qs, base, rs, q0, T);
        loadTile(dos, dob, C, q0, T);
        for (int i = threadIdx.x; i < TILE; i += 128) {
            ls[i] = q0 + i < T ? lse[bh * T + q0 + i] : 0.f;
            ds[i] = q0 + i < T ? delta[bh * T + q0 + i] : 0.f;
        }
        __syncthreads();
        float st[TILE / 8][4] = {}, dpt[TILE / 8][4] = {};
        {
            unsigned a[HS / 16][4];
            loadAShared(a, ks + w * 16 * LDS, lane);
            mmaTile(st, a, qs, lane);
            loadAShared(a, vs + w * 16 * LDS, lane);
            mmaTile(dpt, a, dos, lane);
        }
#pragma unroll
        for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int qi = nt * 8 + c + (e & 1), key = r0 + g + (e >> 1) * 8;
                float p = q0 + qi >= key && q0 + qi < T && key < T ? __expf(st[nt][e] * scale - ls[qi]) : 0.f;
                st[nt][e] = p;
                dpt[nt][e] = p * (dpt[nt][e] - ds[qi]) * scale;
            }
        mmaFromAcc(dv, st, dos, lane);
        mmaFromAcc(dk, dpt, qs, lane);
    }
    bf16* dst = dqkv + (long) b * T * rs + h * HS;
    storeRows(dst + C, rs, dk, r0, T, 1.f, 1.f, lane);
    storeRows(dst + 2 * C, rs, dv, r0, T, 1.f, 1.f, lane);
}

// dQ for a tile of 64 queries (each warp 16), over the key tiles up to the diagonal (scores recomputed):
// S = Q·Kᵀ, dP = dO·Vᵀ, dQ += dS·K.
extern "C" __global__ void __launch_bounds__(128, 3) attn_bwd_dq_tc(bf16* dqkv, const float* delta, const bf16* dout,
                                                              const bf16* qkv, const float* lse, int T, int C, int NH, float scale) {
    __shared__ __align__(16) bf16 ks[TILE * LDS];
    __shared__ __align__(16) bf16 vs[TILE * LDS];
    int lane = threadIdx.x & 31, g = lane >> 2, c = (lane & 3) * 2;
    int h = blockIdx.y % NH, b = blockIdx.y / NH, q0 = blockIdx.x * TILE, r0 = q0 + (threadIdx.x >> 5) * 16;
    long rs = 3L * C, bh = blockIdx.y;
    const bf16* base = qkv + (long) b * T * rs + h * HS;
    unsigned qa[HS / 16][4], da[HS / 16][4];
    loadA(qa, base, rs, r0, T, lane);
    loadA(da, dout + (long) b * T * C + h * HS, C, r0, T, lane);
    float L[2], D[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int row = r0 + g + 8 * i;
        L[i] = row < T ? lse[bh * T + row] : 0.f;
        D[i] = row < T ? delta[bh * T + row] : 0.f;
    }
    float dq[HS / 8][4] = {};
    for (int k0 = 0; k0 < min(q0 + TILE, T); k0 += TILE) {
        __syncthreads();
        loadTile(ks, base + C, rs, k0, T);
        loadTile(vs, base + 2 * C, rs, k0, T);
        __syncthreads();
        float s[TILE / 8][4] = {}, dp[TILE / 8][4] = {};
        mmaTile(s, qa, ks, lane);
        mmaTile(dp, da, vs, lane);
#pragma unroll
        for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int key = k0 + nt * 8 + c + (e & 1), row = r0 + g + (e >> 1) * 8;
                float p = key <= row && key < T && row < T ? __expf(s[nt][e] * scale - L[e >> 1]) : 0.f;
                dp[nt][e] = p * (dp[nt][e] - D[e >> 1]) * scale;
            }
        mmaFromAcc(dq, dp, ks, lane);
    }
    storeRows(dqkv + (long) b * T * rs + h * HS, rs, dq, r0, T, 1.f, 1.f, lane);
}
#endif
