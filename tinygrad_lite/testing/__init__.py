"""Gradient-checking your own functions and layers, with a report that says where it is wrong.

    report = tl.testing.check_gradients(my_layer, x)      # inputs and every parameter
    print(report)                                         # per tensor: errors, worst elements
    report.raise_if_failed()

Checks run on a float64 copy of the layer, so the user's module is never touched. When a check
fails, the recorded graph is replayed op by op: each node's backward is checked on that node's
own inputs, and the report names the first op whose backward is wrong.

One module per job: `check` (check_gradients, check_module), `report` (what a check found),
`problem` (the float64 copy, Dropout replay), `error_model` (finite differences with an error
bound), `precision` (the float32-code mode), `properties` (linearity, second order), `localize`
(the first wrong op), `parity` (CPU against GPU), `strategies` (hypothesis, for your own
property tests) and `pytest_plugin` (the `check_gradients` fixture).
"""

from .check import check_gradients, check_module, gradcheck
from .localize import first_wrong_op
from .parity import GPUNotAvailable, ParityReport, check_parity
from .problem import replayed_random_numbers
from .properties import hessian_symmetry, vjp_derivative, vjp_linearity
from .report import GradientReport, TensorCheck, reproduction

__all__ = [
    "GPUNotAvailable", "GradientReport", "ParityReport", "TensorCheck", "check_gradients",
    "check_module", "check_parity", "first_wrong_op", "gradcheck", "hessian_symmetry",
    "replayed_random_numbers", "reproduction", "vjp_derivative", "vjp_linearity",
]  # fmt: skip
