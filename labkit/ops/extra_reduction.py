"""Scans and orders (cummax, mode, quantile, cov, trapezoid ...), as composites of
existing ops; see ``extra``."""
import numpy as np

from .. import dtypes as D
from .. import return_types as RT
from ..tensor import Tensor, _make
from . import shape as _shape
from ._common import dim_arg as _dim, to_float as _f
from ._registry import register
from .extra import _E


# ------------------------------------------------------------------------ scans and orders
def _values_at(x, d, idx, keepdim):
    """(values, indices) from int64 indices ``idx`` (keepdim shape) along ``d``: gathered, so
    the values carry the gradient."""
    idx_t = _make(np.ascontiguousarray(idx).astype(np.int64))
    vals = x.gather(d, idx_t)
    if not keepdim:
        vals, idx_t = vals.squeeze(d), idx_t.squeeze(d)
    return vals, idx_t


def _result(name, fields=("values", "indices")):
    t = getattr(RT, name, None)
    if t is None:
        t = RT._make(name, list(fields))
        setattr(RT, name, t)
    return t


@register("logcumsumexp")
def logcumsumexp(input, dim):
    """``log(cumsum(exp(x)))`` along ``dim``, shifted by the max so that it cannot overflow."""
    x = _f(input)
    d = _dim(dim, x.ndim)
    if x._np.size == 0:
        return x * 1
    m = np.max(x._np, axis=d, keepdims=True) if x.ndim else x._np
    m = np.where(np.isfinite(m), m, 0)
    shift = _make(m.astype(x._np.dtype))
    return (x - shift).exp().cumsum(d).log() + shift


def _cum_extreme(input, dim, is_max):
    x = input
    d = _dim(dim, x.ndim)
    a = x._np if x.ndim else x._np.reshape(1)
    dd = d if x.ndim else 0
    a = np.moveaxis(a, dd, 0)
    idx = np.zeros(a.shape, np.int64)
    if a.shape[0]:
        cur, cur_i = a[0].copy(), np.zeros(a.shape[1:], np.int64)
        for i in range(a.shape[0]):
            v = a[i]
            with np.errstate(invalid="ignore"):
                better = (v >= cur) if is_max else (v <= cur)
            if a.dtype.kind == "f":
                better = (better & ~np.isnan(cur)) | np.isnan(v)
            cur = np.where(better, v, cur)
            cur_i = np.where(better, i, cur_i)
            idx[i] = cur_i
    idx = np.moveaxis(idx, 0, dd)
    if not x.ndim:
        idx = idx.reshape(())
        return _result("cummax" if is_max else "cummin")(x.clone(), _make(idx))
    return _result("cummax" if is_max else "cummin")(*_values_at(x, d, idx, True))


@register("cummax")
def cummax(input, dim):
    return _cum_extreme(input, dim, True)


@register("cummin")
def cummin(input, dim):
    return _cum_extreme(input, dim, False)


@register("mode")
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones)."""
    x = input
    if x.ndim == 0:
        return _result("mode")(x.clone(), _make(np.zeros((), np.int64)))
    d = _dim(dim, x.ndim)
    a = np.moveaxis(x._np, d, -1)
    flat = a.reshape(-1, a.shape[-1])
    out = np.zeros(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]                  # np.unique sorts: the smallest wins ties
        out[r] = np.flatnonzero((row == best) | (np.isnan(row) & np.isnan(best)))[-1]
    idx = np.expand_dims(out.reshape(a.shape[:-1]), d)
    return _result("mode")(*_values_at(x, d, idx, keepdim))


@register("nanmedian")
def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the non-NaN values (NaN where a row is all NaN)."""
    x = input
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise RuntimeError("nanmedian(): input tensor must not be empty")
        return nanmedian(flat, 0).values
    if x.ndim == 0:
        return _result("nanmedian")(x.clone(), _make(np.zeros((), np.int64)))
    d = _dim(dim, x.ndim)
    a = np.moveaxis(x._np, d, -1)
    if a.shape[-1] == 0:
        raise IndexError(f"nanmedian(): Expected reduction dim {d} to have non-zero size.")
    order = np.argsort(a, axis=-1, kind="stable")       # NaN sorts last
    cnt = (~np.isnan(a)).sum(-1) if a.dtype.kind == "f" else np.full(a.shape[:-1], a.shape[-1])
    k = np.where(cnt > 0, (cnt - 1) // 2, a.shape[-1] - 1 if a.shape[-1] else 0)
    idx = np.take_along_axis(order, k[..., None], -1)
    if a.dtype.kind == "f":                              # an all-NaN row: PyTorch's first NaN
        first_nan = np.argmax(np.isnan(a), axis=-1)[..., None]
        idx = np.where((cnt == 0)[..., None], first_nan, idx)
    idx = np.moveaxis(idx, -1, d)
    return _result("nanmedian")(*_values_at(x, d, idx, keepdim))


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    x = input
    if x._np.dtype.kind != "f":
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    qt = q if isinstance(q, Tensor) else _make(np.asarray(q, x._np.dtype))
    if qt.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    qv = qt._np.astype(np.float64).reshape(-1)
    if np.any((qv < 0) | (qv > 1)):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{name}() interpolation must be one of linear, lower, higher, midpoint "
                         f"or nearest. Got {interpolation}")
    if dim is None:
        xs, d = x.reshape(-1), 0
    else:
        xs, d = x, _dim(dim, x.ndim)
        if xs.ndim == 0:
            xs, d = xs.reshape(1), 0
    if xs.shape[d] == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    srt = xs.sort(d).values                              # NaN last
    a = np.moveaxis(srt._np, d, -1)
    n = a.shape[-1]
    if ignore_nan:
        cnt = (~np.isnan(a)).sum(-1, keepdims=True)
    else:
        cnt = np.full(a.shape[:-1] + (1,), n)
    has_nan = np.isnan(a).any(-1, keepdims=True)
    outs = []
    for qi, qq in enumerate(qv):
        pos = qq * (cnt - 1).astype(np.float64)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        frac = pos - lo
        if interpolation == "lower":
            hi, frac = lo, frac * 0
        elif interpolation == "higher":
            lo, frac = hi, frac * 0
        elif interpolation == "nearest":
            r = np.round(pos).astype(np.int64)            # half to even, as PyTorch
            lo = hi = r
            frac = frac * 0
        elif interpolation == "midpoint":
            frac = np.where(hi > lo, 0.5, 0.0)
        lo, hi = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
        mv = lambda t: np.moveaxis(t, -1, d)                # noqa: E731
        v_lo = srt.gather(d, _make(mv(lo)))
        v_hi = srt.gather(d, _make(mv(hi)))
        fr = _make(mv(frac).astype(x._np.dtype))
        if interpolation == "linear" and qt.requires_grad:      # the fraction depends on q
            q_el = (qt if qt.ndim == 0 else qt[qi]).to(x.dtype)
            fr = q_el * _make(mv(cnt - 1).astype(x._np.dtype)) - _make(mv(lo).astype(x._np.dtype))
        val = v_lo + (v_hi - v_lo) * fr
        bad = (cnt == 0) if ignore_nan else has_nan
        val = _E().where(_make(mv(bad)), float("nan"), val)
        outs.append(val if keepdim and dim is not None and x.ndim else val.squeeze(d))
    if keepdim and dim is None:
        outs = [o.reshape((1,) * x.ndim) for o in outs]
    if qt.ndim == 0:
        return outs[0]
    return _shape.stack(outs, 0)


