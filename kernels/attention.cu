// Memory-efficient attention (FlashAttention's scheme) for q (heads, length, width),
// k (heads, keys, width), v (heads, keys, value_width): y = softmax(q kᵀ · scale) v per head, the
// causal mask (key j > query i) optional. The (length, keys) matrix of scores never exists.
//
// Roofline: per head 2·length·keys·(width + value_width) flops forward (about half with the causal
// skip), about 2.5× that backward. Bytes: each block reads its rows once and every key tile once,
// so (length/tile)·keys·(width + value_width) elements per head, and writes y, lse (forward) or
// the gradients (backward): O(length + keys) extra memory, not O(length · keys). One thread per
// row and no tensor cores: far from FlashAttention's speed on a GPU; what it guarantees is the
// memory, and the same numbers as the NumPy path (ops/attention.py).
//
// Forward: one block per tile of `tile` = blockDim.x queries of one head, a thread per query. The
// block walks the keys a tile at a time (K and V tiles in shared memory), and each thread keeps
// its row's running maximum m, running total l of exp(s − m) and output accumulator, rescaled by
// exp(m_old − m_new) whenever the maximum grows (the online softmax). It writes y and each row's
// log-sum-exp m + log l, which is all backward needs to rebuild any block of probabilities.
// Under the causal mask a query tile stops at its last row: the key tiles after it are masked.
//
// Backward, with D_i = Σ_e gy_ie · y_ie (the launcher computes it), P_ij = exp(s_ij − lse_i) and
// dS_ij = P_ij (gy_i · v_j − D_i): gv_j = Σ_i P_ij gy_i, gk_j = scale Σ_i dS_ij q_i and
// gq_i = scale Σ_j dS_ij k_j. Two kernels, so that every sum has one owner and no atomics are
// needed (the result is deterministic): attention_backward_keys gives each thread a key j and
// walks the queries (gk, gv); attention_backward_queries gives each thread a query i and walks
// the keys (gq). Each recomputes the scores it needs: three passes over q kᵀ instead of one
// stored matrix, the price of O(length + keys) memory.
//
// Everything in shared memory and the running values are acc_t<T> (float for half_t and
// bfloat16_t: 16-bit inputs, float32 arithmetic, one rounding on store). Per-thread vectors
// (a query's accumulator, a key's gradients) live in shared memory, indexed by the thread, not
// in registers, so the widths are run-time values and nothing spills. The launcher
// (tinygrad_lite/cuda/attention.py) chooses `tile` so that the shared memory fits in 48 KiB.
#include "common.cuh"

// a · b in A, for b in shared memory (A) or a row in global memory (T, widened on reading)
template <typename A, typename B>
__device__ inline A dot(const A* a, const B* b, index_t n) {
    A total = A(0);
    for (index_t e = 0; e < n; ++e) total += a[e] * A(b[e]);
    return total;
}

// rows [first, first + tile) of a (rows, width) matrix into shared memory, zeros past `rows`
template <typename T>
__device__ inline void load_tile(acc_t<T>* tile_out, const T* matrix, index_t first, index_t rows,
                                 index_t width) {
    const index_t tile = blockDim.x;
    for (index_t e = threadIdx.x; e < tile * width; e += tile) {
        const index_t row = first + e / width;
        tile_out[e] = row < rows ? acc_t<T>(matrix[first * width + e]) : acc_t<T>(0);
    }
}

