"""tl.distributed: the sampler and the error paths in one process, and the 2-rank MPI job (skipped
where mpirun or mpi4py is missing; CI installs Open MPI and mpi4py)."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.data import DataLoader, DistributedSampler, TensorDataset

ROOT = Path(__file__).resolve().parents[2]


def mpi_usable() -> bool:
    if shutil.which("mpirun") is None or importlib.util.find_spec("mpi4py") is None:
        return False
    result = subprocess.run([sys.executable, "-c", "from mpi4py import MPI"], capture_output=True)
    return result.returncode == 0


needs_mpi = pytest.mark.skipif(not mpi_usable(), reason="needs mpirun and mpi4py")


def mpirun(module: str, *args: str, ranks: int = 2, timeout: float = 120):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")  # fmt: skip
    return subprocess.run(
        ["mpirun", "-n", str(ranks), sys.executable, "-m", module, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@needs_mpi
def test_two_ranks_train_like_one_process_with_twice_the_batch():
    result = mpirun("tests.distributed.ddp_equivalence")
    assert result.returncode == 0, result.stdout + result.stderr
    # NOTE: the ranks' lines may interleave on mpirun's stdout, so count matches, not lines
    reports = re.findall(r"rank \d/2: 12 steps, max difference from one process", result.stdout)
    assert len(reports) == 4, result.stdout  # 2 ranks × (Adam, SGD with momentum)


@needs_mpi
def test_gradient_accumulation_under_ddp_averages_once_per_group():
    result = mpirun("tests.distributed.ddp_accumulate", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(re.findall(r"rank \d/2: 3 groups, 3 all-reduces", result.stdout)) == 2, result.stdout


@needs_mpi
def test_ddp_averages_gradients_computed_inside_checkpointed_segments():
    result = mpirun("tests.distributed.ddp_checkpoint", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(re.findall(r"rank \d/2: checkpoint\S*, max difference", result.stdout)) == 4, (
        result.stdout
    )


@needs_mpi
def test_the_data_parallel_example_trains_and_rank_0_writes_the_checkpoint(tmp_path):
    checkpoint = tmp_path / "mlp.npz"
    result = mpirun("tinygrad_lite.examples.ddp_digits", "--model", "mlp", "--epochs", "2",
                    "--checkpoint", str(checkpoint))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rank(s), global batch 64 (32 per rank), mlp" in result.stdout
    accuracy = float(result.stdout.split("test accuracy")[1].split()[0])
    assert accuracy > 0.85
    state = tl.load(checkpoint)
    from tinygrad_lite.examples import e6_digits_mlp

    model = e6_digits_mlp.make_model()
    model.load_state_dict(state)


@needs_mpi
def test_a_failing_rank_ends_the_job_instead_of_hanging():
    result = mpirun("tests.distributed.rank_fails", timeout=60)  # NOTE: a hang raises Timeout
    assert result.returncode != 0
    assert "rank 1 fails on purpose" in result.stderr


@needs_mpi
def test_a_grad_scaler_skips_the_same_step_on_every_rank():
    result = mpirun("tests.distributed.ddp_scaler", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = "skipped [False, False, True, False] scale 128 replicas equal True"
    assert result.stdout.count(expected) == 2, result.stdout


@needs_mpi
def test_ranks_with_different_models_are_refused_when_wrapped():
    result = mpirun("tests.distributed.models_differ", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(re.findall(r"rank \d refused: DistributedDataParallel: the model on rank \d "
                          r"differs", result.stdout)) == 2, result.stdout  # fmt: skip
    assert "accepted" not in result.stdout


def test_sampler_shards_cover_the_data_and_agree_on_the_order():
    data = TensorDataset(np.arange(10))
    shards = [DistributedSampler(data, num_replicas=3, rank=r, seed=5) for r in range(3)]
    for sampler in shards:
        sampler.set_epoch(1)
    parts = [list(s) for s in shards]
    assert [len(p) for p in parts] == [4, 4, 4]  # 10 padded to 12 by repeating the start
    assert set(sum(parts, [])) == set(range(10))
    whole = DistributedSampler(data, num_replicas=1, rank=0, seed=5)
    whole.set_epoch(1)
    order = list(whole)
    assert [order[r::3] for r in range(3)] == [p[: len(order[r::3])] for r, p in enumerate(parts)]
    shards[0].set_epoch(2)
    assert list(shards[0]) != parts[0]  # a new order each epoch


def test_sampler_drop_last_and_loader_length():
    data = TensorDataset(np.arange(10))
    sampler = DistributedSampler(data, num_replicas=3, rank=2, shuffle=False, drop_last=True)
    assert list(sampler) == [2, 5, 8]
    loader = DataLoader(data, batch_size=2, sampler=sampler)
    assert len(loader) == 2 and [b[0].tolist() for b in loader] == [[2, 5], [8]]
    with pytest.raises(ValueError, match="not both"):
        DataLoader(data, shuffle=True, sampler=sampler)
    with pytest.raises(ValueError, match="rank 3 of 3"):
        DistributedSampler(data, num_replicas=3, rank=3)


def test_without_init_there_is_one_rank_and_collectives_say_what_to_do():
    assert tl.distributed.world_size() == 1 and tl.distributed.rank() == 0
    with pytest.raises(RuntimeError, match="init"):
        tl.distributed.all_reduce(tl.ones(2))
    with pytest.raises(RuntimeError, match="init"):
        tl.nn.parallel.DistributedDataParallel(tl.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="'mpi' or 'nccl'"):
        tl.distributed.init("gloo")
