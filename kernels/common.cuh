// Shared helpers for the kernels in this folder: grid-stride indexing and a block-wide reduction.
// Every kernel is a template over the element type T (float or double); CuPy instantiates the
// ones it needs by name (see tinygrad_lite/cuda/kernels.py).

#if defined(__CUDACC__)  // nvcc, and NVRTC through CuPy
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#else  // the host C++ compiler: the CUDA model on the CPU, for tests (cpu_emulation.cuh)
#include "cpu_emulation.cuh"
#endif

typedef long long index_t;

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
