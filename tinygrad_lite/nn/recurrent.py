"""Recurrent layers with PyTorch's names, gate order and parameters: RNN (tanh or relu), LSTM,
GRU, and their cells. RNN and GRU are composed of our ops, one step of each a function below
(`_step`, shared by the cell and the layer); the LSTM's recurrence over a whole sequence is one op
(ops/recurrent.py: the time loop in forward, backprop through time in backward), because fifteen
recorded nodes a step made Python, not arithmetic, its cost. A layer projects the inputs of all
time steps at once, then runs the recurrence per layer and direction. docs/derivations/layers.md
and recurrent.md derive the gates' backward and why truncating it (detaching the carried state
between chunks, `h.detach()`) biases the gradient.

    RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
    LSTM: i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh), split in that order
          c' = f·c + i·g,  h' = o·tanh(c')
    GRU:  r, z = σ of the first two thirds; n = tanh(W_in x + b_in + r·(W_hn h + b_hn))
          h' = (1 - z)·n + z·h
"""

from __future__ import annotations

import math

import numpy as np

from .. import creation, ops
from ..tensor import DEFAULT_FLOAT, Tensor, as_tensor
from .layers import dropout, linear
from .module import Module, Parameter

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _step(mode: str, projected: Tensor, h: Tensor, c, w_hh: Tensor, b_hh):
    """One time step: `projected` = W_ih x + b_ih; returns (h', c') (c' None but for LSTM)."""
    if mode == "LSTM":
        both = _lstm(projected.unsqueeze(0), h, c, w_hh, b_hh)[0]
        return both[:, : h.shape[-1]], both[:, h.shape[-1] :]
    recurrent = linear(h, w_hh, b_hh)
    if mode == "GRU":
        x_r, x_z, x_n = projected.split(3, axis=-1)
        h_r, h_z, h_n = recurrent.split(3, axis=-1)
        r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
        n = (x_n + r * h_n).tanh()
        return (1 - z) * n + z * h, None
    total = projected + recurrent
    return (total.tanh() if mode == "RNN_TANH" else total.relu()), None


def _lstm(projected: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh) -> Tensor:
    """The LSTM over T steps of `projected` (T, N, 4H) as one op (ops/recurrent.py: the loop in
    forward, backprop through time in backward); returns (T, N, 2H), h_t and c_t side by side."""
    gates = projected if b_hh is None else projected + b_hh
    return ops.recurrent.lstm_sequence(gates, h, c, w_hh)


def _uniform(shape, bound: float, dtype) -> Parameter:
    """PyTorch's initialization of every recurrent weight and bias: U(-1/√H, 1/√H)."""
    return Parameter(creation.uniform(*shape, low=-bound, high=bound, dtype=dtype).data)


