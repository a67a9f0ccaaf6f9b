"""Export a model to ONNX, to run it in a production runtime such as onnxruntime.

    tl.onnx.export(model, example_input, "model.onnx")

Supported: (nested) Sequential models of Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d
(as in eval mode), LayerNorm, RMSNorm, Dropout (an identity in eval mode), Flatten (all but the
batch axis), Identity, ReLU, LeakyReLU, Sigmoid, Tanh, GELU (exact), Softmax and LogSoftmax; and,
exported on their own, RNN, LSTM and GRU (ONNX's RNN, LSTM and GRU ops, PyTorch's gate order
rearranged into ONNX's; outputs `output`, `h_n` and for LSTM `c_n`, starting from a zero state)
and MultiheadAttention as self-attention, `model(x, x, x)` without masks. The input is named
`input`, the output `output`; the batch axis is dynamic, and the sequence axis of the recurrent
layers and of attention too. Anything else raises a ValueError naming the layer. Needs the onnx
package (`pip install -e ".[interop]"`).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .autograd import no_grad
from .backend import install_hint
from .nn.attention import MultiheadAttention
from .nn.conv import AvgPool2d, Conv2d, MaxPool2d
from .nn.layer_norm import LayerNorm, RMSNorm
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
from .nn.recurrent import _RNNBase
from .ops.conv import Window
from .tensor import Tensor

SUPPORTED = ("Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d, LayerNorm, RMSNorm, Dropout, "
             "Flatten, Identity, ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax in a "
             "Sequential; RNN, LSTM, GRU, MultiheadAttention on their own")  # fmt: skip
# ONNX's gate order, as indices of PyTorch's: LSTM i f g o -> i o f c(=g); GRU r z n -> z r h(=n)
GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


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
        """Append `op` applied to the current tensor and `inputs`; its output becomes current."""
        (self.name,) = self.apply(op, [self.name, *inputs], **attributes)

    def apply(self, op: str, inputs: list[str], outputs: int = 1, **attributes) -> list[str]:
        """Append `op` on the named `inputs` ('' for an omitted optional one); returns the names
        of its `outputs` outputs, leaving the current tensor as it was."""
        self.count += 1
        names = [f"{op.lower()}_{self.count}_{i}" for i in range(outputs)]
        self.nodes.append(self.helper.make_node(op, inputs, names, **attributes))
        return names


def _pads(window: Window) -> list[int]:
    return [*window.padding, *window.padding]  # begin (top, left), then end (bottom, right)


def _add_layer(graph: _Graph, layer: Module, x: Tensor) -> None:
    """Append the ONNX nodes of one layer, whose input (an example) is `x`."""
    if isinstance(layer, Linear):
        _add_linear(graph, layer.weight.numpy(), None if layer.bias is None else layer.bias.numpy(),
                    x.ndim)  # fmt: skip
    elif isinstance(layer, (LayerNorm, RMSNorm)):
        _add_norm(graph, layer, x)
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


def _add_linear(graph: _Graph, weight: np.ndarray, bias: np.ndarray | None, ndim: int) -> None:
    """x Wᵀ + b: one Gemm for a 2-D x, else MatMul then Add (Gemm takes matrices only)."""
    if ndim == 2:
        inputs = [graph.constant(weight, "weight")]
        if bias is not None:
            inputs.append(graph.constant(bias, "bias"))
        graph.node("Gemm", inputs, transB=1)
        return
    graph.node("MatMul", [graph.constant(np.ascontiguousarray(weight.T), "weight")])
    if bias is not None:
        graph.node("Add", [graph.constant(bias, "bias")])


def _add_norm(graph: _Graph, layer, x: Tensor) -> None:
    """LayerNorm as ONNX's LayerNormalization; RMSNorm as x · (mean(x²) + ε)^−½ · γ (ONNX has
    RMSNormalization only from opset 23)."""
    shape, dtype = layer.normalized_shape, np.dtype(x.dtype)
    axes = list(range(-len(shape), 0))
    weight = layer.weight.numpy() if layer.weight is not None else np.ones(shape, dtype)
    if isinstance(layer, LayerNorm):
        bias = layer.bias.numpy() if layer.bias is not None else np.zeros(shape, dtype)
        inputs = [graph.constant(weight, "scale"), graph.constant(bias, "bias")]
        graph.node("LayerNormalization", inputs, axis=axes[0], epsilon=float(layer.eps))
        return
    eps = float(np.finfo(dtype).eps) if layer.eps is None else layer.eps
    source = graph.name
    graph.node("Mul", [source])
    graph.node("ReduceMean", [], axes=axes, keepdims=1)
    graph.node("Add", [graph.constant(np.array(eps, dtype), "eps")])
    graph.node("Sqrt", [])
    graph.node("Reciprocal", [])
    graph.node("Mul", [source])
    graph.node("Mul", [graph.constant(weight, "weight")])


def _gates(array: np.ndarray, mode: str) -> np.ndarray:
    """A recurrent weight or bias with its gate blocks (first axis) in ONNX's order."""
    blocks = np.split(array, len(GATE_ORDER[mode]))
    return np.concatenate([blocks[i] for i in GATE_ORDER[mode]])


