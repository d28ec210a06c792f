"""Helpers shared by the ``labkit.nn.functional`` modules (argument checks, reductions)."""
import functools
import warnings

import numpy as np

from ...autograd import grad_mode
from ...tensor import _make, Tensor


# ================================================================ helpers
def _tuple(x, n, name="argument"):
    if isinstance(x, (tuple, list)):
        if len(x) == 1:
            return tuple(int(x[0]) for _ in range(n))
        if len(x) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {tuple(x)}")
        return tuple(int(v) for v in x)
    return (int(x),) * n


def _np(x):
    return x._np if isinstance(x, Tensor) else x


def _inplace_result(input, result):
    """Honour ``inplace=True`` when autograd is not tracking ``input`` (otherwise out of place)."""
    if (not input.requires_grad or not grad_mode._state.enabled) and \
            result._np.dtype == input._np.dtype:
        np.copyto(input._np, result._np)
        input._vc[0] += 1
        return input
    return result


def _reduction_arg(size_average, reduce, reduction):
    """PyTorch's legacy ``size_average`` / ``reduce`` flags, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='sum' / 'mean' / 'none' instead.", stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction (use 'mean', 'sum' or "
                         f"'none')")


def _reduce(loss, reduction):
    _check_reduction(reduction)
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


def _int_via_double(fn, input, *args, **kwargs):
    """``fn`` on an integer input as PyTorch computes it: exactly (in float64 here, exact for
    the integers that fit in 53 bits), truncated back to the input's integer dtype."""
    conv = [a.double() if isinstance(a, Tensor) else a for a in args]
    out = fn(input.double(), *conv, **kwargs)
    if isinstance(out, tuple):
        return (out[0].trunc().to(input.dtype),) + tuple(out[1:])
    return out.trunc().to(input.dtype)


def _is_int(x):
    return isinstance(x, Tensor) and x._np.dtype.kind in "iu"


def _check_float(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(x).__name__}")
    if x._np.dtype.kind != "f":
        raise RuntimeError(f"{name}(): expected a floating point input but got {x.dtype} "
                           f"(convert it first, e.g. x.float())")


def _same_dtype(name, x, w):
    if w is not None and x._np.dtype != w._np.dtype:
        raise RuntimeError(f"{name}: input and weight must have the same dtype, but got "
                           f"{x.dtype} and {w.dtype}. Convert one of them (x.float() or "
                           f"model.double()).")


def _integer_via_float64(rounding):
    """Decorator: integer inputs of a conv / pooling function (PyTorch computes those on the CPU)
    are computed in float64 and cast back (``rounding``: 'round' for sums of products, 'trunc'
    for averages, which PyTorch truncates toward zero); float inputs go straight through."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(input, *args, **kwargs):
            if not isinstance(input, Tensor) or input._np.dtype.kind not in "iu":
                return fn(input, *args, **kwargs)
            dt = input._np.dtype
            f64 = _float64_args
            with grad_mode.no_grad():
                out = fn(*f64((input,) + args), **dict(zip(kwargs, f64(kwargs.values()))))
            back = np.rint if rounding == "round" else np.trunc
            res = tuple(_to_int(o, dt, back) for o in (out if isinstance(out, tuple) else (out,)))
            return res if isinstance(out, tuple) else res[0]
        return inner
    return wrap


def _float64_args(args):
    return tuple(_make(a._np.astype(np.float64)) if isinstance(a, Tensor) and
                 a._np.dtype.kind in "iu" else a for a in args)


def _to_int(t, dt, back):
    if isinstance(t, Tensor) and t._np.dtype.kind == "f":
        return _make(back(t._np).astype(dt))
    return t


def _size(shape):
    return f"labkit.Size({list(shape)})"
