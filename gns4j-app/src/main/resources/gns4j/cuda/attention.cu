// Over 400 lines: both attention implementations (warp per row, any head size; tensor-core flash tiles, head sizes
// 16..64) with their shared helpers, in one file because they share the q|k|v layout and the lse/delta contract.
// Causal attention without a T×T matrix in memory, multi-head, grouped-query (KVH < NH: query head h reads kv head
// h / (NH/KVH)) or multi-query (KVH = 1); GPT-2 is KVH = NH. qkv (B,T,QKV) bf16 with QKV = (NH + 2·KVH)·HS: per token
// q (NH heads) | k (KVH heads) | v (KVH heads), head h at column h·HS of its part; dqkv has the same layout. out (B,T,C)
// bf16 with C = NH·HS; lse and delta (B,NH,T) fp32. Warp-per-row kernels: lane owns dims lane+32i.

// Row pointers of (example b, query head h): its q columns, and the k and v columns of its kv head.
struct Heads {
    const bf16 *q, *k, *v;
    long rs;
};

__device__ __forceinline__ Heads heads(const bf16* qkv, int b, int h, int T, int NH, int KVH) {
    int C = NH * HS, kh = h / (NH / KVH);
    long rs = (long) (NH + 2 * KVH) * HS;
    const bf16* row0 = qkv + (long) b * T * rs;
    return {row0 + h * HS, row0 + C + kh * HS, row0 + C + (KVH + kh) * HS, rs};
}

