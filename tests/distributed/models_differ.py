"""Run under `mpirun -n 2`: the ranks build different models; wrapping them must fail on both
ranks with a clear message, before any gradient is exchanged."""

import tinygrad_lite as tl
from tinygrad_lite import nn


def main():
    tl.distributed.init("mpi")
    width = 4 if tl.distributed.rank() == 0 else 5
    try:
        nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(3, width), nn.Linear(width, 1)))
    except RuntimeError as error:
        print(f"rank {tl.distributed.rank()} refused: {error}", flush=True)
        return
    print(f"rank {tl.distributed.rank()} accepted", flush=True)


if __name__ == "__main__":  # NOTE: pytest's doctest collection imports this file
    main()
