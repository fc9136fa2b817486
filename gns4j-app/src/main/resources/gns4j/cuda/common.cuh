// Shared by every kernel file: prepended to the sources at run time (nvcc tests pass -include common.cuh).
// bf16 is kept as raw bits so NVRTC needs no toolkit headers. HS (head size) comes from the model config.
typedef unsigned short bf16;
#ifndef HS
#define HS 64
#endif
#define HL ((HS + 31) / 32)
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

__device__ __forceinline__ float bf2f(bf16 x) { return __uint_as_float(((unsigned) x) << 16); }

// Round to nearest even; NaN stays NaN.
__device__ __forceinline__ bf16 f2bf(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16) ((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16) (u >> 16);
}

__device__ __forceinline__ float warpSum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block (blockDim.x a multiple of 32); every thread gets the total.
__device__ float blockSum(float v) {
    __shared__ float part[32];
    v = warpSum(v);
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads();
    if (lane == 0) part[w] = v;
    __syncthreads();
    return warpSum(lane < (int) (blockDim.x >> 5) ? part[lane] : 0.f);
}

#define GRID_STRIDE(i, n) for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < (n); i += (long) gridDim.x * blockDim.x)

// Eight bf16 in a 16-byte word, to and from floats.
__device__ __forceinline__ void unpack8(uint4 u, float* f) {
    unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int k = 0; k < 4; k++) {
        f[2 * k] = __uint_as_float(w[k] << 16);
        f[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u);
    }
}

__device__ __forceinline__ uint4 pack8(const float* f) {
    unsigned w[4];
#pragma unroll
    for (int k = 0; k < 4; k++) w[k] = (unsigned) f2bf(f[2 * k]) | ((unsigned) f2bf(f[2 * k + 1]) << 16);
    return make_uint4(w[0], w[1], w[2], w[3]);
}
