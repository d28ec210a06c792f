"""The DataLoader: iterate over a dataset in (shuffled) batches."""
import numpy as np

from ...tensor import Tensor, _make
from ._collate import default_collate, default_convert
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info():
    """Always None: labkit loads data in the main process (there are no worker processes)."""
    return None


def _tensor_source(dataset):
    """(tensors, index map or None) when batches of ``dataset`` can be fancy-indexed directly.

    True for a TensorDataset and for (nested) Subsets of one, e.g. the output of random_split.
    """
    index_map = None
    while type(dataset) is Subset:
        idx = np.asarray(dataset.indices, dtype=np.int64)
        index_map = idx if index_map is None else idx[index_map]
        dataset = dataset.dataset
    if type(dataset) is TensorDataset:
        return dataset.tensors, index_map
    return None, None


class DataLoader:
    r"""Iterate over a dataset in batches (``torch.utils.data.DataLoader``).

    Args:
        dataset (Dataset): where the samples come from (map-style or iterable).
        batch_size (int, optional): samples per batch (default: 1); ``None`` disables batching
            (each sample is yielded as is, NumPy arrays converted to tensors).
        shuffle (bool, optional): reshuffle the order at every epoch (default: False). The order
            comes from ``generator``, or from labkit's global generator, so ``labkit.manual_seed``
            makes it reproducible.
        sampler (Sampler or iterable, optional): the order of indices (excludes ``shuffle``).
        batch_sampler (Sampler or iterable, optional): yields whole lists of indices (excludes
            batch_size, shuffle, sampler and drop_last).
        num_workers (int, optional): accepted for compatibility; labkit always loads in the main
            process (a notebook-friendly choice: no process start-up, no pickling).
        collate_fn (Callable, optional): merges a list of samples into a batch (default:
            :func:`default_collate`).
        pin_memory (bool, optional): accepted for compatibility (no effect on the CPU).
        drop_last (bool, optional): drop the last, incomplete batch (default: False).
        generator (Generator, optional): the random generator used for shuffling.

    ``len(loader)`` is the number of batches.

    Fast path: over a :class:`TensorDataset` (or a Subset of one, as made by
    :func:`random_split`) with the default collate, each batch is built by indexing every tensor
    once with the batch's index array, instead of fetching samples one by one and stacking them.
    The batches are the same either way.

    Example:
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True,
        ...                     generator=labkit.Generator().manual_seed(0))
        >>> for xb, yb in loader:
        ...     loss = loss_fn(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.generator = generator

        if isinstance(dataset, IterableDataset):
            self._iterable = True
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            self._iterable = False
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if batch_size is not None and (not isinstance(batch_size, int) or
                                       isinstance(batch_size, bool) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")

        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    return n // self.batch_size
                return (n + self.batch_size - 1) // self.batch_size
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self._iterable:
            return self._iter_iterable()
        if self._auto_collation and self.collate_fn is default_collate:
            tensors, index_map = _tensor_source(self.dataset)
            if tensors is not None:
                return self._iter_tensor_batches(tensors, index_map)
        return self._iter_map()

    # ---- map-style datasets -------------------------------------------------------------------
    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems(indices)
        return [self.dataset[i] for i in indices]

    def _iter_map(self):
        if self._auto_collation:
            for indices in self.batch_sampler:
                yield self.collate_fn(self._fetch(list(indices)))
        else:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])

    def _iter_tensor_batches(self, tensors, index_map):
        bs = self.batch_sampler
        batches = bs._index_batches() if type(bs) is BatchSampler else \
            (np.asarray(list(b), dtype=np.int64) for b in bs)
        n = tensors[0]._np.shape[0] if index_map is None else len(index_map)
        for idx in batches:
            if len(idx) and (idx.max() >= n or idx.min() < -n):
                bad = idx[(idx >= n) | (idx < -n)][0]
                raise IndexError(f"index {int(bad)} is out of bounds for a dataset of size {n}")
            if index_map is not None:
                idx = index_map[idx]
            yield tuple(t[_make(idx)] if t.requires_grad else _make(t._np[idx]) for t in tensors)

    # ---- iterable datasets --------------------------------------------------------------------
    def _iter_iterable(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"batches={len(self) if hasattr(self.dataset, '__len__') else '?'}, "
                f"drop_last={self.drop_last})")
