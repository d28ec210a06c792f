"""Synthetic datasets: 2-D classification toys and a 1-D regression curve."""
import math

import numpy as np

from ..random import _rng
from ..tensor import _make
from ..utils.data import TensorDataset

__all__ = ["LabDataset", "moons", "circles", "spirals", "blobs", "xor", "checkerboard", "sine"]


class LabDataset(TensorDataset):
    r"""A :class:`~labkit.utils.data.TensorDataset` of inputs and targets with names for them.

    Attributes:
        X (Tensor): the inputs, ``tensors[0]`` (e.g. shape (N, 2) float32).
        y (Tensor): the targets, ``tensors[1]`` (class indices int64 (N,), or float32 values).
        tensors (tuple): ``(X, y)``.
        name (str): what it is (shown by ``repr``).
        num_classes (int or None): the number of classes (None for regression).

    ``x, y = ds[i]`` gives one sample; ``len(ds)`` the count.
    """

    def __init__(self, X, y, name="dataset", num_classes=None):
        super().__init__(X, y)
        self.name = name
        self.num_classes = num_classes

    @property
    def X(self):
        return self.tensors[0]

    @property
    def y(self):
        return self.tensors[1]

    def __repr__(self):
        extra = f", num_classes={self.num_classes}" if self.num_classes else ""
        return (f"{self.name}: {len(self)} samples, X {list(self.X.shape)} {self.X.dtype}, "
                f"y {list(self.y.shape)} {self.y.dtype}{extra}")


def _generator(seed):
    """NumPy generator for ``seed`` (an int), or drawn from labkit's global generator (None)."""
    if seed is None:
        seed = int(_rng(None).integers(0, 2 ** 63 - 1))
    return np.random.default_rng(seed)


def _classification(X, y, rng, name, num_classes, shuffle=True):
    if shuffle:
        perm = rng.permutation(len(X))
        X, y = X[perm], y[perm]
    return LabDataset(_make(np.ascontiguousarray(X, dtype=np.float32)),
                      _make(np.ascontiguousarray(y, dtype=np.int64)), name, num_classes)


def _check_n(n_samples, minimum=1):
    if not isinstance(n_samples, int) or n_samples < minimum:
        raise ValueError(f"n_samples must be an integer >= {minimum}, got {n_samples!r}")