template <typename T>
__global__ void attention_forward(const T* q, const T* k, const T* v, T* out, acc_t<T>* lse,
                                  index_t heads, index_t length, index_t keys, index_t width,
                                  index_t value_width, acc_t<T> scale, int causal) {
    typedef acc_t<T> A;
    DYNAMIC_SHARED(unsigned char, shared_bytes);
    const index_t tile = blockDim.x, t = threadIdx.x;
    A* q_tile = reinterpret_cast<A*>(shared_bytes);  // tile × width
    A* k_tile = q_tile + tile * width;                // tile × width
    A* v_tile = k_tile + tile * width;                // tile × value_width
    A* accumulator = v_tile + tile * value_width;     // tile × value_width, a row per thread
    A* p = accumulator + tile * value_width;          // tile × tile, a row per thread
    const index_t row_tiles = (length + tile - 1) / tile;
    for (index_t task = blockIdx.x; task < heads * row_tiles; task += gridDim.x) {
        const index_t head = task / row_tiles, first_row = (task % row_tiles) * tile;
        const index_t row = first_row + t;
        const T* kh = k + head * keys * width;
        const T* vh = v + head * keys * value_width;
        __syncthreads();  // the previous task's reads of the tiles are done
        load_tile(q_tile, q + head * length * width, first_row, length, width);
        for (index_t e = 0; e < value_width; ++e) accumulator[t * value_width + e] = A(0);
        A running_max = negative_infinity<A>(), total = A(0);
        const index_t key_end = causal ? min(keys, first_row + tile) : keys;
        for (index_t first_key = 0; first_key < key_end; first_key += tile) {
            __syncthreads();
            load_tile(k_tile, kh, first_key, keys, width);
            load_tile(v_tile, vh, first_key, keys, value_width);
            __syncthreads();
            if (row >= length) continue;  // every thread still meets every barrier
            const index_t n = min(tile, keys - first_key);
            A tile_max = negative_infinity<A>();
            for (index_t j = 0; j < n; ++j) {
                const bool masked = causal && first_key + j > row;
                const A s = masked ? negative_infinity<A>()
                                   : dot(q_tile + t * width, k_tile + j * width, width) * scale;
                p[t * tile + j] = s;
                tile_max = max(tile_max, s);
            }
            if (!(tile_max > negative_infinity<A>())) continue;  // the whole tile is masked
            const A new_max = max(running_max, tile_max);
            const A shrink = exp(running_max - new_max);  // 0 for the first tile (m = −inf)
            A tile_total = A(0);
            for (index_t j = 0; j < n; ++j) {
                const A s = p[t * tile + j];
                const A weight = s > negative_infinity<A>() ? exp(s - new_max) : A(0);
                p[t * tile + j] = weight;
                tile_total += weight;
            }
            total = total * shrink + tile_total;
            for (index_t e = 0; e < value_width; ++e) {
                A sum = accumulator[t * value_width + e] * shrink;
                for (index_t j = 0; j < n; ++j) sum += p[t * tile + j] * v_tile[j * value_width + e];
                accumulator[t * value_width + e] = sum;
            }
            running_max = new_max;
        }
        if (row < length) {
            T* out_row = out + (head * length + row) * value_width;
            for (index_t e = 0; e < value_width; ++e)
                out_row[e] = T(accumulator[t * value_width + e] / total);
            lse[head * length + row] = running_max + log(total);
        }
    }
}

// one key per thread: gk and gv, walking the queries a tile at a time
template <typename T>
__global__ void attention_backward_keys(const T* q, const T* k, const T* v, const T* gy,
                                        const acc_t<T>* lse, const acc_t<T>* row_dot, T* gk,
                                        T* gv, index_t heads, index_t length, index_t keys,
                                        index_t width, index_t value_width, acc_t<T> scale,
                                        int causal) {
    typedef acc_t<T> A;
    DYNAMIC_SHARED(unsigned char, shared_bytes);
    const index_t tile = blockDim.x, t = threadIdx.x;
    // a thread reads its own key's k and v rows from global memory (cached): no tile needed
    A* q_tile = reinterpret_cast<A*>(shared_bytes);  // tile × width: the queries walked
    A* gy_tile = q_tile + tile * width;               // tile × value_width
    A* gk_rows = gy_tile + tile * value_width;        // tile × width, a row per thread
    A* gv_rows = gk_rows + tile * width;              // tile × value_width, a row per thread
    A* lse_tile = gv_rows + tile * value_width;       // tile
    A* dot_tile = lse_tile + tile;                    // tile
    const index_t key_tiles = (keys + tile - 1) / tile;
    for (index_t task = blockIdx.x; task < heads * key_tiles; task += gridDim.x) {
        const index_t head = task / key_tiles, first_key = (task % key_tiles) * tile;
        const index_t key = first_key + t;
        const T* k_row = k + (head * keys + key) * width;  // read only while key < keys
        const T* v_row = v + (head * keys + key) * value_width;
        for (index_t e = 0; e < width; ++e) gk_rows[t * width + e] = A(0);
        for (index_t e = 0; e < value_width; ++e) gv_rows[t * value_width + e] = A(0);
        // under the causal mask, queries before this key tile see none of it
        for (index_t first_row = causal ? first_key : 0; first_row < length; first_row += tile) {
            __syncthreads();
            load_tile(q_tile, q + head * length * width, first_row, length, width);
            load_tile(gy_tile, gy + head * length * value_width, first_row, length, value_width);
            if (first_row + t < length) {
                lse_tile[t] = lse[head * length + first_row + t];
                dot_tile[t] = row_dot[head * length + first_row + t];
            }
            __syncthreads();
            if (key >= keys) continue;
            const index_t n = min(tile, length - first_row);
            for (index_t i = 0; i < n; ++i) {
                if (causal && key > first_row + i) continue;  // P_ij = 0
                const A s = dot(q_tile + i * width, k_row, width) * scale;
                const A probability = exp(s - lse_tile[i]);
                const A* gy_row = gy_tile + i * value_width;
                const A d_probability = dot(gy_row, v_row, value_width);
                const A d_score = probability * (d_probability - dot_tile[i]) * scale;
                for (index_t e = 0; e < value_width; ++e)
                    gv_rows[t * value_width + e] += probability * gy_row[e];
                for (index_t e = 0; e < width; ++e)
                    gk_rows[t * width + e] += d_score * q_tile[i * width + e];
            }
        }
        if (key < keys) {
            for (index_t e = 0; e < width; ++e)
                gk[(head * keys + key) * width + e] = T(gk_rows[t * width + e]);
            for (index_t e = 0; e < value_width; ++e)
                gv[(head * keys + key) * value_width + e] = T(gv_rows[t * value_width + e]);
        }
    }
}

