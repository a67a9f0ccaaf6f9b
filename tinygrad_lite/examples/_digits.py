"""The bundled digits, upscaled to 28×28 and split 80/20, for the MNIST examples E6 and E7.

Pixels are standardized with the training split's mean and standard deviation, as MNIST
pipelines do ((x - 0.1307) / 0.3081): centred inputs let Adam converge in far fewer steps.
"""

from tinygrad_lite import data


def digit_loaders(batch_size: int, seed: int = 0):
    images, labels = data.load_digits(size=28)
    x_train, x_test, y_train, y_test = data.train_test_split(images, labels, seed=seed)
    mean, std = x_train.mean(), x_train.std()
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    train_set, test_set = data.TensorDataset(x_train, y_train), data.TensorDataset(x_test, y_test)
    train = data.DataLoader(train_set, batch_size, shuffle=True, seed=seed)
    test = data.DataLoader(test_set, 256)
    return train, test
