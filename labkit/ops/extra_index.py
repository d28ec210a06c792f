"""Scatter-like updates and index helpers (index_copy, put, masked_scatter, the
``*_scatter`` ops, index_reduce ...), as composites of existing ops; see ``extra``."""
import builtins

import numpy as np

from .. import dtypes as D
from ..tensor import Tensor, _make
from . import indexing as _indexing
from ._common import dim_arg as _dim, shape_arg
from ._registry import register
from .extra import _E
from .indexing import scatter_reduce


# ------------------------------------------------------------------- scatter-like updates
def _put_flat(input, positions, values, accumulate=False):
    """``input`` with the flat ``positions`` replaced by (or, accumulating, added to) ``values``."""
    flat = input.reshape(-1)
    pos = _make(np.asarray(positions, np.int64).reshape(-1))
    vals = values.reshape(-1) if isinstance(values, Tensor) else values
    return _indexing.index_put(flat, (pos,), vals, accumulate).reshape(input.shape)


def _positions(shape):
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


@register("index_copy")
def index_copy(input, dim, index, source):
    """``input`` with the slices ``index`` along ``dim`` replaced by ``source``'s slices."""
    d = _dim(dim, input.ndim)
    pos = _positions(input.shape) if input.ndim else _positions((1,))
    idx = index._np.reshape(-1)
    sel = np.take(pos, idx, axis=d if input.ndim else 0)
    src = source.reshape(sel.shape) if source.ndim != len(sel.shape) else source
    return _put_flat(input, sel, src.to(input.dtype))


@register("put")
def put(input, index, source, accumulate=False):
    n = input._np.size
    idx = index._np.reshape(-1)
    idx = np.where(idx < 0, idx + n, idx)
    return _put_flat(input, idx, source.to(input.dtype), accumulate)


@register("masked_scatter")
def masked_scatter(input, mask, source):
    """Where ``mask`` is True, ``source``'s elements in order; elsewhere ``input``."""
    shape = np.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    x = input.expand(shape) if tuple(input.shape) != shape else input
    m = np.broadcast_to(mask._np, shape)
    pos = np.flatnonzero(m)
    if source._np.size < pos.size:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements as "
                           "ones in mask")
    return _put_flat(x, pos,
                     source.reshape(-1)[:pos.size].to(input.dtype))


@register("select_scatter")
def select_scatter(input, src, dim, index):
    d = _dim(dim, input.ndim)
    sel = np.take(_positions(input.shape), int(index), axis=d)
    return _put_flat(input, sel, src.to(input.dtype).reshape(sel.shape))


@register("slice_scatter")
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    d = _dim(dim, input.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    sel = _positions(input.shape)[key]
    return _put_flat(input, sel, src.to(input.dtype).reshape(sel.shape))


@register("diagonal_scatter")
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    sel = np.diagonal(_positions(input.shape), offset, _dim(dim1, input.ndim),
                      _dim(dim2, input.ndim))
    return _put_flat(input, sel, src.to(input.dtype).reshape(sel.shape))



@register("index_reduce")
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """``scatter_reduce`` of whole slices: ``source``'s slice ``i`` into ``input``'s slice
    ``index[i]`` along ``dim`` (reduce: prod, mean, amax, amin)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    if input.ndim == 0:
        return index_reduce(input.reshape(1), 0, index.reshape(-1),
                            source.reshape(1) if source.ndim == 0 else source, reduce,
                            include_self=include_self).reshape(())
    d = _dim(dim, input.ndim)
    shape = [1] * source.ndim
    shape[d] = -1
    full = np.broadcast_to(index._np.reshape(shape), tuple(source.shape)).copy()
    return scatter_reduce(input, d, _make(full), source, reduce, include_self=include_self)


@register("unravel_index", method=False)
def unravel_index(indices, shape):
    shp = tuple(shape_arg((shape,) if isinstance(shape, int) else shape))
    idx = indices._np if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(idx.dtype))
    n = int(np.prod(shp))
    if np.any(idx < -n) or np.any(idx >= n):
        raise RuntimeError("'indices' must be in range [-prod(shape), prod(shape) - 1]")
    idx = np.where(idx < 0, idx + n, idx)
    return tuple(_make(np.asarray(a, np.int64)) for a in np.unravel_index(idx, shp))


@register("nonzero_static")
def nonzero_static(input, *, size, fill_value=-1):
    nz = np.argwhere(input._np)
    out = np.full((size, input.ndim), fill_value, np.int64)
    k = builtins.min(size, nz.shape[0])
    out[:k] = nz[:k]
    return _make(out)


@register("scalar_tensor", method=False)
def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    return _E().full((), s, dtype=dtype or D.get_default_dtype(), layout=layout, device=device,
                     requires_grad=requires_grad, pin_memory=pin_memory)


@register("unique_consecutive")
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``)."""
    a = input._np
    if dim is None:
        flat = a.reshape(-1)
        if flat.size == 0:
            change = np.zeros(0, bool)
        else:
            change = np.concatenate([[True], flat[1:] != flat[:-1]])
        vals = flat[change]
        inv = (np.cumsum(change) - 1).reshape(a.shape)
    else:
        d = _dim(dim, input.ndim)
        m = np.moveaxis(a, d, 0).reshape(a.shape[d], int(np.prod(a.shape)) // builtins.max(
            a.shape[d], 1) if a.shape[d] else 0)
        change = np.ones(m.shape[0], bool)
        if m.shape[0] > 1:
            change[1:] = np.any(m[1:] != m[:-1], axis=1)
        vals = np.compress(change, a, axis=d)
        inv = np.cumsum(change) - 1
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, change.size))
    out = [_make(np.ascontiguousarray(vals))]
    if return_inverse:
        out.append(_make(inv.astype(np.int64)))
    if return_counts:
        out.append(_make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
