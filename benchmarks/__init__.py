"""Benchmarks: tinygrad_lite side by side with hand-written NumPy and PyTorch, as ratios.

Run `python -m benchmarks [mlp] [ops] [cnn]` from a checkout (or `tinygrad-lite bench`).
"""