def moons(n_samples=200, noise=0.1, seed=0):
    r"""Two interleaving half circles (the classic non-linearly-separable toy).

    Args:
        n_samples (int): total number of points (split evenly between the two moons).
        noise (float): standard deviation of Gaussian noise added to each coordinate.
        seed (int or None): random seed (default 0).

    Returns:
        LabDataset: ``X`` (n_samples, 2) float32 in about [-1, 2] x [-0.5, 1];
        ``y`` (n_samples,) int64 in {0, 1}.
    """
    _check_n(n_samples, 2)
    rng = _generator(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, math.pi, n_out)
    t_in = np.linspace(0, math.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    X = X + rng.normal(0, noise, X.shape) if noise else X
    return _classification(X, y, rng, "moons", 2)


def circles(n_samples=200, noise=0.05, factor=0.5, seed=0):
    r"""A small circle inside a large one.

    Args:
        n_samples (int): total number of points.
        noise (float): standard deviation of the Gaussian noise.
        factor (float): radius of the inner circle relative to the outer one (0 < factor < 1).
        seed (int or None): random seed (default 0).

    Returns:
        LabDataset: ``X`` (n_samples, 2) float32 in about [-1, 1]^2; ``y`` (n_samples,) int64:
        0 = outer circle, 1 = inner circle.
    """
    _check_n(n_samples, 2)
    if not 0 < factor < 1:
        raise ValueError(f"factor has to be between 0 and 1, got {factor}")
    rng = _generator(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, 2 * math.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * math.pi, n_in, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    X = X + rng.normal(0, noise, X.shape) if noise else X
    return _classification(X, y, rng, "circles", 2)


def spirals(n_samples=300, n_classes=3, noise=0.2, turns=1.0, seed=0):
    r"""Interleaved spiral arms, one per class (as in Stanford's CS231n notes).

    Args:
        n_samples (int): total number of points (split evenly across classes).
        n_classes (int): number of arms / classes.
        noise (float): standard deviation of the noise on the angle (radians).
        turns (float): how far each arm winds (1.0 = about 2/3 of a turn, as in CS231n).
        seed (int or None): random seed (default 0).

    Returns:
        LabDataset: ``X`` (n_samples, 2) float32 in about [-1, 1]^2; ``y`` (n_samples,) int64 in
        [0, n_classes).
    """
    _check_n(n_samples, n_classes)
    rng = _generator(seed)
    X, y = [], []
    for k in range(n_classes):
        n = n_samples // n_classes + (1 if k < n_samples % n_classes else 0)
        r = np.linspace(0.0, 1.0, n)
        t = (np.linspace(k * 4.0, (k + 1) * 4.0, n) * turns + rng.normal(0, noise, n))
        X.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        y.append(np.full(n, k))
    return _classification(np.concatenate(X), np.concatenate(y), rng, "spirals", n_classes)


def blobs(n_samples=300, centers=3, n_features=2, cluster_std=1.0, center_box=(-10.0, 10.0),
          seed=0):
    r"""Gaussian blobs around random (or given) centers.

    Args:
        n_samples (int): total number of points (split evenly across blobs).
        centers (int or array-like): number of blobs, or their coordinates (k, n_features).
        n_features (int): dimension of the points (ignored when centers are given).
        cluster_std (float): standard deviation of each blob.
        center_box (tuple): range of the random centers.
        seed (int or None): random seed (default 0).

    Returns:
        LabDataset: ``X`` (n_samples, n_features) float32; ``y`` (n_samples,) int64, the blob.
        The centers are in ``ds.centers`` (float32 array (k, n_features)).
    """
    rng = _generator(seed)
    if isinstance(centers, int):
        C = rng.uniform(center_box[0], center_box[1], (centers, n_features))
    else:
        C = np.asarray(centers, dtype=np.float64)
    k = len(C)
    _check_n(n_samples, k)
    counts = [n_samples // k + (1 if i < n_samples % k else 0) for i in range(k)]
    X = np.concatenate([C[i] + rng.normal(0, cluster_std, (c, C.shape[1]))
                        for i, c in enumerate(counts)])
    y = np.concatenate([np.full(c, i) for i, c in enumerate(counts)])
    ds = _classification(X, y, rng, "blobs", k)
    ds.centers = C.astype(np.float32)
    return ds


def xor(n_samples=200, noise=0.1, seed=0):
    r"""The XOR problem: label 1 where exactly one coordinate is positive.

    Points are drawn uniformly in [-1, 1]^2; the label is computed before the noise is added,
    so noisy points near the axes may cross over.

    Returns:
        LabDataset: ``X`` (n_samples, 2) float32; ``y`` (n_samples,) int64 in {0, 1}.
    """
    _check_n(n_samples)
    rng = _generator(seed)
    X = rng.uniform(-1, 1, (n_samples, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    X = X + rng.normal(0, noise, X.shape) if noise else X
    return _classification(X, y, rng, "xor", 2, shuffle=False)


def checkerboard(n_samples=400, tiles=4, noise=0.0, seed=0):
    r"""Points in [0, 1]^2 labelled by the color of a ``tiles`` x ``tiles`` checkerboard.

    Returns:
        LabDataset: ``X`` (n_samples, 2) float32 in [0, 1]^2 (plus noise);
        ``y`` (n_samples,) int64 in {0, 1}.
    """
    _check_n(n_samples)
    if tiles < 1:
        raise ValueError(f"tiles must be >= 1, got {tiles}")
    rng = _generator(seed)
    X = rng.uniform(0, 1, (n_samples, 2))
    cells = np.minimum(np.floor(X * tiles), tiles - 1).astype(np.int64)
    y = (cells[:, 0] + cells[:, 1]) % 2
    X = X + rng.normal(0, noise, X.shape) if noise else X
    return _classification(X, y, rng, "checkerboard", 2, shuffle=False)


def sine(n_samples=200, noise=0.1, x_range=(-math.pi, math.pi), freq=1.0, seed=0):
    r"""1-D regression: ``y = sin(freq * x) + noise``, x uniform in ``x_range``.

    Returns:
        LabDataset: ``X`` (n_samples, 1) float32 sorted by x; ``y`` (n_samples, 1) float32.
    """
    _check_n(n_samples)
    rng = _generator(seed)
    x = np.sort(rng.uniform(x_range[0], x_range[1], n_samples))
    y = np.sin(freq * x) + (rng.normal(0, noise, n_samples) if noise else 0.0)
    return LabDataset(_make(x.reshape(-1, 1).astype(np.float32)),
                      _make(y.reshape(-1, 1).astype(np.float32)), "sine", None)
