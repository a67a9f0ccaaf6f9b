"""Physical shrinking after structured pruning (`tl.nn.utils.prune.shrink`): output channels (of a
Conv2d) or neurons (of a Linear) whose weights are all zero are removed, with the matching input
slices of the next layer, so the dense model really is smaller and faster. PyTorch needs a
third-party library for this.

A removed channel still outputs a constant, its bias b (pruning the weight leaves the bias):
after an elementwise activation f it is f(b), max- or average-pooling keeps it, BatchNorm maps it
affinely. That constant's contribution to the next layer, Σ over the kernel (or the flattened
positions) of the weights that read it, times f(b), is the same at every output position, so it
is added to the next layer's bias and the shrunk model computes what the pruned one did (up to
float rounding). Where that is not exact (a next Conv2d with zero padding sees the constant only
inside the image) a channel is removed only if its constant is 0.
"""

from __future__ import annotations

import copy

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor, as_tensor
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .layers import GELU, Dropout, Flatten, Identity, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from .module import Parameter, Sequential
from .normalization import BatchNorm1d, BatchNorm2d

_ELEMENTWISE = (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Dropout, Identity)
_SAME_CHANNELS = (MaxPool2d, AvgPool2d)


def _rows(array: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array[keep])


def _columns(array: np.ndarray, keep: np.ndarray, spatial: int) -> np.ndarray:
    """The inputs of the kept channels: axis 1 of a Conv2d weight, or groups of `spatial`
    columns of a Linear weight (a Flatten lays out each channel's positions together)."""
    if array.ndim == 4:
        return np.ascontiguousarray(array[:, keep])
    grouped = array.reshape(array.shape[0], -1, spatial)[:, keep]
    return np.ascontiguousarray(grouped.reshape(array.shape[0], -1))


def _replace_stored(layer, names, change) -> None:
    """Apply `change` to each stored tensor of `names` (and its pruning _orig/_mask)."""
    for name in names:
        for stored in (name, name + "_orig", name + "_mask"):
            value = vars(layer).get(stored)
            if isinstance(value, Tensor):
                kind = Parameter if isinstance(value, Parameter) else Tensor
                setattr(layer, stored, kind(change(value.numpy())))


def shrink(model: Sequential, example_input) -> Sequential:
    """A smaller copy of a Sequential model: every all-zero output channel/neuron of a Conv2d or
    Linear removed, with the next layer's matching inputs. `example_input` (one batch) tells the
    spatial size that each Flatten sees. The last layer's outputs are never removed.

    Raises:
        TypeError: not a Sequential, or a layer between two prunable ones that shrinking cannot
            pass channels through (the message names it).
    """
    if not isinstance(model, Sequential):
        raise TypeError("shrink: needs a Sequential model")
    model = copy.deepcopy(model)
    training = model.training
    model.eval()
    layers = list(model)
    shapes, x = [], as_tensor(example_input)
    with no_grad():
        for layer in layers:
            x = layer(x)
            shapes.append(x.shape)
    prunable = [i for i, layer in enumerate(layers) if isinstance(layer, (Conv2d, Linear))]
    for i, j in zip(prunable, prunable[1:]):
        _remove_dead_outputs(layers, i, j, shapes)
    return model.train(training)


def _remove_dead_outputs(layers, i: int, j: int, shapes) -> None:
    """Remove the all-zero outputs of layers[i], fixing layers[i+1 .. j] (j: the next prunable)."""
    layer, successor = layers[i], layers[j]
    weight = layer.weight.numpy()  # a pruned layer's weight is already orig * mask
    dead = np.flatnonzero(~weight.reshape(weight.shape[0], -1).any(axis=1))
    if dead.size in (0, weight.shape[0]):
        return
    constant = layer.bias.numpy()[dead].astype(np.float64) if layer.bias is not None \
        else np.zeros(dead.size)  # fmt: skip
    spatial = 1
    for k in range(i + 1, j):
        between = layers[k]
        if isinstance(between, (BatchNorm1d, BatchNorm2d)):
            constant = _batch_norm_constant(between, dead, constant)
        elif isinstance(between, _ELEMENTWISE):
            with no_grad():
                constant = between(Tensor(constant.reshape(1, -1))).numpy().reshape(-1)
        elif isinstance(between, Flatten):
            spatial = int(np.prod(shapes[k - 1][2:]))
        elif not isinstance(between, _SAME_CHANNELS):
            raise TypeError(f"shrink: cannot pass channels through {type(between).__name__}")
    if isinstance(successor, Conv2d) and successor.padding != (0, 0):
        # with zero padding the constant reaches only part of each window: not foldable
        foldable = constant == 0
        dead, constant = dead[foldable], constant[foldable]
        if dead.size == 0:
            return
    keep = np.setdiff1d(np.arange(weight.shape[0]), dead)
    # fold first, from the successor's weights as they are
    successor_weight = successor.weight.numpy()
    if isinstance(successor, Conv2d):
        reads = successor_weight[:, dead].sum(axis=(2, 3))  # (out, dead): each kernel's sum
    else:
        reads = successor_weight.reshape(successor_weight.shape[0], -1, spatial)[:, dead].sum(2)
    folded = reads @ constant
    _replace_stored(layer, ("weight", "bias"), lambda a: _rows(a, keep))
    for k in range(i + 1, j):
        if isinstance(layers[k], (BatchNorm1d, BatchNorm2d)):
            _replace_stored(layers[k], ("weight", "bias", "running_mean", "running_var"),
                            lambda a: _rows(a, keep))  # fmt: skip
            layers[k].num_features = int(keep.size)
    _replace_stored(successor, ("weight",), lambda a: _columns(a, keep, spatial))
    if np.any(folded != 0):
        if successor.bias is None:
            raise TypeError(f"shrink: layer {j} has no bias to take the removed constants")
        bias = vars(successor).get("bias_orig", successor.bias)
        bias.data = (bias.numpy() + folded).astype(bias.dtype)
    if isinstance(layer, Conv2d):
        layer.out_channels = int(keep.size)
    else:
        layer.out_features = int(keep.size)
    if isinstance(successor, Conv2d):
        successor.in_channels = int(keep.size)
    else:
        successor.in_features = int(keep.size * spatial)


def _batch_norm_constant(norm, dead: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """BatchNorm (eval) of constant channels: (c - mean) / sqrt(var + eps) · γ + β."""
    mean, var = norm.running_mean.numpy()[dead], norm.running_var.numpy()[dead]
    gamma = norm.weight.numpy()[dead] if norm.weight is not None else 1.0
    beta = norm.bias.numpy()[dead] if norm.bias is not None else 0.0
    return (constant - mean) / np.sqrt(var + norm.eps) * gamma + beta
