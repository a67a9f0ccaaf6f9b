// Fused activations: the forward y = f(x) and the backward gx = gy * f'(.) each in one pass.
//
// Roofline: per element the forward reads x and writes y (2 * sizeof(T) bytes), the backward reads
// x or y and gy and writes gx (3 * sizeof(T) bytes). The flops are 1 (relu) to about 20 (exp, tanh
// or erf); at 30-60 flops per byte of machine balance, every one of these is memory-bound, so the
// target is the device's copy bandwidth.
//
// ACT: 0 relu, 1 leaky_relu (slope), 2 sigmoid, 3 tanh, 4 gelu (exact, with erf).
#include "common.cuh"

template <int ACT, typename T>
__device__ T activate(T x, T slope) {
    if (ACT == 0) return x > T(0) ? x : T(0);
    if (ACT == 1) return x > T(0) ? x : slope * x;
    if (ACT == 2) {
        T e = exp(-fabs(x));  // in (0, 1]: neither branch overflows
        return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    }
    if (ACT == 3) return tanh(x);
    return x * (T(1) + erf(x * T(0.70710678118654752440))) / T(2);
}

// The derivative from x (relu, leaky_relu, gelu) or from y (sigmoid, tanh: cheaper, no exp).
template <int ACT, typename T>
__device__ T derivative(T x, T y, T slope) {
    if (ACT == 0) return x > T(0) ? T(1) : T(0);
    if (ACT == 1) return x > T(0) ? T(1) : slope;
    if (ACT == 2) return y * (T(1) - y);
    if (ACT == 3) return T(1) - y * y;
    T cdf = (T(1) + erf(x * T(0.70710678118654752440))) / T(2);
    T pdf = exp(T(-0.5) * x * x) * T(0.39894228040143267794);
    return cdf + x * pdf;
}

template <int ACT, typename T>
__global__ void activation_forward(const T* x, T* y, T slope, index_t n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = activate<ACT, T>(x[i], slope); }
}

// x or y may be null when ACT does not read it.
template <int ACT, typename T>
__global__ void activation_backward(const T* x, const T* y, const T* gy, T* gx, T slope,
                                    index_t n) {
    GRID_STRIDE_LOOP(i, n) {
        T xi = x ? x[i] : T(0);
        T yi = y ? y[i] : T(0);
        gx[i] = gy[i] * derivative<ACT, T>(xi, yi, slope);
    }
}
