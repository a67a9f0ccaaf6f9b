import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim, train

from ..memory import assert_steady_memory


def _blobs_loaders(seed=0):
    x, y = data.two_blobs(300, seed=seed)
    x_train, x_val, y_train, y_val = data.train_test_split(x, y, test_size=0.2, seed=seed)
    return (
        data.DataLoader(data.TensorDataset(x_train, y_train), 32, shuffle=True, seed=seed),
        data.DataLoader(data.TensorDataset(x_val, y_val), 64),
    )


def test_fit_keeps_history_and_evaluate_agrees():
    tl.manual_seed(0)
    train_loader, val_loader = _blobs_loaders()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    loss_fn = nn.functional.binary_cross_entropy_with_logits
    accuracy = lambda out, y: train.binary_accuracy(out, y, from_logits=True)
    lines = []
    history = train.fit(
        model,
        train_loader,
        optim.Adam(model.parameters(), lr=0.01),
        loss_fn,
        5,
        metric=accuracy,
        validation=val_loader,
        progress=False,
        log=lines.append,
    )
    assert len(history.records) == 5 and len(lines) == 5
    assert history["loss"][-1] < history["loss"][0]
    final = train.evaluate(model, val_loader, loss_fn, accuracy)
    assert final["loss"] == pytest.approx(history["val_loss"][-1])
    assert model.training  # evaluate restores the mode


def test_fit_early_stopping_restores_the_best_weights():
    tl.manual_seed(0)
    train_loader, val_loader = _blobs_loaders()
    model = nn.Linear(2, 1)
    loss_fn = nn.functional.binary_cross_entropy_with_logits
    lines = []
    # a learning rate this large makes validation loss bounce, so patience triggers
    history = train.fit(
        model,
        train_loader,
        optim.SGD(model.parameters(), lr=50.0),
        loss_fn,
        30,
        validation=val_loader,
        patience=2,
        progress=False,
        log=lines.append,
    )
    assert len(history.records) < 30 and "early stop" in lines[-1]
    best = min(history["val_loss"])
    assert train.evaluate(model, val_loader, loss_fn)["loss"] == pytest.approx(best, rel=1e-5)
    with pytest.raises(ValueError, match="needs a validation loader"):
        train.fit(model, train_loader, optim.SGD(model.parameters()), loss_fn, 1, patience=1)


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    history = train.History(
        [
            {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.2},
            {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.9},
        ]
    )
    path = history.plot(tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_multiclass_accuracy_with_labels_and_one_hot():
    logits = tl.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert train.multiclass_accuracy(logits, tl.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert train.multiclass_accuracy(logits, tl.tensor(np.eye(2)[[0, 1, 1]])) == pytest.approx(
        2 / 3
    )


def test_10000_steps_of_an_nn_model_with_adam_hold_steady_memory():
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 3))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    x, labels = tl.randn(32, 8), np.random.default_rng(0).integers(0, 3, 32)

    def step():
        loss = nn.functional.cross_entropy(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    assert_steady_memory(step)


def test_fit_with_a_validation_split():
    tl.manual_seed(0)
    x, y = data.two_blobs(100)
    loader = data.DataLoader(data.TensorDataset(x, y), 10, shuffle=True)
    model = nn.Linear(2, 1)
    history = train.fit(model, loader, optim.SGD(model.parameters(), lr=0.1),
                        nn.functional.binary_cross_entropy_with_logits, 2, validation_split=0.2,
                        progress=False, log=None)  # fmt: skip
    assert len(history["val_loss"]) == 2
    train_part, held_out = data.split_loader(loader, 0.2)
    assert len(train_part.dataset) == 80 and len(held_out.dataset) == 20


def test_binary_accuracy_says_whether_it_reads_logits_or_probabilities():
    logits = tl.tensor(np.array([[-2.0], [0.3], [1.5], [-0.1]]))
    targets = tl.tensor(np.array([[0.0], [1.0], [1.0], [1.0]]))
    assert train.binary_accuracy(logits, targets, from_logits=True) == 0.75
    assert train.binary_accuracy(logits.sigmoid(), targets) == 0.75
    with pytest.raises(ValueError, match="logits, not probabilities; pass from_logits=True"):
        train.binary_accuracy(logits, targets)  # thresholding logits at 0.5 counts 0.3 wrong
    assert train.binary_accuracy(logits, targets, threshold=1.0) == 0.5


def test_decision_boundary_takes_logits_or_refuses_them(tmp_path):
    pytest.importorskip("matplotlib")
    x = np.random.default_rng(0).standard_normal((20, 2))
    y = (x.sum(axis=1) > 0).astype(int)
    logit = lambda p: 3 * (p[:, 0] + p[:, 1])  # noqa: E731
    assert tl.plot.decision_boundary(logit, x, y, tmp_path / "b.png", from_logits=True).exists()
    with pytest.raises(ValueError, match="pass from_logits=True"):
        tl.plot.decision_boundary(logit, x, y, tmp_path / "c.png")
