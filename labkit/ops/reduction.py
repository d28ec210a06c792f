"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std, norm, logsumexp,
cumsum/cumprod, all/any.  ``dim`` may be an int, a tuple of ints or None; ``keepdim`` as in PyTorch.
"""
import builtins

import numpy as np

from .. import dtypes as D
from .. import linalg
from .. import return_types as RT
from ..autograd.function import Function
from ..tensor import Tensor, _make
from ._common import as_tensor_arg, dims_arg, to_float
from ._registry import register
from .elementwise import abs as _abs, maximum, minimum
from .indexing import gather
from .logic import isnan, logical_not, where
from .shape import cat, narrow



def _expand_back(xp, g, shape, axes, keepdim):
    """Re-insert reduced axes into ``g`` so it broadcasts against the input shape (``xp``: the
    array namespace of ``g``, see ``autograd/function.py``)."""
    if axes is None:                    # g is 0-d (or all ones with keepdim): broadcasts as is
        return xp.broadcast_to(g, shape)
    if not keepdim:
        g = xp.expand_dims(g, axes)
    return xp.broadcast_to(g, shape)


class Sum(Function):
    raw = True
    derivative = "d(sum a)/da_i = 1: the gradient is copied to every summed element"

    @staticmethod
    def forward(ctx, x, axes, keepdim, npdtype):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        # np.add.reduce is np.sum without its Python wrapper (a microsecond per call)
        return np.asarray(np.add.reduce(x, axis=axes, dtype=npdtype, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(ctx.xp, g, ctx.shape, ctx.axes, ctx.keepdim), None, None, None


class Mean(Function):
    raw = True
    derivative = "d(mean a)/da_i = 1/n"

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
        ctx.n = n
        # sum / n rather than np.mean, which warns ("Mean of empty slice") where PyTorch gives nan
        return np.asarray(np.true_divide(np.add.reduce(x, axis=axes, keepdims=keepdim), n)).astype(
            x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return _expand_back(ctx.xp, g / ctx.n, ctx.shape, ctx.axes, ctx.keepdim), None, None


class Prod(Function):
    raw = True
    derivative = "d(prod a)/da_i = product of the other elements"

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        y = np.asarray(np.prod(x, axis=axis, keepdims=keepdim))
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdim = axis, keepdim
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        axes = None if ctx.axis is None else (ctx.axis,)
        gb = _expand_back(xp, g, x.shape, axes, ctx.keepdim)
        if not (x == 0).any():
            return gb * _expand_back(xp, y, x.shape, axes, ctx.keepdim) / x, None, None
        # products without each element (handles zeros exactly): exclusive cumprods both ways
        ax = 0 if ctx.axis is None else ctx.axis
        xs = x.reshape(-1) if ctx.axis is None else x
        n = xs.shape[ax]
        ones = xp.ones_like(xp.take(xs, [0], axis=ax))
        left = xp.cumprod(xp.concatenate([ones, xp.take(xs, range(n - 1), axis=ax)], ax), axis=ax)
        rev = xp.flip(xs, ax)
        right = xp.cumprod(xp.concatenate([ones, xp.take(rev, range(n - 1), axis=ax)], ax), axis=ax)
        return gb * (left * xp.flip(right, ax)).reshape(x.shape), None, None


class MaxMinDim(Function):
    """max/min along one dim: values and indices; gradient flows to the selected element."""
    raw = True
    derivative = "only the selected (max/min) element receives the gradient"
    node_name = "MaxBackward0"

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_max):
        idx = np.argmax(x, axis=dim) if is_max else np.argmin(x, axis=dim)
        if x.dtype.kind == "f":       # NaN wins, as in PyTorch
            nanpos = np.isnan(x)
            if nanpos.any():
                idx = np.where(nanpos.any(axis=dim), np.argmax(nanpos, axis=dim), idx)
        idx_k = np.expand_dims(idx, dim)
        vals = np.take_along_axis(x, idx_k, axis=dim)
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        ctx.idx_k = idx_k
        if not keepdim:
            vals = np.squeeze(vals, dim)
        else:
            idx = idx_k
        ind = idx.astype(np.int64)
        ctx.mark_non_differentiable(ind)
        return vals, ind

    @staticmethod
    def backward(ctx, g, _gi=None):
        xp = ctx.xp
        if not ctx.keepdim:
            g = xp.expand_dims(g, ctx.dim)
        out = xp.zeros(ctx.shape, dtype=g.dtype)
        xp.put_along_axis(out, ctx.idx_k, g, axis=ctx.dim)
        return out, None, None, None


class AMaxMin(Function):
    """amax/amin and full max()/min(): gradient split evenly between tied maxima (as PyTorch)."""
    raw = True
    derivative = "the max/min element(s) receive the gradient, split between ties"
    node_name = "AmaxBackward0"

    @staticmethod
    def forward(ctx, x, axes, keepdim, is_max):
        y = np.asarray((np.max if is_max else np.min)(x, axis=axes, keepdims=keepdim))
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim = axes, keepdim
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        yb = _expand_back(xp, y, x.shape, ctx.axes, ctx.keepdim)
        mask = xp.astype(x == yb, g.dtype)
        cnt = xp.sum(mask, axis=ctx.axes, keepdims=True)
        gb = _expand_back(xp, g, x.shape, ctx.axes, ctx.keepdim)
        return gb * (mask / cnt), None, None, None


class Var(Function):
    raw = True
    derivative = "d(var a)/da_i = 2 (a_i - mean) / (n - correction)"

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        mean = np.mean(x, axis=axes, keepdims=True)
        n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
        ctx.save_for_backward(x)
        ctx.axes, ctx.keepdim, ctx.denom = axes, keepdim, builtins.max(n - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.sum((x - mean) ** 2, axis=axes, keepdims=keepdim) / x.dtype.type(builtins.max(n - correction, 0))
        return np.asarray(v).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        gb = _expand_back(xp, g, x.shape, ctx.axes, ctx.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return gb * 2 * (x - xp.mean(x, axis=ctx.axes, keepdims=True)) / ctx.denom, None, None, None


class Std(Function):
    """Standard deviation; where it is 0 the gradient is 0 (not 0/0), as in PyTorch."""
    raw = True
    derivative = "d(std a)/da_i = (a_i - mean) / ((n - correction) std), 0 where std = 0"

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        mean = np.mean(x, axis=axes, keepdims=True)
        n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
        ctx.axes, ctx.keepdim, ctx.denom = axes, keepdim, builtins.max(n - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.sum((x - mean) ** 2, axis=axes, keepdims=keepdim) / x.dtype.type(ctx.denom)
        y = np.sqrt(np.asarray(v)).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        yk = _expand_back(xp, y, x.shape, ctx.axes, ctx.keepdim)
        gb = _expand_back(xp, g, x.shape, ctx.axes, ctx.keepdim)
        xc = x - xp.mean(x, axis=ctx.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.where(yk == 0, 0.0, gb * xc / xp.where(yk == 0, 1.0, yk * ctx.denom)), \
            None, None, None


class Cumsum(Function):
    raw = True
    derivative = "the gradient of a cumulative sum is the reversed cumulative sum of the gradient"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        d, xp = ctx.dim, ctx.xp
        return xp.flip(xp.cumsum(xp.flip(g, d), axis=d), d), None


class Logsumexp(Function):
    raw = True
    derivative = "d(logsumexp a)/da = softmax(a)"

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        m = np.max(x, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):                 # an all -inf row gives -inf
            s = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        y = s if keepdim else np.squeeze(s, axis=axes)
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim = axes, keepdim
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        gb = _expand_back(xp, g, x.shape, ctx.axes, ctx.keepdim)
        yb = _expand_back(xp, y, x.shape, ctx.axes, ctx.keepdim)
        with np.errstate(invalid="ignore"):                # -inf - -inf in an all -inf row
            return gb * xp.exp(x - yb), None, None


# ----------------------------------------------------------------------------- public functions
def _t(x):
    return x if isinstance(x, Tensor) else as_tensor_arg(x)


@register("sum")
def sum(input, dim=None, keepdim=False, *, dtype=None):
    x = _t(input)
    axes = dims_arg(dim, x.ndim)
    npd = None
    if dtype is not None:
        npd = D.as_dtype(dtype).np
    elif x._np.dtype.kind in "biu":
        npd = np.int64                           # integer sums are int64, like PyTorch
    return (Sum if dim is None else Sum.variant("SumBackward1")).apply(x, axes, keepdim, npd)


@register("mean")
def mean(input, dim=None, keepdim=False, *, dtype=None):
    x = _t(input)
    if dtype is not None:
        x = x.to(dtype)
    if x._np.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {x.dtype.name}. Convert first, "
                           f"e.g. x.float().mean()")
    return (Mean if dim is None else Mean.variant("MeanBackward1")).apply(
        x, dims_arg(dim, x.ndim), keepdim)


@register("nansum")
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:                        # PyTorch casts the input first
        input = _t(input).to(dtype)
    if _t(input)._np.dtype.kind != "f":          # integers have no NaN: a plain sum
        return sum(input, dim, keepdim)
    return sum(where(isnan(input), 0.0, input), dim, keepdim)


@register("prod")
def prod(input, dim=None, keepdim=False, *, dtype=None):
    x = _t(input)
    if dtype is not None and D.as_dtype(dtype) is D.bool:   # a product of bools: all()
        return prod(x.to(D.int64), dim, keepdim).to(D.bool)
    if dtype is not None:
        x = x.to(dtype)
    if dim is None or x.ndim == 0:
        dims_arg(dim, x.ndim)                      # still validates the dim
        return Prod.apply(x, None, False)
    return Prod.apply(x, dims_arg(dim, x.ndim)[0], keepdim)


def _check_nonempty(x, name, dim):
    if x._np.size == 0 and dim is None:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           f"== 0. Specify the reduction dim with the 'dim' argument (the "
                           f"tensor has shape {list(x.shape)}).")
    if x._np.size == 0 and x._np.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size (shape "
                         f"{list(x.shape)}).")


def _maxmin(input, dim, keepdim, is_max, other=None):
    name = "max" if is_max else "min"
    x = _t(input)
    if isinstance(dim, Tensor):                    # max(a, b): elementwise
        return (maximum if is_max else minimum)(x, dim)
    if dim is None:
        _check_nonempty(x, name, None)
        return AMaxMin.variant("MaxBackward1" if is_max else "MinBackward1").apply(
            x, None, False, is_max)
    if x.ndim == 0:                                # a 0-d tensor: itself, at index 0
        dims_arg(dim, 0)
        v, i = MaxMinDim.apply(x.reshape(1), 0, False, is_max)
        return (RT.max if is_max else RT.min)(v, i)
    d = dims_arg(dim, x.ndim)[0]
    _check_nonempty(x, name, d)
    v, i = MaxMinDim.apply(x, d, keepdim, is_max)
    return (RT.max if is_max else RT.min)(v, i)


@register("max")
def max(input, dim=None, keepdim=False, *, other=None):
    """``max(x)`` -> scalar tensor; ``max(x, dim)`` -> (values, indices); ``max(a, b)`` (or
    ``max(a, other=b)``) elementwise."""
    return _maxmin(input, dim if other is None else other, keepdim, True)


@register("min")
def min(input, dim=None, keepdim=False, *, other=None):
    return _maxmin(input, dim if other is None else other, keepdim, False)


@register("amax")
def amax(input, dim=(), keepdim=False):
    x = _t(input)
    return AMaxMin.apply(x, dims_arg(dim, x.ndim), keepdim, True)


@register("amin")
def amin(input, dim=(), keepdim=False):
    x = _t(input)
    return AMaxMin.variant("AminBackward0").apply(x, dims_arg(dim, x.ndim), keepdim, False)


@register("argmax")
def argmax(input, dim=None, keepdim=False):
    x = _t(input)
    if dim is None:
        if x._np.size == 0:
            raise IndexError("argmax(): Expected reduction dim to be specified for input.numel() == 0.")
        r = np.argmax(x._np)
        return _make(np.asarray(r, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    return _maxmin(x, dim, keepdim, True).indices


@register("argmin")
def argmin(input, dim=None, keepdim=False):
    x = _t(input)
    if dim is None:
        if x._np.size == 0:
            raise IndexError("argmin(): Expected reduction dim to be specified for input.numel() == 0.")
        r = np.argmin(x._np)
        return _make(np.asarray(r, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    return _maxmin(x, dim, keepdim, False).indices


def _correction(unbiased, correction):
    if correction is not None:
        return correction                        # may be fractional (correction=1.3)
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


@register("var")
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    x = to_float(_t(input))
    if isinstance(dim, bool):                    # var(x, False) means unbiased=False
        dim, unbiased = None, dim
    return Var.apply(x, dims_arg(dim, x.ndim), _correction(unbiased, correction), keepdim)


@register("std")
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    x = to_float(_t(input))
    if isinstance(dim, bool):                    # std(x, False) means unbiased=False
        dim, unbiased = None, dim
    return Std.apply(x, dims_arg(dim, x.ndim), _correction(unbiased, correction), keepdim)


@register("var_mean")
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):                    # var_mean(x, True) means unbiased=True
        dim, unbiased = None, dim
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


@register("std_mean")
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):                    # std_mean(x, True) means unbiased=True
        dim, unbiased = None, dim
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


@register("norm")
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements when None); 'fro' is the 2-norm."""
    x = to_float(_t(input) if dtype is None else _t(input).to(dtype))   # dtype: cast first
    if p == "nuc":                               # the nuclear norm of matrices
        return linalg.matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
    if p == "fro" or p == 2 or p is None:
        return Norm2.apply(x, dims_arg(dim, x.ndim), keepdim)
    if p == float("inf"):
        return amax(_abs(x), () if dim is None else dim, keepdim)
    if p == float("-inf"):
        return amin(_abs(x), () if dim is None else dim, keepdim)
    if p == 1:
        return sum(_abs(x), dim, keepdim)
    if p == 0:                                   # a count; on the graph with zero gradient
        return sum((x != 0).to(x.dtype), dim, keepdim) + sum(_abs(x).clamp(max=0), dim, keepdim)
    return NormP.apply(x, float(p), dims_arg(dim, x.ndim), keepdim)


