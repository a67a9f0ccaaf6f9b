"""Realistic training steps that a capture could get wrong, one per class of the rule "a replay
equals eager bit for bit, or tl.jit refuses before anything changes" (issue 26).

Each case is module source, run twice in fresh namespaces (so globals are the case's own): once
eagerly and once with `step` under tl.jit. It defines `step`, and may define `arguments(i)` (the
call's positional and keyword arguments; default: a batch), `between(i)` (what the program does
before call i: change a global, a module attribute, ...) and `state()` (what must match; default:
the model's parameters and their gradients). `EXPECT[name]` is "equal" (every call replays or
captures again, bit-identical) or "refused" (a JitError, with nothing changed).
"""

from __future__ import annotations

PRELUDE = """
import dataclasses, collections, random
import numpy as np
import tinygrad_lite as tl
from tinygrad_lite import nn, optim
F = nn.functional
tl.manual_seed(0)
rng = np.random.default_rng(0)
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
opt = optim.SGD(model.parameters(), lr=0.1)
def batch(i):
    r = np.random.default_rng(i % 4)
    return tl.tensor(r.standard_normal((5, 3)), dtype=np.float32), r.integers(0, 2, 5)
def arguments(i):
    return batch(i), {}
def state():
    out = []
    for p in model.parameters():
        out += [p.data.tobytes(), None if p.grad is None else p.grad.data.tobytes()]
    return out
def train(loss):
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss
"""

CASES: dict[str, str] = {}
EXPECT: dict[str, str] = {}


def case(name: str, expect: str, source: str) -> None:
    CASES[name] = source
    EXPECT[name] = expect


# ---- reads of values inside the step -------------------------------------------------------
case(
    "branch on a comparison",
    "refused",
    """
def step(x, y):
    loss = F.cross_entropy(model(x), y)
    if loss > 0.7:
        loss = loss * 2
    return train(loss)
""",
)
case(
    "mask from a comparison",
    "equal",
    """
def step(x, y):
    h = model(x)
    return train(F.cross_entropy(h * (h > 0.1), y))
""",
)
case(
    "where on a computed condition",
    "equal",
    """
def step(x, y):
    h = model(x)
    return train(F.cross_entropy(tl.where(h > 0, h, 0.1 * h), y))
""",
)
case(
    "numpy() of the loss",
    "refused",
    """
def step(x, y):
    loss = F.cross_entropy(model(x), y)
    scale = 2.0 if loss.numpy() > 0.7 else 1.0
    return train(loss * scale)
""",
)
case(
    "np.asarray of activations",
    "refused",
    """
def step(x, y):
    h = model(x)
    mask = np.asarray(h) > 0
    return train(F.cross_entropy(h * mask, y))
""",
)
case(
    "np.mean of a tensor is our op",
    "equal",
    """
def step(x, y):
    h = model(x)
    return train(np.mean(h * h) + F.cross_entropy(h, y))
""",
)
case(
    "float() of the loss",
    "refused",
    """
def step(x, y):
    loss = F.cross_entropy(model(x), y)
    return train(loss * min(1.0, float(loss)))
""",
)
case(
    "item() in a guard on a corrupt batch",
    "refused",
    """
def step(x, y):
    if np.isnan(x.sum().item()):
        raise ValueError("corrupt batch")
    return train(F.cross_entropy(model(x), y))
""",
)

