// LayerNorm (mean != null) and RMSNorm over C channels. x (R,C) fp32 residual stream, y (R,C) bf16.

// One warp per row; saves mean (LayerNorm only) and rstd (R) for backward. bias may be null.
extern "C" __global__ void norm_fwd(bf16* y, float* mean, float* rstd, const float* x, const float* g,
                                   const float* bias, int R, int C) {
    int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (r >= R) return;
    const float* xr = x + (long) r * C;
    float m = 0.f;
    if (mean) {
        float s = 0.f;
        for (int c = lane; c < C; c += 32) s += xr[c];
        m = warpSum(s) / C;
    }
    float v = 0.f;
    for (int c = lane; c < C; c += 32) {
        float d = xr[c] - m;
        v += d * d;
    }
    float s = rsqrtf(warpSum(v) / C + 1e-5f);
    for (int c = lane; c < C; c += 32) {
        float o = (xr[c] - m) * s * g[c];
        y[(long) r * C + c] = f2bf(bias ? o + bias[c] : o);
    }
    if (lane == 0) {
        if (mean) mean[r] = m;
        rstd[r] = s;
    }
}

// Backward for a tile of `rows` tokens of one example: grid (ceil(T/rows), B), dynamic smem 2·C floats.
// dx (R,C) += dL/dx and dxb = bf16(dx); per-example partials pg (B,C) += Σ_t dy ⊙ x̂ and pb (B,C) += Σ_t dy
// (pb null without β), accumulated while dy and x̂ are read for dx anyway.
extern "C" __global__ void norm_bwd(float* dx, bf16* dxb, float* pg, float* pb, const float* dy, const float* x,
                                   const float* mean, const float* rstd, const float* g, int T, int C, int rows) {
    extern __shared__ float sh[];
    float *sg = sh, *sb = sh + C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) sg[c] = sb[c] = 0.f;
    __syncthreads();
    int b = blockIdx.y, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    int t1 = min(T, (int) (blockIdx.x + 1) * rows);
    for (int t = blockIdx.x * rows + (threadIdx.x >> 5); t < t1; t += nw) {
        long r = (long) b * T + t, o = r * C;
        float m = mean ? mean[r] : 0.f, s = rstd[r], sd = 0.f, sdx = 0.f;
        for (int c = lane; c < C; c += 32) {
            float xh = (x[o + c] - m) * s, d = dy[o + c];
            sd += d * g[c];
            sdx += d * g[c] * xh;
            atomicAdd(&sg[c], d * xh);
            if (pb) atomicAdd(&sb[c], d);
        }
        sd = mean ? warpSum(sd) / C : 0.f;
        sdx = warpSum(sdx) / C;
        for (int c = lane; c < C; c += 32) {
            float xh = (x[o + c] - m) * s;
            float v = dx[o + c] + s * (dy[o + c] * g[c] - sd - xh * sdx);
            dx[o + c] = v;
            dxb[o + c] = f2bf(v);
        }
    }
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        atomicAdd(&pg[(long) b * C + c], sg[c]);
        if (pb) atomicAdd(&pb[(long) b * C + c], sb[c]);
    }
}

// Per-example partials part (B,C) → grad (C) += scale·Σ_b part_b and sq[b] += |part_b|² (sq null: untracked).
// Also reduces the Linear bias partials of bias_partial (C = N there).
extern "C" __global__ void norm_wgrad(float* grad, double* sq, const float* part, int B, int C, float scale) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    float s = 0.f;
    for (int b = 0; b < B; b++) {
        float v = c < C ? part[(long) b * C + c] : 0.f;
        s += v;
        if (sq) {
            float q = blockSum(v * v);
            if (threadIdx.x == 0) atomicAdd(sq + b, (double) q);
        }
    }
    if (c < C) grad[c] += scale * s;
}