class NormP(Function):
    raw = True
    derivative = ("d||a||_p/da = sign(a) |a|^(p-1) / ||a||_p^(p-1), 0 where a = 0 (PyTorch's "
                  "subgradient at zero)")
    node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        y = np.sum(np.abs(x) ** p, axis=axes, keepdims=True) ** (1.0 / p)
        y = np.asarray(y if keepdim else np.squeeze(y, axis=axes) if axes else y.reshape(()))
        ctx.save_for_backward(x, y)
        ctx.p, ctx.axes, ctx.keepdim = p, axes, keepdim
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp, p = ctx.xp, ctx.p
        gb = _expand_back(xp, g, x.shape, ctx.axes, ctx.keepdim)
        yb = _expand_back(xp, y, x.shape, ctx.axes, ctx.keepdim)
        # PyTorch's arrangement, so that even its second derivatives at 0 (NaN where the
        # masked term is infinite there) come out the same
        if p < 1:
            s = xp.where(x == 0, 0.0, xp.sign(x) * xp.abs(x) ** (p - 1))
            return s * gb * yb ** (1 - p), None, None, None
        s = xp.sign(x) * xp.abs(x) ** (p - 1) if p < 2 else x * xp.abs(x) ** (p - 2)
        return s * xp.where(yb == 0, 0.0, gb / yb ** (p - 1)), None, None, None