# ---- Python state the step reads -------------------------------------------------------------
case(
    "global loss weight changed",
    "equal",
    """
weight = 1.0
def step(x, y):
    return train(F.cross_entropy(model(x), y) * weight)
def between(i):
    global weight
    if i == 5:
        weight = 3.0
""",
)
case(
    "closure loss weight changed",
    "equal",
    """
def make():
    weight = 1.0
    def step(x, y):
        return train(F.cross_entropy(model(x), y) * weight)
    def set_weight(value):
        nonlocal weight
        weight = value
    return step, set_weight
step, set_weight = make()
def between(i):
    if i == 5:
        set_weight(0.5)
""",
)
case(
    "global numpy mask changed in place",
    "equal",
    """
mask = np.ones((5, 2), np.float32)
def step(x, y):
    return train(F.cross_entropy(model(x) * mask, y))
def between(i):
    if i == 5:
        mask[:, 1] = 0
""",
)
case(
    "global numpy mask rebound",
    "equal",
    """
mask = np.ones((5, 2), np.float32)
def step(x, y):
    return train(F.cross_entropy(model(x) * mask, y))
def between(i):
    global mask
    if i == 5:
        mask = np.zeros((5, 2), np.float32)
""",
)
case(
    "learning rate written into param_groups inside the step",
    "refused",
    """
epoch = 0
def step(x, y):
    opt.param_groups[0]["lr"] = 0.1 / (1 + epoch)
    return train(F.cross_entropy(model(x), y))
""",
)
case(
    "learning rate read inside the step, scheduled outside",
    "equal",
    """
scheduler = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
def step(x, y):
    return train(F.cross_entropy(model(x), y) * (1 + opt.param_groups[0]["lr"]))
def between(i):
    if i in (4, 7):
        scheduler.step()
""",
)
case(
    "gradient accumulation counter",
    "refused",
    """
count = 0
def step(x, y):
    global count
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    count += 1
    if count % 3 == 0:
        opt.step()
        opt.zero_grad()
    return loss
""",
)
case(
    "accumulation decided by an argument",
    "equal",
    """
def step(x, y, update):
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    if update:
        opt.step()
        opt.zero_grad()
    return loss
def arguments(i):
    return batch(i) + (i % 3 == 2,), {}
""",
)
case(
    ".data rebound inside the step",
    "refused",
    """
def step(x, y):
    loss = train(F.cross_entropy(model(x), y))
    for p in model.parameters():
        p.data = np.clip(p.data, -0.3, 0.3)
    return loss
""",
)
case(
    "optimizer name rebound",
    "equal",
    """
def step(x, y):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss
def between(i):
    global opt
    if i == 5:
        opt = optim.Adam(model.parameters(), lr=0.01)
""",
)
case(
    "model name rebound",
    "equal",
    """
def step(x, y):
    return train(F.cross_entropy(model(x), y))
def between(i):
    global model, opt
    if i == 5:
        tl.manual_seed(1)
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        opt = optim.SGD(model.parameters(), lr=0.1)
""",
)
case(
    "module attribute changed (a temperature)",
    "equal",
    """
class Scaled(nn.Module):
    def __init__(self):
        self.inner = nn.Linear(3, 2)
        self.temperature = 1.0
    def forward(self, x):
        return self.inner(x) / self.temperature
model = Scaled()
opt = optim.SGD(model.parameters(), lr=0.1)
def step(x, y):
    return train(F.cross_entropy(model(x), y))
def between(i):
    if i == 5:
        model.temperature = 2.0
""",
)
case(
    "BatchNorm momentum changed",
    "equal",
    """
model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
opt = optim.SGD(model.parameters(), lr=0.1)
def step(x, y):
    return train(F.cross_entropy(model(x), y))
def between(i):
    if i == 5:
        model[1].momentum = 0.5
def state():
    return [t.data.tobytes() for _, t in model._named_state("", include_buffers=True)]
""",
)
case(
    "activation swapped",
    "equal",
    """
def step(x, y):
    return train(F.cross_entropy(model(x), y))
def between(i):
    if i == 5:
        model[1] = nn.ReLU()
""",
)
case(
    "requires_grad_(False) on a tensor outside a module",
    "equal",
    """
w = tl.tensor(np.full((3, 2), 0.5, np.float32), requires_grad=True)
opt = optim.SGD([w], lr=0.1)
def step(x, y):
    return train(F.cross_entropy(x @ w, y))
def between(i):
    if i == 5:
        w.requires_grad_(False)
def state():
    return [w.data.tobytes(), None if w.grad is None else w.grad.data.tobytes()]
""",
)
case(
    "pruned again between calls",
    "equal",
    """
from tinygrad_lite.nn.utils import prune
prune.l1_unstructured(model[0], "weight", amount=0.25)
opt = optim.SGD(model.parameters(), lr=0.1)
def step(x, y):
    return train(F.cross_entropy(model(x), y))
def between(i):
    if i == 5:
        prune.l1_unstructured(model[0], "weight", amount=0.5)
""",
)
case(
    "history appended inside the step",
    "refused",
    """
history = []
def step(x, y):
    loss = train(F.cross_entropy(model(x), y))
    history.append(loss)
    return loss
""",
)
case(
    "helper function's global changed",
    "equal",
    """
scale = 1.0
def loss_of(h, y):
    return F.cross_entropy(h, y) * scale
def step(x, y):
    return train(loss_of(model(x), y))
def between(i):
    global scale
    if i == 5:
        scale = 4.0
""",
)
case(
    "configuration object's attribute changed",
    "equal",
    """
class Config:
    def __init__(self):
        self.weight = 1.0
config = Config()
def step(x, y):
    return train(F.cross_entropy(model(x), y) * config.weight)
def between(i):
    if i == 5:
        config.weight = 0.25
""",
)

