"""Draw the pictures the docs use, from the code as it is: `python docs/make_pictures.py`.

- explorer.png: the backprop explorer (`tl.viz.explore`) of E1's XOR network, four steps into
  its backward pass, taken by headless Chromium (Debian's chromium, `pip install playwright`).
- e6_mlp.png, e7_cnn.png: E6's and E7's networks as diagrams, each layer with the shape it
  outputs, read off a forward pass of one batch (matplotlib).
- im2col.png: a 4×4 image's 2×2 windows and the columns `ops.unfold` makes of them.
- e1_graph.png: E1's recorded graph with every tensor's value and gradient, laid out as the
  explorer does (no Graphviz needed).
- e6_training.png, e7_training.png: E6's and E7's loss and accuracy per epoch (`History.plot`),
  from their default runs.
- e1_boundary.png, e3_decision_boundary.png: the decision boundaries of E1's XOR network and E3's
  classifier (`tl.plot.decision_boundary`).
- e9_training.png: E9's learning curve over the published 2,000 steps (several minutes).
- gpt_levers.png: E9's checkpoint size against loss under pruning and int8, from the committed
  results of `python -m benchmarks.published run gpt_levers`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "img"


def explorer_screenshot(path: Path = IMAGES / "explorer.png", steps: int = 4) -> Path:
    from playwright.sync_api import sync_playwright

    import tinygrad_lite as tl
    from tinygrad_lite.explorer import example_loss

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as folder:
        page_path = tl.viz.explore(example_loss("xor"), Path(folder) / "xor.html",
                                   title="XOR (E1): backprop, step by step")  # fmt: skip
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1900, "height": 600})
            page.goto(page_path.as_uri())
            for _ in range(steps):
                page.click("#step")
            page.screenshot(path=str(path))
            browser.close()
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _short(layer) -> str:
    """A layer's name with the numbers that matter: 'Conv2d 1→32, 3×3', 'Linear 576→64'."""
    kind = type(layer).__name__
    if kind == "Linear":
        return f"{kind}\n{layer.in_features}→{layer.out_features}"
    if kind == "Conv2d":
        height, width = layer.kernel_size
        return f"{kind}\n{layer.in_channels}→{layer.out_channels}, {height}×{width}"
    if kind.endswith("Pool2d"):
        size = layer.kernel_size
        return f"{kind}\n{size if isinstance(size, int) else '×'.join(map(str, size))}"
    return kind


def _save(figure, path: Path) -> Path:
    """Write a figure as the docs' PNG (120 dpi, trimmed) and free it."""
    figure.savefig(path, dpi=120, bbox_inches="tight")
    _pyplot().close(figure)
    return path


def _layers_with_shapes(model, x) -> list[tuple[str, tuple]]:
    """(a layer's name and arguments, the shape it outputs) for each leaf of a Sequential."""
    import tinygrad_lite as tl

    rows = [("input", tuple(x.shape))]
    with tl.no_grad():
        for layer in model:
            x = layer(x)
            rows.append((_short(layer), tuple(x.shape)))
    return rows


def network_diagram(model, x, title: str, path: Path) -> Path:
    """The layers left to right as boxes, each with its output shape (batch first)."""
    plt = _pyplot()
    rows = _layers_with_shapes(model, x)
    figure, axes = plt.subplots(figsize=(1.6 * len(rows), 2.4))
    for i, (name, shape) in enumerate(rows):
        kind = name.split("\n")[0]
        color = {"input": "#dee2e6", "Linear": "#a5d8ff", "Conv2d": "#b2f2bb"}.get(kind, "#fff3bf")
        axes.add_patch(plt.Rectangle((i * 1.6, 0), 1.3, 1, facecolor=color, edgecolor="#495057"))
        axes.text(i * 1.6 + 0.65, 0.62, name, ha="center", va="center", fontsize=8)
        axes.text(i * 1.6 + 0.65, 0.18, str(shape), ha="center", fontsize=7, color="#1864ab")
        if i:
            axes.annotate("", (i * 1.6, 0.5), (i * 1.6 - 0.3, 0.5),
                          arrowprops={"arrowstyle": "->"})  # fmt: skip
    axes.set_xlim(-0.1, 1.6 * len(rows))
    axes.set_ylim(-0.1, 1.3)
    axes.set_title(title, fontsize=10)
    axes.axis("off")
    return _save(figure, path)


def diagrams() -> list[Path]:
    import numpy as np

    import tinygrad_lite as tl
    from tinygrad_lite.examples import e6_digits_mlp, e7_digits_cnn

    tl.manual_seed(0)
    batch = tl.tensor(np.zeros((32, 1, 28, 28), np.float32))
    return [
        network_diagram(e6_digits_mlp.make_model(), batch, "E6: the digits MLP (batch 32)",
                        IMAGES / "e6_mlp.png"),
        network_diagram(e7_digits_cnn.make_model(), batch, "E7: the digits CNN (batch 32)",
                        IMAGES / "e7_cnn.png"),
    ]  # fmt: skip


