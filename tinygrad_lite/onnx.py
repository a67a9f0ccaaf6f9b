"""Export a model to ONNX, to run it in a production runtime such as onnxruntime.

    tl.onnx.export(model, example_input, "model.onnx")

Supported: (nested) Sequential models of Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d
(as in eval mode), Dropout (an identity in eval mode), Flatten (all but the batch axis),
Identity, ReLU, LeakyReLU, Sigmoid, Tanh, GELU (exact), Softmax and LogSoftmax. The input is named
`input`, the output `output`, and the batch axis is dynamic. Anything else raises a ValueError
naming the layer. Needs the onnx package (`pip install -e ".[interop]"`).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .autograd import no_grad
from .backend import install_hint
from .nn.conv import AvgPool2d, Conv2d, MaxPool2d
from .nn.layers import (
    GELU,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,  # fmt: skip
    Softmax,
    Tanh,
)
from .nn.module import Module, Sequential
from .nn.normalization import _BatchNorm
from .ops.conv import Window
from .tensor import Tensor

SUPPORTED = ("Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d, Dropout, Flatten, Identity, "
             "ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax")  # fmt: skip


def _leaves(model: Module) -> list[Module]:
    if isinstance(model, Sequential):
        return [leaf for _, child in model.named_children() for leaf in _leaves(child)]
    return [model]


class _Graph:
    """Nodes and initializers built layer by layer; `name` is the current tensor's name."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self.count, self.name = [], [], 0, "input"

    def constant(self, array: np.ndarray, hint: str) -> str:
        self.count += 1
        name = f"{hint}_{self.count}"
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], **attributes) -> None:
        self.count += 1
        output = f"{op.lower()}_{self.count}"
        self.nodes.append(self.helper.make_node(op, [self.name, *inputs], [output], **attributes))
        self.name = output


def _pads(window: Window) -> list[int]:
    return [*window.padding, *window.padding]  # begin (top, left), then end (bottom, right)


def _add_layer(graph: _Graph, layer: Module, x: Tensor) -> None:
    """Append the ONNX nodes of one layer, whose input (an example) is `x`."""
    if isinstance(layer, Linear):
        if x.ndim != 2:
            raise ValueError(f"onnx.export: Linear needs a 2-D input here, got {x.shape}")
        inputs = [graph.constant(layer.weight.numpy(), "weight")]
        if layer.bias is not None:
            inputs.append(graph.constant(layer.bias.numpy(), "bias"))
        graph.node("Gemm", inputs, transB=1)
    elif isinstance(layer, Conv2d):
        window = Window.of(layer.kernel_size, layer.stride, layer.padding, layer.dilation)
        inputs = [graph.constant(layer.weight.numpy(), "weight")]
        if layer.bias is not None:
            inputs.append(graph.constant(layer.bias.numpy(), "bias"))
        geometry = dict(kernel_shape=list(window.kernel), strides=list(window.stride),
                        pads=_pads(window), dilations=list(window.dilation))  # fmt: skip
        graph.node("Conv", inputs, group=layer.groups, **geometry)
    elif isinstance(layer, (MaxPool2d, AvgPool2d)):
        dilation = getattr(layer, "dilation", 1)
        window = Window.of(layer.kernel_size, layer.stride, layer.padding, dilation)
        shape = dict(kernel_shape=list(window.kernel), strides=list(window.stride),
                     pads=_pads(window))  # fmt: skip
        if isinstance(layer, MaxPool2d):
            graph.node("MaxPool", [], dilations=list(window.dilation), **shape)
        else:
            graph.node("AveragePool", [], count_include_pad=1, **shape)
    elif isinstance(layer, _BatchNorm):
        _add_batch_norm(graph, layer)
    elif isinstance(layer, Flatten):
        if (layer.start_dim, layer.end_dim) != (1, -1):
            raise ValueError("onnx.export: only Flatten() of all but the batch axis is exported")
        graph.node("Flatten", [], axis=1)
    else:
        _add_activation(graph, layer, x)