def _add_recurrent(graph: _Graph, layer: _RNNBase, x: Tensor) -> dict[str, str]:
    """One ONNX RNN/LSTM/GRU node per layer (both directions in one), the output of each
    reshaped from ONNX's (L, directions, N, H) to PyTorch's (L, N, directions·H)."""
    if x.ndim != 3:
        raise ValueError(f"onnx.export: {type(layer).__name__} needs a batched (3-D) input, "
                         f"got {x.shape}")  # fmt: skip
    op = {"LSTM": "LSTM", "GRU": "GRU"}.get(layer.mode, "RNN")
    directions = 2 if layer.bidirectional else 1
    suffixes = ("", "_reverse")[:directions]
    if layer.batch_first:
        graph.node("Transpose", [], perm=[1, 0, 2])
    finals = {"h_n": [], "c_n": []}
    for number in range(layer.num_layers):
        stacked = {kind: np.stack([_gates(getattr(layer, f"{kind}_l{number}{sfx}").numpy(),
                                          layer.mode) for sfx in suffixes])
                   for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                   if layer.bias or kind.startswith("weight")}  # fmt: skip
        inputs = [graph.name, graph.constant(stacked["weight_ih"], "W"),
                  graph.constant(stacked["weight_hh"], "R")]  # fmt: skip
        if layer.bias:
            biases = np.concatenate([stacked["bias_ih"], stacked["bias_hh"]], axis=1)
            inputs.append(graph.constant(biases, "B"))
        options = {"hidden_size": layer.hidden_size,
                   "direction": "bidirectional" if directions == 2 else "forward"}  # fmt: skip
        if op == "GRU":
            options["linear_before_reset"] = 1  # PyTorch's: r multiplies (W_hn h + b_hn)
        if op == "RNN":
            options["activations"] = ["Tanh" if layer.mode == "RNN_TANH" else "Relu"] * directions
        y, *states = graph.apply(op, inputs, outputs=3 if op == "LSTM" else 2, **options)
        finals["h_n"].append(states[0])
        if op == "LSTM":
            finals["c_n"].append(states[1])
        graph.name = y
        graph.node("Transpose", [], perm=[0, 2, 1, 3])
        graph.node("Reshape", [graph.constant(np.array([0, 0, -1], np.int64), "shape")])
    if layer.batch_first:
        graph.node("Transpose", [], perm=[1, 0, 2])
    outputs = {"output": graph.name}
    for name, parts in finals.items():
        if parts:
            outputs[name] = parts[0] if len(parts) == 1 else graph.apply("Concat", parts, axis=0)[0]
    return outputs


