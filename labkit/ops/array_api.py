"""The Tensor array namespace: Tensor functions under NumPy's names (``x.__array_namespace__()``).

A backward rule is written once and runs on NumPy arrays (an ordinary backward: ``ctx.xp`` is
``numpy``) and on Tensors (``create_graph=True``: ``ctx.xp`` is this module), so the rule's
functions must mean the same in both.  Each function here takes NumPy's arguments
(``axis``/``keepdims``, ``axes``) and does it with differentiable Tensor ops.  Only the names the
rules use are here; add one when a rule needs it.
"""
import builtins
import sys

import numpy as np

from ..tensor import Tensor, _make
from ._registry import FUNCTIONS, method
from .indexing import IndexPut
from .inplace import assign_result

__all__ = []


def _t(x, like=None):
    """A Tensor for ``x`` (arrays and Python numbers become constants)."""
    if isinstance(x, Tensor):
        return x
    a = np.asarray(x)
    if like is not None and a.dtype.kind == "f" and not isinstance(x, np.ndarray):
        a = a.astype(like._np.dtype)
    return _make(a, False, None, 0)


def _fn(name):
    f = FUNCTIONS[name]

    def call(x, *args, **kwargs):
        return f(_t(x), *args, **kwargs)
    call.__name__ = name
    return call


for _name in ("exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh",
              "sign", "abs", "erf", "sigmoid", "isfinite", "logical_not", "asin", "acos", "atan",
              "floor", "trunc"):
    globals()[_name] = _fn(_name)


def logaddexp(a, b):
    like = a if isinstance(a, Tensor) else b
    return FUNCTIONS["logaddexp"](_t(a, like), _t(b, like))


def ascontiguousarray(x):
    return _t(x).contiguous()


def where(cond, a, b):
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    return FUNCTIONS["where"](_t(cond), _t(a, like), _t(b, like))


def maximum(a, b):
    like = a if isinstance(a, Tensor) else b
    return FUNCTIONS["maximum"](_t(a, like), _t(b, like))


def minimum(a, b):
    like = a if isinstance(a, Tensor) else b
    return FUNCTIONS["minimum"](_t(a, like), _t(b, like))


def logical_and(a, b):
    return _t(a) & _t(b)


def logical_or(a, b):
    return _t(a) | _t(b)


def _axes(axis):
    return None if axis is None else (tuple(axis) if isinstance(axis, (tuple, list)) else axis)


def sum(x, axis=None, keepdims=False, dtype=None):
    x = _t(x)
    if axis is None and not keepdims:
        return x.sum()
    if axis is None:
        axis = tuple(range(x.ndim))
    return x.sum(dim=_axes(axis), keepdim=keepdims)


def mean(x, axis=None, keepdims=False):
    x = _t(x)
    if axis is None and not keepdims:
        return x.mean()
    if axis is None:
        axis = tuple(range(x.ndim))
    return x.mean(dim=_axes(axis), keepdim=keepdims)


def cumsum(x, axis):
    return _t(x).cumsum(axis)


def flip(x, axis):
    return _t(x).flip(axis if isinstance(axis, (tuple, list)) else (axis,))


def zeros_like(x, dtype=None):
    return _make(np.zeros_like(_t(x)._np, dtype=dtype), False, None, 0)


def ones_like(x, dtype=None):
    return _make(np.ones_like(_t(x)._np, dtype=dtype), False, None, 0)


def full_like(x, value):
    return _make(np.full_like(_t(x)._np, value), False, None, 0)


def _np_dtype(dtype):
    return None if dtype is None else np.dtype(getattr(dtype, "np", dtype))


def zeros(shape, dtype=None):
    """A constant zero Tensor (``dtype``: a NumPy or labkit dtype, e.g. ``g.dtype``)."""
    return _make(np.zeros(shape, dtype=_np_dtype(dtype)), False, None, 0)


def copy(x):
    """A copy that stays on the graph (rules write into it: ``gx = xp.copy(g); gx[i] = 0``)."""
    return _t(x).clone()


