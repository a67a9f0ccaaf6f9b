"""Activation checkpointing (torch.utils.checkpoint's interface): trade compute for memory.

A training step keeps every intermediate result of the forward pass until backward has used
it, so memory grows with depth. `checkpoint(function, *args)` runs `function` without recording
its graph, keeping only its inputs and output; backward runs it again (same random state and
autocast, so dropout draws the same mask) and backpropagates through that fresh graph. With a
network cut into √n segments of √n layers each, only the segment boundaries and one segment's
graph are alive at a time: O(√n) memory for one more forward pass (Chen et al., 2016).

    y = checkpoint(block, x, use_reentrant=False)
    y = checkpoint_sequential(model, segments=8, input=x)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import autograd, creation, state
from ..autograd import Function, no_grad, run_backward
from ..tensor import Tensor


class Checkpoint(Function):
    """y = function(*tensors), its graph not kept: only the inputs and y are.

    Backward: run function again on detached copies of the inputs (the forward's random state and
    autocast restored), backpropagate gy through that graph (parameters inside function receive
    their gradients there), and return the copies' gradients.
    """

    once_differentiable = True  # the recomputed graph is used once and freed

    def forward(self, *arrays):
        # NOTE: the output, computed without a graph, is the last input, so tl.jit sees it as
        # the result of the ops that computed it, not as a constant; what backward needs to
        # recompute it (function, call, generator, autocast) is set on the node by checkpoint()
        return arrays[-1]

    def backward(self, gy):
        inputs = [Tensor(x.data, requires_grad=x.requires_grad) for x in self.inputs[:-2]]
        saved, saved_autocast = creation.generator_state(), state.modes.autocast_dtype
        creation.set_generator_state(self.generator)
        state.modes.autocast_dtype = self.autocast
        try:
            with autograd.enable_grad():
                y = self.call(self.function, inputs)
            if not y.requires_grad:
                return (None,) * len(self.inputs)
            grads = run_backward([y], [gy], retain_graph=False, create_graph=False)
        finally:
            creation.set_generator_state(saved)
            state.modes.autocast_dtype = saved_autocast
        own = {id(x) for x in inputs}
        parameters = [(leaf, g) for leaf, g in grads.values() if id(leaf) not in own]
        autograd.write_gradients(parameters)  # the parameters function used, as Tensor.backward
        # NOTE: so that DistributedDataParallel's hook sees them even when every parameter
        # sits inside checkpointed segments
        autograd.note_leaves_reached([leaf for leaf, _ in parameters])
        found = {id(leaf): g for leaf, g in grads.values()}
        return (*(found.get(id(x)) for x in inputs), None, None)  # the anchor, the output


def checkpoint(function: Callable, *args, use_reentrant: bool = False, **kwargs) -> Tensor:
    """function(*args, **kwargs) (one Tensor out), its intermediate results recomputed during
    backward instead of kept. `use_reentrant` is accepted for PyTorch's signature; both values
    behave as PyTorch's non-reentrant version (parameters get gradients even when no input
    requires grad).

    Raises:
        TypeError: function returned something other than one Tensor.
        JitError: inside tl.jit, a segment that draws random numbers (dropout in training
            mode), which a replay could not draw anew.
    """
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

    def call(fn, tensors):
        values = list(args)
        for i, t in zip(positions, tensors):
            values[i] = t
        return fn(*values, **kwargs)

    generator, autocast = creation.generator_state(), state.modes.autocast_dtype
    with no_grad():
        output = call(function, [args[i] for i in positions])
    if state.modes.observer is not None and creation.generator_state() != generator:
        from ..jit.errors import JitError

        raise JitError("tl.jit: the step draws random numbers inside a checkpointed segment "
                       "(dropout in training mode?): a replay would repeat the captured draws; "
                       "checkpoint without dropout, or run this step without tl.jit")  # fmt: skip
    if not isinstance(output, Tensor):
        raise TypeError(f"checkpoint: the function must return one Tensor, got "
                        f"{type(output).__name__}")  # fmt: skip
    if not state.modes.grad_enabled:
        return output
    # NOTE: an input that requires grad makes the op recorded even when the real inputs do not
    # (data): parameters inside the function must still get their gradients
    anchor = Tensor(np.zeros((), output.dtype), requires_grad=True)
    tensors = [args[i] for i in positions]
    y = Checkpoint.apply(*tensors, anchor, output)
    # NOTE: not op parameters: new Python objects at every call, which tl.jit would see as a
    # different op each time (a replay never runs this backward: it replays the ops it ran)
    node = y.creator
    node.function, node.call, node.generator, node.autocast = function, call, generator, autocast
    return y


def checkpoint_sequential(functions: Sequence[Callable], segments: int, input: Tensor,
                          use_reentrant: bool = False) -> Tensor:  # fmt: skip
    """Run `functions` (a Sequential or a list of layers) in order, cut into `segments` runs of
    consecutive layers, each checkpointed but the last (its output is needed at once), as
    torch.utils.checkpoint.checkpoint_sequential."""
    layers = list(functions)
    if not 1 <= segments <= max(1, len(layers)):
        raise ValueError(f"checkpoint_sequential: segments must be between 1 and the number of "
                         f"layers ({len(layers)}), got {segments}")  # fmt: skip
    size = -(-len(layers) // segments)
    x = input
    for start in range(0, len(layers), size):
        part = layers[start : start + size]

        def run(value, part=part):
            for layer in part:
                value = layer(value)
            return value

        x = run(x) if start + size >= len(layers) else checkpoint(run, x)
    return x
