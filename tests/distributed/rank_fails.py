"""Run under `mpirun -n 2`: rank 1 raises before a collective that rank 0 is already waiting in.
The job must end with an error, not hang."""

import numpy as np

import tinygrad_lite as tl


def main():
    tl.distributed.init("mpi")
    if tl.distributed.rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    tl.distributed.all_reduce(tl.Tensor(np.ones(3)))


if __name__ == "__main__":  # NOTE: pytest's doctest collection imports this file
    main()