class Norm2(Function):
    raw = True
    derivative = "d||a||/da = a / ||a|| (0 where the norm is 0)"
    node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        y = np.sqrt(np.sum(x * x, axis=axes, keepdims=True))
        y = np.asarray(y if keepdim else np.squeeze(y, axis=axes) if axes else y.reshape(()))
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim = axes, keepdim
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp = ctx.xp
        gb = _expand_back(xp, g, x.shape, ctx.axes, ctx.keepdim)
        yb = _expand_back(xp, y, x.shape, ctx.axes, ctx.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = xp.where(yb == 0, 0.0, x / yb)   # as PyTorch: its second derivative at 0 is NaN
        return gb * r, None, None


@register("logsumexp")
def logsumexp(input, dim, keepdim=False):
    x = to_float(_t(input))
    return Logsumexp.apply(x, dims_arg(dim, x.ndim), keepdim)


@register("cumsum")
def cumsum(input, dim, *, dtype=None):
    x = _t(input)
    if dtype is not None:
        x = x.to(dtype)
    elif x._np.dtype.kind in "bu" or x._np.dtype == np.int32:
        x = x.to(D.int64)
    if x.ndim == 0:
        dims_arg(dim, 0)
        return Cumsum.apply(x.reshape(1), 0).reshape(())
    return Cumsum.apply(x, dims_arg(dim, x.ndim)[0])


@register("cumprod")
def cumprod(input, dim, *, dtype=None):
    x = _t(input)
    if x.ndim == 0:
        dims_arg(dim, 0)
        return cumprod(x.reshape(1), 0, dtype=dtype).reshape(())
    d = dims_arg(dim, x.ndim)[0]
    if x.requires_grad:
        parts = []
        acc = None
        for i in range(x.shape[d]):
            s = narrow(x, d, i, 1)
            acc = s if acc is None else acc * s
            parts.append(acc)
        return cat(parts, d) if parts else x.clone()
    return _make(np.cumprod(x._np, axis=d))


@register("all")
def all(input, dim=None, keepdim=False):
    x = _t(input)
    axes = dims_arg(dim, x.ndim)
    return _make(np.asarray(np.all(x._np, axis=axes, keepdims=keepdim)))


@register("any")
def any(input, dim=None, keepdim=False):
    x = _t(input)
    axes = dims_arg(dim, x.ndim)
    return _make(np.asarray(np.any(x._np, axis=axes, keepdims=keepdim)))


@register("count_nonzero")
def count_nonzero(input, dim=None):
    x = _t(input)
    return _make(np.asarray(np.count_nonzero(x._np, axis=dims_arg(dim, x.ndim)), dtype=np.int64))


# ----------------------------------------------------------------------------- sorting and order
# Values are gathered with the (non-differentiable) order indices, so their gradient flows back
# through ``gather``: each value's gradient lands on the element it came from.
sort_result, topk_result = RT.sort, RT.topk


def _order(a, dim, descending, stable=True):
    if descending:                 # a stable descending order: sort the negated keys
        keys = -a if a.dtype.kind == "f" else (~a if a.dtype == np.bool_ else -a)
        return np.argsort(keys, axis=dim, kind="stable")
    return np.argsort(a, axis=dim, kind="stable" if stable else "quicksort")


def _sorted_by(x, dim, idx):
    return gather(x, dim, _make(np.ascontiguousarray(idx).astype(np.int64)))


@register("sort")
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along ``dim``; NaN sorts last (first when descending)."""
    x = _t(input)
    if x.ndim == 0:
        return sort_result(x.clone(), _make(np.zeros((), np.int64)))
    d = dims_arg(dim, x.ndim)[0]
    idx = _order(x._np, d, descending, stable)
    return sort_result(_sorted_by(x, d, idx), _make(idx.astype(np.int64)))


@register("argsort")
def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


@register("msort")
def msort(input):
    return sort(input, 0).values


@register("topk")
def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) elements along ``dim``: (values, indices).  Always in
    order: ``sorted=False`` leaves PyTorch free to skip the sort, and sorted is one valid answer."""
    x = _t(input)
    d = dims_arg(dim, x.ndim)[0] if x.ndim else 0
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range: k={k} but the tensor has size {n} "
                           f"along dim {d} (shape {list(x.shape)})")
    if x.ndim == 0:
        return topk_result(x.clone(), _make(np.zeros((), np.int64)))
    idx = np.take(_order(x._np, d, largest), np.arange(k), axis=d)
    return topk_result(_sorted_by(x, d, idx), _make(idx.astype(np.int64)))


