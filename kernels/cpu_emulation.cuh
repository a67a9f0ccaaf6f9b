// The CUDA execution model on the CPU, for tests without a GPU (tinygrad_lite/cuda/emulation.py).
// common.cuh includes this file instead of CUDA's own definitions when the host C++ compiler,
// not nvcc or NVRTC, compiles a kernel file; the kernels themselves are unchanged.
//
// What is modelled: a launch runs its blocks one after another; the threads of a block are
// user-level fibers (ucontext) with their own stacks, so each has its own locals, threadIdx and
// progress. Between two __syncthreads() the fibers run one at a time, in an order shuffled anew
// for every phase (from a seed), and __syncthreads() really waits for every thread of the block:
// a missing barrier therefore shows up as a wrong result, reproducibly for a given seed.
// blockIdx/threadIdx/blockDim/gridDim (3-D), dynamic shared memory (DYNAMIC_SHARED) and static
// __shared__ arrays (one copy, shared by the block: blocks never overlap) behave as on a GPU.
//
// Limits (none of our kernels needs more): no true parallelism, so a race shows as an ordering,
// never as a torn value; no warps, so warp-synchronous code, shuffles and votes are not
// emulated; no atomics; threads that leave the kernel early while others still wait at a
// barrier are reported as an error (undefined behaviour on a GPU).
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

#define __global__
#define __device__
#define __host__
#define __shared__ static
#define DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(emu::dynamic_shared)

using std::erf;
using std::exp;
using std::fabs;
using std::log;
using std::max;
using std::min;
using std::sqrt;
using std::tanh;

inline float __int_as_float(int bits) {
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

inline unsigned __float_as_uint(float value) {
    unsigned bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

inline float __uint_as_float(unsigned bits) {
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

inline double __longlong_as_double(long long bits) {
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

namespace emu {

inline thread_local dim3 thread_index, block_index, block_dim, grid_dim;
inline thread_local unsigned char* dynamic_shared = nullptr;

struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    bool done = false;
};

inline thread_local std::vector<Fiber>* fibers = nullptr;
inline thread_local ucontext_t scheduler;
inline thread_local int current = 0;
inline thread_local const std::function<void()>* body = nullptr;

inline void fiber_entry() {
    (*body)();
    (*fibers)[current].done = true;
    swapcontext(&(*fibers)[current].context, &scheduler);  // never resumed
}

inline void sync_threads() { swapcontext(&(*fibers)[current].context, &scheduler); }

inline dim3 unflatten(unsigned i, dim3 d) { return dim3{i % d.x, (i / d.x) % d.y, i / (d.x * d.y)}; }

// Runs every thread of one block to the end, phase by phase; false if the threads disagree
// about the barriers (some finished while others wait).
inline bool run_block(std::vector<Fiber>& threads, std::mt19937& shuffle) {
    std::vector<int> order(threads.size());
    std::iota(order.begin(), order.end(), 0);
    for (;;) {
        std::shuffle(order.begin(), order.end(), shuffle);
        for (int t : order) {
            if (threads[t].done) continue;
            current = t;
            thread_index = unflatten(t, block_dim);
            swapcontext(&scheduler, &threads[t].context);
        }
        size_t finished = std::count_if(threads.begin(), threads.end(),
                                        [](const Fiber& f) { return f.done; });
        if (finished == threads.size()) return true;
        if (finished != 0) return false;
    }
}

// Launch `kernel` (a call of the kernel with its arguments bound) on grid x block threads with
// `shared` bytes of dynamic shared memory. Returns 0, or 1 for barriers reached by part of a block.
inline int launch(dim3 grid, dim3 block, size_t shared, unsigned seed,
                  const std::function<void()>& kernel) {
    const size_t stack_bytes = 256 * 1024;
    std::vector<unsigned char> shared_memory(shared + 16);
    dynamic_shared = shared_memory.data();
    grid_dim = grid;
    block_dim = block;
    body = &kernel;
    std::mt19937 shuffle(seed);
    std::vector<Fiber> threads(block.x * block.y * block.z);
    fibers = &threads;
    for (auto& f : threads) f.stack.resize(stack_bytes);
    unsigned blocks = grid.x * grid.y * grid.z;
    for (unsigned b = 0; b < blocks; ++b) {
        block_index = unflatten(b, grid);
        for (auto& f : threads) {
            f.done = false;
            getcontext(&f.context);
            f.context.uc_stack.ss_sp = f.stack.data();
            f.context.uc_stack.ss_size = f.stack.size();
            f.context.uc_link = nullptr;
            makecontext(&f.context, fiber_entry, 0);
        }
        if (!run_block(threads, shuffle)) return 1;
    }
    return 0;
}

}  // namespace emu

#define threadIdx emu::thread_index
#define blockIdx emu::block_index
#define blockDim emu::block_dim
#define gridDim emu::grid_dim
#define __syncthreads() emu::sync_threads()
