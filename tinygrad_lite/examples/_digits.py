"""The bundled digits, upscaled to 28×28 and split 80/20, for the MNIST examples E6 and E7."""

from tinygrad_lite import data


def digit_loaders(batch_size: int, seed: int = 0):
    images, labels = data.load_digits(size=28)
    x_train, x_test, y_train, y_test = data.train_test_split(
        images, labels, test_size=0.2, seed=seed
    )
    train = data.DataLoader(
        data.TensorDataset(x_train, y_train), batch_size, shuffle=True, seed=seed
    )
    test = data.DataLoader(data.TensorDataset(x_test, y_test), 256)
    return train, test
