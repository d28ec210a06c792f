"""Histograms: ``histc`` (equal bins, counts only) and ``histogram`` (equal bins or given edges,
weights, density) with PyTorch's binning rules.

Bin ``i`` holds ``edges[i] <= x < edges[i + 1]``; the last bin also holds ``x == edges[-1]``.
Values outside ``[edges[0], edges[-1]]`` (and NaN) are not counted.  With equal bins the bin is
computed as PyTorch does, ``floor((x - min) * bins / (max - min))`` in the input's dtype
(``histogram`` then corrects it against the neighbouring edges); with given edges it is found
by binary search.  Neither op has a gradient (the counts are piecewise constant).
"""
import numbers

import numpy as np

from .. import return_types as RT
from ..tensor import Tensor, _make
from ._registry import register

__all__ = ["histc", "histogram"]


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
