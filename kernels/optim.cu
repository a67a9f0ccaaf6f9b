// Fused optimizer updates: one launch per parameter tensor updates the parameter and its state
// in place, with the same arithmetic, in the same order, as tinygrad_lite/optim/optimizers.py.
// Step-dependent scalars (bias corrections) are computed once on the host.
//
// Roofline (bytes per element, T = sizeof(T)): SGD with momentum reads p, g, b and writes p, b
// (5T); Adam reads p, g, m, v and writes p, m, v (7T; 9T with amsgrad); RMSprop reads p, g, v and
// writes p, v (5T; more with centered/momentum). Each does under 15 flops per element, so all are
// memory-bound: composed from array expressions the same update moves 3-5x as many bytes through
// temporaries.
//
// The gradient's type G may be narrower than the parameter's T: float32 master weights updated
// from half_t or bfloat16_t gradients (mixed precision), widened as they are read (2 bytes
// instead of 4 for g).
#include "common.cuh"

// first_step: the momentum buffer starts as a copy of the gradient (PyTorch's rule).
template <typename T, typename G>
__global__ void sgd_update(T* p, const G* g, T* buf, T lr, T momentum, T dampening,
                           T weight_decay, int nesterov, int first_step, index_t n) {
    GRID_STRIDE_LOOP(i, n) {
        T d = T(g[i]);
        if (weight_decay != T(0)) d += weight_decay * p[i];
        if (momentum != T(0)) {
            T b = first_step ? d : momentum * buf[i] + (T(1) - dampening) * d;
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[i] -= lr * d;
    }
}

// step_size = lr / (1 - beta1^t); bias2_sqrt = sqrt(1 - beta2^t). decoupled: AdamW.
// max_v may be null unless amsgrad.
template <typename T, typename G>
__global__ void adam_update(T* p, const G* g, T* m, T* v, T* max_v, T lr, T beta1, T beta2,
                            T eps, T weight_decay, int decoupled, T step_size, T bias2_sqrt,
                            index_t n) {
    GRID_STRIDE_LOOP(i, n) {
        T pi = p[i];
        T gi = T(g[i]);
        if (decoupled) {
            pi *= T(1) - lr * weight_decay;
        } else if (weight_decay != T(0)) {
            gi += weight_decay * pi;
        }
        T mi = beta1 * m[i] + (T(1) - beta1) * gi;
        T vi = beta2 * v[i] + (T(1) - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        if (max_v) {
            vi = max(max_v[i], vi);
            max_v[i] = vi;
        }
        p[i] = pi - step_size * mi / (sqrt(vi) / bias2_sqrt + eps);
    }
}

// grad_avg (centered) and buf (momentum) may be null when unused.
template <typename T, typename G>
__global__ void rmsprop_update(T* p, const G* g, T* square_avg, T* grad_avg, T* buf, T lr,
                               T alpha, T eps, T weight_decay, T momentum, index_t n) {
    GRID_STRIDE_LOOP(i, n) {
        T gi = T(g[i]);
        if (weight_decay != T(0)) gi += weight_decay * p[i];
        T v = alpha * square_avg[i] + (T(1) - alpha) * gi * gi;
        square_avg[i] = v;
        T denominator;
        if (grad_avg) {
            T mean = alpha * grad_avg[i] + (T(1) - alpha) * gi;
            grad_avg[i] = mean;
            denominator = sqrt(v - mean * mean) + eps;
        } else {
            denominator = sqrt(v) + eps;
        }
        if (buf) {
            T b = momentum * buf[i] + gi / denominator;
            buf[i] = b;
            p[i] -= lr * b;
        } else {
            p[i] -= lr * gi / denominator;
        }
    }
}
