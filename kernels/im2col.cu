// im2col / col2im for NCHW images, with stride, padding and dilation, in the layout of
// tinygrad_lite.ops.unfold: cols[n, i, j, c, a, b] = x[n, c, i*sh - ph + a*dh, j*sw - pw + b*dw]
// (0 outside the image). The convolution's matrix product then runs in cuBLAS through CuPy.
//
// Roofline: im2col reads each input pixel about KH*KW/(sh*sw) times (mostly from cache) and writes
// N*OH*OW*C*KH*KW elements once; col2im gathers, for each pixel, the window elements that copied
// it (no atomics, so the result is deterministic) and writes the image once. Both are
// memory-bound: bytes ~ (cols + image) * sizeof(T), no flops beyond index arithmetic and adds.
#include "common.cuh"

// The geometry arrives as 13 ints in a small device array (in this order), which avoids passing a
// struct by value through CuPy.
struct Window {
    int channels, height, width, out_height, out_width;
    int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
};

__device__ Window load_window(const int* g) {
    Window w;
    w.channels = g[0]; w.height = g[1]; w.width = g[2]; w.out_height = g[3]; w.out_width = g[4];
    w.kernel_h = g[5]; w.kernel_w = g[6]; w.stride_h = g[7]; w.stride_w = g[8];
    w.pad_h = g[9]; w.pad_w = g[10]; w.dilation_h = g[11]; w.dilation_w = g[12];
    return w;
}

template <typename T>
__global__ void im2col(const T* x, T* cols, const int* geometry, index_t total) {
    const Window w = load_window(geometry);
    GRID_STRIDE_LOOP(k, total) {
        // k walks cols in memory order (n, i, j, c, a, b)
        index_t rest = k;
        int b = rest % w.kernel_w; rest /= w.kernel_w;
        int a = rest % w.kernel_h; rest /= w.kernel_h;
        int c = rest % w.channels; rest /= w.channels;
        int j = rest % w.out_width; rest /= w.out_width;
        int i = rest % w.out_height;
        index_t n = rest / w.out_height;
        int h = i * w.stride_h - w.pad_h + a * w.dilation_h;
        int col = j * w.stride_w - w.pad_w + b * w.dilation_w;
        bool inside = h >= 0 && h < w.height && col >= 0 && col < w.width;
        cols[k] = inside ? x[((n * w.channels + c) * w.height + h) * w.width + col] : T(0.0f);
    }
}

template <typename T>
__global__ void col2im(const T* cols, T* x, const int* geometry, index_t total) {
    const Window w = load_window(geometry);
    GRID_STRIDE_LOOP(k, total) {
        // k walks the image in memory order (n, c, h, col)
        index_t rest = k;
        int col = rest % w.width; rest /= w.width;
        int h = rest % w.height; rest /= w.height;
        int c = rest % w.channels;
        index_t n = rest / w.channels;
        acc_t<T> sum = 0;  // 16-bit types add in float
        for (int a = 0; a < w.kernel_h; ++a) {
            int hs = h + w.pad_h - a * w.dilation_h;  // = i * stride_h for the window i
            if (hs < 0 || hs % w.stride_h) continue;
            int i = hs / w.stride_h;
            if (i >= w.out_height) continue;
            for (int b = 0; b < w.kernel_w; ++b) {
                int ws = col + w.pad_w - b * w.dilation_w;
                if (ws < 0 || ws % w.stride_w) continue;
                int j = ws / w.stride_w;
                if (j >= w.out_width) continue;
                index_t at = ((((n * w.out_height + i) * w.out_width + j) * w.channels + c)
                                  * w.kernel_h + a) * w.kernel_w + b;
                sum += acc_t<T>(cols[at]);
            }
        }
        x[k] = T(sum);
    }
}

// Max-pool forward: the maximum of each window and where it is (h * W + col in the unpadded plane;
// the first maximum wins ties, as in PyTorch). Padding counts as -inf and is never chosen.
template <typename T>
__global__ void max_pool_forward(const T* x, T* y, long long* argmax, const int* geometry,
                                 index_t total) {
    const Window w = load_window(geometry);
    GRID_STRIDE_LOOP(k, total) {
        // k walks y in memory order (n, c, i, j)
        index_t rest = k;
        int j = rest % w.out_width; rest /= w.out_width;
        int i = rest % w.out_height;
        index_t plane = rest / w.out_height;  // n * C + c
        const T* image = x + plane * w.height * w.width;
        acc_t<T> best = negative_infinity<acc_t<T>>();
        long long where = -1;
        for (int a = 0; a < w.kernel_h; ++a) {
            int h = i * w.stride_h - w.pad_h + a * w.dilation_h;
            if (h < 0 || h >= w.height) continue;
            for (int b = 0; b < w.kernel_w; ++b) {
                int col = j * w.stride_w - w.pad_w + b * w.dilation_w;
                if (col < 0 || col >= w.width) continue;
                acc_t<T> value = acc_t<T>(image[h * w.width + col]);
                // the first maximum wins ties; the first NaN wins outright, as on the CPU
                bool first_nan = value != value && best == best;
                if (value > best || where < 0 || first_nan) {
                    best = value;
                    where = h * w.width + col;
                }
            }
        }
        y[k] = T(best);
        argmax[k] = where;
    }
}

// Max-pool backward: each input pixel gathers gy of the windows whose maximum it is (no atomics).
template <typename T>
__global__ void max_pool_backward(const T* gy, const long long* argmax, T* gx, const int* geometry,
                                  index_t total) {
    const Window w = load_window(geometry);
    GRID_STRIDE_LOOP(k, total) {
        index_t rest = k;
        int col = rest % w.width; rest /= w.width;
        int h = rest % w.height;
        index_t plane = rest / w.height;
        long long here = h * w.width + col;
        acc_t<T> sum = 0;
        for (int a = 0; a < w.kernel_h; ++a) {
            int hs = h + w.pad_h - a * w.dilation_h;
            if (hs < 0 || hs % w.stride_h) continue;
            int i = hs / w.stride_h;
            if (i >= w.out_height) continue;
            for (int b = 0; b < w.kernel_w; ++b) {
                int ws = col + w.pad_w - b * w.dilation_w;
                if (ws < 0 || ws % w.stride_w) continue;
                int j = ws / w.stride_w;
                if (j >= w.out_width) continue;
                index_t at = (plane * w.out_height + i) * w.out_width + j;
                if (argmax[at] == here) sum += acc_t<T>(gy[at]);
            }
        }
        gx[k] = T(sum);
    }
}
