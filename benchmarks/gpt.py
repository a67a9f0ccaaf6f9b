"""The gpt suite: one training step of E9's small GPT (4 layers, 4 heads, 128 wide, context 64,
batch 12, AdamW) against the same model in PyTorch, eager and under tl.jit. No hand-written
NumPy contender: a GPT's backward by hand is beyond what the floor is for."""

from __future__ import annotations

import numpy as np

VOCABULARY, BATCH, CONTEXT, WIDTH, LAYERS, HEADS = 103, 12, 64, 128, 4, 4


def _batch():
    tokens = np.random.default_rng(0).integers(0, VOCABULARY, (BATCH, CONTEXT + 1))
    return tokens[:, :-1], tokens[:, 1:]


def tinygrad_step():
    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim
    from tinygrad_lite.examples.e9_gpt import GPT

    tl.manual_seed(0)
    model = GPT(VOCABULARY, WIDTH, LAYERS, HEADS, CONTEXT)
    optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    x, y = _batch()

    def step():
        logits = model(x).reshape(-1, VOCABULARY)
        loss = nn.functional.cross_entropy(logits, y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def torch_model(torch, vocabulary: int = VOCABULARY):
    """E9's GPT in PyTorch's modules, with the same parameter names (so our state_dict loads)."""

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = torch.nn.LayerNorm(WIDTH), torch.nn.LayerNorm(WIDTH)
            self.attn = torch.nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
            self.mlp = torch.nn.Sequential(torch.nn.Linear(WIDTH, 4 * WIDTH), torch.nn.GELU(),
                                           torch.nn.Linear(4 * WIDTH, WIDTH))  # fmt: skip

        def forward(self, x):
            h = self.ln_1(x)
            mask = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), 1)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class GPT(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.token = torch.nn.Embedding(vocabulary, WIDTH)
            self.position = torch.nn.Embedding(CONTEXT, WIDTH)
            self.blocks = torch.nn.Sequential(*[Block() for _ in range(LAYERS)])
            self.ln_f = torch.nn.LayerNorm(WIDTH)
            self.head = torch.nn.Linear(WIDTH, vocabulary, bias=False)

        def forward(self, idx):
            x = self.token(idx) + self.position(torch.arange(idx.shape[1]))
            return self.head(self.ln_f(self.blocks(x)))

    return GPT()


def torch_step(torch):
    torch.manual_seed(0)
    model = torch_model(torch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    x, y = (torch.from_numpy(a) for a in _batch())

    def step():
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, VOCABULARY), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def contenders(torch=None, jitted: bool = False) -> dict:
    ours = tinygrad_step()
    if jitted:
        import tinygrad_lite as tl

        ours = tl.jit(ours)
    found = {"tinygrad_lite": ours}
    if torch is not None:
        found["torch"] = torch_step(torch)
    return found


def train_twins(steps: int = 2000, eval_batches: int = 20, seed: int = 0) -> dict:
    """E9's model and the PyTorch twin from the same initial weights, trained on the same
    batches with the same schedule: each one's validation loss (and ours in bits per character),
    time, and a sample of ours. `python -m benchmarks.published run` records it."""
    import math
    import time

    import torch

    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim
    from tinygrad_lite.examples import e9_gpt

    torch.set_num_threads(2)
    characters, train_data, val_data = e9_gpt.encoded_corpus()
    encode = {c: i for i, c in enumerate(characters)}
    tl.manual_seed(seed)
    ours = e9_gpt.GPT(len(characters), WIDTH, LAYERS, HEADS, CONTEXT)
    twin = torch_model(torch, len(characters))
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    our_opt = optim.AdamW(ours.parameters(), lr=1e-3, weight_decay=0.1)
    their_opt = torch.optim.AdamW(twin.parameters(), lr=1e-3, weight_decay=0.1)
    rng = np.random.default_rng(seed)

    def batch(source):
        return e9_gpt.random_batch(source, rng, BATCH, CONTEXT)

    seconds = {"ours": 0.0, "torch": 0.0}
    for step in range(steps):
        rate = e9_gpt.learning_rate(step, steps, 1e-3, max(1, steps // 20))
        for group in our_opt.param_groups:
            group["lr"] = rate
        for group in their_opt.param_groups:
            group["lr"] = rate
        x, y = batch(train_data)
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(ours(x).reshape(-1, len(characters)), y.reshape(-1))
        our_opt.zero_grad()
        loss.backward()
        our_opt.step()
        seconds["ours"] += time.perf_counter() - start
        start = time.perf_counter()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        their = torch.nn.functional.cross_entropy(twin(tx).reshape(-1, len(characters)),
                                                  ty.reshape(-1))  # fmt: skip
        their_opt.zero_grad()
        their.backward()
        their_opt.step()
        seconds["torch"] += time.perf_counter() - start
    val = [batch(val_data) for _ in range(eval_batches)]
    vocabulary = len(characters)
    with tl.no_grad(), torch.no_grad():
        ours_val = float(np.mean([
            nn.functional.cross_entropy(ours(x).reshape(-1, vocabulary), y.reshape(-1)).item()
            for x, y in val]))  # fmt: skip
        torch_val = float(np.mean([torch.nn.functional.cross_entropy(
            twin(torch.from_numpy(x)).reshape(-1, vocabulary), torch.from_numpy(y).reshape(-1)
        ).item() for x, y in val]))  # fmt: skip
    prompt = np.array([[encode[c] for c in "def "]])
    sample = "".join(characters[i] for i in ours.generate(prompt, 200, 0.8, 20, seed)[0])
    return {"steps": steps, "validation_loss": ours_val, "torch_validation_loss": torch_val,
            "bits_per_character": ours_val / math.log(2), "seconds": seconds,
            "sample": sample}  # fmt: skip


def lstm_contenders(torch=None) -> dict:
    """One training step of an LSTM (hidden 128) over 64 steps of a batch of 32 (inputs 32 wide,
    a linear read-out, MSE, Adam), ours against PyTorch's (a fused kernel per step there)."""
    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 32)).astype(np.float32)
    y = rng.standard_normal((64, 32, 1)).astype(np.float32)
    tl.manual_seed(0)
    lstm, head = nn.LSTM(32, 128), nn.Linear(128, 1)
    opt = optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)

    def ours():
        loss = nn.functional.mse_loss(head(lstm(x)[0]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    found = {"tinygrad_lite": ours}
    if torch is not None:
        t_lstm, t_head = torch.nn.LSTM(32, 128), torch.nn.Linear(128, 1)
        t_opt = torch.optim.Adam([*t_lstm.parameters(), *t_head.parameters()], lr=1e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def theirs():
            loss = torch.nn.functional.mse_loss(t_head(t_lstm(tx)[0]), ty)
            t_opt.zero_grad()
            loss.backward()
            t_opt.step()
            return loss

        found["torch"] = theirs
    return found


GENERATED = 256
GENERATION_REPEATS = 7  # each repeat without the cache takes seconds


def generation_contenders() -> dict:
    """Generating 256 tokens after a 4-token prompt with E9's GPT shape (untrained, context 320
    so the window never slides), with the KV cache and without (the whole window each token)."""
    import tinygrad_lite as tl
    from tinygrad_lite.examples.e9_gpt import GPT

    tl.manual_seed(0)
    model = GPT(VOCABULARY, WIDTH, LAYERS, HEADS, context=GENERATED + 64)
    prompt = np.array([[1, 2, 3, 4]])
    return {
        # the harness's own name for the lever measured: ours/no cache is the cache's ratio
        "tinygrad_lite": lambda: model.generate(prompt, GENERATED, temperature=0, kv_cache=True),
        "no cache": lambda: model.generate(prompt, GENERATED, temperature=0, kv_cache=False),
    }
