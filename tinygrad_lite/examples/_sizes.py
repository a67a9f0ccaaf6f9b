"""What the compression examples measure of a model's size."""

from __future__ import annotations

import tempfile
from pathlib import Path

import tinygrad_lite as tl


def checkpoint_bytes(model) -> int:
    """The size on disk of the model's state_dict saved with tl.save."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        tl.save(model.state_dict(), path)
        return path.stat().st_size
