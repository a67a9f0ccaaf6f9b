"""Data: datasets, the DataLoader, readers (digits, MNIST IDX, image folders) and synthetic sets."""

from .datasets import (
    linear,
    load_digits,
    load_image_folder,
    load_mnist,
    read_idx,
    resize_images,
    sum_rule,
    two_blobs,
    xor,
)
from .loader import (
    DataLoader,
    Dataset,
    DistributedSampler,
    TensorDataset,
    split_loader,
    train_test_split,
)
from .sequence import SequenceLoader
