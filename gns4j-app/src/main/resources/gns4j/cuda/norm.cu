// LayerNorm (mean != null) and RMSNorm over C channels. x (R,C) fp32 residual stream, y (R,C) bf16.

// Four floats at column c of a row (16-byte access when C % 4 == 0); columns ≥ C read as zero / are not written.
__device__ __forceinline__ void ld4(float* f, const float* row, int c, int C, bool vec) {
    if (vec) {
        float4 v = c < C ? *(const float4*) (row + c) : make_float4(0.f, 0.f, 0.f, 0.f);
        f[0] = v.x, f[1] = v.y, f[2] = v.z, f[3] = v.w;
    } else
#pragma unroll
        for (int k = 0; k < 4; k++) f[k] = c + k < C ? row[c + k] : 0.f;
}

__device__ __forceinline__ void st4(float* row, const float* f, int c, int C, bool vec) {
    if (vec) {
        if (c < C) *(float4*) (row + c) = make_float4(f[0], f[1], f[2], f[3]);
    } else
#pragma unroll
        for (int k = 0; k < 4; k++)
            if (c + k < C) row[c + k] = f[k];
}

__device__ __forceinline__ void st4(bf16* row, const float* f, int c, int C, bool vec) {
    if (vec) {
        if (c < C) *(uint2*) (row + c) = make_uint2((unsigned) f2bf(f[0]) | ((unsigned) f2bf(f[1]) << 16), (unsigned) f2bf(f[2]) | ((unsigned) f2bf(f[3]) << 16));
    } else
#pragma unroll
        for (int k = 0; k < 4; k++)
            if (c + k < C) row[c + k] = f2bf(f[k]);
}

// Two kernel variants (NormKernels.Variant on the host): "row" (norm_fwd, norm_bwd) and "pipe" (norm_fwd_reg*,
// norm_bwd_pipe). C > 4096 uses norm_bwd_wide in both, and forward norm_fwd (row) or norm_fwd_wide (pipe).

// Row variant: one warp per row, lane owning columns 4·lane + 128i (16-byte loads when C % 4 == 0), three passes over
// the row (mean, variance, output; the later two mostly from cache); saves mean (LayerNorm only) and rstd (R) for
// backward. bias may be null.
extern "C" __global__ void norm_fwd(bf16* y, float* mean, float* rstd, const float* x, const float* g,
                                   const float* bias, int R, int C) {
    int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (r >= R) return;
    bool vec = (C & 3) == 0;
    const float* xr = x + (long) r * C;
    float m = 0.f, f[4];
    if (mean) {
        float s = 0.f;
        for (int c = 4 * lane; c < C; c += 128) {
            ld4(f, xr, c, C, vec);
            s += f[0] + f[1] + f[2] + f[3];
        }
        m = warpSum(s) / C;
    }
    float v = 0.f;
    for (int c = 4 * lane; c < C; c += 128) {
        ld4(f, xr, c, C, vec);
#pragma unroll
        for (int k = 0; k < 4; k++)
            if (c + k < C) v += (f[k] - m) * (f[k] - m);
    }
    float s = rsqrtf(warpSum(v) / C + 1e-5f);
    for (int c = 4 * lane; c < C; c += 128) {
        float gv[4], bv[4] = {};
        ld4(f, xr, c, C, vec);
        ld4(gv, g, c, C, vec);
        if (bias) ld4(bv, bias, c, C, vec);
#pragma unroll
        for (int k = 0; k < 4; k++) f[k] = (f[k] - m) * s * gv[k] + bv[k];
        st4(y + (long) r * C, f, c, C, vec);
    }
    if (lane == 0) {
        if (mean) mean[r] = m;
        rstd[r] = s;
    }
}

