"""Behaviour of the layer ops that the gradient specs do not pin down: ties, NaN, shape errors,
mixed dtypes."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = tl.zeros((1, 1, 2, 4), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


def test_overlapping_pool_windows_that_share_a_maximum_add_their_gradients():
    x = tl.Tensor(np.array([[[[0.0, 5.0, 1.0, 0.0]]]]), requires_grad=True)
    F.max_pool2d(x, (1, 2), stride=1).sum().backward()  # windows (0,5) (5,1) (1,0)
    np.testing.assert_array_equal(x.grad.numpy()[0, 0, 0], [0, 2, 1, 0])


def test_max_pool_propagates_nan_like_pytorch():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    y = F.max_pool2d(tl.Tensor(x), 2).numpy()[0, 0]
    assert np.isnan(y[0, 0]) and not np.isnan(y).sum() - 1


def test_a_nan_window_sends_its_gradient_to_the_nan_even_next_to_padding():
    x = np.ones((1, 1, 3, 3))
    x[0, 0, 0, 0] = np.nan  # window (0, 0) starts in the padding
    t = tl.Tensor(x, requires_grad=True)
    F.max_pool2d(t, 3, stride=2, padding=1).sum().backward()
    grad = t.grad.numpy()[0, 0]
    assert grad[0, 0] == 1 and grad.sum() == 4  # the other three windows pick ones


def test_max_pool_with_padding_never_picks_the_padding():
    x = -np.ones((1, 1, 3, 3))
    y = F.max_pool2d(tl.Tensor(x), 3, stride=2, padding=1).numpy()
    np.testing.assert_array_equal(y, -np.ones((1, 1, 2, 2)))


def test_linear_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"linear: input \(2, 3\) does not fit weight \(4, 5\)"):
        F.linear(tl.ones((2, 3)), tl.ones((4, 5)))
    with pytest.raises(ValueError, match=r"linear: bias \(3,\) for weight \(4, 5\)"):
        F.linear(tl.ones((2, 5)), tl.ones((4, 5)), tl.ones(3))


def test_linear_with_mixed_dtypes_promotes_and_keeps_each_gradient_dtype():
    x = tl.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    w = tl.Tensor(np.ones((4, 3)), requires_grad=True)
    y = F.linear(x, w)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 4.0))


def test_conv_and_pooling_take_numpy_arrays_as_linear_does():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    want = tl.nn.functional.conv2d(tl.tensor(x), tl.tensor(w), tl.zeros(4), padding=1).numpy()
    got = tl.nn.functional.conv2d(x, w, np.zeros(4, np.float32), padding=1).numpy()
    np.testing.assert_array_equal(got, want)
    for pool in (tl.nn.functional.max_pool2d, tl.nn.functional.avg_pool2d):
        np.testing.assert_array_equal(pool(x, 2).numpy(), pool(tl.tensor(x), 2).numpy())


def test_conv_transpose2d_layer_loads_pytorchs_weights_and_equals_it():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                      dtype=torch.float64)  # fmt: skip
    ours = tl.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                 dtype=np.float64)  # fmt: skip
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5))
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(tl.tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="output_padding .* must be >= 0 and smaller than"):
        tl.nn.functional.conv_transpose2d(tl.ones((1, 1, 3, 3)), tl.ones((1, 1, 2, 2)),
                                          output_padding=1)  # fmt: skip
