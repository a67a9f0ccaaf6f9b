"""Run under `mpirun -n 2`: fit(ddp, ..., accumulate=2) with per-rank batches of 4 ends with the
parameters of one process trained with batches of 16 (float64, to 1e-6), and averages the
gradients across ranks once per group (DistributedDataParallel.no_sync), not once per batch."""

import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader, DistributedSampler, TensorDataset
from tinygrad_lite.train import fit

from . import max_difference


def main():
    tl.distributed.init("mpi")
    rank, world = tl.distributed.rank(), tl.distributed.world_size()
    batch, accumulate = 4, 2
    rng = np.random.default_rng(0)
    dataset = TensorDataset(rng.standard_normal((48, 5)), rng.integers(0, 3, 48))

    def make_model():
        return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype=np.float64)

    tl.manual_seed(100 + rank)
    ddp = nn.parallel.DistributedDataParallel(make_model())
    start = ddp.state_dict()
    averaged = []
    average = ddp.average_gradients
    ddp.average_gradients = lambda: (averaged.append(1), average())[1]
    loader = DataLoader(dataset, batch_size=batch, sampler=DistributedSampler(dataset, seed=0))
    fit(ddp, loader, optim.Adam(ddp.parameters(), lr=1e-2), nn.functional.cross_entropy, 1,
        progress=False, log=None, accumulate=accumulate)  # fmt: skip
    ddp.remove()

    single = make_model()
    single.load_state_dict(start)
    whole = DistributedSampler(dataset, num_replicas=1, rank=0, seed=0)
    reference = DataLoader(dataset, batch_size=batch * world * accumulate, sampler=whole)
    fit(single, reference, optim.Adam(single.parameters(), lr=1e-2),
        nn.functional.cross_entropy, 1, progress=False, log=None)  # fmt: skip
    difference = max_difference(ddp, single)
    assert difference < 1e-6, f"rank {rank}: parameters differ from one process by {difference}"
    groups = 48 // (batch * world * accumulate)
    assert len(averaged) == groups, f"rank {rank}: {len(averaged)} all-reduces for {groups} groups"
    print(f"rank {rank}/{world}: {groups} groups, {len(averaged)} all-reduces, "
          f"max difference from one process {difference:.1e}")  # fmt: skip
    tl.distributed.barrier()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
