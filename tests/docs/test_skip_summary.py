"""The end of a pytest run names each group of skipped tests and the command that runs them."""

from types import SimpleNamespace

from ..conftest import pytest_terminal_summary


def test_skipped_tests_are_grouped_with_the_command_that_enables_them():
    skipped = [SimpleNamespace(longrepr=("f.py", 1, f"Skipped: {reason}"))
               for reason in ("could not import 'torch'", "could not import 'torch'",
                              "needs mpirun and mpi4py", "no GPU", "odd one")]  # fmt: skip
    lines, sections = [], []
    reporter = SimpleNamespace(stats={"skipped": skipped}, section=sections.append,
                               write_line=lines.append)  # fmt: skip
    pytest_terminal_summary(reporter)
    assert sections == ["skipped, and how to run them"]
    assert "   2 skipped  PyTorch comparisons: pip install torch==2.13.0" in lines
    assert any("MPI" in line and "openmpi-bin" in line for line in lines)
    assert any("GPU" in line and "cuda13" in line for line in lines)
    assert any(line.endswith("other: skipped: odd one") for line in lines)
