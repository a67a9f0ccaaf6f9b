"""docs/jit.md says what a replay is and what tl.jit refuses, with each message: the page's
listing is what `step.source` prints, and each message in its table is the one raised."""

import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.jit import JitError

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "jit.md").read_text()
F = nn.functional


def test_the_listing_is_what_the_xor_step_replays():
    program = re.findall(r"```python\n(.*?)```", PAGE, flags=re.S)[0]
    namespace = {"__name__": "__main__"}
    exec(compile(program, "jit.md block 1", "exec"), namespace)  # noqa: S102
    listing = re.search(r"checks that this is what it prints\):\n\n```\n(.*?)```", PAGE, re.S)[1]
    assert namespace["step"].source == listing


def _model():
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    return model, optim.SGD(model.parameters(), lr=0.1)


def _refusal(step, *args) -> str:
    with pytest.raises(JitError) as error:
        for _ in range(3):
            step(*args)
    return str(error.value)


def _messages() -> dict[str, str]:
    model, opt = _model()
    x, y = tl.ones((5, 3)), np.array([0, 1, 1, 0, 1])
    found = {}

    def train(loss):
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    @tl.jit
    def branch(x, y):
        loss = F.cross_entropy(model(x), y)
        return train(loss * 2 if loss > 0.5 else loss)

    found["bool()"] = _refusal(branch, x, y)

    @tl.jit
    def check(x, y):
        if np.isnan(x).any():
            raise ValueError("corrupt batch")
        return train(F.cross_entropy(model(x), y))

    found["np.isnan"] = _refusal(check, np.ones((5, 3), np.float32), y)

    @tl.jit
    def schedule(x, y):
        opt.param_groups[0]["lr"] = 0.05
        return train(F.cross_entropy(model(x), y))

    found["param_groups"] = _refusal(schedule, x, y)
    namespace = {"F": F, "model": model, "train": train, "count": 0, "X": np.ones((1100, 1000))}
    exec(  # noqa: S102 - module-level names, as a script has them
        "def counting(x, y):\n    global count\n    count += 1\n"
        "    return train(F.cross_entropy(model(x), y))\n"
        "def big(x, y):\n    return train(F.cross_entropy(model(x) + X[0, :2], y))\n",
        namespace,
    )
    found["changes"] = _refusal(tl.jit(namespace["counting"]), x, y)
    found["4 MiB"] = _refusal(tl.jit(namespace["big"]), x, y)

    @tl.jit
    def clip(x, y):
        loss = train(F.cross_entropy(model(x), y))
        model[0].weight.data = np.clip(model[0].weight.data, -0.1, 0.1)
        return loss

    found["rebinds"] = _refusal(clip, x, y)
    dropout = nn.Dropout(0.5)

    @tl.jit
    def drop(x, y):
        return train(F.cross_entropy(model(dropout(x)), y))

    found["random"] = _refusal(drop, x, y)

    @tl.jit
    def pick(x, y, rows):
        return train(F.cross_entropy(model(x)[rows], y[:2]))

    found["parameter"] = _refusal(pick, x, y, np.array([0, 2]))

    @tl.jit
    def data_branch(x, y):
        h = model(x)
        return train(F.cross_entropy((h * 2).tanh() if x.data.sum() > 10 else h, y))

    data_branch(x, y)
    found["operations"] = _refusal(data_branch, x * 0, y)
    scaler = tl.amp.GradScaler()

    @tl.jit
    def scaled(x, y):
        return scaler.scale(F.cross_entropy(model(x), y))

    found["GradScaler"] = _refusal(scaled, x, y)
    return found


def test_each_refusal_in_the_table_raises_its_message():
    table = re.search(r"\*\*Refused while capturing\*\*.*?\n\n(.*?)\n\n", PAGE, re.S)[1]
    documented = [row.split("| `")[-1].rstrip("` |") for row in table.splitlines()[2:]]
    raised = list(_messages().values())
    assert len(documented) == len(raised)
    for message in documented:
        pattern = re.escape(message).replace(r"ran\ N", r"ran\ \d+").replace(r"and\ M", r"and\ \d+")
        assert any(re.match(pattern, got) for got in raised), (message, raised)
