"""The LSTM recurrence over a whole sequence as one op: the time loop runs inside forward, and
backprop through time inside backward.

Why one op: composed of our elementwise ops, an LSTM time step records about fifteen nodes, each
with a little Python around a little arithmetic (a batch of 32 × 128 units), so Python, not
arithmetic, set the cost: 6× PyTorch's fused kernel per training step. Here a step is one matmul
and a few array expressions. The step and its backward are written once, below, on anything with
+, −, ×, @ and slicing; forward and `backward_untracked` run them on arrays, `backward` on Tensors
(recomputing the gates from the inputs), so create_graph differentiates the same formulas.
Derivations: docs/derivations/recurrent.md
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .precision import matmul_in_float32
from .shape import concatenate, stack


class _Math(NamedTuple):
    """The functions the recurrence needs beyond operators, for arrays or for Tensors."""

    sigmoid: Callable
    tanh: Callable
    matmul: Callable
    stack: Callable
    concatenate: Callable


def _array_math(xp) -> _Math:
    return _Math(
        sigmoid=lambda a: 1 / (1 + xp.exp(-a)),  # exp overflow gives 1/inf = 0, the limit
        tanh=xp.tanh,
        matmul=lambda a, b: matmul_in_float32(xp, a, b),
        stack=xp.stack,
        concatenate=lambda parts: xp.concatenate(parts, axis=-1),
    )


TENSOR_MATH = _Math(
    sigmoid=lambda a: a.sigmoid(),
    tanh=lambda a: a.tanh(),
    matmul=lambda a, b: a @ b,
    stack=stack,
    concatenate=lambda parts: concatenate(parts, axis=-1),
)


class _Trace(NamedTuple):
    """What backward needs from forward, one entry per time step t = 0 … T−1."""

    gates: list  # (i, f, g, o) after their nonlinearities
    cells: list  # c_{t−1}, the cell state the step started from
    tanh_cells: list  # tanh(c_t)
    hiddens: list  # h_{t−1}, the hidden state the step started from


def _forward_steps(m: _Math, gates_x, h, c, w_hh):
    """Run the recurrence: a_t = gates_x[t] + h_{t−1} W_hhᵀ; i, f, g, o = σ, σ, tanh, σ of a_t's
    quarters; c_t = f c_{t−1} + i g; h_t = o tanh(c_t). Returns ((h_t, c_t) per step, trace)."""
    size = h.shape[-1]
    w_hh_t = w_hh.T
    trace, outputs = _Trace([], [], [], []), []
    for t in range(gates_x.shape[0]):
        a = gates_x[t] + m.matmul(h, w_hh_t)
        i, f = m.sigmoid(a[:, :size]), m.sigmoid(a[:, size : 2 * size])
        g, o = m.tanh(a[:, 2 * size : 3 * size]), m.sigmoid(a[:, 3 * size :])
        trace.gates.append((i, f, g, o))
        trace.cells.append(c)
        trace.hiddens.append(h)
        c = f * c + i * g
        tanh_c = m.tanh(c)
        trace.tanh_cells.append(tanh_c)
        h = o * tanh_c
        outputs.append(m.concatenate([h, c]))
    return outputs, trace


def _backward_steps(m: _Math, gy, trace: _Trace, w_hh):
    """Backprop through time: from the last step to the first, with dh, dc the gradients that
    reach h_t and c_t from later steps. Returns (g of gates_x, of h_0, of c_0, of W_hh)."""
    size = w_hh.shape[-1]
    steps = len(trace.gates)
    d_gates = [None] * steps
    dh = dc = 0
    for t in reversed(range(steps)):
        (i, f, g, o), c_prev, tanh_c = trace.gates[t], trace.cells[t], trace.tanh_cells[t]
        dh = gy[t][:, :size] + dh  # h_t feeds the output and the next step
        dc = gy[t][:, size:] + dc + dh * o * (1 - tanh_c * tanh_c)  # c_t: also through h_t
        d_a = m.concatenate([
            dc * g * i * (1 - i),  # through i = σ(a_i): σ' = σ(1 − σ)
            dc * c_prev * f * (1 - f),
            dc * i * (1 - g * g),  # through g = tanh(a_g): tanh' = 1 − tanh²
            dh * tanh_c * o * (1 - o),
        ])  # fmt: skip
        d_gates[t] = d_a
        dh = m.matmul(d_a, w_hh)  # a_t = … + h_{t−1} W_hhᵀ
        dc = dc * f  # c_t = f c_{t−1} + …: the forget gate scales the gradient on its way back
    d_gates = m.stack(d_gates)
    flat_d = d_gates.reshape(-1, d_gates.shape[-1])
    flat_h = m.stack(trace.hiddens).reshape(-1, size)
    return d_gates, dh, dc, m.matmul(flat_d.T, flat_h)  # W_hh's gradient: Σ_t d_a_tᵀ h_{t−1}


class LSTMSequence(Function):
    """The LSTM recurrence of one layer and direction over T steps.

    Inputs: gates_x (T, N, 4H), the input projections W_ih x_t + b_ih + b_hh (PyTorch's gate
    order i, f, g, o); h0, c0 (N, H); w_hh (4H, H). Output (T, N, 2H): h_t and c_t side by side.

    Backward: backprop through time, step t from T−1 to 0: dc_t += dh_t · o · (1 − tanh² c_t);
    d a_t = (dc·g·i(1−i), dc·c_{t−1}·f(1−f), dc·i(1−g²), dh·tanh c_t·o(1−o));
    dh_{t−1} = d a_t W_hh, dc_{t−1} = dc_t · f; gW_hh = Σ_t d a_tᵀ h_{t−1}.
    """

    def forward(self, gates_x, h0, c0, w_hh):
        outputs, self.trace = _forward_steps(_array_math(self.xp), gates_x, h0, c0, w_hh)
        return self.xp.stack(outputs)

    def backward(self, gy):
        _, trace = _forward_steps(TENSOR_MATH, *self.inputs)  # the gates, as functions of inputs
        grads = _backward_steps(TENSOR_MATH, gy, trace, self.inputs[3])
        return tuple(g if need else None for g, need in zip(grads, self.needs_input_grad))

    def backward_untracked(self, gy):
        w_hh = self.inputs[3].data
        grads = _backward_steps(_array_math(self.xp), gy, self.trace, w_hh)
        return tuple(g if need else None for g, need in zip(grads, self.needs_input_grad))


def lstm_sequence(gates_x: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor) -> Tensor:
    """The LSTM recurrence (see LSTMSequence) of (T, N, 4H) input projections from the state
    (h0, c0), each (N, H), with w_hh (4H, H); returns (T, N, 2H), h_t then c_t on the last axis.

    Raises:
        ValueError: shapes that do not fit, naming each, or no time steps.
    """
    steps, batch, four_h = gates_x.shape if gates_x.ndim == 3 else (0, 0, 0)
    size = four_h // 4
    if (gates_x.ndim != 3 or steps == 0 or four_h != 4 * size or w_hh.shape != (four_h, size)
            or h0.shape != (batch, size) or c0.shape != (batch, size)):  # fmt: skip
        raise ValueError(
            f"lstm_sequence: need gates_x (T ≥ 1, N, 4H), h0 and c0 (N, H), w_hh (4H, H); got "
            f"{gates_x.shape}, {h0.shape}, {c0.shape}, {w_hh.shape}"
        )
    dtype = np.result_type(*(t.dtype for t in (gates_x, h0, c0, w_hh)))
    inputs = [t if t.dtype == dtype else t.astype(dtype) for t in (gates_x, h0, c0, w_hh)]
    return LSTMSequence.apply(*inputs)