def im2col_picture(path: Path = IMAGES / "im2col.png") -> Path:
    """Each 2×2 window of a 4×4 image (stride 1: 9 windows) becomes one column of 4 values."""
    import numpy as np

    import tinygrad_lite as tl

    plt = _pyplot()
    image = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    windows = tl.ops.unfold(tl.tensor(image), 2).numpy()  # (1, 3, 3, 1, 2, 2)
    columns = windows.reshape(9, 4).T  # one column per window position
    colors = plt.cm.tab10(np.arange(9))
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4),
                                         gridspec_kw={"width_ratios": [1, 2.2]})  # fmt: skip
    for r in range(4):
        for c in range(4):
            left.add_patch(plt.Rectangle((c, 3 - r), 1, 1, fill=False, edgecolor="#495057"))
            left.text(c + 0.5, 3.5 - r, f"{image[0, 0, r, c]:.0f}", ha="center", va="center")
    for k, (r, c) in enumerate([(0, 0), (1, 1), (2, 2)]):  # three of the nine windows
        corner, side = (c + 0.06 * k, 2 - r + 0.06 * k), 2 - 0.12 * k
        left.add_patch(plt.Rectangle(corner, side, side, fill=False, edgecolor=colors[4 * k],
                                     linewidth=2.5))  # fmt: skip
    for j in range(9):
        for i in range(4):
            right.add_patch(plt.Rectangle((j, 3 - i), 1, 1, facecolor=(*colors[j][:3], 0.25),
                                          edgecolor="#495057"))  # fmt: skip
            right.text(j + 0.5, 3.5 - i, f"{columns[i, j]:.0f}", ha="center", va="center")
        right.text(j + 0.5, 4.2, f"{j}", ha="center", fontsize=8)
    left.set_title("a 4×4 image, three of its\nnine 2×2 windows", fontsize=10)
    right.set_title("im2col: one column per window; a convolution is then\n"
                    "one matrix product, weights @ columns", fontsize=10)  # fmt: skip
    for axes, width in ((left, 4), (right, 9)):
        axes.set_xlim(-0.1, width + 0.1)
        axes.set_ylim(-0.1, 4.6)
        axes.set_aspect("equal")
        axes.axis("off")
    return _save(figure, path)


def graph_picture(path: Path = IMAGES / "e1_graph.png") -> Path:
    """E1's graph, each tensor with its value and gradient, in the explorer's columns."""
    import tinygrad_lite as tl
    from tinygrad_lite.explorer import _Recorder, example_loss

    plt = _pyplot()
    loss = example_loss("xor")
    recorder = _Recorder(loss)
    tensors, ops = list(recorder.tensors.items()), list(recorder.ops.values())
    objects = {
        info["id"]: obj
        for obj, info in (
            (t, recorder.tensors[id(t)]) for t in recorder.keep if isinstance(t, tl.Tensor)
        )
    }
    loss.backward()
    columns: dict[int, list[str]] = {}  # the explorer's layout (explorer._Recorder._lay_out)
    for node in (*(info for _, info in tensors), *ops):
        columns.setdefault(node["column"], []).append(node["id"])
    where = {node: (column * 3.0, -row * 2.0) for column, nodes in columns.items()
             for row, node in enumerate(nodes)}  # fmt: skip
    figure, axes = plt.subplots(figsize=(2.2 * len(columns), 1.3 * max(map(len, columns.values()))))
    for op in ops:
        for source in op["inputs"]:
            (x1, y1), (x2, y2) = where[source], where[op["id"]]
            axes.annotate("", (x2 - 0.6, y2), (x1 + 1.2, y1), arrowprops={"arrowstyle": "->",
                          "color": "#adb5bd"})  # fmt: skip
        (x1, y1), (x2, y2) = where[op["id"]], where[op["output"]]
        axes.annotate("", (x2 - 1.2, y2), (x1 + 0.6, y1), arrowprops={"arrowstyle": "->",
                      "color": "#adb5bd"})  # fmt: skip
        axes.text(x1, y1, op["op"], ha="center", va="center", color="white", fontsize=8,
                  bbox={"boxstyle": "round", "facecolor": "#343a40"})  # fmt: skip
    for _, info in tensors:
        t = objects[info["id"]]
        grad = t.grad if t.creator is None else None
        value = tl.tracing.describe(t, 4).replace("\n", " ")
        lines = [info["label"], *textwrap.wrap(f"value {value}", 34)]
        if grad is not None:
            lines += textwrap.wrap(f"grad {tl.tracing.describe(grad, 4)}".replace("\n", " "), 34)
        x, y = where[info["id"]]
        color = "#e3f0ff" if info["parameter"] else "white"
        frame = {"boxstyle": "round", "facecolor": color, "edgecolor": "#868e96"}
        axes.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=7, bbox=frame)
    axes.set_xlim(-1.6, 3.0 * max(columns) + 1.6)
    axes.set_ylim(-2.0 * max(map(len, columns.values())), 1)
    axes.set_title("E1 (XOR): the recorded graph, with values and, on the leaves, gradients")
    axes.axis("off")
    return _save(figure, path)


