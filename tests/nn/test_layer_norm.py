"""LayerNorm and RMSNorm: PyTorch's names, arguments, parameters and outputs (a PyTorch
state_dict loads and gives the same outputs and gradients), and the gradient checker passes them."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


@pytest.mark.parametrize("options", [{}, {"elementwise_affine": False}, {"bias": False},
                                     {"eps": 1e-3}], ids=str)  # fmt: skip
def test_layer_norm_equals_pytorch_with_its_weights(options):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LayerNorm((3, 4), dtype=torch.float64, **options)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn_like(p))
    ours = nn.LayerNorm((3, 4), dtype=np.float64, **options)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    x = np.random.default_rng(0).standard_normal((2, 5, 3, 4))
    _same_outputs_and_gradients(torch, ours, theirs, x)


@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm_equals_pytorch_with_its_weights(eps):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.RMSNorm(4, eps=eps, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.randn(4, dtype=torch.float64))
    ours = nn.RMSNorm(4, eps=eps, dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((3, 2, 4))
    _same_outputs_and_gradients(torch, ours, theirs, x)


def _same_outputs_and_gradients(torch, ours, theirs, x):
    ours_x, theirs_x = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, expected = ours(ours_x), theirs(theirs_x)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(2).standard_normal(x.shape)
    (y * tl.tensor(v)).sum().backward()
    (expected * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)  # fmt: skip


def test_the_gradient_checker_passes_both_and_a_wrong_shape_is_named():
    tl.testing.check_module(nn.LayerNorm(5), input_shape=(2, 5)).raise_if_failed()
    tl.testing.check_module(nn.RMSNorm((2, 5)), input_shape=(2, 5)).raise_if_failed()
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\) must be the last"):
        nn.LayerNorm(4)(tl.ones((2, 5)))
    assert "elementwise_affine=True" in repr(nn.LayerNorm(4))


def test_sum_to_undoes_broadcasting_and_names_shapes_that_do_not_fit():
    x = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = tl.sum_to(x, (1, 3))
    np.testing.assert_array_equal(y.numpy(), [[3.0, 5.0, 7.0]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"sum_to: \(2, 3\) is not a broadcast of \(2,\)"):
        tl.sum_to(x, (2,))
