"""tl.save / tl.load: nested dicts of arrays in a NumPy .npz file, never pickle.

Nested keys are joined with '/': {'model': {'0.weight': w}} is stored as 'model/0.weight'. A list
of dicts (an optimizer's param_groups) is stored with keys '#0', '#1', ... and read back as a list.
An empty dict is kept as a key ending in '/'. Numbers, bools, strings and tuples are stored as
arrays; on loading, 0-d arrays come back as Python values. A manifest member lists every key with
its shape, dtype and SHA-256, so a truncated, bit-flipped or crafted file is refused as a whole.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .backend import bfloat16, install_hint, is_floating
from .tensor import Tensor

SEPARATOR = "/"
LIST_INDEX = "#"
MANIFEST = "#manifest.json"  # keys never start with '#', so no array can take this name
FORMAT = "tinygrad_lite checkpoint 1"


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
        if array.dtype.kind not in "biufU" and not is_floating(array.dtype):
            raise TypeError(
                f"save: '{prefix}{key}' is a {type(value).__name__}; only arrays, Tensors, "
                "numbers, bools, strings and (nested) dicts of them can be saved without pickle"
            )
        out[prefix + key] = array


def save(state: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a (nested) dict of arrays/Tensors/numbers to `path` as .npz (or, for a path ending in
    .safetensors, in the safetensors format, which PyTorch reads), atomically: a temporary
    file in the same folder is renamed over `path` only once it is complete, so a crash never
    leaves a half-written checkpoint. A manifest member (every key's shape, dtype and SHA-256)
    lets `load` prove the file whole. Temporary files left by a killed save of the same target
    (their process is gone) are removed.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save({"step": 3, "w": np.ones(2)}, path)
    >>> load(path)["step"]
    3
    """
    flat: dict[str, np.ndarray] = {}
    _flatten(state, "", flat)  # raises on a bad key or value before anything is written
    path = Path(path)
    write = _write_safetensors if path.suffix == ".safetensors" else _write_archive
    if write is _write_safetensors:
        _check_safetensors(flat)
    _remove_stale_temporaries(path)
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            write(file, flat)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _safetensors():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            ".safetensors files need the safetensors package: "
            + install_hint("safetensors", "interop")
        ) from None
    return safetensors.numpy


def _check_safetensors(flat: dict[str, np.ndarray]) -> None:
    _safetensors()
    for key, array in flat.items():
        if array.dtype.kind not in "biuf" and _dtype_name(array) != "bfloat16":
            raise ValueError(f"save: '{key}' is {array.dtype}; a .safetensors file holds numeric "
                             "arrays only (use .npz for strings)")  # fmt: skip


def _write_safetensors(file, flat: dict[str, np.ndarray]) -> None:
    """The safetensors format (Hugging Face's: a JSON header of names, dtypes, shapes and
    offsets, then the raw bytes), readable by PyTorch's safetensors.torch.load_file. The
    header's metadata carries the same manifest as our .npz files (each key's shape, dtype and
    SHA-256), checked on load. bfloat16 is the format's BF16: the safetensors package's NumPy
    API has no bfloat16, so such arrays go through it as their uint16 bits and the header
    names them BF16."""
    arrays, manifest = {}, {}
    for key, array in flat.items():
        array = np.ascontiguousarray(array) if array.ndim else array.copy()
        manifest[key] = _manifest_entry(array)
        arrays[key] = array.view(np.uint16) if _dtype_name(array) == "bfloat16" else array
    metadata = {"format": "tinygrad_lite", "manifest": json.dumps(manifest)}
    data = _safetensors().save(arrays, metadata=metadata)
    bits = [key for key, entry in manifest.items() if entry["dtype"] == "bfloat16"]
    file.write(_retyped(data, bits, "BF16"))


def _manifest_entry(array: np.ndarray) -> dict:
    return {"shape": list(array.shape), "dtype": _dtype_name(array),
            "sha256": hashlib.sha256(array.tobytes()).hexdigest()}  # fmt: skip