// Pipe variant forward, one row held in registers: the thread owns columns c0 + stride·v (v < NV), so x is read from
// memory once and all of a row's loads are in flight together; mean and variance in two passes over the registers,
// summed over the warp (norm_fwd_reg<NV>: warp per row, c0 = 4·lane, stride 128, C ≤ 128·NV; 128-thread blocks) or
// the block (norm_fwd_wide: 256-thread block per row, c0 = 4·thread, stride 1024, NV 8, 4096 < C ≤ 8192).
template <int NV, bool BLOCK>
__device__ __forceinline__ void normFwdRow(bf16* y, float* mean, float* rstd, const float* x, const float* g,
                                           const float* bias, int r, int C, int c0, int stride) {
    bool vec = (C & 3) == 0;
    const float* xr = x + (long) r * C;
    float f[NV][4], m = 0.f, v = 0.f;
#pragma unroll
    for (int i = 0; i < NV; i++) ld4(f[i], xr, c0 + stride * i, C, vec);
    if (mean) {
#pragma unroll
        for (int i = 0; i < NV; i++) m += f[i][0] + f[i][1] + f[i][2] + f[i][3];
        m = (BLOCK ? blockSum(m) : warpSum(m)) / C;
    }
#pragma unroll
    for (int i = 0; i < NV; i++)
#pragma unroll
        for (int k = 0; k < 4; k++)
            if (c0 + stride * i + k < C) v += (f[i][k] - m) * (f[i][k] - m);
    float s = rsqrtf((BLOCK ? blockSum(v) : warpSum(v)) / C + 1e-5f);
#pragma unroll
    for (int i = 0; i < NV; i++) {
        int c = c0 + stride * i;
        float gv[4], bv[4] = {};
        ld4(gv, g, c, C, vec);
        if (bias) ld4(bv, bias, c, C, vec);
#pragma unroll
        for (int k = 0; k < 4; k++) f[i][k] = (f[i][k] - m) * s * gv[k] + bv[k];
        st4(y + (long) r * C, f[i], c, C, vec);
    }
    if (c0 == 0) {
        if (mean) mean[r] = m;
        rstd[r] = s;
    }
}

// NormKernels.FWD_REG_NV lists these widths (C ≤ 128·NV).
#define NORM_FWD_REG(NV)                                                                                              \
    extern "C" __global__ void __launch_bounds__(128) norm_fwd_reg##NV(bf16* y, float* mean, float* rstd, const float* x, \
                                                                      const float* g, const float* bias, int R, int C) { \
        int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);                                                 \
        if (r < R) normFwdRow<NV, false>(y, mean, rstd, x, g, bias, r, C, 4 * (threadIdx.x & 31), 128);              \
    }
NORM_FWD_REG(1)
NORM_FWD_REG(2)
NORM_FWD_REG(4)
NORM_FWD_REG(6)
NORM_FWD_REG(8)
NORM_FWD_REG(12)
NORM_FWD_REG(16)
NORM_FWD_REG(24)
NORM_FWD_REG(32)

extern "C" __global__ void __launch_bounds__(256) norm_fwd_wide(bf16* y, float* mean, float* rstd, const float* x,
                                                                const float* g, const float* bias, int R, int C) {
    normFwdRow<8, true>(y, mean, rstd, x, g, bias, blockIdx.x, C, 4 * threadIdx.x, 1024);
}

