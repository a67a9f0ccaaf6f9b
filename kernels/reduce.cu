// Broadcast reduction for gradients (sum_to): y[o] = sum of x over the elements that broadcasting
// y's shape up to x's shape maps onto o. The host splits x's axes into "kept" ones (same size in
// y) and "summed" ones (absent or size 1 in y).
//
// One thread per output element loops over the summed elements, reading x with the strides of
// the summed axes. Roofline: reads x once (x.size * sizeof(T) bytes), writes y once; one add (flop)
// per element read. Memory-bound; when the kept axes are the innermost ones (the usual bias gradient, summing
// over the batch) neighbouring threads read neighbouring addresses, so the reads coalesce.
#include "common.cuh"

// kept: kept_ndim (size, stride) pairs; summed: summed_ndim (size, stride) pairs; strides are in
// elements of x (C-contiguous). out_size and summed_size are the products of the sizes.
template <typename T>
__global__ void sum_to(const T* x, T* y, const index_t* kept, int kept_ndim,
                       const index_t* summed, int summed_ndim, index_t out_size,
                       index_t summed_size) {
    GRID_STRIDE_LOOP(o, out_size) {
        index_t base = 0, rest = o;
        for (int d = kept_ndim - 1; d >= 0; --d) {
            base += (rest % kept[2 * d]) * kept[2 * d + 1];
            rest /= kept[2 * d];
        }
        acc_t<T> sum = 0;  // 16-bit types add in float
        for (index_t s = 0; s < summed_size; ++s) {
            index_t offset = base, r = s;
            for (int d = summed_ndim - 1; d >= 0; --d) {
                offset += (r % summed[2 * d]) * summed[2 * d + 1];
                r /= summed[2 * d];
            }
            sum += acc_t<T>(x[offset]);
        }
        y[o] = T(sum);
    }
}
