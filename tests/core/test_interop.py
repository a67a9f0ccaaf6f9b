"""NumPy's protocols record our ops (gradients checked against the explicit ops); DLPack shares
memory with PyTorch without a copy; what cannot keep the graph is refused by name."""

import numpy as np
import pytest

import tinygrad_lite as tl

CASES = {
    "np.exp": (lambda t: np.exp(t), lambda t: t.exp()),
    "np.tanh": (lambda t: np.tanh(t), lambda t: t.tanh()),
    "np.sum(axis=0)": (lambda t: np.sum(t, axis=0), lambda t: t.sum(axis=0)),
    "np.mean keepdims": (lambda t: np.mean(t, axis=1, keepdims=True), lambda t: t.mean(1, True)),
    "np.matmul": (lambda t: np.matmul(t, t.T), lambda t: t @ t.T),
    "np.concatenate": (lambda t: np.concatenate([t, t * 2], axis=1),
                       lambda t: tl.concatenate([t, t * 2], axis=1)),
    "ndarray + t": (lambda t: np.arange(3.0) + t, lambda t: t + np.arange(3.0)),
    "ndarray * t": (lambda t: np.full((2, 3), 2.0) * t, lambda t: t * 2.0),
    "np.maximum": (lambda t: np.maximum(t, 0.5), lambda t: tl.maximum(t, 0.5)),
    "np.where": (lambda t: np.where(t > 0.5, t, -t), lambda t: tl.where(t > 0.5, t, -t)),
    "np.clip": (lambda t: np.clip(t, 0.2, 0.8), lambda t: t.clip(0.2, 0.8)),
    "np.transpose": (lambda t: np.transpose(t), lambda t: t.transpose()),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_numpy_protocols_record_our_ops(name):
    through_numpy, explicit = CASES[name]
    values = np.random.default_rng(0).uniform(0.1, 1.0, (2, 3))
    results = []
    for fn in (through_numpy, explicit):
        t = tl.tensor(values, requires_grad=True)
        y = fn(t)
        assert isinstance(y, tl.Tensor) and y.requires_grad
        (y * y).sum().backward()
        results.append((y.numpy(), t.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert tl.gradcheck(through_numpy, tl.tensor(values, requires_grad=True))


def test_functions_without_an_op_name_themselves_or_run_on_plain_tensors():
    with pytest.raises(TypeError, match="np.cumsum is not supported.*require grad"):
        np.cumsum(tl.ones(3, requires_grad=True))
    with pytest.raises(TypeError, match="np.add.reduce is not supported"):
        np.add.reduce(tl.ones(3, requires_grad=True))
    assert np.cumsum(tl.ones(3)).tolist() == [1, 2, 3]  # no graph to lose: NumPy's answer
    assert np.allclose(tl.ones(2), np.ones(2))


def test_dlpack_shares_memory_with_pytorch_both_ways():
    torch = pytest.importorskip("torch")
    t = tl.tensor([1.0, 2.0, 3.0])
    theirs = torch.from_dlpack(t)
    theirs[0] = 10.0
    assert t.tolist() == [10, 2, 3]  # one memory
    source = torch.arange(4.0)
    ours = tl.from_dlpack(source)
    source[1] = 7.0
    assert ours.tolist() == [0, 7, 2, 3] and ours.is_leaf and not ours.requires_grad
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        torch.from_dlpack(tl.tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="does not support DLPack"):
        tl.from_dlpack([1, 2])


def test_dlpack_round_trip_with_numpy():
    t = tl.tensor([[1.0, 2.0]])
    array = np.from_dlpack(t)
    assert np.shares_memory(array, t.data)
    assert tl.from_dlpack(array).tolist() == [[1, 2]]


def test_writing_through_dlpack_cannot_corrupt_a_pending_gradient():
    """The README's promise: memory saved for a backward is exported read-only (DLPack 1.0's
    flag, honoured by NumPy), so a write raises instead of changing the gradient."""
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    x = tl.tensor([3.0, 4.0])
    loss = (w * x).sum()  # Mul saved x for its backward
    shared = np.from_dlpack(x)
    assert np.shares_memory(shared, x.data) and not shared.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        shared[0] = 99.0
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])
    fresh = tl.tensor([5.0, 6.0])  # never recorded: writable, as before
    assert np.from_dlpack(fresh).flags.writeable
