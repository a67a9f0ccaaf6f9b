import gc
import weakref

import numpy as np
import pytest

import tinygrad_lite as tl


def test_backward_accumulates_until_zero_grad():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2 + 3, 4 + 3])
    x.zero_grad()
    assert x.grad is None


def test_backward_non_scalar_without_gradient_says_so():
    x = tl.ones((2, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\), not a scalar; pass a gradient"):
        (x * 2).backward()


def test_backward_with_explicit_gradient():
    x = tl.ones((2, 3), requires_grad=True)
    (x * 2).backward(np.full((2, 3), 0.5, dtype=np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"gradient shape \(3,\) != output shape \(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.ones(1).sum().backward()


def test_backward_twice_is_an_error_unless_graph_retained():
    x = tl.tensor([3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 12.0
    with pytest.raises(RuntimeError, match="a second time: its graph was freed"):
        y.backward()


def test_create_graph_gives_second_derivative():
    x = tl.tensor([2.0], dtype=np.float64, requires_grad=True)
    y = (x**3).sum()
    y.backward(create_graph=True)
    dydx = x.grad  # 3x² = 12, and itself differentiable
    assert dydx.requires_grad and dydx.item() == 12.0
    x.grad = None
    dydx.sum().backward()
    assert x.grad.item() == 12.0  # 6x


def test_hessian_vector_product_matches_explicit_hessian():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    x = tl.tensor(rng.standard_normal(3), requires_grad=True)
    v = rng.standard_normal(3)
    f = lambda t: (t @ tl.tensor(a) @ t).sin()
    (g,) = tl.grad(f(x), x, create_graph=True)
    (hv,) = tl.grad((g * tl.tensor(v)).sum(), x)
    xs, s = x.numpy(), a + a.T
    q = xs @ a @ xs
    hessian = -np.sin(q) * np.outer(s @ xs, s @ xs) + np.cos(q) * s
    np.testing.assert_allclose(hv.numpy(), hessian @ v, rtol=1e-12)


def test_grad_functional_form_does_not_touch_dot_grad():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    gx, gh = tl.grad((h * h).sum(), [x, h])
    np.testing.assert_array_equal(gx.numpy(), [8, 16])
    np.testing.assert_array_equal(gh.numpy(), [4, 8])
    assert x.grad is None


def test_grad_unused_input():
    x, z = tl.ones(2, requires_grad=True), tl.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="input 1 of shape \\(2,\\) is not used"):
        tl.grad(x.sum(), [x, z])
    assert tl.grad(x.sum(), [x, z], allow_unused=True)[1] is None


def test_no_grad_records_nothing_and_works_as_decorator():
    x = tl.ones(2, requires_grad=True)
    with tl.no_grad():
        y = x * 2
        assert not tl.is_grad_enabled()
        with tl.enable_grad():
            assert (x * 2).requires_grad
    assert tl.is_grad_enabled()
    assert not y.requires_grad and y.creator is None

    @tl.no_grad()
    def step():
        return x * 2

    assert not step().requires_grad


def test_shared_subexpression_gradients_add_up():
    x = tl.tensor([3.0], requires_grad=True)
    y = x * x
    (y + y * y).sum().backward()  # d/dx (x² + x⁴) = 2x + 4x³
    assert x.grad.item() == 6 + 108


def test_backward_through_a_leaf_root():
    x = tl.ones(2, requires_grad=True)
    x.backward(np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1])


def test_inplace_change_of_saved_input_is_detected():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    x = tl.tensor([3.0, 4.0])
    y = (w * x).sum()
    x += 1  # x does not require grad, so this is allowed, but Mul saved the old x
    with pytest.raises(
        RuntimeError, match=r"Mul: its input 1 of shape \(2,\) was modified in place"
    ):
        y.backward()


def test_inplace_change_of_saved_output_is_detected():
    x = tl.tensor([1.0], requires_grad=True)
    y = x.exp()  # Exp's backward reuses its output y
    with tl.no_grad():
        y *= 2
    with pytest.raises(RuntimeError, match=r"Exp: its output of shape \(1,\) was modified"):
        y.backward(np.ones(1, dtype=np.float32))


def test_inplace_on_tensor_requiring_grad_is_refused_outside_no_grad():
    w = tl.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"x \+= y: in-place change involving a tensor that"):
        w += 1
    with pytest.raises(RuntimeError, match=r"x\[index\] = y: in-place change"):
        w[0] = 5.0
    buffer = tl.zeros(2)
    with pytest.raises(RuntimeError, match="gradient would be lost"):
        buffer[0] = (w * 2)[0]  # writing a graph tensor into a plain one would drop its graph
    with tl.no_grad():
        w -= 0.5  # an optimizer step
        w[1] = 7.0
    np.testing.assert_array_equal(w.numpy(), [0.5, 7.0])
    assert w._version == 2


def test_only_float_tensors_can_require_grad():
    with pytest.raises(TypeError, match="only float tensors can require grad, got int64"):
        tl.tensor([1, 2], requires_grad=True)


def test_graph_is_freed_after_backward():
    x = tl.ones(3, requires_grad=True)
    hidden = x.exp()
    probe = weakref.ref(hidden)
    loss = (hidden * 2).sum()
    del hidden
    assert probe() is not None  # the graph holds it until backward
    loss.backward()
    gc.collect()
    assert probe() is None


def test_graph_is_freed_when_the_output_dies():
    x = tl.ones(3, requires_grad=True)
    hidden = x.exp()
    probe = weakref.ref(hidden)
    loss = (hidden * 2).sum()
    del hidden, loss  # no cycles: plain reference counting frees it without gc
    assert probe() is None


def test_backward_over_a_chain_of_100k_ops_has_no_recursion_limit():
    x = tl.tensor([1.0], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    first = weakref.ref(y.creator.inputs[0])
    y.sum().backward()
    assert x.grad.item() == 1.0
    del y
    gc.collect()
    assert first() is None


def test_dropping_a_100k_chain_without_backward_frees_it():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    probe = weakref.ref(y.creator.inputs[0])
    del y
    gc.collect()
    assert probe() is None


def test_named_inplace_methods_bump_the_version_and_respect_no_grad():
    w = tl.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"x.sub_\(y\)"):
        w.sub_(1.0)
    with tl.no_grad():
        w.sub_(0.5).mul_(4.0).add_(1.0).div_(2.0)
        np.testing.assert_array_equal(w.numpy(), [1.5, 1.5, 1.5])
        w.copy_(np.arange(3.0))
        np.testing.assert_array_equal(w.numpy(), [0, 1, 2])
        w.fill_(7.0)
        assert w.numpy().tolist() == [7, 7, 7]
        w.zero_()
    assert w.numpy().tolist() == [0, 0, 0] and w._version == 7


def test_leaf_gradients_are_their_own_contiguous_writable_arrays():
    a, b = tl.ones((3, 4), requires_grad=True), tl.ones((3, 4), requires_grad=True)
    (a + b).sum().backward()  # Add hands the same upstream gradient to both inputs
    assert a.grad is not b.grad and not np.shares_memory(a.grad.data, b.grad.data)
    w = tl.ones((4, 5), requires_grad=True)
    (tl.ones((2, 4)) @ w.T.T).sum().backward()  # the gradient arrives through transposes
    for g in (a.grad, b.grad, w.grad):
        assert g.data.flags.c_contiguous and g.data.flags.writeable
    tl.nn.clip_grad_norm_([a, b], max_norm=1.0)  # scales in place: must not scale twice
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())
    np.testing.assert_allclose(np.sqrt((a.grad.numpy() ** 2).sum() * 2), 1.0, rtol=1e-5)
