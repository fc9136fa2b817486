// Token and position embeddings. out, dy: (B,T,C) fp32 residual stream; ids (B·T); tables fp32 master weights.

// out[b,t] = wte[id] + wpe[t] (wpe null: no position table, as in Llama); n = B·T·C.
extern "C" __global__ void embed_fwd(float* out, const int* ids, const float* wte, const float* wpe, int T, int C, long n) {
    GRID_STRIDE(i, n) {
        long r = i / C;
        int c = (int) (i % C);
        out[i] = wte[(long) ids[r] * C + c] + (wpe ? wpe[(r % T) * C + c] : 0.f);
    }
}

// dwte[id_r] += scale·dy_r (scatter); n = B·T·C.
extern "C" __global__ void embed_bwd(float* dwte, const float* dy, const int* ids, int C, long n, float scale) {
    GRID_STRIDE(i, n) atomicAdd(&dwte[(long) ids[i / C] * C + i % C], scale * dy[i]);
}

// dwpe[t] += scale·Σ_b dy[b,t]; n = T·C.
extern "C" __global__ void pos_bwd(float* dwpe, const float* dy, int B, long n, float scale) {
    GRID_STRIDE(i, n) {
        float s = 0.f;
        for (int b = 0; b < B; b++) s += dy[b * n + i];
        dwpe[i] += scale * s;
    }
}

// Token-table per-example norm |dE_b|² = Σ_v |Σ_{t: id_bt = v} dy_bt|². Block (t, b): only the first occurrence
// of id_bt in example b sums its group (positions collected in shared memory: T ints of dynamic smem).
extern "C" __global__ void embed_group_sq(double* sq, const float* dy, const int* ids, int T, int C) {
    extern __shared__ int pos[];
    __shared__ int count, seen;
    int t = blockIdx.x, b = blockIdx.y;
    const int* id = ids + (long) b * T;
    int v = id[t];
    if (threadIdx.x == 0) count = seen = 0;
    __syncthreads();
    for (int u = threadIdx.x; u < T; u += blockDim.x)
        if (id[u] == v) {
            if (u < t) seen = 1;
            else pos[atomicAdd(&count, 1)] = u;
        }
    __syncthreads();
    if (seen) return;
    float acc = 0.f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float g = 0.f;
        for (int j = 0; j < count; j++) g += dy[((long) b * T + pos[j]) * C + c];
        acc += g * g;
    }
    acc = blockSum(acc);
    if (threadIdx.x == 0) atomicAdd(sq + b, (double) acc);
}

// sq[b] += Σ_i a[b·n + i]·c[b·n + i] over example b's contiguous segment; grid (blocks, B).
extern "C" __global__ void dot_per_example(double* sq, const float* a, const float* c, long n) {
    long o = blockIdx.y * n;
    float s = 0.f;
    GRID_STRIDE(i, n) s += a[o + i] * c[o + i];
    s = blockSum(s);
    if (threadIdx.x == 0) atomicAdd(sq + blockIdx.y, (double) s);
}