class _CellBase(Module):
    mode = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype=DEFAULT_FLOAT):  # fmt: skip
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates, bound = GATES[self.mode] * hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih = _uniform((gates, input_size), bound, dtype)
        self.weight_hh = _uniform((gates, hidden_size), bound, dtype)
        self.bias_ih = _uniform((gates,), bound, dtype) if bias else None
        self.bias_hh = _uniform((gates,), bound, dtype) if bias else None

    def forward(self, input, hx=None):
        x = as_tensor(input)
        unbatched = x.ndim == 1
        x = x.unsqueeze(0) if unbatched else x
        h, c = _initial_state(self, hx, (x.shape[0], self.hidden_size), x.dtype,
                              0 if unbatched else None)  # fmt: skip
        h, c = _step(self.mode, linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                     self.bias_hh)  # fmt: skip
        if unbatched:
            h, c = h.squeeze(0), (None if c is None else c.squeeze(0))
        return (h, c) if self.mode == "LSTM" else h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class RNNCell(_CellBase):
    """torch.nn.RNNCell: h' = tanh (or relu) of W_ih x + b_ih + W_hh h + b_hh."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype=DEFAULT_FLOAT):  # fmt: skip
        self.mode = _rnn_mode(nonlinearity, "RNNCell")
        super().__init__(input_size, hidden_size, bias, dtype)


class LSTMCell(_CellBase):
    """torch.nn.LSTMCell: returns (h', c'); gates i, f, g, o in that order."""

    mode = "LSTM"


class GRUCell(_CellBase):
    """torch.nn.GRUCell: gates r, z, n in that order (r applied to W_hn h + b_hn)."""

    mode = "GRU"


def _initial_state(module, hx, shape, dtype, unbatched_axis):
    """(h, c) to start from (c None but for LSTM): zeros of `shape` when hx is None, else hx
    (LSTM: the pair) as Tensors, given the batch axis at `unbatched_axis` for unbatched input,
    checked to have `shape`."""
    if hx is None:
        zeros = Tensor(np.zeros(shape, dtype))
        return zeros, (zeros if module.mode == "LSTM" else None)
    parts = [None if p is None else as_tensor(p)
             for p in (hx if module.mode == "LSTM" else (hx, None))]  # fmt: skip
    if unbatched_axis is not None:
        parts = [None if p is None else p.unsqueeze(unbatched_axis) for p in parts]
    for p in parts:
        if p is not None and p.shape != shape:
            raise ValueError(f"{type(module).__name__}: initial state of shape {p.shape}, "
                             f"expected {shape}")  # fmt: skip
    return parts[0], parts[1]


def _rnn_mode(nonlinearity: str, name: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return f"RNN_{nonlinearity.upper()}"


class _RNNBase(Module):
    mode = ""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=DEFAULT_FLOAT):  # fmt: skip
        name = type(self).__name__
        if num_layers < 1 or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: need num_layers >= 1 and 0 <= dropout <= 1, got "
                             f"{num_layers} and {dropout}")  # fmt: skip
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        gates, bound = GATES[self.mode] * hidden_size, 1 / math.sqrt(hidden_size)
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                setattr(self, f"weight_ih_l{layer}{suffix}", _uniform((gates, width), bound, dtype))
                setattr(self, f"weight_hh_l{layer}{suffix}",
                        _uniform((gates, hidden_size), bound, dtype))  # fmt: skip
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", _uniform((gates,), bound, dtype))
                    setattr(self, f"bias_hh_l{layer}{suffix}", _uniform((gates,), bound, dtype))

    def forward(self, input, hx=None):
        """input (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in); hx
        (layers·directions, N, H) (LSTM: a pair (h0, c0)), zeros when None. Returns (output,
        h_n) or, for LSTM, (output, (h_n, c_n)), as PyTorch."""
        x = as_tensor(input)
        time_axis = 1 if self.batch_first and x.ndim == 3 else 0
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size or x.shape[time_axis] == 0:
            raise ValueError(
                f"{type(self).__name__}: input of shape {x.shape}; need (L, N, {self.input_size}), "
                f"(N, L, {self.input_size}) with batch_first, or (L, {self.input_size}), L ≥ 1"
            )
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, x.shape[1], self.hidden_size)
        h0, c0 = _initial_state(self, hx, shape, x.dtype, 1 if unbatched else None)
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")[:directions]):
                index = layer * directions + direction
                c = None if c0 is None else c0[index]
                out, h, c = self._run(x, layer, suffix, h0[index], c, reverse=direction == 1)
                outputs.append(out)
                finals_h.append(h)
                finals_c.append(c)
            x = outputs[0] if directions == 1 else ops.concatenate(outputs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout)
        h_n = ops.stack(finals_h)
        state = (h_n, ops.stack(finals_c)) if self.mode == "LSTM" else h_n
        if unbatched:
            x = x.squeeze(1)
            state = tuple(s.squeeze(1) for s in state) if self.mode == "LSTM" else state.squeeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, state

    def _run(self, x, layer, suffix, h, c, reverse: bool):
        weights = [getattr(self, f"{kind}_l{layer}{suffix}", None)
                   for kind in ("weight_ih", "bias_ih", "weight_hh", "bias_hh")]  # fmt: skip
        projected = linear(x, weights[0], weights[1])  # every time step's input at once
        if reverse:
            projected = projected[::-1]
        if self.mode == "LSTM":
            both, size = _lstm(projected, h, c, weights[2], weights[3]), self.hidden_size
            outputs, h, c = both[:, :, :size], both[-1, :, :size], both[-1, :, size:]
        else:
            steps = []
            for t in range(x.shape[0]):
                h, _ = _step(self.mode, projected[t], h, None, weights[2], weights[3])
                steps.append(h)
            outputs = ops.stack(steps)
        return (outputs[::-1] if reverse else outputs), h, c

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"batch_first={self.batch_first}, bidirectional={self.bidirectional}"
        )


class RNN(_RNNBase):
    """torch.nn.RNN (nonlinearity 'tanh' or 'relu')."""

    def __init__(self, *args, nonlinearity: str = "tanh", **kwargs):
        self.mode = _rnn_mode(nonlinearity, "RNN")
        super().__init__(*args, **kwargs)


class LSTM(_RNNBase):
    """torch.nn.LSTM: forward returns (output, (h_n, c_n))."""

    mode = "LSTM"


class GRU(_RNNBase):
    """torch.nn.GRU."""

    mode = "GRU"
