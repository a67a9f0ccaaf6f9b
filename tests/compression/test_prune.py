"""Pruning with torch.nn.utils.prune's semantics: the same masks as PyTorch for the same weights
(L1 unstructured, iterated; Ln structured; global), state-dict keys, remove(), and a pruned weight
that no optimizer brings back."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim

prune = tl.nn.utils.prune


def _pair(torch, shape=(6, 5)):
    ours = nn.Linear(shape[1], shape[0])
    theirs = torch.nn.Linear(shape[1], shape[0])
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.numpy().copy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.numpy().copy()))
    return ours, theirs


def test_masks_equal_pytorchs():
    torch = pytest.importorskip("torch")
    import torch.nn.utils.prune as torch_prune

    tl.manual_seed(0)
    ours, theirs = _pair(torch)
    for amount in (0.3, 0.5, 4):  # iterated: each amount applies to what is left
        prune.l1_unstructured(ours, "weight", amount)
        torch_prune.l1_unstructured(theirs, "weight", amount)
        np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())
    ours, theirs = _pair(torch)
    for amount in (0.34, 1):
        prune.ln_structured(ours, "weight", amount, n=2, dim=0)
        torch_prune.ln_structured(theirs, "weight", amount, n=2, dim=0)
        np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())
    pairs = [_pair(torch, (4, 3)), _pair(torch, (5, 4))]
    prune.global_unstructured([(o, "weight") for o, _ in pairs], prune.L1Unstructured, 0.4)
    torch_prune.global_unstructured([(t, "weight") for _, t in pairs],
                                    torch_prune.L1Unstructured, amount=0.4)  # fmt: skip
    for o, t in pairs:
        np.testing.assert_array_equal(o.weight_mask.numpy(), t.weight_mask.numpy())
        assert set(o.state_dict()) == set(t.state_dict())  # weight_orig, weight_mask, bias
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    expected = pairs[1][1](torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(pairs[1][0](tl.tensor(x)).numpy(), expected, rtol=1e-5)


def test_no_optimizer_brings_a_pruned_weight_back_and_remove_makes_it_permanent():
    tl.manual_seed(0)
    model = nn.Linear(5, 4)
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):  # Adam builds moments for every entry first
        (model(tl.ones(2, 5)) ** 2).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
    prune.l1_unstructured(model, "weight", 0.5)
    pruned = model.weight_mask.numpy() == 0
    for _ in range(5):
        (model(tl.ones(2, 5)) ** 2).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        assert (model.weight.numpy()[pruned] == 0).all()
    prune.remove(model, "weight")
    assert not prune.is_pruned(model) and sorted(model.state_dict()) == ["bias", "weight"]
    assert (model.weight.numpy()[pruned] == 0).all()


def test_random_custom_and_errors():
    tl.manual_seed(0)
    layer = nn.Linear(10, 10)
    prune.random_unstructured(layer, "weight", 0.25)
    assert (layer.weight_mask.numpy() == 0).sum() == 25
    prune.custom_from_mask(layer, "bias", np.arange(10) % 2)
    assert layer.bias.numpy()[::2].tolist() == [0] * 5 and prune.is_pruned(layer)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        prune.l1_unstructured(layer, "weight", 1.5)
    with pytest.raises(ValueError, match="no parameter 'nope'"):
        prune.l1_unstructured(layer, "nope", 0.1)
    with pytest.raises(ValueError, match="not pruned"):
        prune.remove(nn.Linear(2, 2), "weight")
