"""The compress suite: what each compression buys at inference, measured side by side.

- A pruned 256×784 Linear at batch 256 (our sparse.SparseLinear, CSR) against the same layer
  dense and a hand-written NumPy product, from 50% to 99% zeros: where CSR breaks even.
- The int8 product through float32 BLAS (quantization.int8_matmul, exact) against NumPy's own
  integer matmul (no BLAS) and a float32 product of the same shape.
- The E7 CNN with 50% of its channels pruned: shrunk (prune.shrink) against the masked model.
"""

from __future__ import annotations

import copy

import numpy as np

SPARSITIES = (0.5, 0.8, 0.9, 0.95, 0.99)


def _pruned_linear(sparsity: float, rng):
    import tinygrad_lite as tl
    from tinygrad_lite.nn.utils import prune

    tl.manual_seed(0)
    layer = tl.nn.Linear(784, 256)
    prune.l1_unstructured(layer, "weight", sparsity)
    prune.remove(layer, "weight")
    return layer


def sparse_linear_contenders(sparsity: float, batch: int) -> dict:
    import tinygrad_lite as tl
    from tinygrad_lite.nn.utils import sparse

    rng = np.random.default_rng(0)
    layer = _pruned_linear(sparsity, rng)
    csr = sparse.SparseLinear(layer)
    x = tl.tensor(rng.standard_normal((batch, 784)), dtype=np.float32)
    w, b, x_np = layer.weight.numpy(), layer.bias.numpy(), x.numpy()

    def dense():
        with tl.no_grad():
            return layer(x)

    return {"tinygrad_lite": lambda: csr(x), "dense": dense, "numpy": lambda: x_np @ w.T + b}


def int8_contenders(n: int, k: int, m: int) -> dict:
    from tinygrad_lite.quantization import int8_matmul

    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (n, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, m)).astype(np.int8)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    return {
        "tinygrad_lite": lambda: int8_matmul(a, b),
        "numpy int32": lambda: a.astype(np.int32) @ b.astype(np.int32),
        "float32": lambda: a32 @ b32,
    }


def shrunk_cnn_contenders(batch: int) -> dict:
    import tinygrad_lite as tl
    from tinygrad_lite.examples import e7_digits_cnn
    from tinygrad_lite.nn.utils import prune

    tl.manual_seed(0)
    masked = e7_digits_cnn.make_model().eval()
    for layer in [m for m in masked if isinstance(m, (tl.nn.Conv2d, tl.nn.Linear))][:-1]:
        prune.ln_structured(layer, "weight", 0.5, n=2, dim=0)
    x = tl.tensor(np.random.default_rng(0).standard_normal((batch, 1, 28, 28)), dtype=np.float32)
    shrunk = prune.shrink(copy.deepcopy(masked), x).eval()

    def run(model):
        def forward():
            with tl.no_grad():
                return model(x)

        return forward

    return {"tinygrad_lite": run(shrunk), "masked": run(masked)}


def cases(quick: bool) -> dict[str, dict]:
    """{case name: contenders}; 'tinygrad_lite' is the compressed form in each."""
    batch = 8 if quick else 256
    found = {}
    for sparsity in (0.9,) if quick else SPARSITIES:
        found[f"CSR linear {sparsity:.0%} zeros"] = sparse_linear_contenders(sparsity, batch)
    shape = (8, 64, 8) if quick else (256, 1024, 256)
    found[f"int8 matmul {shape[0]}x{shape[1]}x{shape[2]}"] = int8_contenders(*shape)
    found[f"E7 50% channels shrunk, b{16 if quick else 128}"] = shrunk_cnn_contenders(
        16 if quick else 128
    )
    return found
