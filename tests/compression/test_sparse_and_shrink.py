"""Sparse inference (CSR) computes what the dense pruned layers compute; shrinking removes pruned
channels and neurons physically and keeps the model's outputs (the removed channels' constant
biases folded into the next layer), through ReLU, pooling, BatchNorm and Flatten."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn.utils import prune, sparse

pytest.importorskip("scipy")


def _cnn(batch_norm=False, padding=0):
    tl.manual_seed(0)
    layers = [nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(8))
    layers += [nn.Conv2d(8, 12, 3, padding=padding), nn.Tanh(), nn.Flatten(),
               nn.Linear(12 * (2 + 2 * padding) ** 2, 16), nn.ReLU(), nn.Linear(16, 4)]  # fmt: skip
    return nn.Sequential(*layers)


def _images(n=5):
    return tl.tensor(np.random.default_rng(1).standard_normal((n, 1, 10, 10)), dtype=np.float32)


def _prune_structured(model, amount=0.5):
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)) and layer is not list(model)[-1]:
            prune.ln_structured(layer, "weight", amount, n=2, dim=0)
    return model


def _count(model):
    return sum(p.size for p in model.parameters())


@pytest.mark.parametrize("batch_norm", [False, True])
def test_shrinking_keeps_the_outputs_and_removes_the_parameters(batch_norm):
    model = _prune_structured(_cnn(batch_norm)).eval()
    if batch_norm:  # running statistics that are not the identity
        norm = model[3]
        norm.running_mean.data[:] = np.linspace(-1, 1, 8)
        norm.running_var.data[:] = np.linspace(0.5, 2, 8)
    x = _images()
    shrunk = prune.shrink(model, x)
    assert isinstance(model[0], nn.Conv2d) and model[0].weight.shape[0] == 8  # a copy
    assert shrunk[0].out_channels == 4 and shrunk[0].weight.shape == (4, 1, 3, 3)
    assert _count(shrunk) < 0.6 * _count(model)
    np.testing.assert_allclose(shrunk(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_constant_channels_are_kept_where_zero_padding_would_change_them():
    model = _prune_structured(_cnn(padding=1)).eval()
    x = _images()
    shrunk = prune.shrink(model, x)
    np.testing.assert_allclose(shrunk(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    with tl.no_grad():  # zero biases of the pruned channels make them removable after all
        for c in np.flatnonzero(~model[0].weight.numpy().reshape(8, -1).any(axis=1)):
            model[0].bias.data[c] = 0
    assert prune.shrink(model, x)[0].out_channels == 4


def test_a_shrunk_model_trains_on():
    model = prune.shrink(_prune_structured(_cnn()).eval(), _images()).train()
    optimizer = tl.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy(model(_images()), np.arange(5) % 4)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert all(p.grad is not None for p in model.parameters())


def test_shrink_refuses_what_it_cannot_pass_through():
    class Twice(nn.Module):
        def forward(self, x):
            return x * 2

    model = nn.Sequential(nn.Linear(4, 6), Twice(), nn.Linear(6, 2))
    prune.ln_structured(model[0], "weight", 0.5, n=2, dim=0)
    with pytest.raises(TypeError, match="cannot pass channels through Twice"):
        prune.shrink(model, tl.zeros((1, 4)))


@pytest.mark.parametrize("amount", [0.5, 0.95])
def test_csr_layers_compute_what_the_dense_pruned_layers_compute(amount):
    model = _cnn(padding=1).eval()
    prune.global_unstructured([(layer, "weight") for layer in model if hasattr(layer, "weight")],
                              prune.L1Unstructured, amount=amount)  # fmt: skip
    x = _images()
    converted = sparse.to_sparse(model, min_sparsity=0.0)
    assert isinstance(converted[0], sparse.SparseConv2d)
    assert isinstance(converted[6], sparse.SparseLinear)
    np.testing.assert_allclose(converted(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_to_sparse_converts_only_layers_above_the_threshold_and_checkpoints_shrink(tmp_path):
    model = _cnn()
    prune.l1_unstructured(model[6], "weight", 0.95)
    prune.remove(model[6], "weight")
    converted = sparse.to_sparse(model)
    assert isinstance(converted[0], nn.Conv2d) and isinstance(converted[6], sparse.SparseLinear)
    assert converted[6].weight_values.shape[0] == round(0.05 * 48 * 16)
    tl.save(converted.state_dict(), tmp_path / "sparse.npz")
    tl.save(model.state_dict(), tmp_path / "dense.npz")
    fresh = sparse.to_sparse(model)
    fresh.load_state_dict(tl.load(tmp_path / "sparse.npz"))
    x = _images()
    np.testing.assert_array_equal(fresh(x).numpy(), converted(x).numpy())
