import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim


def test_frozen_parameters_are_skipped():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model[0].weight.requires_grad_(False)
    frozen = model[0].weight.numpy().copy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(tl.ones((3, 2))).sum().backward()
    opt.step()
    np.testing.assert_array_equal(model[0].weight.numpy(), frozen)
    assert model[1].weight.grad is not None


def test_optimizer_rejects_non_leaf_tensors_and_empty_lists():
    w = tl.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="parameters must be leaf Tensors"):
        optim.Adam([w * 2])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])


def test_parameter_groups_have_their_own_learning_rates():
    a, b = tl.ones(1, requires_grad=True), tl.ones(1, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad, b.grad = tl.ones(1), tl.ones(1)
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.0)


def test_step_bumps_the_version_so_stale_graphs_cannot_backward():
    w = tl.ones(2, requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_another_optimizers_state_is_refused_and_changes_nothing():
    w = tl.tensor(np.ones(3, np.float32), requires_grad=True)
    adam, sgd = tl.optim.Adam([w], lr=0.1), tl.optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tl.tensor(np.ones(3, np.float32))
    adam.step()
    before = sgd.state_dict()
    with pytest.raises(ValueError, match="a state dict of another optimizer"):
        sgd.load_state_dict(adam.state_dict())
    assert sgd.state_dict() == before
