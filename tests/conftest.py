import os

from hypothesis import HealthCheck, settings

# CI runs each property test with a fixed budget; HYPOTHESIS_PROFILE=thorough digs deeper.
settings.register_profile(
    "default", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

pytest_plugins = ["pytester"]  # runs small pytest sessions, to test our pytest plugin


# What the skipped tests need, by words of their skip reasons, and the command that enables them.
SKIP_GROUPS = [
    ("PyTorch comparisons", ("torch",), "pip install torch==2.13.0"),
    (
        "MPI (2-rank data parallel)",
        ("mpi",),
        'apt-get install openmpi-bin libopenmpi-dev && pip install -e ".[mpi]"',
    ),
    (
        "GPU (CuPy, CUDA)",
        ("gpu", "cupy", "cuda", "nvcc"),
        'on a machine with an NVIDIA GPU: pip install -e ".[cuda13]"',
    ),
    ("peer engines", ("dezero", "mygrad", "autograd"), 'pip install -e ".[bench]"'),
]


def pytest_terminal_summary(terminalreporter):
    """One line per group of skipped tests and the command that runs them (pytest alone hides
    the reasons without -rs, so a green run could silently skip a whole comparison)."""
    groups: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else "").lower()
        name = next((f"{group}: {command}" for group, words, command in SKIP_GROUPS
                     if any(word in reason for word in words)), f"other: {reason}")  # fmt: skip
        groups[name] = groups.get(name, 0) + 1
    if groups:
        terminalreporter.section("skipped, and how to run them")
        for name, count in sorted(groups.items()):
            terminalreporter.write_line(f"{count:4d} skipped  {name}")
