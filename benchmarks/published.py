"""The numbers README.md publishes, generated from committed results files, never typed.

    python -m benchmarks.published run     # measure everything again (about 45 minutes on 2
                                           # cores): the demos at their default seeds (E9's
                                           # full run and the GPT levers the longest) and the
                                           # benchmarks
    python -m benchmarks.published run gpt_levers gpt-steps   # only these (names: the
                                           # measures below, gpt-steps, benchmarks)
    python -m benchmarks.published write   # rewrite README.md's generated blocks from the files

A generated block sits between `<!-- generated: NAME ... -->` and `<!-- end: NAME -->`.
tests/docs/test_published.py checks that README.md holds exactly what `render` makes of the
committed files, and re-runs the fast deterministic measurement (E6's accuracies).

Sources: benchmarks/results-cpu-2core.json (`python -m benchmarks`), docs/results/*.json (written
by `run`, each with the date, the command and the machine's core count).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BENCHMARKS = ROOT / "benchmarks" / "results-cpu-2core.json"
GPT_STEPS = ROOT / "benchmarks" / "results-gpt-2core.json"  # python -m benchmarks gpt
RESULTS = ROOT / "docs" / "results"


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _stamp(command: str) -> dict:
    return {"date": datetime.date.today().isoformat(), "command": command,
            "cpus": os.cpu_count()}  # fmt: skip


# ---- measuring -------------------------------------------------------------------------------
def measure_mixed_precision() -> dict:
    """E6's test accuracy in float32, float16 and bfloat16 at its default seed."""
    from tinygrad_lite.examples import e6_digits_mlp

    accuracies = {}
    for amp in (None, "float16", "bfloat16"):
        result = e6_digits_mlp.run(amp=amp, log=lambda _: None, progress=False)
        accuracies[amp or "float32"] = result["test_accuracy"]
    return {**_stamp("tinygrad-lite demo e6 [--amp float16|bfloat16]"), "accuracy": accuracies}


def measure_demo() -> dict:
    """`tinygrad-lite demo` (E7 at its defaults): test accuracy and wall time."""
    from tinygrad_lite.examples import e7_digits_cnn

    start = time.perf_counter()
    result = e7_digits_cnn.run(log=lambda _: None, progress=False)
    seconds = time.perf_counter() - start
    return {**_stamp("tinygrad-lite demo"), "accuracy": result["test_accuracy"],
            "seconds": seconds}  # fmt: skip


def measure_compress() -> dict:
    """`tinygrad-lite demo compress`: its table's rows and wall time."""
    from tinygrad_lite.examples import compress

    start = time.perf_counter()
    rows = compress.run(log=lambda _: None, progress=False)["rows"]
    return {**_stamp("tinygrad-lite demo compress"), "rows": rows,
            "seconds": time.perf_counter() - start}  # fmt: skip


ALLOCATOR_RUN = """
import json, resource, time
from tinygrad_lite.examples import e7_digits_cnn
start = time.perf_counter()
e7_digits_cnn.run(epochs=3, log=lambda _: None, progress=False)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "page_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt}))
"""


