"""A 3-layer MLP of raw Tensor ops (no nn module): it trains, and its gradients match PyTorch."""

import numpy as np
import pytest

import tinygrad_lite as tl


def init_params(rng, sizes, dtype):
    params = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        params.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return params


def forward(params, x, labels):
    w1, b1, w2, b2, w3, b3 = params
    h = (x @ w1 + b1).relu()
    h = (h @ w2 + b2).tanh()
    logits = h @ w3 + b3
    picked = logits.log_softmax(axis=1)[np.arange(len(labels)), labels]
    return -picked.mean()


def make_data(rng, n=64):
    x = rng.standard_normal((n, 10))
    labels = (x[:, :3].sum(axis=1) > 0).astype(np.int64) + (x[:, 3] > 1)
    return x, labels


def test_mlp_trains_and_loss_decreases():
    rng = np.random.default_rng(0)
    x, labels = make_data(rng, 128)
    params = [
        tl.Tensor(p, requires_grad=True) for p in init_params(rng, [10, 32, 32, 3], np.float32)
    ]
    xs = tl.tensor(x, dtype=np.float32)
    losses = []
    for _ in range(200):
        loss = forward(params, xs, labels)
        loss.backward()
        with tl.no_grad():
            for p in params:
                p -= 0.5 * p.grad
                p.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], f"loss went {losses[0]:.3f} -> {losses[-1]:.3f}"


def test_mlp_gradients_match_pytorch_to_1e_10():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, labels = make_data(rng)
    arrays = init_params(rng, [10, 32, 32, 3], np.float64)
    ours = [tl.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]

    loss = forward(ours, tl.tensor(x), labels)
    loss.backward()
    w1, b1, w2, b2, w3, b3 = theirs
    h = torch.relu(torch.from_numpy(x) @ w1 + b1)
    h = torch.tanh(h @ w2 + b2)
    reference = torch.nn.functional.cross_entropy(h @ w3 + b3, torch.from_numpy(labels))
    reference.backward()

    assert loss.item() == pytest.approx(reference.item(), rel=1e-12)
    for name, p, t in zip(["w1", "b1", "w2", "b2", "w3", "b3"], ours, theirs):
        np.testing.assert_allclose(
            p.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name
        )
