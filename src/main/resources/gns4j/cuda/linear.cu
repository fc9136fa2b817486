// Linear-layer per-example weight-gradient norms (simultaneous method) and the tied embedding/head.

#define MAX_CHUNK 8

// ws (nb, NK) fp32 per-example gradients of one chunk of nb ≤ MAX_CHUNK examples → grad (NK) += scale·Σ_b ws_b and
// sq[b] += |ws_b|², one read of ws.
extern "C" __global__ void pe_reduce(float* grad, double* sq, const float* ws, int nb, long NK, float scale) {
    float q[MAX_CHUNK];
#pragma unroll
    for (int b = 0; b < MAX_CHUNK; b++) q[b] = 0.f;
    GRID_STRIDE(i, NK) {
        float s = 0.f;
#pragma unroll
        for (int b = 0; b < MAX_CHUNK; b++)
            if (b < nb) {
                float v = ws[b * NK + i];
                s += v;
                q[b] += v * v;
            }
        grad[i] += scale * s;
    }
#pragma unroll
    for (int b = 0; b < MAX_CHUNK; b++)
        if (b < nb) {
            float t = blockSum(q[b]);
            if (threadIdx.x == 0) atomicAdd(sq + b, (double) t);
        }
}

// Tied embedding/head: adds each example's embedding scatter into its head gradient, ws (nb, V, C) += scatter of
// dy (nb·T, C) at rows ids (nb·T); n = nb·T·C, VC = V·C.
extern "C" __global__ void embed_scatter_pe(float* ws, const float* dy, const int* ids, int T, int C, long VC, long n) {
    GRID_STRIDE(i, n) {
        long r = i / C;
        atomicAdd(&ws[(r / T) * VC + (long) ids[r] * C + i % C], dy[i]);
    }
}
