// Fused, numerically stable softmax cross-entropy for logits z and target probabilities t, both
// (N, C): loss_i = lse_i * sum_c t_ic - sum_c t_ic z_ic, with lse_i = log sum_c exp(z_ic).
//
// Roofline, forward: one block per row, one pass with an online max (exp(z - m) rescaled whenever m grows),
// so no (N, C) temporary is written: it reads z and t (2 * N * C * sizeof(T) bytes) and writes
// three numbers per row (loss, lse, sum t). About 5 flops per element plus one exp.
// Backward: gz_ic = gy_i * (exp(z_ic - lse_i) * sum_t_i - t_ic), elementwise: reads z and t, writes
// gz (3 * N * C * sizeof(T) bytes); the optional target gradient gt_ic = -gy_i * (z_ic - lse_i)
// adds one write. Both are memory-bound. For half_t/bfloat16_t logits and targets the arithmetic
// and the per-row results (loss, lse, sum t) are float (A = acc_t<T>): a float32 loss from 16-bit
// logits without a widened copy of them.
#include "common.cuh"

template <typename T>
__global__ void softmax_xent_forward(const T* z, const T* t, acc_t<T>* loss, acc_t<T>* lse_out,
                                     acc_t<T>* target_sum, index_t rows, index_t classes) {
    typedef acc_t<T> A;
    DYNAMIC_SHARED(unsigned char, shared_bytes);  // blockDim.x values of A
    A* scratch = reinterpret_cast<A*>(shared_bytes);
    for (index_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* zr = z + row * classes;
        const T* tr = t + row * classes;
        A m = negative_infinity<A>(), s = A(0), st = A(0), stz = A(0);
        for (index_t c = threadIdx.x; c < classes; c += blockDim.x) {
            A zc = A(zr[c]), tc = A(tr[c]);
            if (zc > m) {
                s = s * exp(m - zc) + A(1);
                m = zc;
            } else if (zc > negative_infinity<A>()) {
                s += exp(zc - m);
            } else if (zc != zc) {
                s = zc;  // NaN propagates, as on the CPU
            }  // a logit of -inf adds exp(-inf) = 0 (exp(-inf - m) would be NaN while m = -inf)
            st += tc;
            if (tc != A(0)) stz += tc * zc;  // 0 * (-inf) must add 0, not NaN
        }
        A row_max = block_max(m, scratch);
        // rescale each thread's sum to the row maximum (a thread that saw no element, or only
        // -inf, has s = 0; a NaN s must reach the total)
        A total = block_sum(s != A(0) ? s * exp(m - row_max) : A(0), scratch);
        A sum_t = block_sum(st, scratch);
        A sum_tz = block_sum(stz, scratch);
        if (threadIdx.x == 0) {
            A lse = row_max + log(total);
            lse_out[row] = lse;
            target_sum[row] = sum_t;
            loss[row] = lse * sum_t - sum_tz;
        }
    }
}

// gt may be null when the target needs no gradient.
template <typename T>
__global__ void softmax_xent_backward(const T* z, const T* t, const acc_t<T>* lse,
                                      const acc_t<T>* target_sum, const acc_t<T>* gy, T* gz, T* gt,
                                      index_t rows, index_t classes) {
    typedef acc_t<T> A;
    GRID_STRIDE_LOOP(i, rows * classes) {
        index_t row = i / classes;
        A log_p = A(z[i]) - lse[row];
        gz[i] = T(gy[row] * (exp(log_p) * target_sum[row] - A(t[i])));
        if (gt) gt[i] = T(-gy[row] * log_p);
    }
}
