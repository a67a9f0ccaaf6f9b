"""The E6 MLP and E7 CNN train on the GPU to the CPU's accuracy (same seed, same data order)."""

import pytest

from tinygrad_lite.examples import e6_digits_mlp, e7_digits_cnn

from .gpu_only import cupy  # noqa: F401


@pytest.mark.parametrize("example, epochs", [(e6_digits_mlp, 5), (e7_digits_cnn, 15)])
def test_example_trains_on_the_gpu_like_on_the_cpu(example, epochs):
    quiet = dict(epochs=epochs, log=lambda *_: None, progress=False)
    gpu = example.run(device="cuda", **quiet)["test_accuracy"]
    cpu = example.run(device="cpu", **quiet)["test_accuracy"]
    print(f"{example.__name__}: GPU {gpu:.4f}, CPU {cpu:.4f}")
    assert gpu >= 0.97 and abs(gpu - cpu) <= 0.01
