// Optimizer and whole-buffer ops on the flat fp32 parameter/gradient buffers.

extern "C" __global__ void to_bf16(bf16* dst, const float* src, long n) {
    GRID_STRIDE(i, n) dst[i] = f2bf(src[i]);
}

extern "C" __global__ void scale_f32(float* x, long n, float f) {
    GRID_STRIDE(i, n) x[i] *= f;
}

// out[s] += Σ x² over segment s = [off[s], off[s+1]); grid (blocks, segments).
extern "C" __global__ void sumsq_segments(double* out, const float* x, const long* off) {
    long a = off[blockIdx.y], e = off[blockIdx.y + 1];
    float s = 0.f;
    for (long i = a + blockIdx.x * (long) blockDim.x + threadIdx.x; i < e; i += (long) gridDim.x * blockDim.x)
        s += x[i] * x[i];
    s = blockSum(s);
    if (threadIdx.x == 0) atomicAdd(out + blockIdx.y, (double) s);
}

// AdamW (decoupled decay, PyTorch semantics) on fp32 master weights; refreshes the bf16 compute copy.
// bc1, bc2: bias corrections 1 − β^step.
extern "C" __global__ void adamw(float* p, bf16* pb, const float* g, float* m, float* v, long n, float lr, float b1,
                                 float b2, float eps, float wd, float bc1, float bc2) {
    GRID_STRIDE(i, n) {
        float gi = g[i], mi = b1 * m[i] + (1.f - b1) * gi, vi = b2 * v[i] + (1.f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float pi = p[i] * (1.f - lr * wd) - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
        p[i] = pi;
        pb[i] = f2bf(pi);
    }
}
