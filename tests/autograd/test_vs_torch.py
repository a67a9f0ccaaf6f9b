"""The engine against PyTorch where aliasing and augmented assignment are involved, and
micrograd's own engine tests (karpathy/micrograd test/test_engine.py) on 0-d tensors."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _ours(v):
    return tl.tensor(v, dtype=np.float64, requires_grad=True)


def _theirs(v):
    return torch.tensor(v, dtype=torch.float64, requires_grad=True)


def _sanity_check(make):
    x = make(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return y, x


def _more_ops(make):
    a, b = make(-4.0), make(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g, a, b


@pytest.mark.parametrize("test", [_sanity_check, _more_ops], ids=["sanity_check", "more_ops"])
def test_micrograd_engine_tests_match_pytorch(test):
    ours, theirs = test(_ours), test(_theirs)
    assert ours[0].shape == () and abs(ours[0].item() - theirs[0].item()) < 1e-9
    for mine, reference in zip(ours[1:], theirs[1:]):
        assert abs(mine.grad.item() - reference.grad.item()) < 1e-9


@pytest.mark.parametrize(
    "write",
    [lambda a: a[0:2].__iadd__(10), lambda a: a.reshape(3, 1).__imul__(0)],
    ids=["slice", "reshape"],
)
def test_views_of_a_saved_tensor_raise_like_pytorch(write):
    for make in (tl.tensor, torch.tensor):
        a = make([1.0, 2.0, 3.0])
        w = make([1.0, 1.0, 1.0], requires_grad=True)
        loss = (a * w).sum()
        write(a)
        with pytest.raises(RuntimeError, match="modified"):
            loss.backward()


def test_detach_shares_the_version_like_pytorch():
    for make in (_ours, _theirs):
        x = make([1.0, 2.0, 3.0])
        y = (x * x).sum()
        d = x.detach()
        d += 1
        with pytest.raises(RuntimeError, match="modified"):
            y.backward()


def test_grad_mode_is_per_thread_like_pytorch():
    import threading

    for lib in (tl, torch):
        seen = []

        def report(lib=lib, seen=seen):
            seen.append(lib.is_grad_enabled())

        with lib.no_grad():
            worker = threading.Thread(target=report)
            worker.start()
            worker.join()
        assert seen == [True]
