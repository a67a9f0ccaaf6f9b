"""tl.jit under threads, nesting, many kinds of arguments, odd user names, and a refused capture
in the middle of a training loop."""

import gc
import re
import threading
import tracemalloc
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.autograd import Function
from tinygrad_lite.jit import JitError, jit


def _gradients_step():
    """A step without updates: its gradients depend only on its input."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))

    def step(x):
        model.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        return loss, model[0].weight.grad * 1.0

    return step


def test_two_threads_calling_one_jitted_step_get_their_own_results():
    eager, jitted = _gradients_step(), jit(_gradients_step())
    inputs = [tl.tensor(np.random.default_rng(i).standard_normal((8, 4)), dtype=np.float32)
              for i in range(6)]  # fmt: skip
    want = [[t.numpy().tobytes() for t in eager(x)] for x in inputs]
    failures = []

    def worker(seed):
        order = np.random.default_rng(seed).permutation(len(inputs))
        for _ in range(30):
            for i in order:
                got = [t.numpy().tobytes() for t in jitted(inputs[i])]
                if got != want[i]:
                    failures.append(i)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and jitted.captures == 1


def test_a_changing_float_argument_is_bounded_then_runs_eagerly_with_one_warning():
    tl.manual_seed(0)
    model = nn.Linear(64, 64)
    optimizer = optim.SGD(model.parameters(), lr=0.01)

    @jit
    def step(x, weight):
        loss = (model(x) ** 2).mean() * weight
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    x = tl.ones((32, 64))
    with pytest.warns(RuntimeWarning, match="runs eagerly from now on") as caught:
        for i in range(40):
            step(x, 1.0 + i / 1000)
    assert len(caught) == 1 and step.eager_reason is not None
    gc.collect()
    tracemalloc.start()
    for i in range(200):
        step(x, 2.0 + i / 1000)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert grown < 200_000, grown  # nothing is kept per call


def test_nested_jitted_steps_compose():
    tl.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loss_of = jit(lambda h, y: nn.functional.cross_entropy(h, y))

    @jit
    def step(x, y):
        loss = loss_of(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    x, y = tl.ones((4, 3)), np.array([0, 1, 1, 0])
    for _ in range(5):
        step(x, y)
    assert step.captures == 1 and "softmaxcrossentropy" in step.source


def test_generated_names_never_clash_with_what_users_name():
    """A Function class named V (a slot variable once was v<n>), a lambda and a partial as
    replayed-whole hooks: the generated replay compiles and runs them."""
    import functools

    class V(Function):
        """y = 2x.

        Backward: gx = 2 gy."""

        def forward(self, x):
            return 2 * x

        def backward(self, gy):
            return 2 * gy

        def backward_untracked(self, gy):
            return 2 * gy

    calls = {"n": 0}

    def count(leaves, by=1):
        calls["n"] += by

    w = tl.tensor(np.ones(3, np.float32), requires_grad=True)
    hooks = [lambda leaves: count(leaves), functools.partial(count, by=10)]
    tl.autograd.post_backward_hooks.extend(hooks)
    try:

        @jit
        def step(x):
            w.grad = None
            loss = (V.apply(w) * x).sum()
            loss.backward()
            return loss

        for _ in range(4):
            step(tl.ones(3))
    finally:
        for hook in hooks:
            tl.autograd.post_backward_hooks.remove(hook)
    assert step.captures == 1 and calls["n"] == 4 * 11
    assert re.search(r"op\d+_v\.forward\(", step.source) and "_lambda_(" in step.source
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, 2.0, np.float32))


def test_a_refusal_after_many_replays_leaves_the_training_where_it_was():
    """A step that replays, then meets a change it must capture again for, and is refused on
    the new capture: the parameters are those after the last good call."""
    tl.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    mode = {"check": False}

    @jit
    def step(x):
        loss = (model(x) ** 2).mean()
        if mode["check"] and loss > 100:  # a read, but only once the flag is set
            raise ValueError("diverged")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(5):
        step(tl.ones((2, 3)))
    before = [p.numpy().copy() for p in model.parameters()]
    mode["check"] = True
    with pytest.raises(JitError, match="bool"):
        step(tl.ones((2, 3)))
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), q)
    assert model.weight.grad is not None  # the gradient of the last good call, kept


def test_reads_of_values_raise_even_if_the_step_catches_them():
    tl.manual_seed(0)
    model = nn.Linear(3, 1)

    @jit
    def step(x):
        loss = model(x).sum()
        try:
            if loss > 0:
                loss = loss * 2
        except Exception:  # noqa: BLE001 - a step that swallows errors
            pass
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(JitError, match="bool"):
            step(tl.ones((2, 3)))
