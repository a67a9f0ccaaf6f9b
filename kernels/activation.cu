// Fused activations: the forward y = f(x) and the backward gx = gy * f'(.) each in one pass.
//
// Roofline: per element the forward reads x and writes y (2 * sizeof(T) bytes), the backward reads
// x or y and gy and writes gx (3 * sizeof(T) bytes). The flops are 1 (relu) to about 20 (exp, tanh
// or erf); at 30-60 flops per byte of machine balance, every one of these is memory-bound, so the
// target is the device's copy bandwidth.
//
// One kernel per activation and direction, named for what it computes: relu_forward,
// relu_backward, ... gelu_backward (exact GELU, with erf). The backward reads x (relu, leaky_relu,
// gelu) or y (sigmoid, tanh: cheaper, no exp).
#include "common.cuh"

template <typename T>
__device__ T sigmoid_of(T x) {
    T e = exp(-fabs(x));  // in (0, 1]: neither branch overflows
    return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

template <typename T>
__device__ T normal_cdf(T x) { return (T(1) + erf(x * T(0.70710678118654752440))) / T(2); }

template <typename T>
__device__ T normal_pdf(T x) { return exp(T(-0.5) * x * x) * T(0.39894228040143267794); }

// y = max(x, 0); gx = gy * [x > 0]
template <typename T>
__global__ void relu_forward(const T* x, T* y, index_t n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = x[i] > T(0) ? x[i] : T(0); }
}
template <typename T>
__global__ void relu_backward(const T* x, const T* gy, T* gx, index_t n) {
    GRID_STRIDE_LOOP(i, n) { gx[i] = x[i] > T(0) ? gy[i] : T(0); }
}

// y = x if x > 0 else slope * x; gx = gy * (1 if x > 0 else slope)
template <typename T>
__global__ void leaky_relu_forward(const T* x, T* y, T slope, index_t n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = x[i] > T(0) ? x[i] : slope * x[i]; }
}
template <typename T>
__global__ void leaky_relu_backward(const T* x, const T* gy, T* gx, T slope, index_t n) {
    GRID_STRIDE_LOOP(i, n) { gx[i] = x[i] > T(0) ? gy[i] : slope * gy[i]; }
}

// y = 1 / (1 + exp(-x)); gx = gy * y * (1 - y)
template <typename T>
__global__ void sigmoid_forward(const T* x, T* y, index_t n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = sigmoid_of(x[i]); }
}
template <typename T>
__global__ void sigmoid_backward(const T* y, const T* gy, T* gx, index_t n) {
    GRID_STRIDE_LOOP(i, n) { gx[i] = gy[i] * y[i] * (T(1) - y[i]); }
}

// y = tanh(x); gx = gy * (1 - y^2)
template <typename T>
__global__ void tanh_forward(const T* x, T* y, index_t n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = tanh(x[i]); }
}
template <typename T>
__global__ void tanh_backward(const T* y, const T* gy, T* gx, index_t n) {
    GRID_STRIDE_LOOP(i, n) { gx[i] = gy[i] * (T(1) - y[i] * y[i]); }
}

// y = x * Phi(x); gx = gy * (Phi(x) + x * phi(x))
template <typename T>
__global__ void gelu_forward(const T* x, T* y, index_t n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = x[i] * normal_cdf(x[i]); }
}
template <typename T>
__global__ void gelu_backward(const T* x, const T* gy, T* gx, index_t n) {
    GRID_STRIDE_LOOP(i, n) { gx[i] = gy[i] * (normal_cdf(x[i]) + x[i] * normal_pdf(x[i])); }
}