def measure_allocator() -> dict:
    """3 epochs of E7 in a fresh process under glibc's malloc defaults and under ours."""
    found = {}
    for setting in ("default", "tuned"):
        env = {**os.environ, "TINYGRAD_LITE_MALLOC": setting}
        out = subprocess.run([sys.executable, "-c", ALLOCATOR_RUN], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        found[setting] = json.loads(out.strip().splitlines()[-1])
    return {**_stamp("tinygrad-lite demo e7 --epochs 3, TINYGRAD_LITE_MALLOC=default|tuned"),
            **found}  # fmt: skip


def measure_gpt() -> dict:
    """E9's full run (2,000 steps) and its PyTorch twin from the same initial weights."""
    from . import gpt

    return {**_stamp("tinygrad-lite demo gpt (2,000 steps) and its PyTorch twin"),
            **gpt.train_twins(steps=2000)}  # fmt: skip


def measure_gpt_levers() -> dict:
    """`tinygrad-lite demo gpt-levers` at its defaults: precision, int8, the pruning curve and
    distillation over 3 seeds on E9 (tinygrad_lite/examples/gpt_levers.py)."""
    from tinygrad_lite.examples import gpt_levers

    start = time.perf_counter()
    result = gpt_levers.run(log=lambda *_: None, progress=False)
    return {**_stamp("tinygrad-lite demo gpt-levers"), **result,
            "seconds": time.perf_counter() - start}  # fmt: skip


def measure_memory() -> dict:
    """Peak traced memory and median time, plain against the lever, side by side: blocked
    attention at T = 2048, checkpointing a 64-layer MLP and an 8-block GPT."""
    from . import attention_memory, checkpoint_memory

    attention = attention_memory.measure()
    rows = [{"case": "attention fwd+bwd, T = 2048, d = 64, 4 heads, causal", "lever": "blocked",
             "plain_mib": attention["plain_peak_mib"], "lever_mib": attention["blocked_peak_mib"],
             "plain_s": attention["plain_s"], "lever_s": attention["blocked_s"],
             "targets": "≤ 0.15×, ≤ 1.3×",
             "command": "python -m benchmarks.attention_memory"}]  # fmt: skip
    for case, result, targets in (
        ("64-layer tanh MLP step (width 256, batch 2048), 8 segments",
         checkpoint_memory.measure(), "≤ 0.4×, ≤ 1.5×"),
        ("8-block GPT step (width 128, batch 32, context 64), a segment per block",
         checkpoint_memory.measure_gpt(), "reported"),
    ):  # fmt: skip
        rows.append({"case": case, "lever": "checkpointed", "plain_mib": result["plain_peak_mib"],
                     "lever_mib": result["checkpointed_peak_mib"], "plain_s": result["plain_s"],
                     "lever_s": result["checkpointed_s"], "targets": targets,
                     "command": "python -m benchmarks.checkpoint_memory"})  # fmt: skip
    return {**_stamp("python -m benchmarks.attention_memory; python -m "
                     "benchmarks.checkpoint_memory"), "rows": rows}  # fmt: skip


MEASURES = {"mixed_precision": measure_mixed_precision, "demo": measure_demo,
            "compress": measure_compress, "allocator": measure_allocator, "gpt": measure_gpt,
            "gpt_levers": measure_gpt_levers, "memory": measure_memory}  # fmt: skip
BENCHMARK_RUNS = {  # name: the benchmark command writing its results file
    "gpt-steps": ["gpt", "--repeats", "21", "--json", str(GPT_STEPS)],
    "benchmarks": ["--json", str(BENCHMARKS), "--plot", str(ROOT / "docs/img/benchmarks.png")],
}


def run(names: list[str] | None = None) -> None:
    names = names or [*MEASURES, *BENCHMARK_RUNS]
    unknown = set(names) - set(MEASURES) - set(BENCHMARK_RUNS)
    if unknown:
        raise SystemExit(f"published run: no measure {sorted(unknown)}; choose from "
                         f"{', '.join([*MEASURES, *BENCHMARK_RUNS])}")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name in MEASURES:
            (RESULTS / f"{name}.json").write_text(json.dumps(MEASURES[name](), indent=2) + "\n")
            print(f"wrote docs/results/{name}.json")
        else:
            command = [sys.executable, "-m", "benchmarks", *BENCHMARK_RUNS[name]]
            subprocess.run(command, check=True, cwd=ROOT)


# ---- rendering -------------------------------------------------------------------------------
def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _cases(results: dict) -> dict:
    return {r["case"]: r["median_ms"] for r in results["results"]}


def _span(values) -> str:
    low, high = min(values), max(values)
    return f"{low:.2f}×" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}–{high:.2f}×"


TABLE_ROWS = (  # README row name: (eager case, jit case)
    ("XOR (E1), 4 samples", "xor step (E1)"),
    ("sum rule (E4), batch 10", "sum-rule step (E4)"),
    ("logistic regression (E5), batch 10", "logistic regression step (E5)"),
    ("MLP 784-256-256-10, batch 32", "mlp step, batch 32"),
    ("MLP, batch 128", "mlp step, batch 128"),
    ("CNN, batch 128", "cnn step, batch 128"),
)
TINY = ("xor step (E1)", "sum-rule step (E4)", "logistic regression step (E5)")


