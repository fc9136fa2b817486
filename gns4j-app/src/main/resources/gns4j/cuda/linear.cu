// Linear-layer per-example weight-gradient norms (simultaneous method) and the tied embedding/head.

#define MAX_CHUNK 8

// ws (nb, NK) bf16 per-example gradients of one chunk of nb ≤ MAX_CHUNK examples → grad (NK) += scale·Σ_b ws_b and
// sq[b] += |ws_b|², one read of ws in 16-byte loads (one element at a time when NK % 8 != 0).
extern "C" __global__ void pe_reduce(float* grad, double* sq, const bf16* ws, int nb, long NK, float scale) {
    float q[MAX_CHUNK];
#pragma unroll
    for (int b = 0; b < MAX_CHUNK; b++) q[b] = 0.f;
    if (NK % 8 == 0) {
        GRID_STRIDE(j, NK / 8) {
            float s[8];
#pragma unroll
            for (int k = 0; k < 8; k++) s[k] = 0.f;
#pragma unroll
            for (int b = 0; b < MAX_CHUNK; b++)
                if (b < nb) {
                    float f[8];
                    unpack8(*(const uint4*) (ws + b * NK + j * 8), f);
#pragma unroll
                    for (int k = 0; k < 8; k++) {
                        s[k] += f[k];
                        q[b] += f[k] * f[k];
                    }
                }
#pragma unroll
            for (int k = 0; k < 8; k++) grad[j * 8 + k] += scale * s[k];
        }
    } else {
        GRID_STRIDE(i, NK) {
            float s = 0.f;
#pragma unroll
            for (int b = 0; b < MAX_CHUNK; b++)
                if (b < nb) {
                    float v = bf2f(ws[b * NK + i]);
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

// Tied embedding/head cross term: sq[b] += 2·Σ_t ⟨H_b[id_bt], dy_bt⟩ for H (nb, V, C) the head's per-example bf16
// gradients (VC = V·C apart) and dy (nb·T, C) the residual gradient at the embedding, so that with |H_b|² (pe_reduce)
// and |S_b|² of the embedding scatter (embed_group_sq) sq[b] = |H_b + S_b|². One warp per token; grid (ceil(T/8), nb).
extern "C" __global__ void tied_cross(double* sq, const bf16* ws, const float* dy, const int* ids, int T, int C, long VC) {
    int t = blockIdx.x * 8 + (threadIdx.x >> 5), b = blockIdx.y, lane = threadIdx.x & 31;
    float s = 0.f;
    if (t < T) {
        long r = (long) b * T + t;
        const bf16* h = ws + b * VC + (long) ids[r] * C;
        for (int c = lane; c < C; c += 32) s += bf2f(h[c]) * dy[r * C + c];
    }
    s = blockSum(s);
    if (threadIdx.x == 0) atomicAdd(sq + b, 2.0 * s);
}
