"""Run under `mpirun -n 2`: DistributedDataParallel with a GradScaler. Gradients are averaged
while still scaled; when one rank's gradient is inf, the average is inf on every rank, so every
rank skips the same step and halves the same scale, and the replicas stay identical."""

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim


def main():
    tl.distributed.init("mpi")
    rank = tl.distributed.rank()
    tl.manual_seed(rank)
    ddp = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.Tanh(),
                                                            nn.Linear(8, 2)))  # fmt: skip
    optimizer = optim.SGD(ddp.parameters(), lr=0.1)
    scaler = tl.amp.GradScaler(init_scale=2.0**8, growth_interval=100)
    x = tl.tensor(np.random.default_rng(rank).standard_normal((6, 4)).astype(np.float32))
    skipped = []
    for step in range(4):
        before = [p.numpy().copy() for p in ddp.parameters()]
        with tl.amp.autocast(dtype=np.float16):
            loss = (ddp(x) ** 2).mean()
        if step == 2 and rank == 1:
            loss = loss * np.float32(np.inf)  # only rank 1 overflows
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        skipped.append(all(np.array_equal(b, p.numpy()) for b, p in zip(before, ddp.parameters())))
    flat = tl.Tensor(
        np.concatenate([p.numpy().ravel() for p in ddp.parameters()]).astype(np.float64)
    )
    total = tl.distributed.all_reduce(tl.Tensor(flat.numpy().copy())).numpy()
    same = np.allclose(total, 2 * flat.numpy(), rtol=0, atol=0)
    print(f"rank {rank}: skipped {skipped} scale {scaler.get_scale():g} replicas equal {same}",
          flush=True)  # fmt: skip


if __name__ == "__main__":  # NOTE: pytest's doctest collection imports this file
    main()
