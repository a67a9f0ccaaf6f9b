"""Data sets: the bundled 8×8 digits, MNIST IDX files, image folders, and small synthetic sets.

No network is used. The default real data set is scikit-learn's bundled handwritten digits
(1,797 8×8 images), installed with `pip install scikit-learn` (the data extra).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..backend import install_hint

DIGITS_HINT = "the bundled digits need scikit-learn: " + install_hint("scikit-learn", "data")


def _resize_matrix(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) bilinear interpolation weights, pixel centres aligned (half-pixel)."""
    centres = (np.arange(size_out) + 0.5) * size_in / size_out - 0.5
    centres = np.clip(centres, 0, size_in - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    weights = np.zeros((size_out, size_in))
    np.add.at(weights, (np.arange(size_out), low), 1 - (centres - low))
    np.add.at(weights, (np.arange(size_out), high), centres - low)
    return weights


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (..., H, W) images to (..., size, size)."""
    rows = _resize_matrix(images.shape[-2], size)
    cols = _resize_matrix(images.shape[-1], size)
    return np.einsum("ah,...hw,bw->...ab", rows, images, cols).astype(images.dtype)


def load_digits(size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits as float32 images (N, 1, size, size) in [0, 1]
    and int64 labels 0-9. size=28 upscales them so MNIST architectures apply unchanged."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError(DIGITS_HINT) from None
    digits = sklearn_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    if size != 8:
        images = resize_images(images, size)
    return images, digits.target.astype(np.int64)


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (MNIST's format), raw or gzip-compressed.

    The header is two zero bytes, a type code, the number of dimensions, then each dimension as a
    big-endian uint32; the values follow.

    Raises:
        ValueError: bad magic number, unknown type code, a size that does not match the header,
            or a damaged gzip file; the message names the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic number
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise ValueError(
                f"read_idx: {path} is a damaged or truncated gzip file ({error})"
            ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file (bad magic number {raw[:4].hex()})")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} has unknown type code 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} ends inside its header")
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"read_idx: {path} has {len(raw) - header} bytes of data, but its header {shape} "
            f"needs {expected}"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def load_mnist(directory: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST from the standard IDX files in `directory` (train-images-idx3-ubyte[.gz] etc.): images
    as float32 (N, 1, 28, 28) in [0, 1] and int64 labels."""
    prefixes = {"train": "train", "test": "t10k"}
    if split not in prefixes:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    prefix = prefixes[split]
    directory = Path(directory)

    def find(name):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.exists():
                return candidate
        raise FileNotFoundError(f"load_mnist: neither {name} nor {name}.gz in {directory}")

    images = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"load_mnist: {len(images)} images {images.shape} but labels {labels.shape}"
        )
    return (images / 255.0).astype(np.float32)[:, None], labels.astype(np.int64)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


ImageFolderData = tuple[np.ndarray, np.ndarray, list[str]]


def load_image_folder(root: str | os.PathLike, size: int = 224, mean=(0.485, 0.456, 0.406),
                      std=(0.229, 0.224, 0.225)) -> ImageFolderData:  # fmt: skip
    """Images under root/<class name>/ as float32 (N, 3, size, size), normalised per channel,
    with int64 labels and the sorted class names. Needs Pillow (pip install pillow; the images
    extra)."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "image folders need Pillow: " + install_hint("pillow", "images")
        ) from None
    root = Path(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"load_image_folder: {root} has no class subfolders")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = [f for f in sorted((root / name).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
        if not files:  # NOTE: as PyTorch's ImageFolder: an empty class would never be predicted
            raise ValueError(
                f"load_image_folder: class folder {root / name} holds no images "
                f"({', '.join(sorted(IMAGE_SUFFIXES))}); remove it or add images"
            )
        for file in files:
            try:
                with Image.open(file) as image:
                    rgb = image.convert("RGB").resize((size, size))
            except Exception as error:  # NOTE: Pillow raises many kinds for a broken file
                raise ValueError(
                    f"load_image_folder: cannot read image {file}: {type(error).__name__}: {error}"
                ) from None
            images.append(np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0)
            labels.append(label)
    mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    return (np.stack(images) - mean) / std, np.array(labels, dtype=np.int64), classes


# ---- synthetic data of the example programs --------------------------------------------------
def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points (E1) and their (4, 1) targets."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return x, np.array([[0], [1], [1], [0]], dtype=np.float32)


def linear(n: int = 1000, features: int = 2, noise: float = 0.1, seed: int = 0):
    """y = x·w + b + noise with fixed random w, b (E2); also returns (w, b)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    w, b = rng.standard_normal(features), rng.standard_normal()
    y = (x @ w + b + noise * rng.standard_normal(n)).astype(np.float32)[:, None]
    return x, y, (w, b)


def two_blobs(n: int = 1000, separation: float = 2.0, seed: int = 0):
    """Two overlapping Gaussian classes in 2-D (E3's two informative features, two classes)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    centres = np.array([[-0.5, -0.5], [0.5, 0.5]]) * separation
    x = (centres[labels] + rng.standard_normal((n, 2))).astype(np.float32)
    return x, labels.astype(np.float32)[:, None]


def sum_rule(n: int = 100, threshold: float = 0.5, seed: int = 0):
    """E4: points uniform in [0, 1]², labelled 1 where x0 + x1 >= threshold."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 2)).astype(np.float32)
    return x, (x.sum(axis=1) >= threshold).astype(np.float32)[:, None]