def render_benchmarks() -> str:
    results = json.loads(BENCHMARKS.read_text())
    cases, env = _cases(results), results["environment"]
    lines = ["| step | ours eager | ours, `tl.jit` | hand NumPy | PyTorch eager |",
             "|---|---|---|---|---|"]  # fmt: skip
    for label, case in TABLE_ROWS:
        eager, jit = cases[case], cases[f"{case}, jit"]
        torch = f"{eager['torch']:.3g} ms" if "torch" in eager else "—"
        lines.append(f"| {label} | {eager['tinygrad_lite']:.3g} ms | {jit['tinygrad_lite']:.3g} ms "
                     f"| {eager['numpy']:.3g} ms | {torch} |")  # fmt: skip
    eager_torch = [cases[c]["tinygrad_lite"] / cases[c]["torch"] for c in TINY]
    jit_speedup = [cases[c]["tinygrad_lite"] / cases[f"{c}, jit"]["tinygrad_lite"] for c in TINY]
    jit_hand = [cases[f"{c}, jit"]["tinygrad_lite"] / cases[f"{c}, jit"]["numpy"] for c in TINY]
    raw = cases["xor step, raw ops as E1 teaches"]
    lines += [
        "",
        f"(Medians of one run, `python -m benchmarks` on {env['cpus']} cores, "
        f"{env.get('date', 'date not recorded')}: `benchmarks/results-cpu-2core.json`. Absolute "
        "times vary by 1.5× between runs on a busy machine, the ratios much less.) Where Python "
        f"dominates (the tiny steps) our eager step takes {_span(eager_torch)} PyTorch eager's "
        f"time, and `tl.jit` runs it {_span(jit_speedup)} faster again, at {_span(jit_hand)} "
        "the hand-written NumPy step. The XOR step written in raw ops as E1 teaches it (no "
        f"layers, `w -= 0.5 * w.grad`) takes {raw['tinygrad_lite'] / raw['torch']:.2f}× "
        "PyTorch's time: each op costs a Python call and a node where PyTorch's cost C++.",
    ]
    return "\n".join(lines)


COMPRESS_NAMES = {  # the demo's variant -> the README's wording
    "float32": "float32",
    "90% global magnitude pruning, dense": "90% global magnitude pruning, fine-tuned, dense",
    "90% global magnitude pruning, CSR": "the same in CSR",
    "90% global magnitude pruning, CSR where faster": "the same in CSR where faster",
    "50% channels pruned, shrunk": "50% of the channels pruned, fine-tuned, shrunk",
    "int8 dynamic quantization": "int8, dynamic quantization",
    "int8 static quantization": "int8, static quantization (10 calibration batches)",
    "int8 quantization-aware training": "int8, quantization-aware training",
}


def render_compress() -> str:
    data = _load("compress")
    base = data["rows"][0]
    lines = [f"`tinygrad-lite demo compress` trains E7 once and measures every way of shrinking it "
             f"(it took {data['seconds']:.0f} s on {data['cpus']} cores, {data['date']}; accuracy "
             "on the 360 test digits, so one image is 0.28 points; time per batch of 256):",
             "", "| variant | accuracy | nonzero weights | checkpoint | ms/batch |",
             "|---|---|---|---|---|"]  # fmt: skip
    for row in data["rows"]:
        name = COMPRESS_NAMES.get(row["variant"], row["variant"])
        size = f"{row['bytes'] / 1024:.3g} KiB"
        ms = f"{row['ms']:.3g}"
        if row["variant"] in COMPRESS_NAMES:
            size += f" ({row['bytes'] / base['bytes']:.2f}×)"
            ms += f" ({base['ms'] / row['ms']:.2f}×)"
        lines.append(f"| {name} | {_percent(row['accuracy'])} | {row['weights']:,} | {size} "
                     f"| {ms} |")  # fmt: skip
    return "\n".join(lines)


def render_mixed_precision() -> str:
    data = _load("mixed_precision")
    accuracy = data["accuracy"]
    return (f"Measured ({data['date']}, `{data['command']}`, default seed): E6 reaches "
            f"{_percent(accuracy['float16'])} in float16 and {_percent(accuracy['bfloat16'])} in "
            f"bfloat16 against {_percent(accuracy['float32'])} in float32. The 16-bit figures "
            f"can differ by a test digit or two on another CPU (float32 does not): NumPy picks "
            f"CPU-specific code for float16 functions, and a 16-bit run then rounds "
            f"differently.")  # fmt: skip


def render_demo() -> str:
    data = _load("demo")
    return (
        f"({_percent(data['accuracy'])} at its default seed, in {data['seconds']:.0f} s on "
        f"{data['cpus']} cores, {data['date']}; a busy machine takes up to 3× longer)."
    )


def render_csr() -> str:
    cases = _cases(json.loads(BENCHMARKS.read_text()))
    ratios = [(int(case.split()[2].rstrip("%")), times["tinygrad_lite"] / times["dense"])
              for case, times in cases.items() if case.startswith("CSR linear")]  # fmt: skip
    shown = ", ".join(f"{ratio:.2f}× at {zeros}%" for zeros, ratio in ratios)
    return (
        f"Sparse execution (CSR) pays only when the products it skips outweigh its index "
        f"loads: for a 256×784 layer at batch 256, CSR's time over the dense layer's is "
        f"{shown} zeros (`python -m benchmarks compress`, 2 cores)."
    )


