"""RNN, LSTM, GRU and their cells against PyTorch's, from PyTorch's own weights (its state_dict
converted to arrays): outputs, final states and every gradient in float64, over the argument
variants (layers, bias, batch_first, bidirectional, unbatched, a given initial state, relu)."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

VARIANTS = {
    "one layer": {},
    "two layers, bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first, no bias": {"batch_first": True, "bias": False},
    "unbatched": {"unbatched": True},
    "initial state": {"initial": True, "num_layers": 2},
}


def _torch_twin(torch, kind, options):
    theirs = getattr(torch.nn, kind)(3, 4, dtype=torch.float64, **options)
    ours = getattr(nn, kind)(3, 4, dtype=np.float64, **options)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    return ours, theirs


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "RNN_relu"])
def test_recurrent_layers_equal_pytorch(kind, variant):
    torch = pytest.importorskip("torch")
    options = dict(VARIANTS[variant])
    unbatched, initial = options.pop("unbatched", False), options.pop("initial", False)
    if kind == "RNN_relu":
        kind, options["nonlinearity"] = "RNN", "relu"
    ours, theirs = _torch_twin(torch, kind, options)
    rng = np.random.default_rng(0)
    shape = (5, 3) if unbatched else ((2, 5, 3) if options.get("batch_first") else (5, 2, 3))
    x = rng.standard_normal(shape)
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    state = None
    if initial:
        parts = [rng.standard_normal((layers, 2, 4)) for _ in range(2 if kind == "LSTM" else 1)]
        state = tuple(parts) if kind == "LSTM" else parts[0]
    ours_x, theirs_x = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

    def as_torch(s):
        if s is None:
            return None
        return tuple(map(torch.tensor, s)) if isinstance(s, tuple) else torch.tensor(s)

    y, h = ours(ours_x, state)
    ty, th = theirs(theirs_x, as_torch(state))
    for a, b in zip([y, *_flat(h)], [ty, *_flat(th)]):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    loss = (y * y).sum() + sum((s * s).sum() for s in _flat(h))
    tloss = (ty * ty).sum() + sum((s * s).sum() for s in _flat(th))
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)  # fmt: skip


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cells_equal_pytorch(kind, unbatched):
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_twin(torch, kind, {})
    x = np.random.default_rng(1).standard_normal((3,) if unbatched else (2, 3))
    ours_x, theirs_x = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = _flat(ours(ours_x)), _flat(theirs(theirs_x))
    for a, b in zip(out, expected):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    sum((a * a).sum() for a in out).backward()
    sum((b * b).sum() for b in expected).backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_truncated_backprop_through_time_detaches_the_carried_state():
    """The DeZero/Chainer pattern: carry h across chunks, detach it between them, so each
    backward stops at its chunk's start."""
    tl.manual_seed(0)
    lstm = nn.LSTM(2, 3)
    sequence = tl.tensor(np.random.default_rng(0).standard_normal((12, 1, 2)))
    state = None
    for chunk in range(3):
        out, (h, c) = lstm(sequence[4 * chunk : 4 * chunk + 4], state)
        out.sum().backward()
        state = (h.detach(), c.detach())
        assert state[0].creator is None and lstm.weight_ih_l0.grad is not None


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"state of shape \(2, 1, 4\), expected \(1, 1, 4\)"):
        nn.GRU(3, 4)(tl.ones((5, 1, 3)), tl.zeros((2, 1, 4)))
