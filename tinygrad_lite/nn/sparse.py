"""Sparse inference for pruned layers (`tl.nn.utils.sparse`): a Linear or Conv2d whose weight is
mostly zeros multiplies through scipy.sparse's CSR format, which touches only the nonzeros.

A CSR product costs an index load per nonzero where a dense BLAS product streams whole rows with
vector instructions (and here uses both cores, scipy one), so sparse pays only at high sparsity.
Measured on 2 cores (`python -m benchmarks compress`): a 256×784 Linear at batch 256 runs 2×
slower in CSR at 80% zeros, about even at 90%, 1.9× faster at 95% and 4.3× at 99%. `to_sparse`
therefore converts a layer only from `min_sparsity` (0.9, the measured break-even), and, given an
example input, only where CSR also measured faster on the input that reaches it. Inference only:
the layers record no graph. Needs scipy (pip install scipy; from a checkout, the sparse extra).
"""

from __future__ import annotations

import copy
import time

import numpy as np

from .. import ops
from ..autograd import no_grad
from ..backend import install_hint
from ..tensor import Tensor, as_tensor
from .conv import Conv2d
from .layers import Linear
from .module import Module

DEFAULT_MIN_SPARSITY = 0.9


def _scipy_sparse():
    try:
        import scipy.sparse
    except ImportError:
        hint = install_hint("scipy", "sparse")
        raise ImportError(f"sparse inference needs scipy: {hint}") from None
    return scipy.sparse


def sparsity(weight) -> float:
    """The fraction of exact zeros in a weight."""
    values = weight.numpy() if isinstance(weight, Tensor) else np.asarray(weight)
    return float((values == 0).mean()) if values.size else 0.0


class _SparseLayer(Module):
    """The weight as CSR buffers (values, column indices, row pointers) of the transposed
    (rest, out) matrix, and the bias; `matrix` rebuilds the scipy matrix (cached) from them.
    Transposed because rows @ CSR(Wᵀ) measured the fastest of the layouts scipy offers."""

    def __init__(self, layer: Module):
        dense = layer.weight.numpy().reshape(layer.weight.shape[0], -1).T
        csr = _scipy_sparse().csr_matrix(dense)
        self.register_buffer("weight_values", Tensor(csr.data))
        self.register_buffer("weight_indices", Tensor(csr.indices.astype(np.int32)))
        self.register_buffer("weight_indptr", Tensor(csr.indptr.astype(np.int64)))
        self.weight_shape = dense.shape
        if layer.bias is not None:
            self.register_buffer("bias", Tensor(layer.bias.numpy().copy()))
        else:
            self.bias = None
        self._matrix = None

    def matrix(self):
        parts = (self.weight_values.data, self.weight_indices.data, self.weight_indptr.data)
        if self._matrix is None or any(a is not b for a, b in zip(self._matrix[1], parts)):
            self._matrix = (_scipy_sparse().csr_matrix(parts, shape=self.weight_shape), parts)
        return self._matrix[0]

    def _product(self, rows: np.ndarray) -> np.ndarray:
        """rows @ Wᵀ (+ bias) for rows (M, K)."""
        y = np.asarray(rows @ self.matrix())
        return y + self.bias.data if self.bias is not None else y

    def extra_repr(self) -> str:
        rest, out = self.weight_shape
        return f"{out}x{rest}, {self.weight_values.shape[0]} nonzeros"


class SparseLinear(_SparseLayer):
    """Linear whose weight is stored and multiplied as a CSR matrix (inference)."""

    def __init__(self, layer: Linear):
        super().__init__(layer)
        self.in_features, self.out_features = layer.in_features, layer.out_features

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(f"SparseLinear: input of shape {x.shape} does not end in "
                             f"in_features={self.in_features}")  # fmt: skip
        rows = x.numpy().reshape(-1, self.in_features)
        return Tensor(self._product(rows).reshape(x.shape[:-1] + (self.out_features,)))


class SparseConv2d(_SparseLayer):
    """Conv2d as im2col and a CSR product (groups=1, inference)."""

    def __init__(self, layer: Conv2d):
        if layer.groups != 1:
            raise ValueError("SparseConv2d: only groups=1 is supported")
        super().__init__(layer)
        self.out_channels, self.kernel_size = layer.out_channels, layer.kernel_size
        self.stride, self.padding, self.dilation = layer.stride, layer.padding, layer.dilation

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        with no_grad():
            cols = ops.unfold(x, self.kernel_size, self.stride, self.padding, self.dilation)
        n, oh, ow = cols.shape[:3]
        y = self._product(cols.numpy().reshape(n * oh * ow, -1))
        y = y.reshape(n, oh, ow, self.out_channels).transpose(0, 3, 1, 2)
        return Tensor(np.ascontiguousarray(y))


_SPARSE = {Linear: SparseLinear, Conv2d: SparseConv2d}


def _faster_in_csr(layer: Module, sparse: Module, x: Tensor, repeats: int = 5) -> bool:
    """True when `sparse`, the CSR form of `layer`, ran faster than it on x (medians)."""
    times = {"dense": [], "sparse": []}
    with no_grad():
        for _ in range(repeats):
            for name, run in (("dense", layer), ("sparse", sparse)):
                start = time.perf_counter()
                run(x)
                times[name].append(time.perf_counter() - start)
    return float(np.median(times["sparse"])) < float(np.median(times["dense"]))


def to_sparse(model: Module, example_input=None, min_sparsity: float = DEFAULT_MIN_SPARSITY,
              inplace: bool = False) -> Module:  # fmt: skip
    """The model with each Linear and Conv2d of at least `min_sparsity` zeros (after pruning:
    call prune.remove first, or not: the pruned weight is what counts) in CSR form.

    With `example_input` (a batch like those the model will see; the model must be a
    Sequential), a candidate is converted only if CSR also measured faster on the input that
    reaches it: the break-even depends on the layer's shape and the batch, not only on the
    sparsity."""
    _scipy_sparse()
    model = model if inplace else copy.deepcopy(model)
    inputs = _inputs_of_each_layer(model, example_input) if example_input is not None else {}
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) not in _SPARSE or sparsity(child.weight) < min_sparsity:
                continue
            csr = _SPARSE[type(child)](child)
            if id(child) in inputs and not _faster_in_csr(child, csr, inputs[id(child)]):
                continue
            setattr(module, name, csr)
    return model


def _inputs_of_each_layer(model: Module, x) -> dict[int, Tensor]:
    """{id(layer): the input it receives} for the layers of a Sequential, from one forward."""
    if not hasattr(model, "__iter__"):
        raise TypeError("to_sparse: example_input needs a Sequential model (layer by layer)")
    seen, x = {}, as_tensor(x)
    with no_grad():
        for layer in model:
            seen[id(layer)] = x
            x = layer(x)
    return seen
