// Shared helpers for the kernels in this folder: grid-stride indexing, block-wide reductions and
// the 16-bit storage types of mixed precision. Every kernel is a template over the element type T
// (float, double, half_t or bfloat16_t); CuPy instantiates the ones it needs by name (see
// tinygrad_lite/cuda/kernels.py). Arithmetic runs in acc_t<T>: T itself for float and double,
// float for the 16-bit types, which are only storage (read, widen, compute, round once on store).

#if defined(__CUDACC__)  // nvcc, and NVRTC through CuPy
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#else  // the host C++ compiler: the CUDA model on the CPU, for tests (cpu_emulation.cuh)
#include "cpu_emulation.cuh"
#endif

typedef long long index_t;

// ---- 16-bit storage types ----
// Our own, not cuda_fp16.h's __half and cuda_bf16.h's __nv_bfloat16: NVRTC finds those headers
// only through CuPy's bundled copies, whose versions drift from the toolkit's (CuPy issues 8146,
// 8466), and the CPU emulation would need its own twins anyway. These are the same bits (IEEE
// binary16; the top half of a binary32) with the same rounding (to nearest, ties to even), written
// once in integer arithmetic, so the emulation runs exactly the code the GPU runs.
__device__ inline unsigned float_bits(float value) { return __float_as_uint(value); }
__device__ inline float bits_float(unsigned bits) { return __uint_as_float(bits); }

__device__ inline unsigned short float_to_half_bits(float value) {
    unsigned bits = float_bits(value);
    unsigned sign = (bits >> 16) & 0x8000u, magnitude = bits & 0x7fffffffu;
    if (magnitude >= 0x47800000u)  // |x| >= 65536, inf or NaN (65520..65536 round up below)
        return sign | (magnitude > 0x7f800000u ? 0x7e00u : 0x7c00u);
    if (magnitude < 0x38800000u) {  // below 2^-14: a subnormal half or zero. Adding 0.5 puts the
        // half's 10 mantissa bits at the bottom of a float, rounded by the float addition itself
        float aligned = bits_float(magnitude) + 0.5f;
        return sign | (float_bits(aligned) - 0x3f000000u);
    }
    unsigned odd = (magnitude >> 13) & 1u;  // ties go to the even mantissa
    return sign | ((magnitude - 0x38000000u + 0xfffu + odd) >> 13);  // rebias 127 -> 15, round
}

__device__ inline float half_bits_to_float(unsigned short half) {
    unsigned sign = (unsigned)(half & 0x8000u) << 16, exponent = (half >> 10) & 0x1fu,
             mantissa = half & 0x3ffu;
    if (exponent == 0x1fu) return bits_float(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
    if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
        float value = (float)mantissa * 5.9604644775390625e-8f;
        return sign ? -value : value;
    }
    return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

__device__ inline unsigned short float_to_bfloat16_bits(float value) {
    unsigned bits = float_bits(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (bits >> 16) | 0x40u;  // NaN stays quiet NaN
    return (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;                  // ties to even
}

struct half_t {
    unsigned short bits;
    half_t() = default;
    __device__ explicit half_t(float value) : bits(float_to_half_bits(value)) {}
    __device__ operator float() const { return half_bits_to_float(bits); }
};

struct bfloat16_t {
    unsigned short bits;
    bfloat16_t() = default;
    __device__ explicit bfloat16_t(float value) : bits(float_to_bfloat16_bits(value)) {}
    __device__ operator float() const { return bits_float((unsigned)bits << 16); }
};

template <typename T>
struct Accumulate { typedef T type; };
template <>
struct Accumulate<half_t> { typedef float type; };
template <>
struct Accumulate<bfloat16_t> { typedef float type; };
template <typename T>
using acc_t = typename Accumulate<T>::type;  // the type T's arithmetic runs in

#define GRID_STRIDE_LOOP(i, n)                                                   \
    for (index_t i = (index_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);   \
         i += (index_t)blockDim.x * gridDim.x)

// -inf without math.h's INFINITY, which NVRTC does not always define.
template <typename T>
__device__ T negative_infinity();
template <>
__device__ float negative_infinity<float>() { return __int_as_float(0xff800000); }
template <>
__device__ double negative_infinity<double>() {
    return __longlong_as_double(0xfff0000000000000ULL);
}

// Sum of `value` over the block; every thread gets the result. `scratch` holds blockDim.x values,
// and blockDim.x must be a power of two.
template <typename T>
__device__ T block_sum(T value, T* scratch) {
    scratch[threadIdx.x] = value;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) scratch[threadIdx.x] += scratch[threadIdx.x + stride];
        __syncthreads();
    }
    T total = scratch[0];
    __syncthreads();  // the scratch may be reused right after
    return total;
}

template <typename T>
__device__ T block_max(T value, T* scratch) {
    scratch[threadIdx.x] = value;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride)
            scratch[threadIdx.x] = max(scratch[threadIdx.x], scratch[threadIdx.x + stride]);
        __syncthreads();
    }
    T total = scratch[0];
    __syncthreads();
    return total;
}