@register("quantile")
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


@register("nanquantile")
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


@register("cov")
def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows (variables) over the columns (observations), optionally
    weighted."""
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if x._np.dtype.kind != "f":
        x = x.to(D.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:                     # weights keep their dtype (as PyTorch's sums)
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        wsum = _make(np.asarray(float(n), x._np.dtype))
        avg = x.mean(1, keepdim=True) if n else x.sum(1, keepdim=True) * float("nan")
        norm_ = wsum - correction
    else:
        wsum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / wsum
        if correction == 0:
            norm_ = wsum
        elif aweights is None:
            norm_ = wsum - correction
        else:
            norm_ = wsum - correction * (w * aweights).sum() / wsum
    norm_ = _E().where(norm_ <= 0, 0.0, norm_)
    xc = x - avg
    xw = xc if w is None else xc * w
    c = (xw @ xc.mT) / norm_
    return c.reshape(()) if c.shape[0] == 1 else c      # one variable: a scalar, as PyTorch


@register("corrcoef")
def corrcoef(input):
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    c = c / d.reshape(-1, 1) / d.reshape(1, -1)
    return c.clamp(-1, 1)


@register("trapezoid")
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule along ``dim``: samples ``y`` at points ``x`` (or spacing ``dx``)."""
    S = _shape
    d = _dim(dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return y.sum(d) * 0
    left, right = S.narrow(y, d, 0, n - 1), S.narrow(y, d, 1, n - 1)
    if x is None:
        return (left + right).sum(d) * ((1.0 if dx is None else dx) / 2.0)
    if x.ndim == 1:
        dxs = x[1:] - x[:-1]
        shape = [1] * y.ndim
        shape[d] = dxs.shape[0]
        dxs = dxs.reshape(shape)
    else:
        xd = _dim(dim, x.ndim)
        dxs = S.narrow(x, xd, 1, n - 1) - S.narrow(x, xd, 0, n - 1)
    return ((left + right) * dxs).sum(d) / 2.0


@register("trapz")
def trapz(y, x=None, *, dx=None, dim=-1):
    if x is not None and not isinstance(x, Tensor):
        x, dx = None, x                                  # trapz(y, dx) spells the spacing
    return trapezoid(y, x, dx=dx, dim=dim)


@register("cumulative_trapezoid")
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    S = _shape
    d = _dim(dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return y * 1
    left, right = S.narrow(y, d, 0, n - 1), S.narrow(y, d, 1, n - 1)
    if x is None:
        return ((left + right) * ((1.0 if dx is None else dx) / 2.0)).cumsum(d)
    if x.ndim == 1:
        dxs = x[1:] - x[:-1]
        shape = [1] * y.ndim
        shape[d] = dxs.shape[0]
        dxs = dxs.reshape(shape)
    else:
        xd = _dim(dim, x.ndim)
        dxs = S.narrow(x, xd, 1, n - 1) - S.narrow(x, xd, 0, n - 1)
    return ((left + right) * dxs / 2.0).cumsum(d)
