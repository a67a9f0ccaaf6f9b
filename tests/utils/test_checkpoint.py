"""Activation checkpointing: the same values and gradients as the plain step (dropout's masks
included, bit for bit), under autocast too; less peak memory; what it cannot do is refused."""

import tracemalloc

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.utils.checkpoint import checkpoint, checkpoint_sequential


def _model(depth=4, width=8, dtype=np.float32):
    tl.manual_seed(0)
    layers = [
        m for _ in range(depth) for m in (nn.Linear(width, width), nn.Tanh(), nn.Dropout(0.3))
    ]
    return nn.Sequential(*layers, nn.Linear(width, 1)).to(dtype=dtype)


def _gradients(run, dtype=np.float32, autocast=None):
    model = _model(dtype=dtype)
    x = tl.tensor(
        np.random.default_rng(0).standard_normal((5, 8)).astype(dtype), requires_grad=True
    )
    tl.manual_seed(1)  # the dropout masks
    if autocast is None:
        loss = run(model, x).sum()
    else:
        with tl.amp.autocast(dtype=autocast):
            loss = run(model, x).sum()
    loss.backward()
    return [loss.numpy(), x.grad.numpy(), *(p.grad.numpy() for p in model.parameters())]


RUNS = {
    "checkpoint_sequential, 3 segments": lambda m, x: checkpoint_sequential(m, 3, x),
    "checkpoint of the first half": lambda m, x: m[6:](checkpoint(m[:6], x)),
    "nested checkpoints": lambda m, x: checkpoint(lambda v: m[6:](checkpoint(m[:6], v)), x),
}


@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
@pytest.mark.parametrize("autocast", [None, np.float16], ids=["float32", "autocast float16"])
def test_checkpointed_steps_equal_the_plain_step_bit_for_bit(run, autocast):
    plain = _gradients(lambda m, x: m(x), autocast=autocast)
    for got, want in zip(_gradients(run, autocast=autocast), plain):
        np.testing.assert_array_equal(got, want)


def test_parameters_get_gradients_when_no_input_requires_grad():
    model = _model()
    x = tl.tensor(np.ones((2, 8), np.float32))  # data: no gradient wanted
    checkpoint_sequential(model, 2, x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def _peak(run) -> int:
    model = _model(depth=16, width=256, dtype=np.float64)
    model.eval()  # no dropout masks: activations only
    x = tl.tensor(np.ones((512, 256)))
    tracemalloc.start()
    run(model, x).sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_checkpointing_lowers_the_peak_memory_of_a_deep_step():
    plain = _peak(lambda m, x: m(x))
    segmented = _peak(lambda m, x: checkpoint_sequential(m, 4, x))
    # 4 segments of 4 layers keep about half of the 16 activations at the peak (the segment
    # boundaries, one segment's graph, and each node's output, an input of it for tl.jit)
    assert segmented < 0.65 * plain, (segmented, plain)


def test_what_cannot_be_done_is_refused():
    model = _model()
    x = tl.tensor(np.ones((2, 8), np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="must return one Tensor"):
        checkpoint(lambda v: (v, v), x)
    y = checkpoint(model, x).sum()
    with pytest.raises(RuntimeError, match="once_differentiable"):
        tl.grad(y, [x], create_graph=True)
    with pytest.raises(ValueError, match="segments must be between 1"):
        checkpoint_sequential(model, 0, x)

    @tl.jit
    def step(v):  # tl.jit replays a checkpointed step (tests/jit/cases.py), not dropout's draws
        loss = checkpoint(model.train(), v).sum()
        loss.backward()
        return loss

    with pytest.raises(tl.JitError, match="draws random numbers"):
        step(x)


def test_hooks_after_backward_see_the_parameters_inside_checkpointed_segments():
    """DistributedDataParallel averages in such a hook, and only when it sees its own
    parameters: a model wholly inside checkpoint() must still show them."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    seen = []
    hook = lambda leaves: seen.append({id(leaf) for leaf in leaves})  # noqa: E731
    tl.autograd.post_backward_hooks.append(hook)
    try:
        checkpoint(model, tl.randn(5, 3)).sum().backward()
    finally:
        tl.autograd.post_backward_hooks.remove(hook)
    assert {id(p) for p in model.parameters()} <= seen[0]
