// Fused activations: the forward y = f(x) and the backward gx = gy * f'(.) each in one pass.
//
// Roofline: per element the forward reads x and writes y (2 * sizeof(T) bytes), the backward reads
// x or y and gy and writes gx (3 * sizeof(T) bytes); half_t and bfloat16_t halve the bytes of
// float and compute in float (A = acc_t<T>), rounding once on the store. The flops are 1 (relu) to about 20 (exp, tanh
// or erf); at 30-60 flops per byte of machine balance, every one of these is memory-bound, so the
// target is the device's copy bandwidth.
//
// One kernel per activation and direction, named for what it computes: relu_forward,
// relu_backward, ... gelu_backward (exact GELU, with erf). The backward reads x (relu, leaky_relu,
// gelu) or y (sigmoid, tanh: cheaper, no exp).
#include "common.cuh"

template <typename A>
__device__ A sigmoid_of(A x) {
    A e = exp(-fabs(x));  // in (0, 1]: neither branch overflows
    return x >= A(0) ? A(1) / (A(1) + e) : e / (A(1) + e);
}

template <typename A>
__device__ A normal_cdf(A x) { return (A(1) + erf(x * A(0.70710678118654752440))) / A(2); }

template <typename A>
__device__ A normal_pdf(A x) { return exp(A(-0.5) * x * x) * A(0.39894228040143267794); }

// Each kernel reads its operands into A, computes, and stores T.
#define ELEMENTWISE(i, n) \
    typedef acc_t<T> A;   \
    GRID_STRIDE_LOOP(i, n)

// y = max(x, 0); gx = gy * [x > 0]
template <typename T>
__global__ void relu_forward(const T* x, T* y, index_t n) {
    ELEMENTWISE(i, n) { y[i] = A(x[i]) > A(0) ? x[i] : T(A(0)); }
}
template <typename T>
__global__ void relu_backward(const T* x, const T* gy, T* gx, index_t n) {
    ELEMENTWISE(i, n) { gx[i] = A(x[i]) > A(0) ? gy[i] : T(A(0)); }
}

// y = x if x > 0 else slope * x; gx = gy * (1 if x > 0 else slope)
template <typename T>
__global__ void leaky_relu_forward(const T* x, T* y, acc_t<T> slope, index_t n) {
    ELEMENTWISE(i, n) {
        A xi = A(x[i]);
        y[i] = T(xi > A(0) ? xi : slope * xi);
    }
}
template <typename T>
__global__ void leaky_relu_backward(const T* x, const T* gy, T* gx, acc_t<T> slope, index_t n) {
    ELEMENTWISE(i, n) { gx[i] = T(A(x[i]) > A(0) ? A(gy[i]) : slope * A(gy[i])); }
}

// y = 1 / (1 + exp(-x)); gx = gy * y * (1 - y)
template <typename T>
__global__ void sigmoid_forward(const T* x, T* y, index_t n) {
    ELEMENTWISE(i, n) { y[i] = T(sigmoid_of(A(x[i]))); }
}
template <typename T>
__global__ void sigmoid_backward(const T* y, const T* gy, T* gx, index_t n) {
    ELEMENTWISE(i, n) {
        A yi = A(y[i]);
        gx[i] = T(A(gy[i]) * yi * (A(1) - yi));
    }
}

// y = tanh(x); gx = gy * (1 - y^2)
template <typename T>
__global__ void tanh_forward(const T* x, T* y, index_t n) {
    ELEMENTWISE(i, n) { y[i] = T(tanh(A(x[i]))); }
}
template <typename T>
__global__ void tanh_backward(const T* y, const T* gy, T* gx, index_t n) {
    ELEMENTWISE(i, n) {
        A yi = A(y[i]);
        gx[i] = T(A(gy[i]) * (A(1) - yi * yi));
    }
}

// y = x * Phi(x); gx = gy * (Phi(x) + x * phi(x))
template <typename T>
__global__ void gelu_forward(const T* x, T* y, index_t n) {
    ELEMENTWISE(i, n) {
        A xi = A(x[i]);
        y[i] = T(xi * normal_cdf(xi));
    }
}
template <typename T>
__global__ void gelu_backward(const T* x, const T* gy, T* gx, index_t n) {
    ELEMENTWISE(i, n) {
        A xi = A(x[i]);
        gx[i] = T(A(gy[i]) * (normal_cdf(xi) + xi * normal_pdf(xi)));
    }
}
