"""The levers that make large models cheaper, measured on E9's GPT (about 15 minutes on 2 cores).

One table per lever, every validation loss on the same 10 validation batches:
- precision: E9 trained for `steps` steps in float32, bfloat16, and float16 with a GradScaler;
- int8: the float32 model with every Linear, then also every attention's projections, dynamically
  quantized (PyTorch's "dynamic quantization of BERT" recipe), and its checkpoint size;
- pruning: a fraction of every block's MLP channels (the smallest L2 norms of the first Linear's
  rows) pruned, fine-tuned with the mask for `finetune_steps` steps, then removed for good with
  `shrink` (the constant they leave folded into the next bias): size against loss, as a curve;
- distillation: a 1-layer student trained alone and distilled from a 4-layer teacher (trained
  for `teacher_steps`), same seed and batches, over 3 seeds.
"""

from __future__ import annotations

import copy
import time

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, quantization
from tinygrad_lite.nn.utils import prune

from . import e9_gpt
from ._sizes import checkpoint_bytes

TEMPERATURE, ALPHA = 2.0, 0.9  # picked from (1, 2) × (0.5, 0.9) on seed 0; all four gained
PRUNED_FRACTIONS = (0.25, 0.5, 0.75)


def validation_batches(count: int = 10, batch_size: int = 12, context: int = 64) -> list:
    """The fixed validation batches every model here is measured on (their own generator)."""
    _, _, val_data = e9_gpt.encoded_corpus()
    rng = np.random.default_rng(1)
    return [e9_gpt.random_batch(val_data, rng, batch_size, context) for _ in range(count)]


def validation_loss(model, batches) -> float:
    with tl.no_grad():
        return float(np.mean([nn.functional.cross_entropy(
            model(x).reshape(-1, model.head.out_features), y.reshape(-1)).item()
            for x, y in batches]))  # fmt: skip


def parameter_count(model) -> int:
    return sum(int(np.prod(t.shape)) for t in model.state_dict().values())


def _train(**settings) -> tuple[dict, float]:
    start = time.perf_counter()
    result = e9_gpt.run(progress=False, log=lambda *_: None, sample_length=0, **settings)
    return result, time.perf_counter() - start


def precision(steps: int, batches, log, **shape) -> tuple[list[dict], object]:
    """float32, bfloat16 and float16 + GradScaler rows; also returns the float32 model."""
    rows, float32 = [], None
    for amp in (None, "bfloat16", "float16"):
        result, seconds = _train(steps=steps, amp=amp, **shape)
        float32 = float32 or result["model"]
        rows.append({"variant": amp or "float32", "seconds": seconds,
                     "validation_loss": validation_loss(result["model"], batches)})  # fmt: skip
        log(f"  {rows[-1]['variant']:>9}: validation loss {rows[-1]['validation_loss']:.4f} "
            f"({seconds:.0f} s)")  # fmt: skip
    return rows, float32


def int8(model, batches, log) -> list[dict]:
    """The float32 model with Linear layers, then Linear and attention, in int8."""
    rows = []
    choices = {
        "every Linear": {nn.Linear},
        "every Linear and attention": {nn.Linear, nn.MultiheadAttention},
    }
    for name, kinds in choices.items():
        quantized = quantization.quantize_dynamic(model, kinds)
        rows.append({"variant": name, "validation_loss": validation_loss(quantized, batches),
                     "bytes": checkpoint_bytes(quantized)})  # fmt: skip
        log(f"  int8, {name}: validation loss {rows[-1]['validation_loss']:.4f}, "
            f"{rows[-1]['bytes'] / 1024:.0f} KiB")  # fmt: skip
    return rows


