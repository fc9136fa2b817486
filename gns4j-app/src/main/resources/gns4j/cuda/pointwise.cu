// Pointwise ops and bias handling. n = element count, N = row width (bias length).

#define GELU_K 0.7978845608028654f

__device__ __forceinline__ float gelu(float v) { return 0.5f * v * (1.f + tanhf(GELU_K * (v + 0.044715f * v * v * v))); }

__device__ __forceinline__ float geluGrad(float v) {
    float th = tanhf(GELU_K * (v + 0.044715f * v * v * v));
    return 0.5f * (1.f + th) + 0.5f * v * (1.f - th * th) * GELU_K * (1.f + 3.f * 0.044715f * v * v);
}

// x (R,N) bf16 pre-activation: adds bias in place (bias may be null), out = GELU_tanh(x). 16-byte words when
// n and N are multiples of 8.
extern "C" __global__ void gelu_fwd(bf16* out, bf16* x, const float* bias, long n, int N) {
    if ((n & 7) == 0 && (N & 7) == 0) {
        GRID_STRIDE(j, n / 8) {
            float f[8];
            unpack8(((const uint4*) x)[j], f);
            if (bias) {
                int c = (int) (8 * j % N);
#pragma unroll
                for (int k = 0; k < 8; k++) f[k] += bias[c + k];
                uint4 u = pack8(f);
                ((uint4*) x)[j] = u;
                unpack8(u, f);
            }
#pragma unroll
            for (int k = 0; k < 8; k++) f[k] = gelu(f[k]);
            ((uint4*) out)[j] = pack8(f);
        }
        return;
    }
    GRID_STRIDE(i, n) {
        float v = bf2f(x[i]);
        if (bias) {
            x[i] = f2bf(v + bias[i % N]);
            v = bf2f(x[i]);
        }
        out[i] = f2bf(gelu(v));
    }
}

// dx = GELU'(x)·dout; dx may alias dout.
extern "C" __global__ void gelu_bwd(bf16* dx, const bf16* x, const bf16* dout, long n) {
    if ((n & 7) == 0) {
        GRID_STRIDE(j, n / 8) {
            float f[8], d[8];
            unpack8(((const uint4*) x)[j], f);
            unpack8(((const uint4*) dout)[j], d);
#pragma unroll
            for (int k = 0; k < 8; k++) d[k] *= geluGrad(f[k]);
            ((uint4*) dx)[j] = pack8(d);
        }
        return;
    }
    GRID_STRIDE(i, n) dx[i] = f2bf(geluGrad(bf2f(x[i])) * bf2f(dout[i]));
}

// Per-example bias gradients part (B,N) += Σ_t dy_bt over tiles of `rows` tokens (zero on entry; reduced to the
// gradient and norms, and zeroed again, by norm_wgrad); dy (B,T,N) bf16. Grid (x, B·tiles), tiles = ceil(T/rows); thread n of x owns
// columns 2n, 2n + 1 (4-byte loads, a warp reading whole 128-byte lines) when N is even, else column n.
extern "C" __global__ void bias_partial(float* part, const bf16* dy, int T, int N, int rows, int tiles) {
    int n = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y / tiles, t0 = blockIdx.y % tiles * rows;
    int t1 = min(T, t0 + rows);
    if ((N & 1) == 0) {
        if (2 * n >= N) return;
        float s0 = 0.f, s1 = 0.f;
#pragma unroll 8
        for (int t = t0; t < t1; t++) {
            unsigned u = *(const unsigned*) (dy + ((long) b * T + t) * N + 2 * n);
            s0 += __uint_as_float(u << 16);
            s1 += __uint_as_float(u & 0xffff0000u);
        }
        atomicAdd(part + (long) b * N + 2 * n, s0);
        atomicAdd(part + (long) b * N + 2 * n + 1, s1);
        return;
    }
    if (n >= N) return;
    float s = 0.f;
    for (int t = t0; t < t1; t++) s += bf2f(dy[((long) b * T + t) * N + n]);
    atomicAdd(part + (long) b * N + n, s);
}
