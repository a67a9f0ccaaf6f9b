import gzip

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import data


def test_dataloader_batches_cover_the_data_once_per_epoch():
    x, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=4, shuffle=True, seed=1)
    assert len(loader) == 3
    first = [b[1].numpy() for b in loader]
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(np.concatenate(first).tolist()) == list(range(10))
    second = np.concatenate([b[1].numpy() for b in loader])
    assert not np.array_equal(np.concatenate(first), second)  # reshuffled each epoch
    for xb, yb in loader:
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy())  # rows stay paired


def test_dataloader_drop_last_and_no_shuffle():
    loader = data.DataLoader(data.TensorDataset(np.arange(10)), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[0].numpy().tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_dataloader_is_reproducible_under_manual_seed():
    def order():
        tl.manual_seed(5)
        loader = data.DataLoader(data.TensorDataset(np.arange(20)), batch_size=20, shuffle=True)
        return next(iter(loader))[0].numpy()

    np.testing.assert_array_equal(order(), order())


def test_dataloader_over_a_custom_dataset_stacks_samples():
    class Squares(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(2, i, dtype=np.float32), i * i

    (xb, yb), *_ = data.DataLoader(Squares(), batch_size=3)
    assert xb.shape == (3, 2) and yb.numpy().tolist() == [0, 1, 4]


def test_tensor_dataset_and_split_errors():
    with pytest.raises(ValueError, match=r"different lengths \[2, 3\]"):
        data.TensorDataset(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        data.DataLoader(data.TensorDataset(np.zeros(2)), batch_size=0)
    with pytest.raises(ValueError, match="leaves no train or no test data"):
        data.train_test_split(np.zeros(3), test_size=0.0)


def test_train_test_split_keeps_rows_paired():
    x, y = np.arange(100).reshape(50, 2), np.arange(50)
    x_train, x_test, y_train, y_test = data.train_test_split(x, y, test_size=0.2, seed=0)
    assert len(x_test) == 10 and len(x_train) == 40
    np.testing.assert_array_equal(x_train[:, 0] // 2, y_train)
    assert set(y_train) | set(y_test) == set(range(50))


def test_resize_keeps_constants_and_identity():
    image = np.full((1, 1, 8, 8), 0.25, dtype=np.float32)
    np.testing.assert_allclose(data.resize_images(image, 28), 0.25, rtol=1e-6)
    random = np.random.default_rng(0).random((2, 8, 8))
    np.testing.assert_allclose(data.resize_images(random, 8), random, rtol=1e-12)


def _write_idx(path, array, type_code=0x08, compress=False, extra=b""):
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    raw = header + array.astype(">u1" if type_code == 0x08 else ">f4").tobytes() + extra
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 5).astype(np.uint8)
    suffix = ".gz" if compress else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, compress=compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, compress=compress)
    x, y = data.load_mnist(tmp_path, split="test")
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0] * 255, images, atol=1e-4)
    np.testing.assert_array_equal(y, labels)


def test_read_idx_float_values(tmp_path):
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    _write_idx(tmp_path / "f.idx", values, type_code=0x0D)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "f.idx"), values)


def test_read_idx_errors_say_what_is_wrong(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="bad magic number"):
        data.read_idx(bad)
    bad.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="unknown type code 0x07"):
        data.read_idx(bad)
    _write_idx(bad, np.zeros((2, 2), dtype=np.uint8), extra=b"\x00")
    with pytest.raises(ValueError, match=r"5 bytes of data, but its header \(2, 2\) needs 4"):
        data.read_idx(bad)
    with pytest.raises(FileNotFoundError, match="neither train-images-idx3-ubyte nor"):
        data.load_mnist(tmp_path)


def test_load_image_folder(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    for name, colour in [("cat", (255, 0, 0)), ("dog", (0, 0, 255))]:
        (tmp_path / name).mkdir()
        for i in range(2):
            image_module.new("RGB", (10, 12), colour).save(tmp_path / name / f"{i}.png")
    x, y, classes = data.load_image_folder(tmp_path, size=16, mean=(0, 0, 0), std=(1, 1, 1))
    assert x.shape == (4, 3, 16, 16) and classes == ["cat", "dog"] and y.tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(x[0, :, 0, 0], [1, 0, 0])
    with pytest.raises(ValueError, match="no class subfolders"):
        data.load_image_folder(tmp_path / "cat")


def test_load_digits():
    pytest.importorskip("sklearn")
    x, y = data.load_digits()
    assert x.shape == (1797, 1, 8, 8) and 0 <= x.min() and x.max() == 1 and set(y) == set(range(10))
    assert data.load_digits(28)[0].shape == (1797, 1, 28, 28)


def test_synthetic_sets():
    x, y = data.xor()
    assert y.ravel().tolist() == [0, 1, 1, 0]
    x, y, (w, b) = data.linear(50, features=3, noise=0.0)
    np.testing.assert_allclose(y[:, 0], x @ w + b, rtol=1e-5)
    x, y = data.sum_rule(100)
    np.testing.assert_array_equal(y[:, 0], x.sum(axis=1) >= 0.5)
    x, y = data.two_blobs(200)
    assert x.shape == (200, 2) and set(y.ravel()) == {0.0, 1.0}


def test_load_mnist_refuses_an_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'validation'"):
        data.load_mnist(tmp_path, split="validation")


def test_a_truncated_mnist_gz_names_the_file(tmp_path):
    import gzip

    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 100)[:-12])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz is a damaged or truncated"):
        data.read_idx(path)


def test_image_folder_refuses_empty_classes_and_names_broken_images(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "cat" / "a.png")
    with pytest.raises(ValueError, match="dog holds no images"):
        data.load_image_folder(tmp_path, size=4)
    (tmp_path / "dog" / "b.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read image .*b.png"):
        data.load_image_folder(tmp_path, size=4)


def test_sequence_loader_yields_consecutive_chunks_per_stream():
    loader = tl.data.SequenceLoader(np.arange(21), chunk=3, batch_size=2)
    chunks = list(loader)
    assert len(chunks) == len(loader) == 3  # streams of (21 - 1) // 2 = 10 steps
    xs = np.concatenate([x.numpy() for x, _ in chunks])  # (time, stream)
    np.testing.assert_array_equal(xs[:, 0], np.arange(9))
    np.testing.assert_array_equal(xs[:, 1], np.arange(10, 19))
    for x, t in chunks:
        np.testing.assert_array_equal(t.numpy(), x.numpy() + 1)  # the next step
    with pytest.raises(ValueError, match="shorter than a chunk"):
        tl.data.SequenceLoader(np.arange(5), chunk=4, batch_size=2)