def pruned(model, fraction: float, finetune_steps: int, batches, seed: int, **shape) -> dict:
    """Prune `fraction` of every block's MLP channels, fine-tune, shrink: one point of the curve
    (the loss just pruned, fine-tuned with the mask, and shrunk, which should not change it)."""
    model = copy.deepcopy(model)
    for block in model.blocks:
        prune.ln_structured(block.mlp[0], "weight", fraction, n=2, dim=0)
    just_pruned = validation_loss(model, batches)
    if finetune_steps:
        shape = {**shape, "learning_rate_peak": 3e-4}
        model = _train(steps=finetune_steps, model=model, seed=seed, **shape)[0]["model"]
    masked = validation_loss(model, batches)
    example = np.zeros((1, 1, model.blocks[0].mlp[0].in_features), np.float32)
    for block in model.blocks:
        prune.remove(block.mlp[0], "weight")
        block.mlp = prune.shrink(block.mlp, example)
    return {"fraction": fraction, "channels": model.blocks[0].mlp[0].out_features,
            "parameters": parameter_count(model), "bytes": checkpoint_bytes(model),
            "pruned_loss": just_pruned, "finetuned_loss": masked,
            "validation_loss": validation_loss(model, batches)}  # fmt: skip


def distillation(teacher, steps: int, seeds, batches, log, layers: int = 1, **shape) -> list[dict]:
    """A `layers`-layer student alone and distilled from the teacher, per seed."""
    rows = []
    for seed in seeds:
        alone, _ = _train(steps=steps, layers=layers, seed=seed, **shape)
        distilled, _ = _train(steps=steps, layers=layers, seed=seed, teacher=teacher,
                              temperature=TEMPERATURE, alpha=ALPHA, **shape)  # fmt: skip
        rows.append({"seed": seed, "alone": validation_loss(alone["model"], batches),
                     "distilled": validation_loss(distilled["model"], batches)})  # fmt: skip
        log(f"  seed {seed}: alone {rows[-1]['alone']:.4f}, distilled "
            f"{rows[-1]['distilled']:.4f}")  # fmt: skip
    return rows


def run(steps: int = 300, teacher_steps: int = 600, finetune_steps: int = 100,
        seeds=(0, 1, 2), log=print, progress: bool = True, shape: dict | None = None,
        **_) -> dict:  # fmt: skip
    """Every lever on E9 (see the module's docstring); `shape` passes E9's sizes (width,
    layers, heads, context, batch_size) for a smaller model."""
    shape = shape or {}
    batches = validation_batches(context=shape.get("context", 64))
    log(f"mixed precision ({steps} steps each):")
    rows, float32 = precision(steps, batches, log, **shape)
    log("int8 dynamic quantization of the float32 model:")
    quantized = int8(float32, batches, log)
    log(f"pruning every block's MLP channels, {finetune_steps} steps of fine-tuning:")
    # the unpruned model fine-tuned as long: the curve compares at equal training
    curve = [pruned(float32, 0.0, finetune_steps, batches, 0, **shape)]
    for fraction in PRUNED_FRACTIONS:
        curve.append(pruned(float32, fraction, finetune_steps, batches, 0, **shape))
        log(f"  {fraction:.0%} pruned: {curve[-1]['parameters']} parameters, validation loss "
            f"{curve[-1]['pruned_loss']:.4f} pruned, {curve[-1]['validation_loss']:.4f} "
            f"fine-tuned")  # fmt: skip
    log(
        f"distillation: a teacher ({shape.get('layers', 4)} layers, {teacher_steps} steps), "
        f"1-layer students ({steps} steps), T = {TEMPERATURE}, alpha = {ALPHA}:"
    )
    teacher, _ = _train(steps=teacher_steps, **shape)
    teacher_loss = validation_loss(teacher["model"], batches)
    log(f"  teacher: validation loss {teacher_loss:.4f}")
    students = distillation(teacher["model"], steps, seeds, batches, log, **{
        k: v for k, v in shape.items() if k != "layers"})  # fmt: skip
    return {"steps": steps, "rows": rows,
            "int8": {"rows": quantized, "float32_bytes": checkpoint_bytes(float32)},
            "pruning": {"finetune_steps": finetune_steps, "curve": curve},
            "distillation": {"teacher_steps": teacher_steps, "teacher_loss": teacher_loss,
                             "temperature": TEMPERATURE, "alpha": ALPHA,
                             "students": students}}  # fmt: skip


if __name__ == "__main__":
    run()
