// Pointwise ops and bias handling. n = element count, N = row width (bias length).

#define GELU_K 0.7978845608028654f

// x (R,N) bf16 pre-activation: adds bias in place (bias may be null), out = GELU_tanh(x).
extern "C" __global__ void gelu_fwd(bf16* out, bf16* x, const float* bias, long n, int N) {
    GRID_STRIDE(i, n) {
        float v = bf2f(x[i]);
        if (bias) {
            x[i] = f2bf(v + bias[i % N]);
            v = bf2f(x[i]);
        }
        out[i] = f2bf(0.5f * v * (1.f + tanhf(GELU_K * (v + 0.044715f * v * v * v))));
    }
}

// dx = GELU'(x)·dout; dx may alias dout.
extern "C" __global__ void gelu_bwd(bf16* dx, const bf16* x, const bf16* dout, long n) {
    GRID_STRIDE(i, n) {
        float v = bf2f(x[i]), th = tanhf(GELU_K * (v + 0.044715f * v * v * v));
        float local = 0.5f * (1.f + th) + 0.5f * v * (1.f - th * th) * GELU_K * (1.f + 3.f * 0.044715f * v * v);
        dx[i] = f2bf(local * bf2f(dout[i]));
    }
}

extern "C" __global__ void bias_add_bf16(bf16* y, const float* bias, long n, int N) {
    GRID_STRIDE(i, n) y[i] = f2bf(bf2f(y[i]) + bias[i % N]);
}

extern "C" __global__ void bias_add_f32(float* y, const float* bias, long n, int N) {
    GRID_STRIDE(i, n) y[i] += bias[i % N];
}

// Bias gradient with per-example norms: db_b = Σ_t dy_bt; grad += scale·Σ_b db_b, sq[b] += |db_b|² (sq may be
// null). Grid (ceil(N/blockDim), B); dy (B,T,N) bf16.
extern "C" __global__ void bias_grad(float* grad, double* sq, const bf16* dy, int T, int N, float scale) {
    int n = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
    float s = 0.f;
    if (n < N) {
        for (int t = 0; t < T; t++) s += bf2f(dy[((long) b * T + t) * N + n]);
        atomicAdd(grad + n, scale * s);
    }
    if (sq) {
        s = blockSum(s * s);
        if (threadIdx.x == 0) atomicAdd(sq + b, (double) s);
    }
}