# ---- arguments -------------------------------------------------------------------------------
case(
    "numpy scalar argument",
    "equal",
    """
def step(x, y, weight):
    return train(F.cross_entropy(model(x), y) * weight)
def arguments(i):
    return batch(i) + (np.float32(1 + i % 2),), {}
""",
)
case(
    "python list argument",
    "equal",
    """
def step(x, y, weights):
    h = model(x)
    return train(F.cross_entropy(h, y) * weights[0] + (h * h).mean() * weights[1])
def arguments(i):
    return batch(i) + ([1.0, [0.0, 0.5, 0.25][i % 3]],), {}
""",
)
case(
    "keywords in another order",
    "equal",
    """
def step(x, y, w_ce=1.0, w_l2=0.0):
    h = model(x)
    return train(F.cross_entropy(h, y) * w_ce + (h * h).mean() * w_l2)
def arguments(i):
    x, y = batch(i)
    a, b = (1.0, 0.5) if i % 2 else (0.5, 1.0)
    return (x, y), ({"w_ce": a, "w_l2": b} if i % 3 else {"w_l2": b, "w_ce": a})
""",
)
case(
    "one tensor passed twice, then two",
    "equal",
    """
def step(a, b, y):
    return train(F.cross_entropy(model(a) + model(b) * 0.5, y))
def arguments(i):
    x, y = batch(i)
    return ((x, x, y) if i < 4 else (x, x * 2, y)), {}
""",
)
case(
    "a new leaf tensor each call",
    "equal",
    """
leaves = []
def step(x, y):
    return train(F.cross_entropy(model(x), y))
def arguments(i):
    x, y = batch(i)
    x = tl.tensor(x.data, requires_grad=True)
    leaves.append(x)
    return (x, y), {}
def state():
    return [leaf.grad.data.tobytes() for leaf in leaves if leaf.grad is not None]
""",
)
case(
    "int argument as a python number",
    "equal",
    """
def step(x, y, k):
    return train(F.cross_entropy(model(x), y) * k)
def arguments(i):
    return batch(i) + (1 + i % 2,), {}
""",
)

# ---- validation ------------------------------------------------------------------------------
case(
    "a label out of range",
    "equal",
    """
def step(x, y):
    return train(F.cross_entropy(model(x), y))
def arguments(i):
    x, y = batch(i)
    if i == 6:
        y = y.copy()
        y[2] = -1
    return (x, y), {}
""",
)
case(
    "nll_loss with a label out of range",
    "equal",
    """
def step(x, y):
    return train(F.nll_loss(F.log_softmax(model(x), axis=1), y))
def arguments(i):
    x, y = batch(i)
    if i == 7:
        y = y + 5
    return (x, y), {}
""",
)

