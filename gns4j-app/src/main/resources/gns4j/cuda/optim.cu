// Optimizer and whole-buffer ops on the flat fp32 parameter/gradient buffers.

extern "C" __global__ void to_bf16(bf16* dst, const float* src, long n) {
    GRID_STRIDE(i, n) dst[i] = f2bf(src[i]);
}

// x[i] uniform in [-scale, scale) from a hash of (seed, i): benchmark inputs without a host upload.
extern "C" __global__ void fill_uniform(float* x, long n, unsigned seed, float scale) {
    GRID_STRIDE(i, n) {
        unsigned h = (unsigned) i * 0x9E3779B1u ^ (unsigned) (i >> 32) * 0x85EBCA77u ^ seed;
        h ^= h >> 16;
        h *= 0x7FEB352Du;
        h ^= h >> 15;
        h *= 0x846CA68Bu;
        h ^= h >> 16;
        x[i] = ((h >> 8) * (1.f / 16777216.f) * 2.f - 1.f) * scale;
    }
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

__device__ __forceinline__ float adam1(float p, float g, float& m, float& v, float lr, float b1, float b2, float eps,
                                       float wd, float bc1, float bc2) {
    m = b1 * m + (1.f - b1) * g;
    v = b2 * v + (1.f - b2) * g * g;
    return p * (1.f - lr * wd) - lr * (m / bc1) / (sqrtf(v / bc2) + eps);
}

// AdamW (decoupled decay, PyTorch semantics) on fp32 master weights; refreshes the bf16 compute copy. bc1, bc2: bias
// corrections 1 − β^step. 16-byte accesses when the pointers are aligned for them and n % 4 == 0.
extern "C" __global__ void adamw(float* p, bf16* pb, const float* g, float* m, float* v, long n, float lr, float b1,
                                 float b2, float eps, float wd, float bc1, float bc2) {
    if (((((size_t) p | (size_t) g | (size_t) m | (size_t) v) & 15) | ((size_t) pb & 7) | (n & 3)) == 0) {
        GRID_STRIDE(j, n / 4) {
            float4 P = ((const float4*) p)[j], G = ((const float4*) g)[j], M = ((const float4*) m)[j], V = ((const float4*) v)[j];
            P.x = adam1(P.x, G.x, M.x, V.x, lr, b1, b2, eps, wd, bc1, bc2);
            P.y = adam1(P.y, G.y, M.y, V.y, lr, b1, b2, eps, wd, bc1, bc2);
            P.z = adam1(P.z, G.z, M.z, V.z, lr, b1, b2, eps, wd, bc1, bc2);
            P.w = adam1(P.w, G.w, M.w, V.w, lr, b1, b2, eps, wd, bc1, bc2);
            ((float4*) p)[j] = P;
            ((float4*) m)[j] = M;
            ((float4*) v)[j] = V;
            ((uint2*) pb)[j] = make_uint2((unsigned) f2bf(P.x) | ((unsigned) f2bf(P.y) << 16), (unsigned) f2bf(P.z) | ((unsigned) f2bf(P.w) << 16));
        }
        return;
    }
    GRID_STRIDE(i, n) {
        float mi = m[i], vi = v[i], pi = adam1(p[i], g[i], mi, vi, lr, b1, b2, eps, wd, bc1, bc2);
        m[i] = mi;
        v[i] = vi;
        p[i] = pi;
        pb[i] = f2bf(pi);
    }
}
