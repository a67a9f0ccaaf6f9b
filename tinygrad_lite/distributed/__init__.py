"""tl.distributed: data-parallel training across processes, on MPI (CPU) or NCCL (GPU).

    mpirun -n 2 python train.py            # in train.py:
    tl.distributed.init("mpi")             # or "nccl": one GPU per rank, NCCL id sent over MPI
    model = tl.nn.parallel.DistributedDataParallel(model)
    loader = DataLoader(data, batch_size=32, sampler=tl.data.DistributedSampler(data))

Collectives act in place on a tensor's array, as in torch.distributed: all_reduce sums (or
averages) across ranks, broadcast copies rank `root`'s values to every rank. The communication
itself is MPI's (mpi4py) or NCCL's (CuPy), never ours. A rank that dies with an exception aborts
the whole job (MPI_Abort) instead of leaving the others waiting forever.
"""

from __future__ import annotations

import sys

from ..serialization import save as _save
from ..tensor import Tensor
from .backends import Backend, MPIBackend, NCCLBackend

_backend: Backend | None = None


def init(backend: str = "mpi") -> None:
    """Join the job started by mpirun. backend: 'mpi' (NumPy arrays) or 'nccl' (CuPy arrays)."""
    global _backend
    if _backend is not None:
        return
    if backend == "mpi":
        _backend = MPIBackend()
    elif backend == "nccl":
        _backend = NCCLBackend()
    else:
        raise ValueError(f"distributed.init: backend must be 'mpi' or 'nccl', got {backend!r}")
    _abort_job_on_uncaught_exceptions(_backend)


def _abort_job_on_uncaught_exceptions(backend: Backend) -> None:
    previous = sys.excepthook

    def abort(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.write(f"rank {backend.rank}: uncaught exception, aborting every rank\n")
        sys.stderr.flush()
        backend.abort(1)

    sys.excepthook = abort


def is_initialized() -> bool:
    return _backend is not None


def _require() -> Backend:
    if _backend is None:
        raise RuntimeError("tl.distributed: call tl.distributed.init() first (under mpirun)")
    return _backend


def rank() -> int:
    """This process's number, 0 .. world_size() - 1 (0 when not initialized)."""
    return _backend.rank if _backend is not None else 0


def world_size() -> int:
    """Number of processes in the job (1 when not initialized)."""
    return _backend.size if _backend is not None else 1


def barrier() -> None:
    _require().barrier()


def all_reduce(tensor: Tensor, op: str = "sum") -> Tensor:
    """Replace the tensor's values by their sum ('sum') or mean ('mean') over all ranks; returns
    the tensor. Every rank must call it with the same shape and dtype."""
    if op not in ("sum", "mean"):
        raise ValueError(f"all_reduce: op must be 'sum' or 'mean', got {op!r}")
    backend = _require()
    tensor.data = backend.all_reduce(tensor.data)
    if op == "mean":
        tensor.data /= backend.size
    tensor._version += 1
    return tensor


def broadcast(tensor: Tensor, root: int = 0) -> Tensor:
    """Overwrite the tensor on every rank with rank `root`'s values; returns the tensor."""
    backend = _require()
    tensor.data = backend.broadcast(tensor.data, root)
    tensor._version += 1
    return tensor


def save(obj, path) -> None:
    """tl.save on rank 0 only, then a barrier, so every rank may load the file afterwards."""
    if rank() == 0:
        _save(obj, path)
    if is_initialized():
        barrier()
