"""Small helpers shared by op modules: argument conversion and dtype promotion."""
import numbers

import numpy as np

from .. import dtypes as D
from ..autograd.function import Function
from ..tensor import _make, _to_array, _wrap_dim, Tensor


def as_tensor_arg(x):
    """Turn a NumPy array or nested list used as an operand into a Tensor (scalars stay)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return _make(_to_array(x))
    if isinstance(x, (list, tuple)):
        return _make(_to_array(x))
    if isinstance(x, (numbers.Number, np.generic)):
        return x
    raise TypeError(f"unsupported operand type {type(x).__name__}; expected a Tensor or a number")


class To(Function):
    """dtype conversion; gradient is converted back."""
    raw = True
    derivative = "the gradient is converted back to the input's dtype"
    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, npdtype):
        ctx.src = x.dtype
        return x.astype(npdtype)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.astype(g, ctx.src), None


def cast(t, dt):
    """Tensor ``t`` as labkit dtype ``dt`` (differentiable; no copy if already that dtype)."""
    if t._np.dtype is dt.np or t._np.dtype == dt.np:
        return t
    return To.apply(t, dt.np)


def promote(a, b):
    """Operands of a binary op, converted to their PyTorch result dtype.

    Returns (a, b, dtype).  Python scalars are left as scalars (NumPy keeps the array's dtype for
    them); tensors are cast (differentiably) when their dtype differs from the result.
    """
    ta = isinstance(a, Tensor)
    tb = isinstance(b, Tensor)
    if ta and tb:
        if a._np.dtype == b._np.dtype:
            return a, b, D._FROM_NP[a._np.dtype]
    elif ta:                            # fast path: float tensor with a Python number
        tp = type(b)
        if (tp is float or tp is int) and a._np.dtype.kind == "f":
            return a, float(b), D._FROM_NP[a._np.dtype]
    elif tb:
        tp = type(a)
        if (tp is float or tp is int) and b._np.dtype.kind == "f":
            return float(a), b, D._FROM_NP[b._np.dtype]
    if not ta:
        a = as_tensor_arg(a)
        ta = isinstance(a, Tensor)
    if not tb:
        b = as_tensor_arg(b)
        tb = isinstance(b, Tensor)
    dt = D.result_type(a, b)
    if ta:
        a = cast(a, dt)
    elif type(a) is not bool and dt.is_floating_point:
        a = float(a)
    if tb:
        b = cast(b, dt)
    elif type(b) is not bool and dt.is_floating_point:
        b = float(b)
    return a, b, dt


def to_float(t):
    """Integer/bool tensors become the default float dtype (PyTorch does this for exp, sqrt, ...)."""
    if not isinstance(t, Tensor):
        t = as_tensor_arg(t)
        if not isinstance(t, Tensor):
            t = _make(np.asarray(t, dtype=D.get_default_dtype().np))
    if t._np.dtype.kind != "f":
        return cast(t, D.get_default_dtype())
    return t


def shape_arg(args, keyword=None, name="size"):
    """Accept f(2, 3), f((2, 3)), f([2, 3]), f(labkit.Size) and (``keyword``, the value of
    PyTorch's keyword ``name``) f(size=(2, 3)) alike."""
    if keyword is not None:
        if args:
            raise TypeError(f"got multiple values for argument '{name}'")
        args = (keyword,)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = a.item()
        if not isinstance(a, (numbers.Integral, np.integer)):
            raise TypeError(f"sizes must be integers, got {type(a).__name__} ({a!r})")
        out.append(int(a))
    return tuple(out)


def dim_arg(dim, ndim):
    return _wrap_dim(int(dim), ndim)


def dims_arg(dim, ndim):
    """Normalise ``dim`` (None, int or a sequence of ints) to a sorted tuple of axes, or None."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        axes = tuple(sorted({dim_arg(d, ndim) for d in dim}))
        if len(axes) != len(dim):
            raise RuntimeError(f"dim {list(dim)} appears multiple times in the list of dims")
    else:
        axes = (dim_arg(dim, ndim),)
    return axes if ndim else ()          # a 0-d tensor accepts dim 0 / -1 and has no axes


def broadcast_error(*shapes):
    """PyTorch's RuntimeError for shapes that do not broadcast (None when they do).

    Sizes are compared from the last dim backwards, like PyTorch; the message names the two sizes,
    the dim (in the broadcast result), both full shapes, and how to fix it.
    """
    shapes = [tuple(s) for s in shapes]
    nd = max(len(s) for s in shapes)
    names = "abcdefgh"
    for i in range(nd - 1, -1, -1):
        seen = None
        for k, s in enumerate(shapes):
            j = i - (nd - len(s))
            if j < 0 or s[j] == 1:
                continue
            if seen is None:
                seen = (k, s[j])
            elif s[j] != seen[1]:
                listed = " and ".join(str(list(sh)) for sh in shapes)
                return RuntimeError(
                    f"The size of tensor {names[seen[0]]} ({seen[1]}) must match the size of "
                    f"tensor {names[k]} ({s[j]}) at non-singleton dimension {i} (shapes "
                    f"{listed}). Broadcasting lines shapes up from the last dim: each pair of "
                    f"sizes must be equal or one of them 1. Reshape one operand (e.g. "
                    f".unsqueeze(), .view(), .T) or fix the sizes.")
    return None


def check_broadcast(*operands):
    """Raise the broadcast error for tensor/array operands if their shapes do not broadcast."""
    err = broadcast_error(*[np.shape(o._np if isinstance(o, Tensor) else o) for o in operands])
    if err is not None:
        raise err from None


def as_view(res, src):
    """Mark ``res`` as a view of ``src``: same version counter, same base."""
    res._vc = src._vc
    res._base = src._base if src._base is not None else src
    return res