// Backward for `rows` tokens of one example per block, one row at a time: grid (ceil(T/rows), B), blockDim ≤ 512 and
// blockDim·4·NV ≥ C (norm_bwd, norm_bwd_pipe: NV = 2, C ≤ 4096; norm_bwd_wide: NV = 4, C ≤ 8192). Thread i owns
// columns 4i + 4·blockDim·v (v < NV), so its per-example partials stay in registers over the rows; one barrier per row
// (the row sums alternate between two shared slots). dx (R,C) += dL/dx and dxb = bf16(dx); pg (B,C) += Σ_t dy ⊙ x̂ and
// pb (B,C) += Σ_t dy (pb null without β), accumulated from the dy and x̂ that dx needs anyway: one read of dy, x and dx,
// one write of dx and dxb. Row variant (PIPE false): a row's loads (dx read with x and dy) are all in flight at once,
// then wait; memory idles while the block reduces and crosses the barrier. Pipe variant: row t+1's loads are issued
// before row t's reduction, so they are in flight across its barrier and stores (twice the data registers).
template <int NV, bool PIPE>
__device__ void normBwd(float* dx, bf16* dxb, float* pg, float* pb, const float* dy, const float* x,
                        const float* mean, const float* rstd, const float* g, int T, int C, int rows) {
    __shared__ float red[2][2][32];
    int b = blockIdx.y, lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    bool vec = (C & 3) == 0;
    int col[NV];
    float gv[NV][4], ag[NV][4] = {}, ab[NV][4] = {};
#pragma unroll
    for (int v = 0; v < NV; v++) {
        col[v] = 4 * (int) (threadIdx.x + v * blockDim.x);
        ld4(gv[v], g, col[v], C, vec);
    }
    // One row's inputs as loaded: x, dy, dx, mean, rstd.
    float xn[NV][4], dn[NV][4], an[NV][4], mn, sn;
    auto fetch = [&](int t) {
        long r = (long) b * T + t, o = r * C;
#pragma unroll
        for (int v = 0; v < NV; v++) {
            ld4(xn[v], x + o, col[v], C, vec);
            ld4(dn[v], dy + o, col[v], C, vec);
            ld4(an[v], dx + o, col[v], C, vec);
        }
        mn = mean ? mean[r] : 0.f;
        sn = rstd[r];
    };
    int t0 = blockIdx.x * rows, t1 = min(T, t0 + rows);
    if (PIPE && t0 < t1) fetch(t0);
    for (int t = t0; t < t1; t++) {
        if (!PIPE) fetch(t);
        float xh[NV][4], d[NV][4], acc[NV][4], m = mn, s = sn, sd = 0.f, sdx = 0.f;
#pragma unroll
        for (int v = 0; v < NV; v++)
#pragma unroll
            for (int k = 0; k < 4; k++) xh[v][k] = xn[v][k], d[v][k] = dn[v][k], acc[v][k] = an[v][k];
        if (PIPE && t + 1 < t1) fetch(t + 1);
        long o = ((long) b * T + t) * C;
#pragma unroll
        for (int v = 0; v < NV; v++)
#pragma unroll
            for (int k = 0; k < 4; k++) {
                xh[v][k] = (xh[v][k] - m) * s;
                float dg = d[v][k] * gv[v][k];
                sd += dg;
                sdx += dg * xh[v][k];
                ag[v][k] += d[v][k] * xh[v][k];
                ab[v][k] += d[v][k];
            }
        sd = warpSum(sd);
        sdx = warpSum(sdx);
        float (*rd)[32] = red[t & 1];
        if (lane == 0) {
            rd[0][w] = sd;
            rd[1][w] = sdx;
        }
        __syncthreads();
        sd = sdx = 0.f;
        for (int i = 0; i < nw; i++) {
            sd += rd[0][i];
            sdx += rd[1][i];
        }
        sd = mean ? sd / C : 0.f;
        sdx /= C;
#pragma unroll
        for (int v = 0; v < NV; v++) {
#pragma unroll
            for (int k = 0; k < 4; k++) acc[v][k] += s * (d[v][k] * gv[v][k] - sd - xh[v][k] * sdx);
            st4(dx + o, acc[v], col[v], C, vec);
            st4(dxb + o, acc[v], col[v], C, vec);
        }
    }
#pragma unroll
    for (int v = 0; v < NV; v++)
#pragma unroll
        for (int k = 0; k < 4; k++)
            if (col[v] + k < C) {
                atomicAdd(&pg[(long) b * C + col[v] + k], ag[v][k]);
                if (pb) atomicAdd(&pb[(long) b * C + col[v] + k], ab[v][k]);
            }
}

#define NORM_BWD(NAME, NV, PIPE)                                                                                         \
    extern "C" __global__ void __launch_bounds__(512) NAME(float* dx, bf16* dxb, float* pg, float* pb, const float* dy,  \
            const float* x, const float* mean, const float* rstd, const float* g, int T, int C, int rows) {              \
        normBwd<NV, PIPE>(dx, dxb, pg, pb, dy, x, mean, rstd, g, T, C, rows);                                           \
    }
NORM_BWD(norm_bwd, 2, false)
NORM_BWD(norm_bwd_wide, 4, false)
NORM_BWD(norm_bwd_pipe, 2, true)

// Per-example partials part (B,C) → grad (C) += scale·Σ_b part_b and sq[b] += |part_b|² (sq null: untracked), and
// zeroes part for its next accumulation. Also reduces the Linear bias partials of bias_partial (C = N there).
extern "C" __global__ void norm_wgrad(float* grad, double* sq, float* part, int B, int C, float scale) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    float s = 0.f;
    for (int b = 0; b < B; b++) {
        float v = 0.f;
        if (c < C) {
            v = part[(long) b * C + c];
            part[(long) b * C + c] = 0.f;
        }
        s += v;
        if (sq) {
            float q = blockSum(v * v);
            if (threadIdx.x == 0) atomicAdd(sq + b, (double) q);
        }
    }
    if (c < C) grad[c] += scale * s;
}