def training_curves() -> list[Path]:
    """E6's and E7's loss and accuracy per epoch, from their default runs."""
    from tinygrad_lite.examples import e6_digits_mlp, e7_digits_cnn

    quiet = {"progress": False, "log": lambda *_: None}
    return [e6_digits_mlp.run(**quiet)["history"].plot(IMAGES / "e6_training.png"),
            e7_digits_cnn.run(**quiet)["history"].plot(IMAGES / "e7_training.png")]  # fmt: skip


def gpt_learning_curve(path: Path = IMAGES / "e9_training.png", steps: int = 2000) -> Path:
    """E9's training loss (mean per 50 steps) and validation loss every 100 steps, over the
    published run's 2,000 steps (several minutes on 2 cores)."""
    import numpy as np

    from tinygrad_lite.examples import e9_gpt

    curve = e9_gpt.run(steps=steps, eval_every=100, progress=False, log=lambda *_: None)["curve"]
    train = np.asarray(curve["train_loss"])
    window = 50
    means = train[: len(train) // window * window].reshape(-1, window).mean(axis=1)
    figure, axes = _pyplot().subplots(figsize=(6, 3.5))
    axes.plot(window * (np.arange(len(means)) + 0.5), means, label="training (mean of 50 steps)")
    axes.plot(curve["step"], curve["validation_loss"], marker="o", label="validation")
    axes.set(xlabel="step", ylabel="cross-entropy (nats per character)",
             title="E9: a character-level GPT learning Python's docs")  # fmt: skip
    axes.legend()
    return _save(figure, path)


def gpt_size_and_loss(path: Path = IMAGES / "gpt_levers.png") -> Path:
    """E9's checkpoint size against validation loss for each lever, from the committed
    docs/results/gpt_levers.json (`python -m benchmarks.published run gpt_levers`)."""
    import json

    data = json.loads((IMAGES.parent / "results" / "gpt_levers.json").read_text())
    curve = data["pruning"]["curve"]
    kib = [point["bytes"] / 1024 for point in curve]
    figure, axes = _pyplot().subplots(figsize=(6.5, 4))
    axes.plot(kib, [p["pruned_loss"] for p in curve], marker="x", linestyle=":",
              label="MLP channels pruned (25/50/75%), before fine-tuning")  # fmt: skip
    tuned = f"pruned, fine-tuned {data['pruning']['finetune_steps']} steps, shrunk"
    axes.plot(kib, [p["validation_loss"] for p in curve], marker="o", label=tuned)
    for row, marker in zip(data["int8"]["rows"], ("s", "D")):
        axes.scatter(row["bytes"] / 1024, row["validation_loss"], marker=marker, zorder=3,
                     label=f"int8 dynamic, {row['variant']}")  # fmt: skip
    axes.set(xlabel="checkpoint (KiB)", ylabel="validation loss (nats per character)",
             title=f"E9 after {data['steps']} steps: size against loss")  # fmt: skip
    axes.legend(fontsize=8, loc="center right")
    return _save(figure, path)


def decision_boundaries() -> list[Path]:
    """E1's XOR network and E3's two-blob classifier, trained at their defaults: P(class 1)
    over the plane, the 0.5 contour and the points."""
    import numpy as np

    import tinygrad_lite as tl
    from tinygrad_lite.examples import e1_xor, e3_binary_classification

    quiet = {"progress": False, "log": lambda *_: None}
    xor = e1_xor.run(**quiet)["model"]
    points, labels = (np.asarray(a) for a in tl.data.xor())
    predict = lambda x: xor(tl.tensor(x.astype(np.float32))).numpy()[:, 0]
    made = [tl.plot.decision_boundary(predict, points, labels[:, 0], IMAGES / "e1_boundary.png",
                                      "E1: the XOR network's decision boundary")]  # fmt: skip
    result = e3_binary_classification.run(**quiet)
    x, y = (np.asarray(a) for a in result["test_data"])
    logits = lambda grid: result["model"](tl.tensor(grid.astype(np.float32))).numpy()[:, 0]
    path = IMAGES / "e3_decision_boundary.png"
    title = "E3: two blobs, test points"
    made.append(tl.plot.decision_boundary(logits, x, y.reshape(-1), path, title, from_logits=True))
    return made


if __name__ == "__main__":
    for made in (*diagrams(), im2col_picture(), graph_picture(), *training_curves(),
                 *decision_boundaries(), explorer_screenshot(), gpt_size_and_loss(),
                 gpt_learning_curve()):  # fmt: skip
        print(made)
