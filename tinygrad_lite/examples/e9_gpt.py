"""E9: a small GPT, character by character, on the Python language reference that ships with
CPython (pydoc_data.topics, ~465,000 characters): nanoGPT's baby-GPT shape, 4 layers, 4 heads,
128 wide, context 64, batch 12, dropout 0, AdamW with warm-up and cosine decay.

Each block is pre-norm (GPT-2's): x + attention(LayerNorm(x)) with a causal mask, then
x + MLP(LayerNorm(x)) with a 4× wider GELU layer. The text is split 90/10 into training and
validation; the run prints the validation loss and bits per character (loss / ln 2) and a sample
generated at a temperature with top-k. `tinygrad-lite demo gpt` trains 300 steps (a few minutes
on 2 cores); nanoGPT's baby GPT trains 2,000 or more (`run(steps=2000)`).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim


def corpus() -> str:
    """The Python language reference topics CPython ships (no download)."""
    from pydoc_data.topics import topics

    return "\n".join(topics[name] for name in sorted(topics))


def encoded_corpus() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(the sorted characters, the training indices (first 90%), the validation indices)."""
    text = corpus()
    characters = sorted(set(text))
    encode = {c: i for i, c in enumerate(characters)}
    data = np.array([encode[c] for c in text], dtype=np.int64)
    split = int(0.9 * len(data))
    return characters, data[:split], data[split:]


def random_batch(source: np.ndarray, rng, batch_size: int, context: int):
    """(x, y): batch_size windows of `context` indices from random starts, y one step ahead."""
    starts = rng.integers(0, len(source) - context - 1, batch_size)
    x = np.stack([source[s : s + context] for s in starts])
    y = np.stack([source[s + 1 : s + context + 1] for s in starts])
    return x, y


