import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite.ops.shape import sum_to_array as sum_to


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=3, max_side=4),
       seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_sum_to_is_the_adjoint_of_broadcast_to(shapes, seed):
    """<g, broadcast(v)> == <sum_to(g), v>: why sum_to is the gradient of broadcasting."""
    (shape,), target = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    v, g = rng.standard_normal(shape), rng.standard_normal(target)
    left = (g * np.broadcast_to(v, target)).sum()
    right = (sum_to(g, shape) * v).sum()
    assert left == pytest.approx(right, rel=1e-12, abs=1e-12)


def test_getitem_repeated_index_accumulates():
    x = tl.arange(4.0, requires_grad=True)
    x[[0, 2, 2, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 3, 0])


def test_getitem_boolean_mask_and_tensor_index():
    x = tl.arange(6.0, requires_grad=True)
    mask = x > 2.5
    y = x[mask]
    np.testing.assert_array_equal(y.numpy(), [3, 4, 5])
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, 6, 8, 10])
    assert x[tl.tensor([1, 1])].shape == (2,)


def test_getitem_none_ellipsis_and_negative_step():
    x = tl.arange(24.0).reshape(2, 3, 4)
    assert x[None, ..., 1].shape == (1, 2, 3)
    np.testing.assert_array_equal(x[0, ::-1, 0].numpy(), [8, 4, 0])


def test_getitem_float_index_is_an_error():
    with pytest.raises(IndexError):
        tl.ones(3)[1.5]


def test_reshape_error_names_both_shapes():
    with pytest.raises(
        ValueError, match=r"reshape: cannot reshape \(3, 4\) \(12 elements\) to \(5, 2\)"
    ):
        tl.ones((3, 4)).reshape(5, 2)


def test_reshape_infers_minus_one_and_accepts_tuple():
    assert tl.ones((2, 6)).reshape(-1, 3).shape == (4, 3)
    assert tl.ones((2, 6)).reshape((3, 4)).shape == (3, 4)


def test_transpose_conventions():
    x = tl.ones((2, 3, 4))
    assert x.transpose().shape == (4, 3, 2)  # NumPy: reverse all
    assert x.transpose(0, 2).shape == (4, 3, 2)  # torch: swap two
    assert x.transpose(1, 0, 2).shape == (3, 2, 4)  # NumPy: full permutation
    assert x.T.shape == (4, 3, 2)


def test_permute_rejects_non_permutation():
    with pytest.raises(ValueError, match="permute: .* is not a permutation"):
        tl.ones((2, 3)).permute(0, 0)


def test_squeeze_non_unit_axis_is_an_error():
    with pytest.raises(ValueError, match=r"squeeze: axis 0 of \(2, 1\) does not have size 1"):
        tl.ones((2, 1)).squeeze(0)


def test_broadcast_to_error_names_shapes():
    with pytest.raises(ValueError, match=r"broadcast_to: .*\(3,\).*\(2, 4\)"):
        tl.ones(3).broadcast_to((2, 4))


def test_concatenate_mismatch_names_shapes():
    with pytest.raises(
        ValueError, match=r"concatenate: shapes \[\(2, 3\), \(2, 4\)\] differ outside axis 0"
    ):
        tl.concatenate([tl.ones((2, 3)), tl.ones((2, 4))], axis=0)


def test_stack_needs_equal_shapes():
    with pytest.raises(ValueError, match="stack: all tensors need the same shape"):
        tl.stack([tl.ones(2), tl.ones(3)])


def test_split_into_sections_and_at_indices():
    x = tl.arange(6.0)
    assert [p.shape for p in x.split(3)] == [(2,), (2,), (2,)]
    assert [p.numpy().tolist() for p in tl.split(x, [1, 4])] == [[0], [1, 2, 3], [4, 5]]
    with pytest.raises(ValueError, match="split: .* does not divide into 4 parts"):
        x.split(4)


def test_pad_constant_value_and_negative_width():
    y = tl.pad(tl.ones((1, 2)), ((1, 0), (0, 2)), value=-1.0)
    np.testing.assert_array_equal(y.numpy(), [[-1, -1, -1, -1], [1, 1, -1, -1]])
    with pytest.raises(ValueError, match="pad: widths must be >= 0"):
        tl.pad(tl.ones(2), -1)