def render_allocator() -> str:
    data = _load("allocator")
    default, tuned = data["default"], data["tuned"]
    return (
        f"every step: `{data['command'].split(',')[0]}` took {default['page_faults']:,} minor "
        f"page faults and {default['seconds']:.1f} s under glibc's defaults, against "
        f"{tuned['page_faults']:,} and {tuned['seconds']:.1f} s with the raised thresholds "
        f"({data['cpus']} cores, {data['date']})."
    )


def render_gpt() -> str:
    data = _load("gpt")
    sample = data["sample"].replace("\n", " ⏎ ")[:160]
    return (
        f"E9's full run ({data['steps']:,} steps, {data['cpus']} cores, {data['date']}) reaches a "
        f"validation loss of {data['validation_loss']:.3f} ({data['bits_per_character']:.2f} "
        f"bits per character) in {data['seconds']['ours']:.0f} s of training steps; the same "
        f"model in PyTorch, from the same initial weights on the same batches, reaches "
        f"{data['torch_validation_loss']:.3f} in {data['seconds']['torch']:.0f} s. A sample "
        f"(temperature 0.8, top-k 20): `{sample}`"
    )


GPT_ROWS = (  # README row name: case, and the target
    ("GPT step (E9: 4 layers, 128 wide, context 64, batch 12), eager", "gpt step (E9 shape)",
     "≤ 1.0×"),
    ("the same under `tl.jit`", "gpt step (E9 shape), jit", "≤ 0.8×"),
    ("LSTM step (hidden 128, 64 steps, batch 32)", "lstm step (hidden 128, 64 steps, batch 32)",
     "≤ 1.5×"),
)  # fmt: skip


def render_gpt_steps() -> str:
    from . import gpt

    results = json.loads(GPT_STEPS.read_text())
    cases, env = _cases(results), results["environment"]
    lines = ["| training step | ours | PyTorch eager | ours / PyTorch | target |",
             "|---|---|---|---|---|"]  # fmt: skip
    for label, case, target in GPT_ROWS:
        times = cases[case]
        lines.append(f"| {label} | {times['tinygrad_lite']:.3g} ms | {times['torch']:.3g} ms | "
                     f"{times['tinygrad_lite'] / times['torch']:.2f}× | {target} |")  # fmt: skip
    generation = cases[f"generate {gpt.GENERATED} tokens"]
    speedup = generation["no cache"] / generation["tinygrad_lite"]
    cached = generation["tinygrad_lite"] / 1e3
    lines += ["", f"Generating {gpt.GENERATED} tokens after a 4-token prompt (E9's shape, context "
              f"{gpt.GENERATED + 64}): {cached:.1f} s with the KV cache, "
              f"{generation['no cache'] / 1e3:.1f} s without, {speedup:.1f}× the tokens per second "
              f"(target ≥ 5×; medians of {min(env['repeats'], gpt.GENERATION_REPEATS)} "
              "interleaved repeats)."]  # fmt: skip
    lines += [
        "",
        f"(Medians of {env['repeats']} interleaved repeats, `python -m benchmarks gpt` "
        f"on {env['cpus']} cores, {env['date']}: `benchmarks/results-gpt-2core.json`; on "
        "this shared machine PyTorch's own step time varies by 2× between repeats.)",
    ]
    return "\n".join(lines)


