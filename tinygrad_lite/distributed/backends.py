"""The two communication engines behind tl.distributed, each a thin layer over a proven library.

Arrays are exchanged in place when they are contiguous (a copy is made, and returned, otherwise).
"""

from __future__ import annotations

import numpy as np

from ..backend import install_hint, require_cupy


class Backend:
    rank: int
    size: int

    def all_reduce(self, array):
        raise NotImplementedError

    def broadcast(self, array, root: int):
        raise NotImplementedError

    def barrier(self) -> None:
        raise NotImplementedError

    def abort(self, code: int) -> None:
        raise NotImplementedError


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise RuntimeError(
            f"tl.distributed needs mpi4py and an MPI library: {install_hint('mpi4py', 'mpi')}, "
            "and e.g. apt-get install openmpi-bin libopenmpi-dev"
        ) from error
    return MPI


class MPIBackend(Backend):
    """MPI collectives on NumPy arrays (mpi4py's buffer interface, no pickling)."""

    def __init__(self):
        self.MPI = _mpi()
        self.comm = self.MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()

    def all_reduce(self, array):
        if not isinstance(array, np.ndarray):
            raise TypeError("the 'mpi' backend exchanges CPU arrays; use init('nccl') on GPUs")
        array = np.ascontiguousarray(array)
        self.comm.Allreduce(self.MPI.IN_PLACE, array, op=self.MPI.SUM)
        return array

    def broadcast(self, array, root: int):
        if not isinstance(array, np.ndarray):
            raise TypeError("the 'mpi' backend exchanges CPU arrays; use init('nccl') on GPUs")
        array = np.ascontiguousarray(array)
        self.comm.Bcast(array, root=root)
        return array

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int) -> None:
        self.comm.Abort(code)


class NCCLBackend(MPIBackend):
    """NCCL collectives on CuPy arrays; MPI starts the ranks and carries NCCL's unique id. Rank r
    uses GPU r % (GPUs on its machine)."""

    _NCCL_TYPES = {np.dtype(np.float32): "NCCL_FLOAT32", np.dtype(np.float64): "NCCL_FLOAT64",
                   np.dtype(np.float16): "NCCL_FLOAT16", np.dtype(np.int64): "NCCL_INT64",
                   np.dtype(np.int32): "NCCL_INT32"}  # fmt: skip

    def __init__(self):
        super().__init__()
        cupy = require_cupy()
        from cupy.cuda import nccl

        self.cupy, self.nccl = cupy, nccl
        cupy.cuda.Device(self.rank % cupy.cuda.runtime.getDeviceCount()).use()
        unique_id = nccl.get_unique_id() if self.rank == 0 else None
        unique_id = self.comm.bcast(unique_id, root=0)  # NOTE: a tuple of ints, from rank 0 only
        self.nccl_comm = nccl.NcclCommunicator(self.size, unique_id, self.rank)

    def _nccl_type(self, array):
        try:
            return getattr(self.nccl, self._NCCL_TYPES[array.dtype])
        except KeyError:
            raise TypeError(f"the 'nccl' backend cannot exchange {array.dtype} arrays") from None

    def _on_gpu(self, array):
        if isinstance(array, np.ndarray):
            raise TypeError(
                "the 'nccl' backend exchanges GPU arrays; move tensors with .to('cuda')"
            )
        return self.cupy.ascontiguousarray(array)

    def all_reduce(self, array):
        array = self._on_gpu(array)
        stream = self.cupy.cuda.get_current_stream().ptr
        self.nccl_comm.allReduce(array.data.ptr, array.data.ptr, array.size,
                                 self._nccl_type(array), self.nccl.NCCL_SUM, stream)  # fmt: skip
        return array

    def broadcast(self, array, root: int):
        array = self._on_gpu(array)
        stream = self.cupy.cuda.get_current_stream().ptr
        self.nccl_comm.bcast(array.data.ptr, array.size, self._nccl_type(array), root, stream)
        return array

    def barrier(self) -> None:
        self.cupy.cuda.get_current_stream().synchronize()
        super().barrier()
