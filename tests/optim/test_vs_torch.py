"""Each optimizer and schedule follows PyTorch's update exactly (skipped without torch)."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import optim

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
]
SHAPES = [(3, 4), (5,), ()]


def _run_both(name, config, steps=20, seed=0):
    rng = np.random.default_rng(seed)
    starts = [rng.standard_normal(s) for s in SHAPES]
    ours = [tl.Tensor(a.copy(), requires_grad=True) for a in starts]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in starts]
    ours_opt = getattr(optim, name)(ours, **config)
    theirs_opt = getattr(torch.optim, name)(theirs, **config)
    for _ in range(steps):
        grads = [rng.standard_normal(s) for s in SHAPES]
        for p, t, g in zip(ours, theirs, grads):
            p.grad, t.grad = tl.Tensor(g.copy()), torch.tensor(g.copy())
        ours_opt.step()
        theirs_opt.step()
        yield ours, theirs


@pytest.mark.parametrize("name, config", CONFIGS, ids=[f"{n}-{c}" for n, c in CONFIGS])
def test_optimizer_matches_torch_over_20_steps(name, config):
    for step, (ours, theirs) in enumerate(_run_both(name, config)):
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name} step {step + 1}")  # fmt: skip


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda o: optim.StepLR(o, step_size=3, gamma=0.5),
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
        (lambda o: optim.ExponentialLR(o, gamma=0.9),
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
        (lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ],
    ids=["StepLR", "ExponentialLR", "CosineAnnealingLR"],
)  # fmt: skip
def test_schedule_matches_torch(ours, theirs):
    our_opt = optim.SGD([tl.ones(1, requires_grad=True)], lr=0.1)
    their_opt = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)
    ours, theirs = ours(our_opt), theirs(their_opt)
    for epoch in range(15):
        assert ours.get_last_lr()[0] == pytest.approx(theirs.get_last_lr()[0], rel=1e-12), epoch
        their_opt.step()
        ours.step()
        theirs.step()


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s) * 3 for s in SHAPES]
    for norm_type in (2.0, 1.0, float("inf")):
        ours = [tl.ones(s, dtype=np.float64, requires_grad=True) for s in SHAPES]
        theirs = [torch.ones(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
        for p, t, g in zip(ours, theirs, grads):
            p.grad, t.grad = tl.Tensor(g.copy()), torch.tensor(g.copy())
        total = tl.nn.clip_grad_norm_(ours, max_norm=1.0, norm_type=norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)
        assert total == pytest.approx(expected.item(), rel=1e-12)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)
