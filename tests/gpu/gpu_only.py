"""`from .gpu_only import cupy` at the top of a GPU test module skips the whole module (reported as
skipped) where CuPy or a GPU is missing, as on CI."""

import pytest

import tinygrad_lite as tl

if not tl.cuda.is_available():
    pytest.skip("needs CuPy and an NVIDIA GPU", allow_module_level=True)

import cupy  # noqa: E402, F401
