// Softmax cross-entropy over V classes; one block per token row, logits z (R,V) bf16 read in chunks of blockDim
// (16-byte words of 8 logits when V % 8 == 0).
// losses (R) = logsumexp(z) − z[target]. With backward != 0, z is replaced in place by dlogits of the example's
// mean token loss: (softmax(z) − onehot)·invT.
extern "C" __global__ void cross_entropy(bf16* z, float* losses, const int* targets, int V, float invT, int backward) {
    __shared__ float pm[32], ps[32];
    bf16* zr = z + (long) blockIdx.x * V;
    int target = targets[blockIdx.x];
    float zt = bf2f(zr[target]), m = -INFINITY, s = 0.f;
    bool vec = (V & 7) == 0;
    if (vec)
        for (int j = threadIdx.x; j < V / 8; j += blockDim.x) {
            float f[8], mx = m, add = 0.f;
            unpack8(((const uint4*) zr)[j], f);
#pragma unroll
            for (int k = 0; k < 8; k++) mx = fmaxf(mx, f[k]);
#pragma unroll
            for (int k = 0; k < 8; k++) add += __expf(f[k] - mx);
            s = s * __expf(m - mx) + add;
            m = mx;
        }
    else
        for (int v = threadIdx.x; v < V; v += blockDim.x) {
            float x = bf2f(zr[v]), mx = fmaxf(m, x);
            s = s * __expf(m - mx) + __expf(x - mx);
            m = mx;
        }
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o), mx = fmaxf(m, m2);
        s = (m == -INFINITY ? 0.f : s * expf(m - mx)) + (m2 == -INFINITY ? 0.f : s2 * expf(m2 - mx));
        m = mx;
    }
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    if (lane == 0) {
        pm[w] = m;
        ps[w] = s;
    }
    __syncthreads();
    float mx = -INFINITY, tot = 0.f;
    for (int i = 0; i < nw; i++) mx = fmaxf(mx, pm[i]);
    for (int i = 0; i < nw; i++) tot += ps[i] * expf(pm[i] - mx);
    float lse = mx + logf(tot);
    if (threadIdx.x == 0) losses[blockIdx.x] = lse - zt;
    if (!backward) return;
    if (vec)
        for (int j = threadIdx.x; j < V / 8; j += blockDim.x) {
            float f[8];
            unpack8(((const uint4*) zr)[j], f);
#pragma unroll
            for (int k = 0; k < 8; k++) f[k] = (__expf(f[k] - lse) - (8 * j + k == target ? 1.f : 0.f)) * invT;
            ((uint4*) zr)[j] = pack8(f);
        }
    else
        for (int v = threadIdx.x; v < V; v += blockDim.x) {
            float p = __expf(bf2f(zr[v]) - lse);
            zr[v] = f2bf((v == target ? p - 1.f : p) * invT);
        }
}