def render_gpt_levers() -> str:
    data = _load("gpt_levers")
    base, float32_bytes = data["rows"][0]["validation_loss"], data["int8"]["float32_bytes"]

    def row(name, loss, seconds=None, size=""):
        time_taken = f"{seconds:.0f} s" if seconds is not None else ""
        change = round(loss - base, 4) + 0.0  # + 0.0: no "-0.0000"
        return f"| {name} | {loss:.4f} | {change:+.4f} | {time_taken} | {size} |"

    minutes = data["seconds"] / 60
    lines = [f"`{data['command']}` ({data['cpus']} cores, {data['date']}, {minutes:.0f} minutes): "
             f"E9 trained for {data['steps']} steps (the demo's length), every validation loss "
             "on the same 10 batches.", "",
             "| variant | validation loss | vs float32 | time | checkpoint |",
             "|---|---|---|---|---|"]  # fmt: skip
    for variant in data["rows"]:
        name = {"float16": "float16 + GradScaler"}.get(variant["variant"], variant["variant"])
        size = f"{float32_bytes / 1024:.0f} KiB" if name == "float32" else ""
        lines.append(row(name, variant["validation_loss"], variant["seconds"], size))
    for variant in data["int8"]["rows"]:
        size = f"{variant['bytes'] / 1024:.0f} KiB ({variant['bytes'] / float32_bytes:.2f}×)"
        lines.append(row(f"the float32 model, {variant['variant']} int8 (dynamic)",
                         variant["validation_loss"], size=size))  # fmt: skip
    pruning = data["pruning"]
    lines += ["", "Structured pruning of every block's MLP channels (smallest L2 norm), "
              f"{pruning['finetune_steps']} steps of fine-tuning with the mask, then `shrink`:",
              "", "| MLP channels pruned | channels left | parameters | checkpoint | "
              "loss pruned | loss fine-tuned and shrunk |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for point in pruning["curve"]:
        lines.append(f"| {point['fraction']:.0%} | {point['channels']} | "
                     f"{point['parameters']:,} | {point['bytes'] / 1024:.0f} KiB | "
                     f"{point['pruned_loss']:.4f} | {point['validation_loss']:.4f} |")  # fmt: skip
    distill = data["distillation"]
    gains = [s["alone"] - s["distilled"] for s in distill["students"]]
    lines += ["", f"Distillation: a 1-layer student ({data['steps']} steps) alone and distilled "
              f"from a 4-layer teacher trained {distill['teacher_steps']} steps (validation "
              f"loss {distill['teacher_loss']:.4f}), `distillation_loss` at "
              f"T = {distill['temperature']:g}, α = {distill['alpha']:g} (chosen among T = 1, 2 "
              "and α = 0.5, 0.9 on seed 0, where all four gained), the same seed and batches "
              "for both:", "", "| seed | alone | distilled | gain (nats per character) |",
              "|---|---|---|---|"]  # fmt: skip
    for student, gain in zip(distill["students"], gains):
        lines.append(f"| {student['seed']} | {student['alone']:.4f} | "
                     f"{student['distilled']:.4f} | {gain:+.4f} |")  # fmt: skip
    better = sum(gain > 0 for gain in gains)
    verdict = "every seed" if better == len(gains) else f"{better} of {len(gains)} seeds"
    mean = sum(gains) / len(gains)
    lines += ["", f"The distilled student is better for {verdict} (mean gain {mean:.4f})."]
    return "\n".join(lines)


def render_memory() -> str:
    data = _load("memory")
    lines = [f"Memory levers ({data['cpus']} cores, {data['date']}; peak traced memory of one "
             "step under tracemalloc, median time of 3 interleaved repeats):", "",
             "| step | plain | with the lever | memory | time | targets (memory, time) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for row in data["rows"]:
        lines.append(f"| {row['case']} (`{row['command']}`) | {row['plain_mib']:.0f} MiB, "
                     f"{row['plain_s']:.2f} s | {row['lever']}: {row['lever_mib']:.0f} MiB, "
                     f"{row['lever_s']:.2f} s | {row['lever_mib'] / row['plain_mib']:.2f}× | "
                     f"{row['lever_s'] / row['plain_s']:.2f}× | {row['targets']} |")  # fmt: skip
    return "\n".join(lines)


DERIVATION = ROOT / "docs" / "derivations" / "compression.md"
BLOCKS = {"benchmarks": (README, render_benchmarks), "compress": (README, render_compress),
          "mixed-precision": (README, render_mixed_precision), "demo": (README, render_demo),
          "csr": (DERIVATION, render_csr), "allocator": (README, render_allocator),
          "gpt": (README, render_gpt), "gpt-steps": (README, render_gpt_steps),
          "gpt-levers": (README, render_gpt_levers), "memory": (README, render_memory)}  # fmt: skip


def block_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {name} [^>]*-->)\n(.*?)\n?(<!-- end: {name} -->)", re.S)


def current_block(name: str) -> str:
    """A generated block as its page holds it now."""
    page, _ = BLOCKS[name]
    return block_pattern(name).search(page.read_text())[2]


def write() -> None:
    for name, (page, render) in BLOCKS.items():
        text, count = block_pattern(name).subn(lambda m, r=render: f"{m[1]}\n{r()}\n{m[3]}",
                                               page.read_text())  # fmt: skip
        if count != 1:
            raise SystemExit(f"{page.name}: expected one generated block '{name}', found {count}")
        page.write_text(text)
    print("README.md and docs/derivations/compression.md: generated blocks rewritten")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        run(sys.argv[2:])
    else:
        write()