@register("kthvalue")
def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest element (1-based k) along ``dim``: (values, indices)."""
    x = _t(input)
    d = dims_arg(dim, x.ndim)[0] if x.ndim else 0
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {d} "
                           f"of size {n}")
    if x.ndim == 0:
        return RT.kthvalue(x.clone(), _make(np.zeros((), np.int64)))
    idx = np.take(_order(x._np, d, False), [k - 1], axis=d)
    vals = _sorted_by(x, d, idx)
    idx = _make(idx.astype(np.int64))
    if not keepdim:
        vals, idx = vals.squeeze(d), idx.squeeze(d)
    return RT.kthvalue(vals, idx)


@register("median")
def median(input, dim=None, keepdim=False):
    """The lower median (PyTorch does not average the two middle values)."""
    x = _t(input)
    if dim is None:
        _check_nonempty(x, "median", None)
        flat = x.reshape(-1)
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    d = dims_arg(dim, x.ndim)[0] if x.ndim else 0
    n = x.shape[d] if x.ndim else 1
    return RT.median(*kthvalue(x, (n + 1) // 2, d, keepdim))


@register("aminmax")
def aminmax(input, *, dim=None, keepdim=False):
    return RT.aminmax(amin(input, () if dim is None else dim, keepdim),
              amax(input, () if dim is None else dim, keepdim))


@register("nanmean")
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    x = _t(input) if dtype is None else _t(input).to(dtype)     # cast first, as PyTorch
    n = sum(logical_not(isnan(x)), dim, keepdim)
    return nansum(x, dim, keepdim) / n


@register("unique", method=True)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Distinct values (sorted); optionally where each element went and how often each occurs.
    ``sorted=False`` allows any order; PyTorch's CPU kernel sorts anyway, and so does labkit."""
    x = _t(input)
    if dim is not None:
        d = dims_arg(dim, x.ndim)[0]
        u, inv, cnt = np.unique(x._np, return_inverse=True, return_counts=True, axis=d)
    else:
        u, inv, cnt = np.unique(x._np, return_inverse=True, return_counts=True)
        inv = inv.reshape(x.shape)
    out = [_make(u)]
    if return_inverse:
        out.append(_make(inv.astype(np.int64)))
    if return_counts:
        out.append(_make(cnt.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@register("searchsorted", method=False)
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Indices where ``input`` would be inserted into ``sorted_sequence`` to keep it sorted (per
    row of the last dim when the sequence is N-D)."""
    seq = _t(sorted_sequence)._np
    vals = input._np if isinstance(input, Tensor) else np.asarray(input)
    if side is not None:
        right = side == "right"
    if sorter is not None:
        seq = np.take_along_axis(seq, _t(sorter)._np, -1)
    mode = "right" if right else "left"
    if np.size(vals) == 0 or seq.size == 0 and seq.ndim > 1:
        return _make(np.zeros(np.shape(vals), np.int32 if out_int32 else np.int64))
    if seq.ndim <= 1:
        r = np.searchsorted(seq, vals, side=mode)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                               f"the first N-1 dimensions of boundaries tensor and input value "
                               f"tensor must match, but we got boundaries tensor "
                               f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
        s2, v2 = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
        r = np.stack([np.searchsorted(a, b, side=mode) for a, b in zip(s2, v2)]).reshape(
            vals.shape)
    return _make(np.asarray(r, np.int32 if out_int32 else np.int64))


@register("bucketize")
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value: ``boundaries[i-1] < x <= boundaries[i]`` (``right=False``)."""
    b = _t(boundaries)
    if b.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries tensor must be 1 dimension, but got dim("
                           f"{b.ndim})")
    return searchsorted(b, input, out_int32=out_int32, right=right)


@register("bincount")
def bincount(input, weights=None, minlength=0):
    x = _t(input)
    if x.ndim != 1 or x._np.dtype.kind not in "iu":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs (got "
                           f"{x.dtype} of shape {list(x.shape)})")
    if x._np.size and x._np.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs "
                           f"(found {int(x._np.min())})")
    w = None if weights is None else _t(weights)._np
    r = np.bincount(x._np, weights=w, minlength=minlength)
    return _make(r.astype(np.int64) if w is None else r.astype(
        w.dtype if w.dtype.kind == "f" else np.float64))


@register("isin", method=False)
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    # assume_unique only lets PyTorch pick a faster algorithm: the answer is the same
    e = elements._np if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._np if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return _make(np.asarray(np.isin(e, t, invert=invert)))
