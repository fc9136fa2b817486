// What a Llama block computes besides the shared kernels: rotary position embeddings on the q and k heads of the
// fused projection's output, and the SwiGLU gate. qkv (R, QKV) bf16 with QKV = (NH + 2·KVH)·HS as in attention.cu;
// gu (R, 2F) bf16: gate | up of the fused gate/up projection; act (R, F) bf16.

// Turns the NH query and KVH key heads of every row in place by RoPE (transformers' rotate_half: pair i of a head is
// (i, i + HS/2)), row r at position r mod T; inverse turns back by the transposed rotation, which is backward's map
// from the gradient of turned q|k to that of q|k. cos and sin (positions, HS/2) fp32. One thread per pair.
extern "C" __global__ void rope_qk(bf16* qkv, const float* cos, const float* sin, int T, int NH, int KVH, long R,
                                   int inverse) {
    const int half = HS / 2;
    int heads = NH + KVH;
    long rs = (long) (NH + 2 * KVH) * HS;
    GRID_STRIDE(i, R * heads * half) {
        int pair = (int) (i % half);
        long rh = i / half, r = rh / heads;
        int p = (int) (r % T);
        bf16* x = qkv + r * rs + (rh % heads) * HS + pair;
        float c = cos[p * half + pair], s = inverse ? -sin[p * half + pair] : sin[p * half + pair];
        float a = bf2f(x[0]), b = bf2f(x[half]);
        x[0] = f2bf(a * c - b * s);
        x[half] = f2bf(b * c + a * s);
    }
}

__device__ __forceinline__ float sigmoid(float x) { return 1.f / (1.f + __expf(-x)); }

// act = silu(gate) ⊙ up, silu(g) = g·σ(g); 16-byte words when F % 8 == 0.
extern "C" __global__ void swiglu_fwd(bf16* act, const bf16* gu, long R, int F) {
    if ((F & 7) == 0) {
        int words = F / 8;
        GRID_STRIDE(j, R * words) {
            long r = j / words, c = 8 * (j % words);
            float g[8], u[8];
            unpack8(*(const uint4*) (gu + r * 2 * F + c), g);
            unpack8(*(const uint4*) (gu + r * 2 * F + F + c), u);
#pragma unroll
            for (int k = 0; k < 8; k++) g[k] = g[k] * sigmoid(g[k]) * u[k];
            *(uint4*) (act + r * F + c) = pack8(g);
        }
        return;
    }
    GRID_STRIDE(i, R * F) {
        long r = i / F, c = i % F;
        float g = bf2f(gu[r * 2 * F + c]);
        act[i] = f2bf(g * sigmoid(g) * bf2f(gu[r * 2 * F + F + c]));
    }
}

// dgu (R, 2F) = dgate | dup from dact (R, F): dgate = dact ⊙ up ⊙ σ(g)(1 + g(1 − σ(g))), dup = dact ⊙ silu(g).
extern "C" __global__ void swiglu_bwd(bf16* dgu, const bf16* gu, const bf16* dact, long R, int F) {
    if ((F & 7) == 0) {
        int words = F / 8;
        GRID_STRIDE(j, R * words) {
            long r = j / words, c = 8 * (j % words);
            float g[8], u[8], d[8];
            unpack8(*(const uint4*) (gu + r * 2 * F + c), g);
            unpack8(*(const uint4*) (gu + r * 2 * F + F + c), u);
            unpack8(*(const uint4*) (dact + r * F + c), d);
#pragma unroll
            for (int k = 0; k < 8; k++) {
                float sg = sigmoid(g[k]), du = d[k] * g[k] * sg;
                g[k] = d[k] * u[k] * sg * (1.f + g[k] * (1.f - sg));
                u[k] = du;
            }
            *(uint4*) (dgu + r * 2 * F + c) = pack8(g);
            *(uint4*) (dgu + r * 2 * F + F + c) = pack8(u);
        }
        return;
    }
    GRID_STRIDE(i, R * F) {
        long r = i / F, c = i % F;
        float g = bf2f(gu[r * 2 * F + c]), u = bf2f(gu[r * 2 * F + F + c]), d = bf2f(dact[i]), sg = sigmoid(g);
        dgu[r * 2 * F + c] = f2bf(d * u * sg * (1.f + g * (1.f - sg)));
        dgu[r * 2 * F + F + c] = f2bf(d * g * sg);
    }
}