def _header(data: bytes) -> tuple[dict, int]:
    """A safetensors file's JSON header, and where the array bytes start."""
    size = int.from_bytes(data[:8], "little")
    if len(data) < 8 or size > len(data) - 8:
        raise CheckpointError("it is not a safetensors file (its header is cut off)")
    return json.loads(data[8 : 8 + size]), 8 + size


def _retyped(data: bytes, keys: list[str], dtype: str) -> bytes:
    """The file with the header's dtype of `keys` set to `dtype` (U16 <-> BF16: the same bytes)."""
    if not keys:
        return data
    header, start = _header(data)
    for key in keys:
        header[key]["dtype"] = dtype
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # NOTE: the format pads its header to 8 bytes
    return len(text).to_bytes(8, "little") + text + data[start:]


def _read_safetensors(path: Path, verify: bool) -> dict[str, np.ndarray]:
    library = _safetensors()  # NOTE: first: a missing package is not a damaged file
    data = path.read_bytes()
    header, _ = _header(data)
    bits = [key for key, entry in header.items()
            if key != "__metadata__" and entry.get("dtype") == "BF16"]  # fmt: skip
    flat = library.load(_retyped(data, bits, "U16"))
    for key in bits:
        flat[key] = flat[key].view(bfloat16())
    manifest = (header.get("__metadata__") or {}).get("manifest")
    if manifest is None:
        warnings.warn(
            f"load: {path} was written by another program (no tinygrad_lite manifest in its "
            "metadata): loaded without checking its SHA-256", stacklevel=3,
        )  # fmt: skip
    elif verify:
        _verify(flat, json.loads(manifest))
    return flat


def _verify(flat: dict[str, np.ndarray], manifest: dict) -> None:
    """Raise CheckpointError unless `flat` holds exactly the manifest's arrays, each whole."""
    if set(flat) != set(manifest):
        missing, extra = sorted(set(manifest) - set(flat)), sorted(set(flat) - set(manifest))
        raise CheckpointError(f"arrays {missing} are missing and {extra} unexpected")
    for key, array in flat.items():
        if _manifest_entry(array) != manifest[key]:
            raise CheckpointError(f"'{key}' differs from its manifest entry (corrupted)")


def _write_archive(file, flat: dict[str, np.ndarray]) -> None:
    """The .npz layout (one `<key>.npy` member per array), plus the manifest. Keys are member
    names, never keyword arguments, so any key (`file`, `allow_pickle`) round-trips."""
    manifest = {}
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in flat.items():
            dtype = _dtype_name(array)
            stored = array.view(np.uint16) if dtype == "bfloat16" else array  # NOTE: .npy has no
            with archive.open(key + ".npy", "w", force_zip64=True) as member:  # bfloat16 type
                np.lib.format.write_array(member, stored, allow_pickle=False)
            manifest[key] = _manifest_entry(array)
        archive.writestr(MANIFEST, json.dumps({"format": FORMAT, "arrays": manifest}))


def _dtype_name(array: np.ndarray) -> str:
    """The dtype as the manifest records it: NumPy's code, or 'bfloat16' (stored as its bits)."""
    return "bfloat16" if array.dtype.name == "bfloat16" else array.dtype.str


