"""Writes through views, detach() and .numpy(), augmented assignment on tensors in the graph,
and grad mode per thread: each either gives PyTorch's gradient or raises, never a wrong number."""

import threading

import numpy as np
import pytest

import tinygrad_lite as tl


def _loss_of_a_times_w():
    a = tl.tensor([1.0, 2.0, 3.0])
    w = tl.tensor([1.0, 1.0, 1.0], requires_grad=True)
    return a, w, (a * w).sum()


@pytest.mark.parametrize(
    "write",
    [
        lambda a: a[0:2].__iadd__(10),
        lambda a: a.reshape(3, 1).__imul__(0),
        lambda a: a.T.__isub__(1),
        lambda a: a.detach().__iadd__(1),
        lambda a: a[None][0][1:].add_(5),  # a view of a view
        lambda a: a.detach()[1:].__setitem__(0, 7.0),
    ],
    ids=["slice", "reshape", "transpose", "detach", "view-of-view", "setitem-on-detach-view"],
)
def test_writing_through_an_alias_of_a_saved_tensor_raises(write):
    a, w, loss = _loss_of_a_times_w()
    write(a)
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    assert w.grad is None


def test_detach_of_a_leaf_requiring_grad_shares_its_version():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    d = x.detach()
    d += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_a_copy_does_not_share_the_version():
    a, w, loss = _loss_of_a_times_w()
    c = tl.tensor(a)  # tl.tensor copies
    c += 10
    loss.backward()
    assert w.grad.tolist() == [1, 2, 3]


def test_numpy_of_a_tensor_in_a_graph_is_read_only():
    a = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tl.tensor([4.0, 5.0, 6.0])
    y = (a * b).sum()
    with pytest.raises(ValueError, match="read-only"):
        b.numpy()[0] = 100
    with pytest.raises(ValueError, match="read-only"):
        a.numpy()[:] = 0  # a parameter: change it under no_grad instead
    with pytest.raises(ValueError, match="read-only"):
        b.detach().numpy()[0] = 100  # the detached view shares the memory
    y.backward()
    assert a.grad.tolist() == [4, 5, 6]


def test_numpy_of_a_plain_tensor_is_shared_and_writable():
    t = tl.tensor([1.0, 2.0])
    t.numpy()[0] = 5
    assert t.tolist() == [5, 2]
    assert np.shares_memory(t.numpy(), t.data)


def test_requires_grad_attribute_refuses_integer_tensors():
    t = tl.tensor([1, 2])
    with pytest.raises(TypeError, match="only float tensors"):
        t.requires_grad = True
    assert not t.requires_grad


def test_augmented_assignment_on_a_leaf_parameter_still_raises():
    w = tl.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place change"):
        w += 1


def test_augmented_assignment_in_graph_rebinds_and_keeps_other_aliases_safe():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    c = x * 2
    c += c + 1  # rebinds c, as micrograd
    c.sum().backward()
    assert x.grad.tolist() == [4, 4]
    v_base = x * 3
    view = v_base[0:1]
    with pytest.raises(RuntimeError, match="shares its memory"):
        view += 1
    c2 = x * 2
    with pytest.raises(RuntimeError, match="shape"):
        c2 += tl.ones(3, 2)
    with pytest.raises(RuntimeError, match="in-place change"):
        c2.add_(1)  # an explicit in-place method cannot rebind


def test_no_grad_in_one_thread_does_not_switch_recording_off_in_another():
    inside, release = threading.Event(), threading.Event()

    def evaluate():
        with tl.no_grad():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=evaluate)
    worker.start()
    inside.wait(10)
    try:
        w = tl.tensor([1.0, 2.0], requires_grad=True)
        (w * w).sum().backward()
        assert tl.is_grad_enabled() and w.grad.tolist() == [2, 4]
    finally:
        release.set()
        worker.join()


def test_threads_entering_and_leaving_no_grad_leave_grad_mode_on():
    def evaluate():
        for _ in range(2000):
            with tl.no_grad():
                pass

    threads = [threading.Thread(target=evaluate) for _ in range(4)]
    for t in threads:
        t.start()
    good = 0
    for _ in range(200):
        w = tl.tensor([3.0], requires_grad=True)
        (w * w).sum().backward()
        good += w.grad is not None and w.grad.item() == 6
    for t in threads:
        t.join()
    assert good == 200 and tl.is_grad_enabled()


def test_no_grad_decorator_is_reentrant():
    @tl.no_grad()
    def inner(depth):
        assert not tl.is_grad_enabled()
        return inner(depth - 1) if depth else None

    inner(3)
    assert tl.is_grad_enabled()
