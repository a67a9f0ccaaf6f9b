"""tl.jit: capture a training step once, then replay its array work without the engine.

    @tl.jit
    def step(x, labels):
        loss = nn.functional.cross_entropy(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

The first two calls with a new kind of arguments run eagerly while a Recorder (capture.py)
writes down what the engine does: each op's forward, each backward step, each gradient written
into a leaf, in-place updates, and the calls replayed whole (optimizer.step, zero_grad, a
scheduler's step). Two captures that agree become a Plan (plan.py): one generated Python function
that calls the same forward and backward code on the same kinds of arrays in the same order, so a
replay is bit-identical to the eager step.

The promise: a replay equals the eager step bit for bit, or tl.jit raises JitError naming the
cause before anything changes (a refused capture is undone: journal.py). A replay runs none of
the step's Python code, so everything that code read is guarded (trees.py for the arguments,
guards.py for the Python state it names) and a change captures again; what a replay could not
follow (reading a tensor's values into Python, writing Python state, drawing random numbers) is
refused during capture. docs/jit.md lists every guard and refusal.
"""

from .errors import JitError
from .step import Jitted


def jit(step) -> Jitted:
    """Capture `step` on its first two calls and replay it afterwards (see docs/jit.md).

    Raises:
        JitError: the step does something a replay could not repeat (the message says what);
            nothing the refused call did is kept.
    """
    return Jitted(step)


__all__ = ["JitError", "Jitted", "jit"]
