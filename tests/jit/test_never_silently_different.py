"""The rule of tl.jit, over every case in cases.py: each call of the jitted step returns what the
eager step returns, bit for bit, and leaves the same state; or it raises JitError, and then the
state is what the eager step had before that call (nothing the refused call did is kept)."""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.jit import JitError

from .cases import CASES, EXPECT, PRELUDE

CALLS = 12


def _program(name: str, jitted: bool) -> dict:
    namespace: dict = {}
    exec(compile(PRELUDE + CASES[name], f"<case {name}>", "exec"), namespace)  # noqa: S102
    if jitted:
        namespace["step"] = tl.jit(namespace["step"])
    return namespace


def _bytes(value):
    """A result as comparable bytes, whatever its structure."""
    if isinstance(value, tl.Tensor):
        return ("tensor", value.data.dtype.str, value.data.shape, value.data.tobytes())
    if isinstance(value, dict):
        return tuple((k, _bytes(v)) for k, v in value.items())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_bytes(v) for v in value))
    if hasattr(value, "__dataclass_fields__"):
        return (type(value).__name__, _bytes(vars(value)))
    return value


def _run(namespace: dict, calls: int, stop_at=None):
    """[(outcome, state after)] per call: outcome is ('ok', result bytes) or (error type, None)."""
    outcomes = []
    for i in range(calls if stop_at is None else stop_at):
        if "between" in namespace:
            namespace["between"](i)
        args, kwargs = namespace["arguments"](i)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # "runs eagerly from now on"
                outcome = ("ok", _bytes(namespace["step"](*args, **kwargs)))
        except Exception as error:  # noqa: BLE001 - the outcome is compared, not hidden
            outcome = (type(error), None)
        outcomes.append((outcome, namespace["state"]()))
        if outcome[0] is JitError:
            break
    return outcomes


@pytest.mark.parametrize("name", list(CASES))
def test_a_replay_equals_eager_or_is_refused_before_any_change(name):
    eager = _run(_program(name, jitted=False), CALLS)
    jitted = _run(_program(name, jitted=True), CALLS)
    for i, ((outcome, state), (want, want_state)) in enumerate(zip(jitted, eager)):
        if outcome[0] is JitError:
            before = eager[i - 1][1] if i else _program(name, jitted=False)["state"]()
            assert state == before, f"call {i}: the refused call changed the state"
            assert EXPECT[name] == "refused", f"call {i}: refused, expected to replay"
            return
        assert outcome == want, f"call {i}: {outcome[0]} instead of {want[0]}, or other values"
        assert state == want_state, f"call {i}: other parameters or gradients"
    assert EXPECT[name] == "equal", "expected a JitError"
    assert len(jitted) == CALLS


def test_every_case_that_replays_does_replay():
    """Equality must not come from running eagerly: the cases that should replay make plans."""
    for name, expect in EXPECT.items():
        namespace = _program(name, jitted=True)
        if expect != "equal":
            continue
        _run(namespace, CALLS)
        step = namespace["step"]
        replays = step.captures > 0 or step.eager_reason is not None
        assert replays, name
        if name not in ("numpy scalar argument",):
            assert step.eager_reason is None, (name, step.eager_reason)


def test_the_refusals_name_their_cause():
    messages = {}
    for name, expect in EXPECT.items():
        if expect == "refused":
            namespace = _program(name, jitted=True)
            with pytest.raises(JitError) as error:
                for i in range(CALLS):
                    if "between" in namespace:
                        namespace["between"](i)
                    args, kwargs = namespace["arguments"](i)
                    namespace["step"](*args, **kwargs)
            messages[name] = str(error.value)
    assert "bool() of a tensor" in messages["branch on a comparison"]
    assert "numpy() of a tensor" in messages["numpy() of the loss"]
    assert "np.asarray() of a tensor" in messages["np.asarray of activations"]
    assert "float() of a tensor" in messages["float() of the loss"]
    assert (
        "writes param_groups[...]['lr']"
        in messages["learning rate written into param_groups inside the step"]
    )
    assert "changes the global 'count'" in messages["gradient accumulation counter"]
    assert "changes the global 'history'" in messages["history appended inside the step"]
    assert "rebinds .data" in messages[".data rebound inside the step"]
    for name in (
        "dropout in training mode",
        "a numpy generator decides a branch",
        "python's random decides a branch",
    ):
        assert "draws random numbers" in messages[name], name
    assert all(message.startswith("tl.jit: ") for message in messages.values())


def test_a_refused_step_changes_nothing_and_keeps_refusing():
    namespace = _program("branch on a comparison", jitted=True)
    before = namespace["state"]()
    x, y = namespace["batch"](0)
    for _ in range(2):
        with pytest.raises(JitError):
            namespace["step"](x, y)
        assert namespace["state"]() == before
    assert np.isfinite(namespace["model"][0].weight.data).all()
