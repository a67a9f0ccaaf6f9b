"""SequenceLoader: one long sequence cut into `batch_size` parallel streams, read in consecutive
chunks, for truncated backprop through time (DeZero's SeqDataLoader, Chainer's BPTT iterator).

Stream b starts at offset b·⌊(N − 1) / batch_size⌋ (the last step is only a target), so each
stream's chunk t continues its chunk t - 1: carry the recurrent state from one chunk to the next
(detached), and the model sees each stream as one long sequence. Chunks are time-major,
(chunk, batch, ...), as nn.LSTM takes them, and the targets are the inputs shifted one step
ahead.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..tensor import Tensor


class SequenceLoader:
    """Iterate (x, t) chunks over `sequence` (an array, first axis time).

    >>> loader = SequenceLoader(np.arange(10), chunk=2, batch_size=2)
    >>> [x.numpy().T.tolist() for x, _ in loader]
    [[[0, 1], [4, 5]], [[2, 3], [6, 7]]]
    """

    def __init__(self, sequence, chunk: int, batch_size: int = 1):
        self.sequence = np.asarray(sequence)
        if chunk < 1 or batch_size < 1:
            raise ValueError(f"SequenceLoader: chunk and batch_size must be >= 1, got {chunk} "
                             f"and {batch_size}")  # fmt: skip
        self.chunk, self.batch_size = chunk, batch_size
        self.stream = (len(self.sequence) - 1) // batch_size  # NOTE: -1: each x needs a target
        if self.stream < chunk:
            raise ValueError(f"SequenceLoader: a sequence of {len(self.sequence)} steps makes "
                             f"{batch_size} streams of {self.stream}, shorter than a chunk of "
                             f"{chunk}")  # fmt: skip

    def __len__(self) -> int:
        return self.stream // self.chunk

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        starts = np.arange(self.batch_size) * self.stream
        for k in range(len(self)):
            steps = starts[None, :] + k * self.chunk + np.arange(self.chunk)[:, None]
            yield Tensor(self.sequence[steps]), Tensor(self.sequence[steps + 1])
