// LayerNorm and RMSNorm over the last `width` values of each of `rows` rows, fused:
//   x̂ = (x − center·mean) · rstd,  rstd = 1 / sqrt(mean((x − center·mean)²) + eps),  y = x̂ · w + b
// (center = 1: LayerNorm; center = 0: RMSNorm, no mean subtracted). weight and bias may be null.
//
// Roofline, forward: one block per row, three passes over the row (sum, squared deviations, the
// output), all reads of x from global memory (L1/L2 hits after the first for rows of a few
// thousand values): reads x (3 · width values), writes y and two numbers per row (mean, rstd),
// kept for backward. The two-pass variance (not E[x²] − mean²) costs one pass more and loses no
// digits when the mean is large. Backward: the same block per row, two sums (mean of h = gy·w and
// of h·x̂), then gx = rstd · (h − center·mean(h) − x̂·mean(h·x̂)); memory-bound like the forward.
// The weight and bias gradients (column sums over the rows) are reductions the launcher leaves to
// CuPy. For half_t/bfloat16_t the arithmetic, mean and rstd are float (A = acc_t<T>).
#include "common.cuh"

template <typename T>
__global__ void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y,
                                   acc_t<T>* mean_out, acc_t<T>* rstd_out, index_t rows,
                                   index_t width, acc_t<T> eps, int center) {
    typedef acc_t<T> A;
    DYNAMIC_SHARED(unsigned char, shared_bytes);  // blockDim.x values of A
    A* scratch = reinterpret_cast<A*>(shared_bytes);
    for (index_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* xr = x + row * width;
        A sum = A(0);
        if (center)
            for (index_t j = threadIdx.x; j < width; j += blockDim.x) sum += A(xr[j]);
        A mean = center ? block_sum(sum, scratch) / A(width) : A(0);
        A squares = A(0);
        for (index_t j = threadIdx.x; j < width; j += blockDim.x) {
            A d = A(xr[j]) - mean;
            squares += d * d;
        }
        A rstd = A(1) / sqrt(block_sum(squares, scratch) / A(width) + eps);
        for (index_t j = threadIdx.x; j < width; j += blockDim.x) {
            A value = (A(xr[j]) - mean) * rstd;
            if (weight) value *= A(weight[j]);
            if (bias) value += A(bias[j]);
            y[row * width + j] = T(value);
        }
        if (threadIdx.x == 0) {
            mean_out[row] = mean;
            rstd_out[row] = rstd;
        }
    }
}

template <typename T>
__global__ void layer_norm_backward(const T* x, const T* weight, const acc_t<T>* mean,
                                    const acc_t<T>* rstd, const T* gy, T* gx, index_t rows,
                                    index_t width, int center) {
    typedef acc_t<T> A;
    DYNAMIC_SHARED(unsigned char, shared_bytes);
    A* scratch = reinterpret_cast<A*>(shared_bytes);
    for (index_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const index_t start = row * width;
        const A m = mean[row], r = rstd[row];
        A sum_h = A(0), sum_h_xhat = A(0);
        for (index_t j = threadIdx.x; j < width; j += blockDim.x) {
            A h = A(gy[start + j]) * (weight ? A(weight[j]) : A(1));
            sum_h += h;
            sum_h_xhat += h * (A(x[start + j]) - m) * r;
        }
        A mean_h = center ? block_sum(sum_h, scratch) / A(width) : A(0);
        A mean_h_xhat = block_sum(sum_h_xhat, scratch) / A(width);
        for (index_t j = threadIdx.x; j < width; j += blockDim.x) {
            A h = A(gy[start + j]) * (weight ? A(weight[j]) : A(1));
            A xhat = (A(x[start + j]) - m) * r;
            gx[start + j] = T(r * (h - mean_h - xhat * mean_h_xhat));
        }
    }
}
