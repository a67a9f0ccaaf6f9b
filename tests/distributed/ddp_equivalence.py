"""Run under `mpirun -n W`: collectives give the right numbers, and W ranks of
DistributedDataParallel with per-rank batch B end with the parameters of one process trained
with batch W·B on the same data order (float64, to 1e-6; in practice to rounding)."""

import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader, DistributedSampler, TensorDataset

from . import max_difference


def main():
    tl.distributed.init("mpi")
    rank, world = tl.distributed.rank(), tl.distributed.world_size()

    # ---- collectives -----------------------------------------------------------------------
    t = tl.Tensor(np.full(3, rank + 1.0))
    assert tl.distributed.all_reduce(t).tolist() == [world * (world + 1) / 2] * 3
    t = tl.Tensor(np.full((2, 2), float(rank)))
    assert np.allclose(tl.distributed.all_reduce(t, op="mean").numpy(), (world - 1) / 2)
    t = tl.Tensor(np.arange(4.0) + 10 * rank)
    assert (
        tl.distributed.broadcast(t, root=world - 1).tolist()
        == (np.arange(4.0) + 10 * (world - 1)).tolist()
    )

    # ---- data-parallel training equals one big-batch process ------------------------------
    B, EPOCHS = 4, 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 5))
    y = rng.integers(0, 3, 48)
    dataset = TensorDataset(x, y)

    def make_model():
        return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype=np.float64)

    for make_optimizer in (lambda p: optim.Adam(p, lr=1e-2),
                           lambda p: optim.SGD(p, lr=0.1, momentum=0.9)):  # fmt: skip
        tl.manual_seed(100 + rank)  # every rank starts differently; DDP must broadcast rank 0's
        ddp = nn.parallel.DistributedDataParallel(
            make_model(), bucket_cap_mb=0.0001
        )  # many buckets
        start = ddp.state_dict()
        sampler = DistributedSampler(dataset, seed=0)
        loader = DataLoader(dataset, batch_size=B, sampler=sampler)
        optimizer = make_optimizer(ddp.parameters())
        steps = 0
        for epoch in range(EPOCHS):
            sampler.set_epoch(epoch)
            for xb, yb in loader:
                loss = nn.functional.cross_entropy(ddp(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                steps += 1
        ddp.remove()

        single = make_model()
        single.load_state_dict(start)
        whole = DistributedSampler(dataset, num_replicas=1, rank=0, seed=0)
        reference_loader = DataLoader(dataset, batch_size=B * world, sampler=whole)
        reference_optimizer = make_optimizer(single.parameters())
        for epoch in range(EPOCHS):
            whole.set_epoch(epoch)
            for xb, yb in reference_loader:
                loss = nn.functional.cross_entropy(single(xb), yb)
                reference_optimizer.zero_grad()
                loss.backward()
                reference_optimizer.step()

        ours = ddp.state_dict()
        difference = max_difference(ddp, single)
        assert difference < 1e-6, f"rank {rank}: parameters differ from one process by {difference}"
        for name, value in ours.items():  # every rank holds the same parameters
            mean = tl.distributed.all_reduce(tl.Tensor(value.copy()), op="mean").numpy()
            assert np.allclose(mean, value, rtol=0, atol=1e-12), f"rank {rank}: {name} out of sync"
        print(
            f"rank {rank}/{world}: {steps} steps, max difference from one process {difference:.1e}"
        )

    tl.distributed.barrier()
    sys.stdout.flush()


if __name__ == "__main__":  # NOTE: pytest's doctest collection imports this file
    main()