def _add_self_attention(graph: _Graph, layer: MultiheadAttention, x: Tensor) -> None:
    """softmax(q kᵀ / √d) v per head, q, k, v the input's three projections, then out_proj."""
    if x.ndim != 3:
        raise ValueError(f"onnx.export: MultiheadAttention needs a batched (3-D) input, got "
                         f"{x.shape}")  # fmt: skip
    width, heads, size = layer.embed_dim, layer.num_heads, layer.head_dim
    dtype = np.dtype(x.dtype)
    if not layer.batch_first:
        graph.node("Transpose", [], perm=[1, 0, 2])  # (N, L, E) inside
    bias = None if layer.in_proj_bias is None else layer.in_proj_bias.numpy()
    _add_linear(graph, layer.in_proj_weight.numpy(), bias, 3)
    split = graph.constant(np.array([width] * 3, np.int64), "split")
    heads_shape = graph.constant(np.array([0, 0, heads, size], np.int64), "heads")
    q, k, v = graph.apply("Split", [graph.name, split], outputs=3, axis=-1)
    parts = []
    for name, perm in ((q, [0, 2, 1, 3]), (k, [0, 2, 3, 1]), (v, [0, 2, 1, 3])):
        graph.name = name
        graph.node("Reshape", [heads_shape])
        graph.node("Transpose", [], perm=perm)  # (N, heads, L, d); k as (N, heads, d, L)
        parts.append(graph.name)
    graph.name = parts[0]
    graph.node("MatMul", [parts[1]])
    graph.node("Mul", [graph.constant(np.array(1 / math.sqrt(size), dtype), "scale")])
    graph.node("Softmax", [], axis=-1)
    graph.node("MatMul", [parts[2]])
    graph.node("Transpose", [], perm=[0, 2, 1, 3])
    graph.node("Reshape", [graph.constant(np.array([0, 0, width], np.int64), "shape")])
    out = layer.out_proj
    _add_linear(graph, out.weight.numpy(), None if out.bias is None else out.bias.numpy(), 3)
    if not layer.batch_first:
        graph.node("Transpose", [], perm=[1, 0, 2])


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


def _add_model(graph: _Graph, model: Module, x: Tensor):
    """Add the model's nodes; returns ({output name: graph tensor}, the example's outputs in that
    order, {axis: label} of the dynamic axes of input and output)."""
    if isinstance(model, (_RNNBase, MultiheadAttention)):
        time_first = not model.batch_first
        axes = {1 - time_first: "sequence", int(time_first): "batch"} if x.ndim == 3 else {}
        if isinstance(model, MultiheadAttention):
            _add_self_attention(graph, model, x)
            return {"output": graph.name}, [model(x, x, x, need_weights=False)[0]], axes
        names = _add_recurrent(graph, model, x)
        output, state = model(x)
        states = list(state) if isinstance(state, tuple) else [state]
        return names, [output, *states], axes
    for layer in _leaves(model):
        _add_layer(graph, layer, x)
        x = layer(x)
    return {"output": graph.name}, [x], {0: "batch"}


def export(model: Module, example_input, path: str | os.PathLike, opset: int = 17) -> Path:
    """Write `model` (run as in eval mode) as an ONNX file, checked by onnx.checker; returns the
    path. The batch axis of input and output is dynamic ('batch'), and for recurrent layers and
    attention the sequence axis too ('sequence').

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
    x = example_input if isinstance(example_input, Tensor) else Tensor(np.asarray(example_input))
    was_training = model.training
    model.eval()
    try:
        graph = _Graph(helper, numpy_helper)
        with no_grad():
            names, results, axes = _add_model(graph, model, x)
    finally:
        model.train(was_training)

    def described(name: str, value) -> object:
        labels = [axes.get(i, size) for i, size in enumerate(value.shape)]
        element = helper.np_dtype_to_tensor_dtype(np.dtype(value.dtype))
        return helper.make_tensor_value_info(name, element, labels)

    outputs = []
    for (name, source), value in zip(names.items(), results):
        graph.nodes.append(helper.make_node("Identity", [source], [name]))
        state = name in ("h_n", "c_n")  # (layers·directions, N, H): the batch is axis 1
        outputs.append(described(name, value) if not state else helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(np.dtype(value.dtype)),
            [value.shape[0], "batch", value.shape[2]]))  # fmt: skip
    onnx_graph = helper.make_graph(graph.nodes, "tinygrad_lite", [described("input", x)],
                                   outputs, graph.initializers)  # fmt: skip
    proto = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tinygrad_lite")  # fmt: skip
    onnx.checker.check_model(proto)
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        file.write(proto.SerializeToString())
    os.replace(temporary, path)
    return path
