"""tl.save / tl.load: nested dicts of arrays in a NumPy .npz file, never pickle.

Nested keys are joined with '/': {'model': {'0.weight': w}} is stored as 'model/0.weight'. A list
of dicts (an optimizer's param_groups) is stored with keys '#0', '#1', ... and read back as a list.
An empty dict is kept as a key ending in '/'. Numbers, bools, strings and tuples are stored as
arrays; on loading, 0-d arrays come back as Python values.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor

SEPARATOR = "/"
LIST_INDEX = "#"


def _is_list_of_dicts(value) -> bool:
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def _flatten(state: Mapping | list, prefix: str, out: dict[str, np.ndarray]) -> None:
    if isinstance(state, Mapping):
        if not state and prefix:
            out[prefix] = np.zeros(0)  # NOTE: marks an empty dict, which would otherwise vanish
        for key in map(str, state):
            if SEPARATOR in key or not key or key.startswith(LIST_INDEX):
                raise ValueError(
                    f"save: key {key!r} must be non-empty, without '/' or a leading '#'"
                )
        items = [(str(key), value) for key, value in state.items()]
    else:
        items = [(f"{LIST_INDEX}{i}", value) for i, value in enumerate(state)]
    for key, value in items:
        if isinstance(value, Mapping) or _is_list_of_dicts(value):
            _flatten(value, f"{prefix}{key}{SEPARATOR}", out)
            continue
        array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
        if array.dtype.kind not in "biufU":
            raise TypeError(
                f"save: '{prefix}{key}' is a {type(value).__name__}; only arrays, Tensors, "
                "numbers, bools, strings and (nested) dicts of them can be saved without pickle"
            )
        out[prefix + key] = array


def save(state: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a (nested) dict of arrays/Tensors/numbers to `path` as .npz, atomically: a temporary
    file in the same folder is renamed over `path` only once it is complete, so a crash never
    leaves a half-written checkpoint.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save({"step": 3, "w": np.ones(2)}, path)
    >>> load(path)["step"]
    3
    """
    flat: dict[str, np.ndarray] = {}
    _flatten(state, "", flat)
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **flat)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by `save` (pickled objects are refused, never executed).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a valid .npz checkpoint, saying why.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            flat = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"load: {path} is not a valid tinygrad_lite checkpoint: {error}") from None
    state: dict[str, Any] = {}
    for key, array in flat.items():
        *parents, leaf = key.split(SEPARATOR)
        node = state
        for parent in parents:
            node = node.setdefault(parent, {})
        if leaf:  # a key ending in '/' only marks an empty dict
            node[leaf] = array.item() if array.ndim == 0 else array
    return _lists_restored(state)


def _lists_restored(node):
    """Turn dicts keyed '#0', '#1', ... back into the lists they were saved from."""
    if not isinstance(node, dict):
        return node
    node = {key: _lists_restored(value) for key, value in node.items()}
    if node and all(key.startswith(LIST_INDEX) for key in node):
        return [node[f"{LIST_INDEX}{i}"] for i in range(len(node))]
    return node