# ---- results and composition -----------------------------------------------------------------
case(
    "namedtuple result",
    "equal",
    """
Out = collections.namedtuple("Out", "loss logits")
def step(x, y):
    h = model(x)
    return Out(train(F.cross_entropy(h, y)), h)
""",
)
case(
    "dict and dataclass results",
    "equal",
    """
@dataclasses.dataclass
class Out:
    loss: object
    name: str
def step(x, y):
    h = model(x)
    return {"out": Out(train(F.cross_entropy(h, y)), "ce"), "logits": h, "n": 5}
""",
)
case(
    "nested jitted steps",
    "equal",
    """
inner = tl.jit(lambda h, y: F.cross_entropy(h, y))
def step(x, y):
    return train(inner(model(x), y))
""",
)
case(
    "l1 loss and an L1 penalty",
    "equal",
    """
def step(x, target):
    h = model(x)
    penalty = sum(p.abs().sum() for p in model.parameters()) * 1e-3
    return train(F.l1_loss(h, target) + penalty)
def arguments(i):
    x, y = batch(i)
    return (x, np.eye(2, dtype=np.float32)[y]), {}
""",
)
case(
    "maximum, minimum, clip and max",
    "equal",
    """
def step(x, y):
    h = model(x)
    h = tl.maximum(h, -0.5).minimum(0.8).clip(-0.4, 0.7)
    return train(F.cross_entropy(h, y) + h.max(axis=1).mean())
""",
)
case(
    "a constant tensor made inside the step",
    "equal",
    """
def step(x, y):
    bias = tl.tensor(np.array([0.1, -0.1], np.float32))
    return train(F.cross_entropy(model(x) + bias, y))
""",
)
case(
    "a copy of the argument made inside the step",
    "equal",
    """
def step(x, y):
    return train(F.cross_entropy(model(tl.tensor(x)), y))
""",
)
case(
    "float64 targets converted to the model's dtype",
    "equal",
    """
def step(x, t):
    return train(F.mse_loss(model(x), t))
def arguments(i):
    x, y = batch(i)
    return (x, np.eye(2)[y]), {}
""",
)

# ---- randomness ------------------------------------------------------------------------------
case(
    "dropout in training mode",
    "refused",
    """
model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))
opt = optim.SGD(model.parameters(), lr=0.1)
def step(x, y):
    return train(F.cross_entropy(model(x), y))
""",
)
case(
    "a numpy generator decides a branch",
    "refused",
    """
def step(x, y):
    h = model(x)
    if rng.random() < 0.5:
        h = h * 2
    return train(F.cross_entropy(h, y))
""",
)
case(
    "python's random decides a branch",
    "refused",
    """
def step(x, y):
    h = model(x)
    if random.random() < 0.5:
        h = h * 2
    return train(F.cross_entropy(h, y))
""",
)

# ---- gradients read and changed inside the step ----------------------------------------------
case(
    "the XOR step written with raw ops (E1)",
    "equal",
    """
w1 = tl.tensor(np.random.default_rng(1).standard_normal((2, 4)), dtype=np.float32,
               requires_grad=True)
w2 = tl.tensor(np.random.default_rng(2).standard_normal((4, 1)), dtype=np.float32,
               requires_grad=True)
xor_x = tl.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
xor_y = tl.tensor(np.array([[0], [1], [1], [0]], np.float32))
def step(x, y):
    o = ((x @ w1).sigmoid() @ w2).sigmoid()
    loss = ((o - y) ** 2).mean()
    loss.backward()
    with tl.no_grad():
        for w in (w1, w2):
            w -= 0.5 * w.grad
            w.grad = None
    return loss
def arguments(i):
    return (xor_x, xor_y), {}
def state():
    return [w1.data.tobytes(), w2.data.tobytes()]
""",
)
case(
    "a gradient scaled in place inside the step",
    "equal",
    """
def step(x, y):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    with tl.no_grad():
        model[0].weight.grad.mul_(0.5)
    opt.step()
    return loss
""",
)

