"""The answer checker the notebooks' exercises call: it prints, never raises, so a handed-out
notebook runs from top to bottom before anyone has answered."""

import numpy as np


def check(name: str, answer, expected, tolerance: float = 1e-4) -> None:
    if answer is None:
        print(f"{name}: not answered yet")
    elif np.shape(answer) == np.shape(expected) and np.allclose(
        answer, expected, rtol=tolerance, atol=tolerance
    ):
        print(f"{name}: correct")
    else:
        print(f"{name}: not yet — try again")
