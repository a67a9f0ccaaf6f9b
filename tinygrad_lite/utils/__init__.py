"""Utilities with PyTorch's names: `tl.utils.checkpoint` (activation checkpointing)."""

from . import checkpoint

__all__ = ["checkpoint"]