def _add_batch_norm(graph: _Graph, layer) -> None:
    if not layer.track_running_stats:
        raise ValueError("onnx.export: BatchNorm without running statistics cannot be exported")
    n, dtype = layer.num_features, layer.running_mean.dtype
    scale = layer.weight.numpy() if layer.affine else np.ones(n, dtype)
    shift = layer.bias.numpy() if layer.affine else np.zeros(n, dtype)
    statistics = (layer.running_mean.numpy(), "mean"), (layer.running_var.numpy(), "var")
    parts = ((scale, "scale"), (shift, "shift"), *statistics)
    inputs = [graph.constant(array, hint) for array, hint in parts]
    graph.node("BatchNormalization", inputs, epsilon=float(layer.eps))


def _add_activation(graph: _Graph, layer: Module, x: Tensor) -> None:
    if isinstance(layer, (Dropout, Identity)):
        graph.node("Identity", [])
    elif isinstance(layer, ReLU):
        graph.node("Relu", [])
    elif isinstance(layer, LeakyReLU):
        graph.node("LeakyRelu", [], alpha=float(layer.negative_slope))
    elif isinstance(layer, Sigmoid):
        graph.node("Sigmoid", [])
    elif isinstance(layer, Tanh):
        graph.node("Tanh", [])
    elif isinstance(layer, GELU) and layer.approximate == "none":
        source = graph.name  # x · (1 + erf(x / √2)) / 2, in ops every opset has
        graph.node("Div", [graph.constant(np.array(math.sqrt(2), x.dtype), "sqrt2")])
        graph.node("Erf", [])
        graph.node("Add", [graph.constant(np.array(1, x.dtype), "one")])
        graph.node("Mul", [source])
        graph.node("Div", [graph.constant(np.array(2, x.dtype), "two")])
    elif isinstance(layer, Softmax):  # LogSoftmax too: a subclass
        op = "LogSoftmax" if isinstance(layer, LogSoftmax) else "Softmax"
        graph.node(op, [], axis=layer.dim % x.ndim)
    else:
        raise ValueError(
            f"onnx.export: {type(layer).__name__} cannot be exported (supported: {SUPPORTED})"
        )


def export(model: Module, example_input, path: str | os.PathLike, opset: int = 17) -> Path:
    """Write `model` (run as in eval mode) as an ONNX file, checked by onnx.checker; returns the
    path. The batch axis of input and output is dynamic ('batch').

    Raises:
        ValueError: a layer that cannot be exported, naming it.
        ImportError: the onnx package is missing.
    """
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError(
            f"ONNX export needs the onnx package: {install_hint('onnx onnxruntime', 'interop')}"
        ) from None
    was_training = model.training
    model.eval()
    try:
        graph = _Graph(helper, numpy_helper)
        x = (
            example_input
            if isinstance(example_input, Tensor)
            else Tensor(np.asarray(example_input))
        )
        with no_grad():
            for layer in _leaves(model):
                _add_layer(graph, layer, x)
                x = layer(x)
    finally:
        model.train(was_training)
    element = helper.np_dtype_to_tensor_dtype(np.dtype(x.dtype))
    inputs = [helper.make_tensor_value_info("input", helper.np_dtype_to_tensor_dtype(
        np.dtype(example_input.dtype)), ["batch", *np.shape(example_input)[1:]])]  # fmt: skip
    graph.nodes.append(helper.make_node("Identity", [graph.name], ["output"]))
    outputs = [helper.make_tensor_value_info("output", element, ["batch", *x.shape[1:]])]
    onnx_graph = helper.make_graph(graph.nodes, "tinygrad_lite", inputs, outputs,
                                   graph.initializers)  # fmt: skip
    proto = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tinygrad_lite")  # fmt: skip
    onnx.checker.check_model(proto)
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        file.write(proto.SerializeToString())
    os.replace(temporary, path)
    return path
