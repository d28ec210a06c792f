"""Samplers: the order in which a DataLoader visits a map-style dataset's indices.

Every sampler produces its indices lazily, in chunks of at most ``_CHUNK`` (NumPy int64 arrays
from ``_index_chunks()``; ``__iter__`` yields Python ints from them): the work and memory of
taking the first batches do not grow with ``num_samples``, so
``RandomSampler(ds, replacement=True, num_samples=int(1e10))`` is fine.  Only what PyTorch also
builds whole is built whole: one permutation of the dataset's indices at a time (sampling without
replacement).
"""
import itertools

import numpy as np

from ...random import _rng
from ...tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

_CHUNK = 1 << 16          # indices drawn at a time


def _ints(chunks):
    for c in chunks:
        yield from c.tolist()


def _chunks_of(iterable):
    """Any iterable of indices as int64 arrays of at most ``_CHUNK``."""
    it = iter(iterable)
    while True:
        c = np.fromiter(itertools.islice(it, _CHUNK), dtype=np.int64)
        if len(c) == 0:
            return
        yield c


def _child_rng(generator):
    """A fresh NumPy generator seeded from ``generator`` (or labkit's global generator).

    PyTorch's RandomSampler draws a new seed on every ``__iter__`` when no generator is given, so
    each epoch is shuffled differently while ``manual_seed`` still makes the whole run repeatable.
    """
    seed = int(_rng(generator).integers(0, 2 ** 63 - 1))
    return np.random.Generator(np.random.PCG64(seed))


class Sampler:
    r"""Base class: an iterable over dataset indices (``__iter__``, usually ``__len__``)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    r"""Indices 0, 1, ..., len(data_source) - 1, in order.

    Args:
        data_source (Dataset): the dataset to sample from.
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def _index_chunks(self):
        n = len(self.data_source)
        for start in range(0, n, _CHUNK):
            yield np.arange(start, min(start + _CHUNK, n), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    r"""Random order: a permutation of the indices, or draws with replacement.

    Args:
        data_source (Dataset): the dataset to sample from.
        replacement (bool): draw with replacement (default: False).
        num_samples (int): how many indices to produce (default: len(dataset)).
        generator (Generator): the random generator (default: labkit's global generator).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement="
                            f"{self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_chunks(self):
        n = len(self.data_source)
        rng = _child_rng(self.generator)
        left = self.num_samples
        if self.replacement:
            while left > 0:
                k = min(left, _CHUNK)
                yield rng.integers(0, n, size=k, dtype=np.int64)
                left -= k
            return
        while left > 0:                    # one permutation per pass over the dataset
            perm = rng.permutation(n)[:left]
            left -= len(perm)
            for start in range(0, len(perm), _CHUNK):
                yield perm[start:start + _CHUNK]

    def __iter__(self):
        return _ints(self._index_chunks())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    r"""The given indices in random order (without replacement).

    Args:
        indices (sequence): indices to sample from.
        generator (Generator): the random generator (default: labkit's global generator).
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _index_chunks(self):
        idx = np.asarray(self.indices._np if isinstance(self.indices, Tensor) else self.indices)
        order = _child_rng(self.generator).permutation(len(idx))
        for start in range(0, len(order), _CHUNK):
            yield idx[order[start:start + _CHUNK]]

    def __iter__(self):
        return _ints(self._index_chunks())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    r"""Indices drawn with probabilities proportional to ``weights`` (e.g. to rebalance classes).

    Args:
        weights (sequence): a weight per sample (need not sum to 1).
        num_samples (int): how many to draw.
        replacement (bool): draw with replacement (default: True).
        generator (Generator): the random generator.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement="
                             f"{replacement}")
        w = np.asarray(weights._np if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_chunks(self):
        rng = _child_rng(self.generator)
        p = self.weights / self.weights.sum()
        if not self.replacement:           # num_samples <= the number of nonzero weights
            yield rng.choice(len(p), size=self.num_samples, replace=False, p=p)
            return
        left = self.num_samples
        while left > 0:
            k = min(left, _CHUNK)
            yield rng.choice(len(p), size=k, replace=True, p=p)
            left -= k

    def __iter__(self):
        return _ints(self._index_chunks())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    r"""Groups the indices of another sampler into lists of ``batch_size``.

    Args:
        sampler (Sampler or iterable): the index source.
        batch_size (int): size of each batch.
        drop_last (bool): drop the last batch if it is smaller than ``batch_size``.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_batches(self):
        """Batches as int64 arrays (the DataLoader's fast path); same order as ``__iter__``.

        Reads the sampler chunk by chunk, so the first batches cost the same whatever the
        sampler's length."""
        if hasattr(self.sampler, "_index_chunks"):
            chunks = (np.asarray(c, dtype=np.int64) for c in self.sampler._index_chunks())
        else:
            chunks = _chunks_of(self.sampler)
        bs = self.batch_size
        carry = np.empty(0, np.int64)
        for c in chunks:
            if len(c) == 0:
                continue
            buf = np.concatenate([carry, c]) if len(carry) else c
            stop = (len(buf) // bs) * bs
            for i in range(0, stop, bs):
                yield buf[i:i + bs]
            carry = buf[stop:]
        if len(carry) and not self.drop_last:
            yield carry

    def __iter__(self):
        if type(self) is BatchSampler and hasattr(self.sampler, "_index_chunks"):
            for b in self._index_batches():
                yield b.tolist()
            return
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
