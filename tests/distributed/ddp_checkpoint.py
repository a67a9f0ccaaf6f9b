"""Run under `mpirun -n 2`: a DistributedDataParallel model whose every layer runs inside
activation checkpointing (one checkpoint() around the whole model, and checkpoint_sequential)
ends a few SGD steps with the parameters of one process trained on both ranks' batches together
(float64, to 1e-10): the gradients recomputed inside the segments are averaged across ranks."""

import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.utils.checkpoint import checkpoint, checkpoint_sequential

from . import max_difference


def make_model():
    tl.manual_seed(7)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                         nn.Linear(8, 3)).to(dtype=np.float64)  # fmt: skip


def main():
    tl.distributed.init("mpi")
    rank, world = tl.distributed.rank(), tl.distributed.world_size()
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((6, world * 4, 5)), rng.integers(0, 3, (6, world * 4))
    mine = slice(rank * 4, rank * 4 + 4)
    runs = {"checkpoint": lambda model, inputs: checkpoint(model, inputs),
            "checkpoint_sequential": lambda model, x: checkpoint_sequential(
                getattr(model, "module", model), 3, x)}  # the layers DDP wraps  # fmt: skip
    for name, forward in runs.items():
        ddp = nn.parallel.DistributedDataParallel(make_model())
        single = make_model()
        for model, part in ((ddp, mine), (single, slice(None))):
            optimizer = optim.SGD(model.parameters(), lr=0.5)
            for step in range(6):
                loss = nn.functional.cross_entropy(forward(model, tl.tensor(x[step, part])),
                                                   labels[step, part])  # fmt: skip
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        ddp.remove()
        difference = max_difference(ddp, single)
        assert difference < 1e-10, f"rank {rank}, {name}: parameters differ by {difference}"
        print(f"rank {rank}/{world}: {name}, max difference from one process {difference:.1e}")
    tl.distributed.barrier()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
