"""Dataset classes: map-style (``Dataset``) and iterable (``IterableDataset``), and combinators."""
import bisect
import math
import warnings

import numpy as np

from ...random import _rng, default_generator
from ...tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split"]


class Dataset:
    r"""A map-style dataset: ``dataset[i]`` returns sample ``i``; ``len(dataset)`` its size.

    Subclasses implement ``__getitem__`` (and usually ``__len__``, which the default samplers
    need). ``dataset_a + dataset_b`` concatenates (a :class:`ConcatDataset`).
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    r"""A dataset that is a stream: subclasses implement ``__iter__`` (no indexing).

    Useful for data generated on the fly or read sequentially. A DataLoader over it batches the
    stream in order (``shuffle`` and ``sampler`` are not allowed).
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    r"""Dataset wrapping tensors: sample ``i`` is ``tuple(t[i] for t in tensors)``.

    Args:
        *tensors (Tensor): tensors with the same size of the first dimension.

    Attributes:
        tensors (tuple of Tensor): the wrapped tensors.

    Example:
        >>> ds = TensorDataset(labkit.randn(100, 3), labkit.randint(0, 2, (100,)))
        >>> x, y = ds[0]              # x: shape (3,), y: a 0-d int64 tensor
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset takes Tensors, but argument {i} is a "
                                f"{type(t).__name__}; convert it with labkit.as_tensor(...)")
        n = tensors[0].size(0)
        for i, t in enumerate(tensors):
            if t.size(0) != n:
                raise ValueError(f"Size mismatch between tensors: tensor 0 has {n} samples but "
                                 f"tensor {i} has {t.size(0)} (shapes "
                                 f"{[list(x.shape) for x in tensors]}); every tensor needs the "
                                 f"same first dimension")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].size(0)

    def __repr__(self):
        shapes = ", ".join(str(list(t.shape)) for t in self.tensors)
        return f"TensorDataset({len(self)} samples; tensors of shape {shapes})"


class StackDataset(Dataset):
    r"""Samples from several datasets side by side: ``(a[i], b[i])`` or ``{'x': a[i], ...}``.

    Args:
        *args (Dataset): datasets returned as a tuple, or
        **kwargs (Dataset): datasets returned as a dict.
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        parts = list(args) or list(kwargs.values())
        if not parts:
            raise ValueError("At least one dataset should be passed")
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    r"""The concatenation of several map-style datasets.

    Args:
        datasets (sequence): the datasets to concatenate.

    Attributes:
        cumulative_sizes (list of int): running totals of the lengths.
    """

    @staticmethod
    def cumsum(sequence):
        r, s = [], 0
        for e in sequence:
            s += len(e)
            r.append(s)
        return r

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise ValueError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use "
                                "ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        if idx >= len(self):
            raise IndexError(f"index {idx} is out of range for a ConcatDataset of length "
                             f"{len(self)}")
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    r"""Chains several iterable datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    r"""The samples of ``dataset`` at ``indices`` (in that order).

    Args:
        dataset (Dataset): the whole dataset.
        indices (sequence): indices into it.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=default_generator):
    r"""Split a dataset into non-overlapping random subsets.

    Args:
        dataset (Dataset): the dataset to split.
        lengths (sequence): the subset lengths, or fractions summing to 1 (e.g. ``[0.8, 0.2]``;
            the lengths are floor(frac * len) and the remainder is handed out one by one,
            round-robin, as PyTorch does).
        generator (Generator, optional): the random generator (default: labkit's global one, so
            ``labkit.manual_seed`` makes the split reproducible).

    Returns:
        list of Subset.

    Example:
        >>> train, val = random_split(ds, [0.8, 0.2], generator=labkit.Generator().manual_seed(42))
    """
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        subset_lengths = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            subset_lengths.append(int(math.floor(n * frac)))
        remainder = n - sum(subset_lengths)
        for i in range(remainder):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty "
                              f"dataset.", stacklevel=2)
    if any(int(length) != length or length < 0 for length in lengths):
        raise ValueError(f"lengths must be non-negative integers or fractions summing to 1, got "
                         f"{lengths}")
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths ({sum(lengths)}) does not equal the length of the "
                         f"input dataset ({n}); give lengths that add up to {n}, or fractions "
                         f"that add up to 1")
    perm = _rng(generator).permutation(n).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out
