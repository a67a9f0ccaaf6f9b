"""Dataset, TensorDataset, DataLoader and train_test_split.

A DataLoader over a TensorDataset takes each batch with one fancy-indexing operation per array
(no per-sample Python loop); any other Dataset is read sample by sample and stacked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence

import numpy as np

from .. import creation
from ..tensor import Tensor


class Dataset:
    """A sized collection of samples: define __len__ and __getitem__(i) -> tuple of arrays."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays: dataset[i] = (x[i], y[i], ...)."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array (inputs, then targets)")
        self.arrays = [a.numpy() if isinstance(a, Tensor) else np.asarray(a) for a in arrays]
        if any(a.ndim == 0 for a in self.arrays):
            raise ValueError("TensorDataset: every array needs a first (sample) axis")
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class DataLoader:
    """Batches of a dataset as tuples of Tensors.

    Args:
        dataset: a Dataset (or anything with __len__ and __getitem__ returning tuples).
        batch_size: samples per batch.
        shuffle: a new random order every epoch (every `for` over the loader).
        drop_last: skip a final batch smaller than batch_size.
        seed: seed of this loader's shuffling; None draws one from tl.manual_seed's generator.
        sampler: the sample indices to go through, in order, instead of all of them (e.g. a
            DistributedSampler: this process's share); not with shuffle.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None, sampler=None):  # fmt: skip
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an integer, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: give shuffle or a sampler (which shuffles), not both")
        self.dataset, self.batch_size, self.sampler = dataset, batch_size, sampler
        self.shuffle, self.drop_last = shuffle, drop_last
        if seed is None:
            seed = creation.fresh_seed()
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        n = len(self.dataset)
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64)
        else:
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self._batch(order[start : start + self.batch_size])

    def state_dict(self) -> dict[str, str]:
        """The shuffling generator's state, so a resumed run continues with the next epoch's
        order instead of replaying the first (save it with the model and the optimizer)."""
        return {"rng": json.dumps(self.rng.bit_generator.state)}

    def load_state_dict(self, state: dict[str, str]) -> None:
        try:
            rng_state = json.loads(state["rng"])
            rng = np.random.default_rng()
            rng.bit_generator.state = rng_state
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"DataLoader.load_state_dict: not a loader state ({error})") from None
        self.rng = rng

    def _batch(self, indices: np.ndarray) -> tuple[Tensor, ...]:
        if isinstance(self.dataset, TensorDataset):
            return tuple(Tensor(a[indices]) for a in self.dataset.arrays)
        samples = [self.dataset[int(i)] for i in indices]
        return tuple(Tensor(np.stack(column)) for column in zip(*samples))


class DistributedSampler:
    """This process's share of a dataset's indices for data-parallel training: rank r of W takes
    every W-th index starting at r of one order, so the W ranks' batches k together are the
    samples of a single-process batch k of W times the size.

    The order is a fresh permutation per epoch (call `set_epoch(epoch)` before each epoch; every
    rank uses the same seed, so all agree), or the natural order with shuffle=False. Indices are
    repeated from the start to make the count divisible by W (drop_last=True drops the tail).
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):  # fmt: skip
        from .. import distributed

        self.size = len(dataset)
        self.num_replicas = distributed.world_size() if num_replicas is None else num_replicas
        self.rank = distributed.rank() if rank is None else rank
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank {self.rank} of {self.num_replicas}")
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        per_rank = self.size / self.num_replicas
        self.per_rank = math.floor(per_rank) if drop_last else math.ceil(per_rank)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.per_rank

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            order = np.random.default_rng((self.seed, self.epoch)).permutation(self.size)
        else:
            order = np.arange(self.size)
        total = self.per_rank * self.num_replicas
        order = np.resize(order, total) if total > self.size else order[:total]
        return iter(order[self.rank :: self.num_replicas].tolist())


def split_loader(loader: DataLoader, fraction: float, seed: int | None = 0):
    """Hold out `fraction` of a TensorDataset loader's samples: (train loader, validation
    loader), the first keeping the batch size and shuffling, the second in order."""
    if not isinstance(loader.dataset, TensorDataset):
        raise TypeError("split_loader: needs a DataLoader over a TensorDataset")
    parts = train_test_split(*loader.dataset.arrays, test_size=fraction, seed=seed)
    train = TensorDataset(*parts[0::2])
    held_out = TensorDataset(*parts[1::2])
    seed_of_train = int(loader.rng.integers(2**63))
    return (DataLoader(train, loader.batch_size, loader.shuffle, loader.drop_last, seed_of_train),
            DataLoader(held_out, loader.batch_size))  # fmt: skip


def train_test_split(*arrays: Sequence, test_size: float = 0.2, seed: int | None = 0,
                     shuffle: bool = True) -> list[np.ndarray]:  # fmt: skip
    """Split equally long arrays into train and test parts: returns [a_train, a_test, b_train, ...]
    like scikit-learn's function. test_size is a fraction in (0, 1) or a count."""
    arrays = [np.asarray(a.numpy() if isinstance(a, Tensor) else a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(
            f"train_test_split: arrays have different lengths {[len(a) for a in arrays]}"
        )
    count = int(round(test_size * n)) if isinstance(test_size, float) else int(test_size)
    if not 0 < count < n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves no train or no test data")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    test, train = order[:count], order[count:]
    return [part for a in arrays for part in (a[train], a[test])]