// one query per thread: gq, walking the keys a tile at a time
template <typename T>
__global__ void attention_backward_queries(const T* q, const T* k, const T* v, const T* gy,
                                           const acc_t<T>* lse, const acc_t<T>* row_dot, T* gq,
                                           index_t heads, index_t length, index_t keys,
                                           index_t width, index_t value_width, acc_t<T> scale,
                                           int causal) {
    typedef acc_t<T> A;
    DYNAMIC_SHARED(unsigned char, shared_bytes);
    const index_t tile = blockDim.x, t = threadIdx.x;
    A* q_tile = reinterpret_cast<A*>(shared_bytes);  // tile × width: this block's queries
    A* gy_tile = q_tile + tile * width;               // tile × value_width
    A* gq_rows = gy_tile + tile * value_width;        // tile × width, a row per thread
    A* k_tile = gq_rows + tile * width;               // tile × width: the keys walked
    A* v_tile = k_tile + tile * width;                // tile × value_width
    const index_t row_tiles = (length + tile - 1) / tile;
    for (index_t task = blockIdx.x; task < heads * row_tiles; task += gridDim.x) {
        const index_t head = task / row_tiles, first_row = (task % row_tiles) * tile;
        const index_t row = first_row + t;
        __syncthreads();
        load_tile(q_tile, q + head * length * width, first_row, length, width);
        load_tile(gy_tile, gy + head * length * value_width, first_row, length, value_width);
        for (index_t e = 0; e < width; ++e) gq_rows[t * width + e] = A(0);
        const A row_lse = row < length ? lse[head * length + row] : A(0);
        const A row_dot_value = row < length ? row_dot[head * length + row] : A(0);
        const index_t key_end = causal ? min(keys, first_row + tile) : keys;
        for (index_t first_key = 0; first_key < key_end; first_key += tile) {
            __syncthreads();
            load_tile(k_tile, k + head * keys * width, first_key, keys, width);
            load_tile(v_tile, v + head * keys * value_width, first_key, keys, value_width);
            __syncthreads();
            if (row >= length) continue;
            const index_t n = min(tile, keys - first_key);
            for (index_t j = 0; j < n; ++j) {
                if (causal && first_key + j > row) break;  // the rest of the tile is masked too
                const A s = dot(q_tile + t * width, k_tile + j * width, width) * scale;
                const A probability = exp(s - row_lse);
                const A d_probability =
                    dot(gy_tile + t * value_width, v_tile + j * value_width, value_width);
                const A d_score = probability * (d_probability - row_dot_value) * scale;
                for (index_t e = 0; e < width; ++e)
                    gq_rows[t * width + e] += d_score * k_tile[j * width + e];
            }
        }
        if (row < length)
            for (index_t e = 0; e < width; ++e)
                gq[(head * length + row) * width + e] = T(gq_rows[t * width + e]);
    }
}
