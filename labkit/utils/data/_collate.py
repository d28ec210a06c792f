"""``default_collate``: turn a list of samples into a batch, the way PyTorch does.

=========================  ==========================================================
sample element             batch
=========================  ==========================================================
Tensor                     ``labkit.stack(samples)`` (a new leading batch dim)
NumPy array                converted to tensors, then stacked
NumPy scalar               a 1-D tensor
float / int / bool         a 1-D float64 / int64 / bool tensor
str / bytes                the list, unchanged
dict (Mapping)             a dict of collated values, same keys
namedtuple                 the same namedtuple of collated fields
tuple / list               a list of collated fields (PyTorch returns a list for tuples too)
=========================  ==========================================================
"""
import collections.abc
import numbers

import numpy as np

from ... import dtypes as D
from ...tensor import Tensor, _make

__all__ = ["default_collate", "default_convert"]

_BAD_NP = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_np_str(a):
    return a.dtype.kind in "USO"


def default_convert(data):
    r"""Convert NumPy arrays (also inside dicts/lists/tuples) to tensors; leave the rest as is.

    The collate function used when a DataLoader has ``batch_size=None`` (no batching).
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray) and not _is_np_str(data):
        return _from_np(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return _from_np(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({k: default_convert(v) for k, v in data.items()})
        except TypeError:
            return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def _from_np(arr):
    if arr.dtype not in D._FROM_NP:
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float64 if arr.dtype.itemsize > 4 else np.float32)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        else:
            raise TypeError(_BAD_NP.format(arr.dtype))
    return _make(arr)


def _stack_tensors(batch):
    first = batch[0]
    if first._np.dtype.kind == "f" and not any(t.requires_grad for t in batch):
        shape = first._np.shape
        for i, t in enumerate(batch):
            if t._np.shape != shape:
                raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                                   f"{list(shape)} at entry 0 and {list(t._np.shape)} at entry "
                                   f"{i} (default_collate stacks the samples of a batch: pad them "
                                   f"to one size, or pass a collate_fn)")
        return _make(np.stack([t._np for t in batch]))
    from ... import stack
    return stack(batch, 0)


def default_collate(batch):
    r"""Merge a list of samples into a batch (see the table in this module's docstring).

    Example:
        >>> default_collate([(labkit.tensor([1., 2.]), 0), (labkit.tensor([3., 4.]), 1)])
        [tensor([[1., 2.], [3., 4.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if _is_np_str(elem):
            raise TypeError(_BAD_NP.format(elem.dtype))
        return _stack_tensors([_from_np(np.asarray(b)) for b in batch])
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return _from_np(np.asarray(batch))
    if isinstance(elem, bool):
        return _make(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return _make(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return _make(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size (got "
                               f"lengths {sorted({len(e) for e in batch})}); pass a collate_fn "
                               "to batch variable-length samples")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]
        try:
            return type(elem)([default_collate(samples) for samples in transposed])
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(elem)}")
