"""The 8x8 handwritten digits (UCI), shipped with labkit (see data/ATTRIBUTION.md)."""
import functools
import gzip
import os

import numpy as np

from ..tensor import _make
from .synthetic import LabDataset, _generator

__all__ = ["digits"]

_PATH = os.path.join(os.path.dirname(__file__), "data", "digits.csv.gz")


@functools.lru_cache(maxsize=1)
def _load_raw():
    with gzip.open(_PATH, "rt") as fh:
        raw = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if raw.shape != (1797, 65):
        raise RuntimeError(f"{_PATH} is damaged: expected 1797 rows of 65 numbers, got "
                           f"{raw.shape}; reinstall labkit")
    raw.setflags(write=False)
    return raw


def digits(split=0.8, seed=0, flatten=False):
    r"""The UCI optical handwritten digits: 1,797 grayscale 8x8 images of the digits 0-9.

    Data: Alpaydin & Kaynak (1998), UCI Machine Learning Repository, CC BY 4.0 (the copy
    distributed with scikit-learn); see ``labkit/datasets/data/ATTRIBUTION.md``.

    Args:
        split (float or None): fraction of the (shuffled) images in the training set; the rest
            form the test set. ``None`` returns all 1,797 images, in file order, as one dataset.
        seed (int or None): seed of the shuffle before splitting (default 0).
        flatten (bool): images as rows of 64 values (N, 64) instead of (N, 1, 8, 8).

    Returns:
        (train, test): two :class:`LabDataset` (or one when ``split`` is None) with
        ``X``: float32 (N, 1, 8, 8) (or (N, 64)), pixel values scaled to [0, 1] (raw 0..16 / 16);
        ``y``: int64 (N,) labels 0..9. With the default split: 1,437 train / 360 test images.

    Example:
        >>> train, test = labkit.datasets.digits()
        >>> train.X.shape, train.y[:5]
        (labkit.Size([1437, 1, 8, 8]), tensor([...]))
    """
    raw = _load_raw()
    X = raw[:, :64].astype(np.float32) / np.float32(16.0)
    y = raw[:, 64].copy()
    X = X.reshape(-1, 64) if flatten else X.reshape(-1, 1, 8, 8)

    def make(idx, name):
        return LabDataset(_make(np.ascontiguousarray(X[idx])), _make(y[idx]), name, 10)

    if split is None:
        return make(np.arange(len(y)), "digits")
    if not 0.0 < split < 1.0:
        raise ValueError(f"split is the training fraction, strictly between 0 and 1 (or None "
                         f"for the whole dataset); got {split}")
    perm = _generator(seed).permutation(len(y))
    n_train = int(split * len(y))
    return make(perm[:n_train], "digits (train)"), make(perm[n_train:], "digits (test)")