def put_along_axis(arr, indices, values, axis):
    """NumPy's in-place ``put_along_axis`` on a Tensor (differentiable in ``values``)."""
    where = list(np.indices(np.shape(indices), sparse=True))
    where[axis] = np.asarray(indices)
    arr[tuple(where)] = values


class _Add:
    """``xp.add(a, b)`` and ``xp.add.at(out, index, values)`` (NumPy's unbuffered in-place
    scatter-add, repeated indices accumulate), differentiable in ``values``."""

    def __call__(self, a, b):
        return _t(a) + _t(b)

    @staticmethod
    def at(out, index, values):
        assign_result(out, lambda src: IndexPut.apply(src, _t(values, out), index, True))


add = _Add()


def asarray(x, dtype=None):
    """A constant (not differentiated) Tensor from an array-like."""
    return _make(np.asarray(x, dtype=dtype), False, None, 0)


def astype(x, dtype):
    """``x`` as ``dtype`` (a NumPy dtype, or a labkit one such as ``g.dtype``)."""
    x = _t(x)
    dtype = np.dtype(getattr(dtype, "np", dtype))
    if x._np.dtype == dtype:
        return x
    return x.type_as(_make(np.zeros((), dtype), False, None, 0))


def reshape(x, shape):
    return _t(x).reshape(tuple(shape))


def broadcast_to(x, shape):
    return _t(x).expand(tuple(shape))


def expand_dims(x, axis):
    x = _t(x)
    for a in sorted(axis if isinstance(axis, (tuple, list)) else (axis,)):
        x = x.unsqueeze(a)
    return x


def split(x, indices, axis=0):
    """NumPy's ``split`` at the given indices."""
    x = _t(x)
    bounds = [0] + [int(i) for i in indices] + [x.shape[axis]]
    return [x.narrow(axis, a, b - a) for a, b in zip(bounds[:-1], bounds[1:])]


def cumprod(x, axis):
    return FUNCTIONS["cumprod"](_t(x), axis)


def squeeze(x, axis):
    return _t(x).squeeze(axis)


def transpose(x, axes=None):
    x = _t(x)
    return x.permute(tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))


def moveaxis(x, source, destination):
    return FUNCTIONS["movedim"](_t(x), source, destination)


def swapaxes(x, a, b):
    return _t(x).transpose(a, b)


def matmul(a, b):
    return _t(a) @ _t(b)


def einsum(spec, *operands):
    return FUNCTIONS["einsum"](spec, *[_t(o) for o in operands])


def concatenate(parts, axis=0):
    return FUNCTIONS["cat"]([_t(p) for p in parts], axis)


def stack(parts, axis=0):
    return FUNCTIONS["stack"]([_t(p) for p in parts], axis)


def roll(x, shift, axis=None):
    return FUNCTIONS["roll"](_t(x), shift, axis)


def take(x, index, axis):
    """NumPy's ``take`` along one axis (an integer, or an array of them)."""
    x = _t(x)
    if not isinstance(index, (int, np.integer)):
        index = np.asarray(list(index) if isinstance(index, range) else index, dtype=np.int64)
    return x[(builtins.slice(None),) * (axis % x.ndim) + (index,)]


def take_along_axis(x, index, axis):
    return _t(x).gather(axis, _t(np.asarray(index, dtype=np.int64)))


def pad(x, pad_width):
    """NumPy's zero ``pad`` (``pad_width``: (before, after) per dimension)."""
    x = _t(x)
    out = zeros(tuple(s + a + b for s, (a, b) in zip(x.shape, pad_width)), dtype=x.dtype)
    out[tuple(builtins.slice(a, a + s) for s, (a, _) in zip(x.shape, pad_width))] = x
    return out


def diagonal(x, offset=0, axis1=-2, axis2=-1):
    return _t(x).diagonal(offset, axis1, axis2)


def tril(x, k=0):
    return _t(x).tril(k)


def triu(x, k=0):
    return _t(x).triu(k)


def eye(n, dtype=None):
    return _make(np.eye(n, dtype=_np_dtype(dtype)), False, None, 0)


@method("__array_namespace__")
def __array_namespace__(self, api_version=None):
    """This module: Tensor functions under NumPy's names (the Array API's namespace hook)."""
    return _THIS


_THIS = sys.modules[__name__]
