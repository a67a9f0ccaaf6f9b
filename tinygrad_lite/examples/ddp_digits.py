"""Data-parallel training of the E7 CNN (or the E6 MLP) on MPI:

    mpirun -n 2 python -m tinygrad_lite.examples.ddp_digits [--model cnn|mlp] [--epochs N]
        [--batch-size GLOBAL] [--backend mpi|nccl] [--device cpu|cuda] [--checkpoint FILE]

Every rank builds the same model; DistributedDataParallel broadcasts rank 0's weights and
averages gradients after each backward, so each step equals one single-process step on the global
batch. Each rank reads its shard of every global batch (DistributedSampler). Rank 0 evaluates,
prints, and writes the checkpoint; any rank can load it. Without mpirun it runs as one rank.
"""

from __future__ import annotations

import argparse
import time

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim, train

from . import e6_digits_mlp, e7_digits_cnn
from ._digits import digit_loaders


def run(model: str = "cnn", epochs: int = 3, batch_size: int = 64, seed: int = 0,
        backend: str = "mpi", device: str = "cpu", checkpoint: str | None = None,
        log=print) -> dict:  # fmt: skip
    tl.distributed.init(backend)
    rank, world = tl.distributed.rank(), tl.distributed.world_size()
    if batch_size % world:
        raise ValueError(f"the global batch {batch_size} must split evenly over {world} ranks")
    say = log if rank == 0 else (lambda *_: None)
    tl.manual_seed(seed)
    train_loader, test_loader = digit_loaders(batch_size, seed)
    sampler = data.DistributedSampler(train_loader.dataset, seed=seed)
    shard = data.DataLoader(train_loader.dataset, batch_size // world, sampler=sampler)
    if model == "cnn":
        net = e7_digits_cnn.init_like_keras_(e7_digits_cnn.make_model())
    else:
        net = e6_digits_mlp.make_model()
    net = nn.parallel.DistributedDataParallel(net.to(device))
    optimizer = optim.Adam(net.parameters())
    say(f"{world} rank(s), global batch {batch_size} ({batch_size // world} per rank), {model}")
    epoch_seconds = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        tl.distributed.barrier()
        start = time.perf_counter()
        record = train.fit(net, shard, optimizer, nn.functional.cross_entropy, 1, log=None,
                           progress=False, device=device)  # fmt: skip
        tl.distributed.barrier()
        epoch_seconds.append(time.perf_counter() - start)
        say(f"epoch {epoch + 1}/{epochs}  rank-0 loss {record['loss'][-1]:.4f}  "
            f"{epoch_seconds[-1]:.2f} s")  # fmt: skip
    test = train.evaluate(net, test_loader, nn.functional.cross_entropy,
                          train.multiclass_accuracy, device)  # fmt: skip
    say(f"test accuracy {test['accuracy']:.4f}")
    if checkpoint:
        tl.distributed.save(net.state_dict(), checkpoint)
    return {"test_accuracy": test["accuracy"], "epoch_seconds": epoch_seconds, "world": world}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="the global batch")
    parser.add_argument("--backend", choices=("mpi", "nccl"), default="mpi")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoint")
    args = parser.parse_args(argv)
    run(args.model, args.epochs, args.batch_size, backend=args.backend, device=args.device,
        checkpoint=args.checkpoint)  # fmt: skip


if __name__ == "__main__":
    main()