# ---- NumPy array arguments -------------------------------------------------------------------
case(
    "a check on a NumPy batch inside the step",
    "refused",
    """
def step(x, y):
    if not np.isfinite(x).all():
        raise ValueError("corrupt batch")
    return train(F.cross_entropy(model(x), y))
def arguments(i):
    x, y = batch(i)
    return (x.data, y), {}
""",
)
case(
    "NumPy preprocessing of an argument inside the step",
    "refused",
    """
def step(x, y):
    x = (x - x.mean(axis=0)) / 2
    return train(F.cross_entropy(model(x), y))
def arguments(i):
    x, y = batch(i)
    return (x.data, y), {}
""",
)
case(
    "NumPy batches handed to the model and the loss",
    "equal",
    """
def step(x, y):
    return train(F.cross_entropy(model(x), y) + F.mse_loss(model(tl.tensor(x)), model(x)))
def arguments(i):
    x, y = batch(i)
    return (x.data, y), {}
""",
)

# ---- sequence layers -------------------------------------------------------------------------
case(
    "attention, layer norm and a causal mask",
    "equal",
    """
model = nn.Sequential(nn.Linear(3, 8), nn.LayerNorm(8))
attention = nn.MultiheadAttention(8, 2, batch_first=True)
opt = optim.Adam([*model.parameters(), *attention.parameters()], lr=0.01)
def step(x, y):
    h = model(x).reshape(1, 5, 8)
    mask = np.triu(np.ones((5, 5), bool), 1)  # True = masked out, as PyTorch's MHA
    out, _ = attention(h, h, h, attn_mask=mask, need_weights=False)
    h = F.scaled_dot_product_attention(out, out, out, is_causal=True) + F.rms_norm(out, 8)
    loss = F.cross_entropy(h.reshape(5, 8)[:, :2], y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss
def state():
    return [p.data.tobytes() for p in [*model.parameters(), *attention.parameters()]]
""",
)
case(
    "an LSTM and a GRU over a sequence",
    "equal",
    """
lstm, gru = nn.LSTM(3, 4, num_layers=2), nn.GRU(4, 2, bidirectional=True)
opt = optim.SGD([*lstm.parameters(), *gru.parameters()], lr=0.1)
def step(x, y):
    out, (h, c) = lstm(x.reshape(5, 1, 3))
    out, h = gru(out)
    loss = F.cross_entropy(out.reshape(5, 4)[:, :2], y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss
def state():
    return [p.data.tobytes() for p in [*lstm.parameters(), *gru.parameters()]]
""",
)
case(
    "a small GPT step on token batches",
    "equal",
    """
from tinygrad_lite.examples.e9_gpt import GPT
model = GPT(11, width=16, layers=1, heads=2, context=8)
opt = optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
def step(idx, targets):
    loss = F.cross_entropy(model(idx).reshape(-1, 11), targets.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss
def arguments(i):
    r = np.random.default_rng(i % 3)
    tokens = r.integers(0, 11, (2, 9))
    return (tokens[:, :-1], tokens[:, 1:]), {}
""",
)
case(
    "activation checkpointing",
    "equal",
    """
from tinygrad_lite.utils.checkpoint import checkpoint, checkpoint_sequential
deep = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
opt = optim.SGD(deep.parameters(), lr=0.1)
def state():
    return [t.data.tobytes() for p in deep.parameters() for t in (p, p.grad)]
def step(x, y):
    h = checkpoint_sequential(deep, 3, x) + checkpoint(deep, x)
    return train(F.cross_entropy(h, y))
""",
)
