"""Which op is wrong: replay the recorded graph in execution order and check each node's
backward on that node's own inputs, with the error model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import reachable_functions
from ..gradcheck import analytic_vjps, outputs_of, random_upstream
from ..tensor import Tensor
from .error_model import richardson


def first_wrong_op(fn, inputs: Sequence[Tensor], seed: int = 0) -> str | None:
    """Replay fn's recorded graph in execution order and check each node's backward on its own
    inputs with the error model (so a bug only the error model sees is still localized); return
    a description of the first node whose backward is wrong."""
    leaves = [Tensor(x.data.copy(), requires_grad=x.requires_grad) for x in inputs]
    nodes = reachable_functions(outputs_of(fn, leaves))
    for node in reversed(nodes):  # execution order
        args = [Tensor(x.data.astype(np.float64) if x.dtype.kind == "f" else x.data.copy(),
                       requires_grad=needed)
                for x, needed in zip(node.inputs, node.needs_input_grad)]  # fmt: skip
        problem = _node_problem(type(node), node.params, args, seed)
        if problem:
            return f"{type(node).__name__} (tape position {node.seq}): {problem}"
    return None


def _node_problem(op, params: dict, args: list[Tensor], seed: int) -> str | None:
    def replay(*a):
        return op.apply(*a, **params)

    try:
        upstream = random_upstream(replay, args, seed)
        analytic = analytic_vjps(replay, args, upstream)
    except (RuntimeError, TypeError, ValueError) as error:
        return f"backward raised {type(error).__name__}: {error}"
    for i, x in enumerate(args):
        if x.requires_grad:
            comparison = richardson(replay, args, i, upstream, analytic[i])
            if not comparison.passed:
                worst = comparison.worst_elements(1)[0]
                return (
                    f"gradient of input {i}, element {worst}: {comparison.describe_element(worst)}"
                )
    return None
