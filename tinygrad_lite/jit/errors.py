"""The one error tl.jit raises."""


class JitError(RuntimeError):
    """The step cannot be captured or replayed faithfully (the message says why). Raised before
    anything changes: a capture that fails is rolled back (tinygrad_lite/jit/journal.py)."""
