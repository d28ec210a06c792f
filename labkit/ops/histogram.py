"""Histograms: ``histc`` (equal bins, counts only), ``histogram`` (equal bins or given edges,
weights, density) and ``histogramdd`` (the same per coordinate of points) with PyTorch's
binning rules.

Bin ``i`` holds ``edges[i] <= x < edges[i + 1]``; the last bin also holds ``x == edges[-1]``.
Values outside ``[edges[0], edges[-1]]`` (and NaN) are not counted.  With equal bins the bin is
computed as PyTorch does, ``floor((x - min) * bins / (max - min))`` in the input's dtype
(``histogram`` then corrects it against the neighbouring edges); with given edges it is found
by binary search.  Neither op has a gradient (the counts are piecewise constant).
"""
import builtins
import numbers

import numpy as np

from .. import return_types as RT
from ..tensor import Tensor, _make
from ._registry import register

__all__ = ["histc", "histogram", "histogramdd"]


def _float_input(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._np.dtype.kind != "f":
        raise NotImplementedError(f'"{name}" not implemented for {input.dtype}: histograms need '
                                  f"a floating-point input; convert it first, e.g. x.float()")
    return input._np.reshape(-1)


def _bin_of(x, edges, linear):
    """Bin index of each value of ``x`` (-1: not counted) for ``edges`` (increasing)."""
    nbins = len(edges) - 1
    lo, hi = edges[0], edges[-1]
    with np.errstate(invalid="ignore"):
        inside = (x >= lo) & (x <= hi)
    xs = x[inside]
    if linear:
        pos = ((xs - lo) * x.dtype.type(nbins) / (hi - lo)).astype(np.int64)
        if linear == "local":        # fix rounding: look at the edges next to the guess
            below = np.maximum(pos - 1, 0)
            cand = below[:, None] + np.arange(3)
            ok = (cand <= pos[:, None] + 1) & (cand <= nbins)
            ge = (xs[:, None] >= edges[np.minimum(cand, nbins)]) & ok
            pos = below + ge.sum(axis=1) - 1
    else:
        pos = np.searchsorted(edges, xs, side="right") - 1
    pos = np.where(pos >= nbins, nbins - 1, pos)
    out = np.full(x.shape, -1, np.int64)
    out[inside] = pos
    return out


def _count(bins_of, nbins, weight, dtype):
    keep = bins_of >= 0
    w = None if weight is None else weight[keep].astype(np.float64)
    return np.bincount(bins_of[keep], weights=w, minlength=nbins)[:nbins].astype(dtype)


def _edges(lo, hi, nbins, dtype):
    """``nbins + 1`` equal-spaced edges computed as PyTorch's linspace does: the first half
    counted up from ``lo``, the second half down from ``hi`` (so both ends are exact), each
    ``lo + step * i`` rounded once (a fused multiply-add, emulated in a wider type)."""
    dt = np.dtype(dtype).type
    lo, hi = dt(lo), dt(hi)
    step = (hi - lo) / dt(nbins)
    wide = np.float64 if np.dtype(dtype).itemsize < 8 else np.longdouble
    i = np.arange(nbins + 1)
    up = wide(lo) + wide(step) * i.astype(wide)
    down = wide(hi) - wide(step) * (nbins - i).astype(wide)
    return np.where(i < (nbins + 1) // 2, up, down).astype(dtype)


def _write_out(out, arr):
    if out is None:
        return _make(arr)
    out._np = arr
    out._vc[0] += 1
    return out


@register("histc")
def histc(input, bins=100, min=0, max=0, *, out=None):
    """Histogram of ``input`` (flattened) with ``bins`` equal bins over ``[min, max]``.

    ``min == max`` (the default 0, 0) uses the data's smallest and largest values (widened by 1
    on each side if they are equal).  Values outside the range are ignored.  Returns a tensor of
    ``bins`` counts with the input's dtype.

    Examples::

        >>> labkit.histc(labkit.tensor([1., 2, 1]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    x = _float_input(input, "histc")
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins}")
    dt = x.dtype.type
    lo, hi = dt(min), dt(max)
    if lo == hi and x.size:
        lo, hi = dt(x.min()), dt(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite (the input has "
                           f"NaN or inf; pass min and max)")
    if lo > hi:
        raise RuntimeError(f"torch.histc: max must be larger than min (got min={min}, "
                           f"max={max})")
    edges = _edges(lo, hi, int(bins), x.dtype)
    return _write_out(out, _count(_bin_of(x, edges, "plain"), int(bins), None, x.dtype))


@register("histogram")
def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """Histogram of ``input`` (flattened): ``(hist, bin_edges)``.

    Args:
        input (Tensor): floating-point values
        bins (int or 1-D Tensor): the number of equal bins, or the increasing bin edges
        range (tuple of float, optional): ``(min, max)`` of the equal bins (default: the data's
            smallest and largest values, widened by 0.5 each side if equal)
        weight (Tensor, optional): one weight per input value (default: each counts 1)
        density (bool): normalise so the histogram integrates to 1 (``hist / (total * width)``)

    Returns:
        ``labkit.return_types.histogram(hist, bin_edges)``

    Examples::

        >>> labkit.histogram(labkit.tensor([1., 2, 1]), bins=4, range=(0., 3.))
        labkit.return_types.histogram(
        hist=tensor([0., 2., 1., 0.]),
        bin_edges=tensor([0.0000, 0.7500, 1.5000, 2.2500, 3.0000]))
    """
    x = _float_input(input, "histogram")
    w = None
    if weight is not None:
        if not isinstance(weight, Tensor) or tuple(weight.shape) != tuple(input.shape):
            got = list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
            raise RuntimeError(f"torch.histogram: if weight tensor is provided it should have "
                               f"the same shape as the input tensor, but got input with shape "
                               f"{list(input.shape)} and weight with shape {got}")
        w = weight._np.reshape(-1)
    if isinstance(bins, Tensor):
        if bins.dim() != 1:
            raise RuntimeError(f"torch.histogram(): bins tensor should have one dimension, but "
                               f"got {bins.dim()} dimensions")
        edges = bins._np.astype(x.dtype)
        if edges.size < 1:
            raise RuntimeError("torch.histogram(): bins tensor should have at least 1 element")
        nbins = edges.size - 1
        idx = _bin_of(x, edges, None) if nbins > 0 else np.full(x.shape, -1, np.int64)
    else:
        if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                               f"dimension 0")
        nbins = int(bins)
        dt = x.dtype.type
        if range is not None:
            lo, hi = dt(range[0]), dt(range[1])
            if lo > hi:
                raise RuntimeError(f"torch.histogram: min should not exceed max, but got min "
                                   f"{range[0]} max {range[1]}")
        elif x.size:
            lo, hi = dt(x.min()), dt(x.max())
        else:
            lo, hi = dt(0), dt(1)                # no data: PyTorch bins the unit interval
        if lo == hi:
            lo, hi = lo - dt(0.5), hi + dt(0.5)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise RuntimeError(f"torch.histogram: range of [{lo}, {hi}] is not finite (the "
                               f"input has NaN or inf; pass range=(min, max))")
        edges = _edges(lo, hi, nbins, x.dtype)
        idx = _bin_of(x, edges, "local")
    hist = _count(idx, max(nbins, 0), w, x.dtype)
    if density and nbins > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = (hist / (hist.sum(dtype=x.dtype) * np.diff(edges))).astype(x.dtype)
    if out is not None:
        _write_out(out[0], hist)
        _write_out(out[1], edges.copy())
        return RT.histogram(out[0], out[1])
    return RT.histogram(_make(hist), _make(edges.copy()))


@register("histogramdd", method=False)
def histogramdd(input, bins, range=None, weight=None, density=False):
    """Histogram of the points in ``input`` (the last dim holds each point's D coordinates):
    ``(hist, bin_edges)``, ``hist`` with one dim per coordinate.

    ``bins``: an int (that many equal bins per coordinate), D ints, or D increasing 1-D edge
    tensors; ``range``: ``[min_0, max_0, min_1, max_1, ...]`` for the equal bins (default: the
    data's extent per coordinate, widened by 0.5 each side if flat).  A point counts where each
    coordinate is inside its edges (the last bin includes its right edge); ``weight``: one per
    point; ``density``: divided by the total and by each bin's volume.
    """
    if not isinstance(input, Tensor) or input.ndim < 1:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 1 dimension")
    if input._np.dtype.kind != "f":
        raise NotImplementedError(f'"histogramdd" not implemented for {input.dtype}: convert '
                                  f"the input first, e.g. x.float()")
    D = input.shape[-1]
    pts = input._np.reshape(-1, D)
    if isinstance(bins, numbers.Integral):
        bins = [int(bins)] * D
    bins = list(bins)
    if len(bins) != D:
        raise RuntimeError(f"torch.histogramdd: expected {D} sequences of bin edges (or bin "
                           f"counts) for each of the {D} dimensions of the points, but got "
                           f"{len(bins)}")
    if range is not None and len(range) != 2 * D:
        raise RuntimeError(f"torch.histogramdd: for a {D}-dimensional histogram, range should "
                           f"have {2 * D} elements, but got {len(range)}")
    w = None
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape[:-1]):
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have "
                               f"the same shape as the input tensor excluding its innermost "
                               f"dimension, but got input with shape {list(input.shape)} and "
                               f"weight with shape {list(weight.shape)}")
        w = weight._np.reshape(-1)
    dt = pts.dtype.type
    edges, idx = [], []
    for d, b in enumerate(bins):
        x = np.ascontiguousarray(pts[:, d])
        if isinstance(b, Tensor):
            e = b._np.astype(pts.dtype).reshape(-1)
            edges.append(e)
            idx.append(_bin_of(x, e, None) if e.size > 1 else np.full(x.shape, -1, np.int64))
            continue
        if range is not None:
            lo, hi = dt(range[2 * d]), dt(range[2 * d + 1])
            if lo > hi:
                raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                                   f"{range[2 * d]} max {range[2 * d + 1]} for dimension {d}")
        elif x.size:
            lo, hi = dt(x.min()), dt(x.max())
        else:
            lo, hi = dt(0), dt(1)
        if lo == hi:
            lo, hi = lo - dt(0.5), hi + dt(0.5)
        e = _edges(lo, hi, int(b), pts.dtype)
        edges.append(e)
        idx.append(_bin_of(x, e, "local"))
    shape = tuple(max(e.size - 1, 0) for e in edges)
    keep = np.ones(pts.shape[0], bool)
    for i in idx:
        keep &= i >= 0
    flat = np.ravel_multi_index(tuple(i[keep] for i in idx), shape) if keep.any() else \
        np.zeros(0, np.int64)
    ww = None if w is None else w[keep].astype(np.float64)
    size = int(np.prod(shape))
    hist = np.bincount(flat, weights=ww, minlength=size)[:size].astype(pts.dtype).reshape(shape)
    if density:
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = hist / hist.sum(dtype=pts.dtype)
            for d, e in enumerate(edges):
                hist = hist / np.diff(e).reshape([-1 if k == d else 1 for k in builtins.range(D)])
        hist = hist.astype(pts.dtype)
    return RT.histogramdd(_make(hist), tuple(_make(e.copy()) for e in edges))
