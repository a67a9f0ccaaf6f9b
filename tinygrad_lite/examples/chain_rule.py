"""The chain rule at work: the engine's gradient of y = Σ x·sin x against the formula by hand."""

import numpy as np

import tinygrad_lite as tl


def run(log=print, **_) -> dict:
    x = tl.tensor([0.5, -1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = (x.sin() * x).sum()  # dy/dx = sin x + x cos x
    y.backward()
    by_hand = np.sin(x.numpy()) + x.numpy() * np.cos(x.numpy())
    passed = tl.gradcheck(lambda t: t.sin() * t, x)
    log(f"y = sum(x * sin(x)) = {y.item():.6f}")
    log(f"engine  dy/dx = {np.array2string(x.grad.numpy(), precision=6)}")
    log(f"by hand dy/dx = {np.array2string(by_hand, precision=6)}  (sin x + x cos x)")
    verdict = "passed" if passed else "FAILED"
    log(f"gradcheck (finite differences, random upstream gradient): {verdict}")
    return {"engine": x.grad.numpy(), "by_hand": by_hand, "gradcheck": passed}


if __name__ == "__main__":
    run()