#define ROW_SETUP                                                                     \
    long w = (blockIdx.x * (long) blockDim.x + threadIdx.x) >> 5;                     \
    int lane = threadIdx.x & 31;                                                      \
    if (w >= (long) B * NH * T) return;                                               \
    int t = (int) (w % T);                                                            \
    long bh = w / T;                                                                  \
    int h = (int) (bh % NH), b = (int) (bh / NH);                                     \
    Heads hd = heads(qkv, b, h, T, NH, KVH);                                          \
    int C = NH * HS;

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
extern "C" __global__ void attn_fwd(bf16* out, float* lse, const bf16* qkv, int B, int T, int NH, int KVH, float scale) {
    ROW_SETUP
    float q[HL], o[HL], m = -INFINITY, l = 0.f;
    loadRow(q, hd.q + t * hd.rs, lane, scale);
#pragma unroll
    for (int i = 0; i < HL; i++) o[i] = 0.f;
    for (int u = 0; u <= t; u++) {
        const bf16 *kr = hd.k + u * hd.rs, *vr = hd.v + u * hd.rs;
        float s = dotRow(q, kr, lane), mn = fmaxf(m, s), corr = expf(m - mn), p = expf(s - mn);
        l = l * corr + p;
#pragma unroll
        for (int i = 0; i < HL; i++) {
            int d = lane + 32 * i;
            o[i] = o[i] * corr + (d < HS ? p * bf2f(vr[d]) : 0.f);
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
                                      const float* lse, int B, int T, int NH, int KVH, float scale) {
    ROW_SETUP
    long orow = ((long) b * T + t) * C + h * HS;
    float q[HL], dO[HL], dq[HL];
    loadRow(q, hd.q + t * hd.rs, lane, scale);
    loadRow(dO, dout + orow, lane, 1.f);
    float D = dotRow(dO, out + orow, lane), L = lse[bh * T + t];
#pragma unroll
    for (int i = 0; i < HL; i++) dq[i] = 0.f;
    for (int u = 0; u <= t; u++) {
        const bf16 *kr = hd.k + u * hd.rs, *vr = hd.v + u * hd.rs;
        float p = expf(dotRow(q, kr, lane) - L), ds = p * (dotRow(dO, vr, lane) - D) * scale;
#pragma unroll
        for (int i = 0; i < HL; i++) {
            int d = lane + 32 * i;
            if (d < HS) dq[i] += ds * bf2f(kr[d]);
        }
    }
    bf16* dst = dqkv + (hd.q - qkv) + t * hd.rs;
#pragma unroll
    for (int i = 0; i < HL; i++) {
        int d = lane + 32 * i;
        if (d < HS) dst[d] = f2bf(dq[i]);
    }
    if (lane == 0) delta[bh * T + t] = D;
}

// dk, dv for key row t of kv head g: the sum over the NH/KVH query heads that read it, as u ranges over the queries
// u ≥ t that see it. One warp per (example, kv head, key row).
extern "C" __global__ void attn_bwd_dkv(bf16* dqkv, const float* delta, const bf16* dout, const bf16* qkv,
                                       const float* lse, int B, int T, int NH, int KVH, float scale) {
    long w = (blockIdx.x * (long) blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31, group = NH / KVH, C = NH * HS;
    if (w >= (long) B * KVH * T) return;
    int t = (int) (w % T), g = (int) (w / T % KVH), b = (int) (w / T / KVH);
    float k[HL], v[HL], dk[HL], dv[HL];
    Heads kv = heads(qkv, b, g * group, T, NH, KVH);
    loadRow(k, kv.k + t * kv.rs, lane, scale);
    loadRow(v, kv.v + t * kv.rs, lane, 1.f);
#pragma unroll
    for (int i = 0; i < HL; i++) dk[i] = dv[i] = 0.f;
    for (int h = g * group; h < (g + 1) * group; h++) {
        Heads hd = heads(qkv, b, h, T, NH, KVH);
        long bh = (long) b * NH + h;
        for (int u = t; u < T; u++) {
            const bf16* qr = hd.q + u * hd.rs;
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
    }
    bf16 *dk_row = dqkv + (kv.k - qkv) + t * kv.rs, *dv_row = dqkv + (kv.v - qkv) + t * kv.rs;
#pragma unroll
    for (int i = 0; i < HL; i++) {
        int d = lane + 32 * i;
        if (d < HS) {
            dk_row[d] = f2bf(dk[i]);
            dv_row[d] = f2bf(dv[i]);
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

// Asynchronous global → shared copies (cp.async); ok = false zero-fills. The caller commits groups and waits.
__device__ __forceinline__ void cpAsync16(void* s, const void* g, bool ok) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"((unsigned) __cvta_generic_to_shared(s)), "l"(g), "r"(ok ? 16 : 0));
}

__device__ __forceinline__ void cpAsync4(void* s, const void* g, bool ok) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" :: "r"((unsigned) __cvta_generic_to_shared(s)), "l"(g), "r"(ok ? 4 : 0));
}

__device__ __forceinline__ void cpCommit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits until at most one committed group (the prefetch of the next tile) is still in flight.
__device__ __forceinline__ void cpWaitPrev() { asm volatile("cp.async.wait_group 1;" ::: "memory"); }

// TILE rows from r0 of a global matrix (row stride rs, HS columns) into the row-major shared tile s (stride LDS) by
// cp.async; rows ≥ T become zero. Blocks of 128 threads.
__device__ __forceinline__ void loadTile(bf16* s, const bf16* m, long rs, int r0, int T) {
    constexpr int PER_ROW = HS / 8;
#pragma unroll
    for (int j = 0; j < TILE * PER_ROW / 128; j++) {
        int i = threadIdx.x + 128 * j, r = i / PER_ROW, c = (i % PER_ROW) * 8;
        bool ok = r0 + r < T;
        cpAsync16(&s[r * LDS + c], m + (ok ? (r0 + r) * rs + c : 0), ok);
    }
}

#define LOG2E 1.4426950408889634f

__device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
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

// K/V double buffering of attn_fwd_tc and attn_bwd_dq_tc (hd: the head's columns of qkv): starts streaming key tile
// j + 1 (when j < last) into the buffers not in use, then waits until tile j is in ks[j & 1] and vs[j & 1] for the
// whole block.
__device__ __forceinline__ void nextKvTile(bf16 (*ks)[TILE * LDS], bf16 (*vs)[TILE * LDS], Heads hd, int j, int last, int T) {
    if (j < last) {
        loadTile(ks[(j + 1) & 1], hd.k, hd.rs, (j + 1) * TILE, T);
        loadTile(vs[(j + 1) & 1], hd.v, hd.rs, (j + 1) * TILE, T);
    }
    cpCommit();
    cpWaitPrev();
    __syncthreads();
}

// Grid (ceil(T/64), NH·B), query tiles in reverse so the longest rows start first. K/V tiles are double-buffered (tile
// j+1 streams in by cp.async while tile j is used); scores in log2 units; only the diagonal tile is masked (after the
// first tile every row has a finite running max, so no −∞ − −∞ arises). lse is stored in natural-log units.
extern "C" __global__ void __launch_bounds__(128, 4) attn_fwd_tc(bf16* out, float* lse, const bf16* qkv, int T, int NH, int KVH, float scale) {
    __shared__ __align__(16) bf16 ks[2][TILE * LDS];
    __shared__ __align__(16) bf16 vs[2][TILE * LDS];
    int lane = threadIdx.x & 31, g = lane >> 2, c = (lane & 3) * 2, qt = gridDim.x - 1 - blockIdx.x;
    int h = blockIdx.y % NH, b = blockIdx.y / NH, q0 = qt * TILE, r0 = q0 + (threadIdx.x >> 5) * 16, C = NH * HS;
    Heads hd = heads(qkv, b, h, T, NH, KVH);
    float sl = scale * LOG2E;
    loadTile(ks[0], hd.k, hd.rs, 0, T);
    loadTile(vs[0], hd.v, hd.rs, 0, T);
    cpCommit();
    unsigned qa[HS / 16][4];
    loadA(qa, hd.q, hd.rs, r0, T, lane);
    float o[HS / 8][4] = {}, m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    for (int j = 0; j <= qt; j++) {
        nextKvTile(ks, vs, hd, j, qt, T);
        float s[TILE / 8][4] = {};
        mmaTile(s, qa, ks[j & 1], lane);
        float mx[2] = {m[0], m[1]};
#pragma unroll
        for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int key = j * TILE + nt * 8 + c + (e & 1), row = r0 + g + (e >> 1) * 8;
                float v = s[nt][e] * sl;
                if (j == qt && (key > row || key >= T)) v = -INFINITY;
                s[nt][e] = v;
                mx[e >> 1] = fmaxf(mx[e >> 1], v);
            }
        float corr[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
            corr[i] = ex2(m[i] - mx[i]);
            l[i] *= corr[i];
            m[i] = mx[i];
        }
#pragma unroll
        for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float p = ex2(s[nt][e] - m[e >> 1]);
                s[nt][e] = p;
                l[e >> 1] += p;
            }
#pragma unroll
        for (int nt = 0; nt < HS / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) o[nt][e] *= corr[e >> 1];
        mmaFromAcc(o, s, vs[j & 1], lane);
        __syncthreads();
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
            if (r0 + g + 8 * i < T) lse[(long) blockIdx.y * T + r0 + g + 8 * i] = m[i] / LOG2E + logf(l[i]);
}

__device__ __forceinline__ float dot2(unsigned x, unsigned y) {
    return __uint_as_float(x << 16) * __uint_as_float(y << 16) + __uint_as_float(x & 0xffff0000u) * __uint_as_float(y & 0xffff0000u);
}

// dQ for a tile of 64 queries (each warp 16) over the key tiles up to the diagonal, K/V double-buffered as in the
// forward (scores recomputed): S = Q·Kᵀ, dP = dO·Vᵀ, dQ += dS·K. Also writes delta (B,NH,T) = rowsum(dO ∘ O), which
// attn_bwd_dkv_tc (launched after) reads.
extern "C" __global__ void __launch_bounds__(128, 3) attn_bwd_dq_tc(bf16* dqkv, float* delta, const bf16* dout, const bf16* out,
                                                              const bf16* qkv, const float* lse, int T, int NH, int KVH, float scale) {
    __shared__ __align__(16) bf16 ks[2][TILE * LDS];
    __shared__ __align__(16) bf16 vs[2][TILE * LDS];
    int lane = threadIdx.x & 31, g = lane >> 2, c = (lane & 3) * 2, qt = gridDim.x - 1 - blockIdx.x;
    int h = blockIdx.y % NH, b = blockIdx.y / NH, q0 = qt * TILE, r0 = q0 + (threadIdx.x >> 5) * 16;
    int C = NH * HS;
    long bh = blockIdx.y, ro = (long) b * T * C + h * HS;
    Heads hd = heads(qkv, b, h, T, NH, KVH);
    float sl = scale * LOG2E;
    loadTile(ks[0], hd.k, hd.rs, 0, T);
    loadTile(vs[0], hd.v, hd.rs, 0, T);
    cpCommit();
    unsigned qa[HS / 16][4], da[HS / 16][4];
    loadA(qa, hd.q, hd.rs, r0, T, lane);
    loadA(da, dout + ro, C, r0, T, lane);
    float L[2], D[2] = {0.f, 0.f};
    {
        unsigned oa[HS / 16][4];
        loadA(oa, out + ro, C, r0, T, lane);
#pragma unroll
        for (int kk = 0; kk < HS / 16; kk++)
#pragma unroll
            for (int e = 0; e < 4; e++) D[e & 1] += dot2(da[kk][e], oa[kk][e]);
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int row = r0 + g + 8 * i;
        D[i] += __shfl_xor_sync(0xffffffffu, D[i], 1);
        D[i] += __shfl_xor_sync(0xffffffffu, D[i], 2);
        L[i] = row < T ? lse[bh * T + row] * LOG2E : 0.f;
        if ((lane & 3) == 0 && row < T) delta[bh * T + row] = D[i];
    }
    float dq[HS / 8][4] = {};
    for (int j = 0; j <= qt; j++) {
        nextKvTile(ks, vs, hd, j, qt, T);
        float s[TILE / 8][4] = {}, dp[TILE / 8][4] = {};
        mmaTile(s, qa, ks[j & 1], lane);
        mmaTile(dp, da, vs[j & 1], lane);
#pragma unroll
        for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int key = j * TILE + nt * 8 + c + (e & 1), row = r0 + g + (e >> 1) * 8;
                float p = ex2(s[nt][e] * sl - L[e >> 1]);
                if (j == qt && (key > row || key >= T)) p = 0.f;
                dp[nt][e] = p * (dp[nt][e] - D[e >> 1]) * scale;
            }
        mmaFromAcc(dq, dp, ks[j & 1], lane);
        __syncthreads();
    }
    storeRows(dqkv + (hd.q - qkv), hd.rs, dq, r0, T, 1.f, 1.f, lane);
}

// dK, dV for a tile of 64 keys of kv head kh (each warp 16 keys, K/V fragments re-read from shared memory): the sum
// over the NH/KVH query heads that read it, each over its query tiles at or after the diagonal, with Q, dO, lse and
// delta double-buffered across tiles and heads: Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ, dV += Pᵀ·dO, dK += dSᵀ·Q. Grid (ceil(T/64),
// KVH·B). Dynamic shared memory (attnDkvSmem on the host): K, V, 2 stages of Q and dO (TILE × LDS bf16 each), 2
// stages of lse | delta (2·TILE fp32). Only a head's diagonal tile and a last tile past T are masked.
extern "C" __global__ void __launch_bounds__(128, 3) attn_bwd_dkv_tc(bf16* dqkv, const float* delta, const bf16* dout,
                                                               const bf16* qkv, const float* lse, int T, int NH, int KVH, float scale) {
    extern __shared__ __align__(16) bf16 sm[];
    bf16 *ks = sm, *vs = ks + TILE * LDS, *qs = vs + TILE * LDS, *dos = qs + 2 * TILE * LDS;
    float* stat = (float*) (dos + 2 * TILE * LDS);
    int lane = threadIdx.x & 31, g = lane >> 2, c = (lane & 3) * 2, w = threadIdx.x >> 5, C = NH * HS, group = NH / KVH;
    int kh = blockIdx.y % KVH, b = blockIdx.y / KVH, k0 = blockIdx.x * TILE, r0 = k0 + w * 16, nq = (T - k0 + TILE - 1) / TILE;
    Heads kv = heads(qkv, b, kh * group, T, NH, KVH);
    float sl = scale * LOG2E;
    // iteration it: query head kh·group + it / nq, its query tile it % nq counted from the diagonal one
    auto stage = [&](int it, int st) {
        int h = kh * group + it / nq, q0 = k0 + it % nq * TILE;
        long bh = (long) b * NH + h;
        loadTile(qs + st * TILE * LDS, heads(qkv, b, h, T, NH, KVH).q, kv.rs, q0, T);
        loadTile(dos + st * TILE * LDS, dout + (long) b * T * C + h * HS, C, q0, T);
        int i = threadIdx.x & (TILE - 1);
        bool ok = q0 + i < T;
        cpAsync4(stat + (2 * st + threadIdx.x / TILE) * TILE + i, (threadIdx.x < TILE ? lse : delta) + (ok ? bh * T + q0 + i : 0), ok);
    };
    loadTile(ks, kv.k, kv.rs, k0, T);
    loadTile(vs, kv.v, kv.rs, k0, T);
    stage(0, 0);
    cpCommit();
    float dk[HS / 8][4] = {}, dv[HS / 8][4] = {};
    for (int it = 0; it < nq * group; it++) {
        int j = it % nq, q0 = k0 + j * TILE, st = it & 1;
        if (it + 1 < nq * group) stage(it + 1, st ^ 1);
        cpCommit();
        cpWaitPrev();
        __syncthreads();
        const bf16 *qt = qs + st * TILE * LDS, *dt = dos + st * TILE * LDS;
        const float *ls = stat + 2 * st * TILE, *ds = ls + TILE;
        float sT[TILE / 8][4] = {}, dpT[TILE / 8][4] = {};
        {
            unsigned a[HS / 16][4];
            loadAShared(a, ks + w * 16 * LDS, lane);
            mmaTile(sT, a, qt, lane);
            loadAShared(a, vs + w * 16 * LDS, lane);
            mmaTile(dpT, a, dt, lane);
        }
        bool edge = j == 0 || q0 + TILE > T;
#pragma unroll
        for (int nt = 0; nt < TILE / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int qi = nt * 8 + c + (e & 1), key = r0 + g + (e >> 1) * 8;
                float p = ex2(sT[nt][e] * sl - ls[qi] * LOG2E);
                if (edge && (q0 + qi < key || q0 + qi >= T || key >= T)) p = 0.f;
                sT[nt][e] = p;
                dpT[nt][e] = p * (dpT[nt][e] - ds[qi]) * scale;
            }
        mmaFromAcc(dv, sT, dt, lane);
        mmaFromAcc(dk, dpT, qt, lane);
        __syncthreads();
    }
    storeRows(dqkv + (kv.k - qkv), kv.rs, dk, r0, T, 1.f, 1.f, lane);
    storeRows(dqkv + (kv.v - qkv), kv.rs, dv, r0, T, 1.f, 1.f, lane);
}
#endif