def _remove_stale_temporaries(path: Path) -> None:
    """Delete `.<name>.<pid>.*.tmp` files beside `path` whose writing process no longer exists
    (a save killed mid-write); a save still running in another process keeps its file."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = stale.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _process_exists(int(pid)):
            with contextlib.suppress(OSError):
                stale.unlink()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, under another user
        return True
    return True


def load(path: str | os.PathLike, verify: bool = True) -> dict[str, Any]:
    """Read a checkpoint written by `save` (pickled objects are refused, never executed).

    Args:
        path: the .npz file (or a .safetensors file: the safetensors format, needs the
            safetensors package; PyTorch's safetensors.torch files load too).
        verify: check the file against its manifest: every key present, nothing else, each
            array of the recorded shape, dtype and SHA-256. verify=False also reads a plain
            .npz written by NumPy (np.savez), which has no manifest.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a whole, valid checkpoint, saying what it is and why.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: no such file: {path}")
    try:
        if path.suffix == ".safetensors":
            flat = _read_safetensors(path, verify)
        else:
            flat = _read_archive(path, verify)
        return _unflatten(flat)
    except CheckpointError as error:
        raise ValueError(f"load: {path} is not a valid tinygrad_lite checkpoint: {error}") from None
    except ImportError:
        raise  # NOTE: a missing package is not a damaged file
    except Exception as error:  # NOTE: a corrupt zip raises many kinds; all mean "not whole"
        raise ValueError(
            f"load: {path} is not a valid tinygrad_lite checkpoint: the file is damaged "
            f"({type(error).__name__}: {error})"
        ) from None


class CheckpointError(Exception):
    """Why a file is not a checkpoint; `load` turns it into a ValueError naming the file."""


def _read_archive(path: Path, verify: bool) -> dict[str, np.ndarray]:
    with open(path, "rb") as file:
        head = file.read(6)
    if head == b"\x93NUMPY":
        raise CheckpointError("it is a single .npy array (np.save), not a dict of arrays")
    if not head.startswith(b"PK"):
        raise CheckpointError("it is not a zip archive (.npz)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if any(name.endswith("data.pkl") for name in names):
            raise CheckpointError(
                "it is a PyTorch file (torch.save, which pickles); load it with torch and "
                "save its tensors as arrays with tl.save"
            )
        if MANIFEST not in names:
            if verify:
                raise CheckpointError(
                    "it has no manifest, so it cannot be proven whole (a plain np.savez file, "
                    "or not ours); pass verify=False to read it anyway"
                )
            return {_array_key(name): _read_member(archive, name) for name in names}
        manifest = json.loads(archive.read(MANIFEST))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CheckpointError("its manifest is not one tinygrad_lite writes")
        arrays = manifest["arrays"]
        expected = {key + ".npy" for key in arrays} | {MANIFEST}
        if set(names) != expected or len(names) != len(expected):
            extra, missing = sorted(set(names) - expected), sorted(expected - set(names))
            raise CheckpointError(f"members {missing} are missing and {extra} unexpected")
        flat = {}
        for key, entry in arrays.items():
            array = _read_member(archive, key + ".npy")
            if entry.get("dtype") == "bfloat16" and array.dtype == np.uint16:
                array = array.view(bfloat16())
            flat[key] = array
        if verify:
            _verify(flat, arrays)
        return flat


def _array_key(name: str) -> str:
    if not name.endswith(".npy"):
        raise CheckpointError(f"member {name!r} is not a .npy array")
    return name[: -len(".npy")]


def _read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    _array_key(name)
    with archive.open(name) as member:
        data = member.read()  # NOTE: reading to the end makes zipfile check the member's CRC-32
    try:
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise CheckpointError(
                f"'{name}' holds pickled objects, which are never loaded"
            ) from None
        raise


def _unflatten(flat: dict[str, np.ndarray]) -> dict[str, Any]:
    """Nested dicts (and lists) back from '/'-joined keys, refusing inconsistent layouts."""
    state: dict[str, Any] = {}
    for key, array in flat.items():
        *parents, leaf = key.split(SEPARATOR)
        node = state
        for parent in parents:
            node = node.setdefault(parent, {})
            if not isinstance(node, dict):
                raise CheckpointError(f"'{key}' nests inside the array '{parent}'")
        if leaf:  # a key ending in '/' only marks an empty dict
            if leaf in node:
                raise CheckpointError(f"'{key}' is both an array and a dict")
            node[leaf] = array.item() if array.ndim == 0 else array
    return _lists_restored(state)


def _lists_restored(node):
    """Turn dicts keyed '#0', '#1', ... back into the lists they were saved from."""
    if not isinstance(node, dict):
        return node
    node = {key: _lists_restored(value) for key, value in node.items()}
    if node and any(key.startswith(LIST_INDEX) for key in node):
        indices = [f"{LIST_INDEX}{i}" for i in range(len(node))]
        if sorted(node) != sorted(indices):
            raise CheckpointError(
                f"list entries {sorted(node)} are not {indices[0]}..{indices[-1]}"
            )
        return [node[index] for index in indices]
    return node
