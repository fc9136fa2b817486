// Linear-layer per-example weight-gradient norms (simultaneous method) and the tied embedding/head.

#define MAX_CHUNK 8

__device__ __forceinline__ float toF(float x) { return x; }
__device__ __forceinline__ float toF(bf16 x) { return bf2f(x); }
__device__ __forceinline__ void load16(const float* p, float* f) {
    float4 v = *(const float4*) p;
    f[0] = v.x, f[1] = v.y, f[2] = v.z, f[3] = v.w;
}
__device__ __forceinline__ void load16(const bf16* p, float* f) { unpack8(*(const uint4*) p, f); }

// ws (nb, NK) per-example gradients of one chunk of nb ≤ MAX_CHUNK examples (V per 16 bytes: fp32 V = 4, bf16 V = 8)
// → grad (NK) += scale·Σ_b ws_b and sq[b] += |ws_b|², one read of ws in 16-byte loads (one element at a time when
// V does not divide NK).
template <typename T, int V>
__device__ void peReduce(float* grad, double* sq, const T* ws, int nb, long NK, float scale) {
    float q[MAX_CHUNK];
#pragma unroll
    for (int b = 0; b < MAX_CHUNK; b++) q[b] = 0.f;
    if (NK % V == 0) {
        GRID_STRIDE(j, NK / V) {
            float s[V];
#pragma unroll
            for (int k = 0; k < V; k++) s[k] = 0.f;
#pragma unroll
            for (int b = 0; b < MAX_CHUNK; b++)
                if (b < nb) {
                    float f[V];
                    load16(ws + b * NK + j * V, f);
#pragma unroll
                    for (int k = 0; k < V; k++) {
                        s[k] += f[k];
                        q[b] += f[k] * f[k];
                    }
                }
#pragma unroll
            for (int k = 0; k < V; k++) grad[j * V + k] += scale * s[k];
        }
    } else {
        GRID_STRIDE(i, NK) {
            float s = 0.f;
#pragma unroll
            for (int b = 0; b < MAX_CHUNK; b++)
                if (b < nb) {
                    float v = toF(ws[b * NK + i]);
                    s += v;
                    q[b] += v * v;
                }
            grad[i] += scale * s;
        }
    }
#pragma unroll
    for (int b = 0; b < MAX_CHUNK; b++)
        if (b < nb) {
            float t = blockSum(q[b]);
            if (threadIdx.x == 0) atomicAdd(sq + b, (double) t);
        }
}

extern "C" __global__ void pe_reduce(float* grad, double* sq, const float* ws, int nb, long NK, float scale) {
    peReduce<float, 4>(grad, sq, ws, nb, NK, scale);
}

extern "C" __global__ void pe_reduce_bf16(float* grad, double* sq, const bf16* ws, int nb, long NK, float scale) {
    peReduce<bf16, 8>(grad, sq, ws, nb, NK, scale);
}

// Tied embedding/head: adds each example's embedding scatter into its head gradient, ws (nb, V, C) += scatter of
// dy (nb·T, C) at rows ids (nb·T); n = nb·T·C, VC = V·C.
extern "C" __global__ void embed_scatter_pe(float* ws, const float* dy, const int* ids, int T, int C, long VC, long n) {
    GRID_STRIDE(i, n) {
        long r = i / C;
        atomicAdd(&ws[(r / T) * VC + (long) ids[r] * C + i % C], dy[i]);
    }
}
