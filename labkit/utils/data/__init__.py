"""Datasets, samplers and the DataLoader (``labkit.utils.data`` ~ ``torch.utils.data``).

    from labkit.utils.data import TensorDataset, DataLoader, random_split
    ds = TensorDataset(X, y)
    train, val = random_split(ds, [0.8, 0.2], generator=labkit.Generator().manual_seed(0))
    for xb, yb in DataLoader(train, batch_size=64, shuffle=True):
        ...

A ``DataLoader`` over a ``TensorDataset`` (or a ``Subset`` of one) with the default collate builds
each batch with one fancy-index per tensor instead of indexing and stacking sample by sample.
"""
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                      TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from ._collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split", "Sampler", "SequentialSampler",
           "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "DataLoader", "default_collate", "default_convert", "get_worker_info"]
