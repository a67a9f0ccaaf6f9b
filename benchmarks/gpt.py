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


def torch_step(torch):
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
            self.token = torch.nn.Embedding(VOCABULARY, WIDTH)
            self.position = torch.nn.Embedding(CONTEXT, WIDTH)
            self.blocks = torch.nn.Sequential(*[Block() for _ in range(LAYERS)])
            self.ln_f = torch.nn.LayerNorm(WIDTH)
            self.head = torch.nn.Linear(WIDTH, VOCABULARY, bias=False)

        def forward(self, idx):
            x = self.token(idx) + self.position(torch.arange(idx.shape[1]))
            return self.head(self.ln_f(self.blocks(x)))

    torch.manual_seed(0)
    model = GPT()
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