class Block(nn.Module):
    def __init__(self, width: int, heads: int):
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        h = self.ln_1(x)
        mask = np.triu(np.ones((x.shape[1], x.shape[1]), bool), 1)  # True: a later position
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
        return x + self.mlp(self.ln_2(x))

    def extend(self, x: tl.Tensor, cache: dict) -> tl.Tensor:
        """forward for new positions x (B, T, W) after those whose keys and values `cache`
        holds (empty at first; updated here): the KV cache. Only the new positions' queries,
        keys and values are computed; each attends to every cached key and the new ones up to
        itself."""
        attention, width = self.attn, x.shape[-1]
        h = self.ln_1(x)
        q, k, v = attention.project_heads(h, h, h)  # each (B, heads, T, head size)
        if cache:
            k = tl.ops.concatenate([cache["k"], k], axis=2)
            v = tl.ops.concatenate([cache["v"], v], axis=2)
        cache["k"], cache["v"] = k, v
        past = k.shape[2] - x.shape[1]
        # key j <= the query's place; one new position sees every key: no mask to apply
        keep = None if x.shape[1] == 1 else np.tril(np.ones((x.shape[1], k.shape[2]), bool), past)
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        if x.shape[1] > 1:  # (B, heads, T, size) -> (B, T, heads, size); for T = 1 the same order
            out = out.permute(0, 2, 1, 3)
        x = x + attention.out_proj(out.reshape(*x.shape[:2], width))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Token and position embeddings, `layers` blocks, a final LayerNorm and the vocabulary
    head: logits (B, T, vocabulary) for indices (B, T)."""

    def __init__(self, vocabulary: int, width: int = 128, layers: int = 4, heads: int = 4,
                 context: int = 64):  # fmt: skip
        self.context = context
        self.token, self.position = nn.Embedding(vocabulary, width), nn.Embedding(context, width)
        for embedding in (self.token, self.position):
            nn.init.normal_(embedding.weight, 0.0, 0.02)  # GPT-2's initialization
        self.blocks = nn.Sequential(*[Block(width, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocabulary, bias=False)

    def forward(self, idx) -> tl.Tensor:
        x = self.token(idx) + self.position(np.arange(idx.shape[1]))
        return self.head(self.ln_f(self.blocks(x)))

    def _last_logits(self, idx: np.ndarray, caches: list[dict] | None) -> np.ndarray:
        """The next-token logits after idx (B, T ≤ context): with caches (one dict per block),
        only the positions the caches do not hold yet are computed."""
        if caches is None:
            return self(idx).numpy()[:, -1]
        start = caches[0]["k"].shape[2] if caches[0] else 0
        new = idx[:, start:]
        x = self.token(new) + self.position(np.arange(start, idx.shape[1]))
        for block, cache in zip(self.blocks, caches):
            x = block.extend(x, cache)
        return self.head(self.ln_f(x[:, -1:])).numpy()[:, -1]

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 seed: int = 0, kv_cache: bool = True) -> np.ndarray:  # fmt: skip
        """Sample `max_new_tokens` more indices after idx (B, T): softmax(logits / temperature)
        over the top_k most likely (all when None); temperature 0 takes the most likely.

        kv_cache: keep each block's keys and values, so a new token costs one position's work,
        not the whole window's. Once the sequence outgrows the context the window slides, every
        position moves, and the window is computed afresh each step, as without the cache."""
        rng, idx = np.random.default_rng(seed), np.asarray(idx)
        caches = None
        with tl.no_grad():
            for _ in range(max_new_tokens):
                window = idx[:, -self.context :]
                if kv_cache and (caches is None or idx.shape[1] > self.context):
                    caches = [{} for _ in self.blocks]  # the window moved: start again
                logits = self._last_logits(window, caches if kv_cache else None)
                logits = logits.astype(np.float64)
                if temperature == 0:
                    choice = logits.argmax(axis=-1)
                else:
                    logits = logits / temperature
                    if top_k is not None:
                        kth = np.sort(logits, axis=-1)[:, -min(top_k, logits.shape[-1])]
                        logits = np.where(logits < kth[:, None], -np.inf, logits)
                    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
                    p /= p.sum(axis=-1, keepdims=True)
                    choice = np.array([rng.choice(len(row), p=row) for row in p])
                idx = np.concatenate([idx, choice[:, None]], axis=1)
        return idx


def learning_rate(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up to `peak`, then cosine decay to peak / 10 (nanoGPT's schedule)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak / 10 + (peak - peak / 10) * 0.5 * (1 + math.cos(math.pi * progress))


def run(steps: int = 300, batch_size: int = 12, context: int = 64, width: int = 128,
        layers: int = 4, heads: int = 4, learning_rate_peak: float = 1e-3, seed: int = 0,
        log=print, progress: bool = True, eval_batches: int = 10, sample_length: int = 200,
        amp: str | None = None, eval_every: int | None = None, model: GPT | None = None,
        teacher: GPT | None = None, temperature: float = 2.0, alpha: float = 0.5,
        **_) -> dict:  # fmt: skip
    """Train E9's GPT for `steps` steps; amp 'bfloat16' or 'float16' trains in mixed precision
    (autocast, and for float16 a GradScaler). Returns the validation loss, bits per character,
    a sample, the model and the learning curve: every step's training loss and, every
    `eval_every` steps, the loss on fixed validation batches (drawn with their own generator,
    so the training batches, and the result, are the same with or without it).

    model: train this GPT further (fine-tuning) instead of a new one of the given shape.
    teacher: distill it: the loss is `distillation_loss` of the model's logits against the
    teacher's (in eval mode, no graph) at `temperature`, weighted `alpha` against the labels'
    cross-entropy; the validation loss stays the plain cross-entropy."""
    tl.manual_seed(seed)
    autocast = tl.amp.autocast(dtype=getattr(tl, amp)) if amp else contextlib.nullcontext()
    scaler = tl.amp.GradScaler(enabled=amp == "float16")
    characters, train_data, val_data = encoded_corpus()
    encode = {c: i for i, c in enumerate(characters)}
    rng = np.random.default_rng(seed)
    if model is None:
        model = GPT(len(characters), width, layers, heads, context)
    context = model.context
    optimizer = optim.AdamW(model.parameters(), lr=learning_rate_peak, weight_decay=0.1)

    def batch(source):
        return random_batch(source, rng, batch_size, context)

    def loss_of(x, y, distilled: bool = False):
        logits = model(x).reshape(-1, len(characters))
        if not distilled:
            return nn.functional.cross_entropy(logits, y.reshape(-1))
        with tl.no_grad():
            soft = teacher.eval()(x).reshape(-1, len(characters))
        return nn.functional.distillation_loss(logits, soft, y.reshape(-1), temperature, alpha)

    def validation_loss(batches=None) -> float:
        batches = batches or [batch(val_data) for _ in range(eval_batches)]
        with tl.no_grad():
            return float(np.mean([loss_of(*b).item() for b in batches]))

    curve_rng = np.random.default_rng([seed, 1])
    curve_batches = [random_batch(val_data, curve_rng, batch_size, context)
                     for _ in range(eval_batches if eval_every else 0)]  # fmt: skip
    curve = {"train_loss": [], "step": [], "validation_loss": []}

    bar = range(steps)
    if progress:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc="training", unit="step", leave=False)
        except ImportError:
            pass
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, learning_rate_peak, max(1, steps // 20))
        with autocast:
            loss = loss_of(*batch(train_data), distilled=teacher is not None)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        curve["train_loss"].append(loss.item())
        if eval_every and ((step + 1) % eval_every == 0 or step + 1 == steps):
            curve["step"].append(step + 1)
            curve["validation_loss"].append(validation_loss(curve_batches))
    val = validation_loss()
    log(f"validation loss {val:.4f}, {val / math.log(2):.3f} bits per character "
        f"after {steps} steps")  # fmt: skip
    prompt = np.array([[encode[c] for c in "def "]])
    sample = "".join(characters[i] for i in model.generate(prompt, sample_length, 0.8, 20)[0])
    log(f"sample (temperature 0.8, top-k 20):\n{sample}")
    return {"validation_loss": val, "bits_per_character": val / math.log(2), "sample": sample,
            "model": model, "curve": curve}  # fmt: skip


if __name__ == "__main__":
    run()
