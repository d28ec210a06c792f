"""Selection and comparison: where, lerp, addcmul (ternary ops), comparisons and logic.
"""
import numpy as np

from .. import kernels as K
from ..autograd.function import Function
from ..tensor import _make, Tensor
from ._common import as_tensor_arg, check_broadcast, promote
from ._registry import method, register
from .elementwise import _np, add, div, mul
from .indexing import nonzero


# ---------------------------------------------------------------- ternary
class Where(Function):
    raw = True
    derivative = "the gradient goes to whichever input was selected"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        xp = ctx.xp
        return None, xp.where(cond, g, 0.0), xp.where(cond, 0.0, g)


@register("where", method=False)
def where(condition, input=None, other=None):
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    cond = as_tensor_arg(condition)
    if cond._np.dtype != np.bool_:
        cond = _make(cond._np.astype(bool))
    a, b, _ = promote(input, other)
    try:
        return Where.apply(cond, a, b)
    except ValueError:
        check_broadcast(cond, a, b)
        raise


@method("where")
def where_method(self, condition, other):
    """``x.where(condition, y)``: ``x`` where ``condition`` holds, else ``y`` (as in PyTorch,
    whose binding names it ``other``)."""
    return where(condition, self, other)


class Lerp(Function):
    raw = True
    derivative = "d/da = 1-w, d/db = w, d/dw = b-a"

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.save_for_backward(a, b, w)
        if np.ndim(w) == 0:
            return K.lerp(a, b, w)
        return a + w * (b - a)

    @staticmethod
    def backward(ctx, g):
        a, b, w = ctx.saved_tensors
        na, nb, nw = ctx.needs_input_grad
        return (g * (1 - w) if na else None, g * w if nb else None,
                g * (b - a) if nw else None)


@register("lerp")
def lerp(input, end, weight):
    a, b, _ = promote(input, end)
    try:
        return Lerp.apply(a, b, weight)
    except ValueError:
        check_broadcast(a, b, weight if isinstance(weight, Tensor) else 0.0)
        raise


class Addcmul(Function):
    raw = True
    derivative = "d/da = 1, d/db = v*c, d/dc = v*b"

    @staticmethod
    def forward(ctx, a, b, c, value):
        ctx.save_for_backward(b, c)
        ctx.value = value
        return K.addcmul(a, b, c, value)

    @staticmethod
    def backward(ctx, g):
        b, c = ctx.saved_tensors
        na, nb, nc, _ = ctx.needs_input_grad
        v = ctx.value
        return (g if na else None, g * c * v if nb else None, g * b * v if nc else None, None)


@register("addcmul")
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2`` in one fused pass."""
    t1, t2, _ = promote(tensor1, tensor2)
    a, t1, _ = promote(input, t1)
    a, t2, _ = promote(a, t2)
    try:
        return Addcmul.apply(a, t1, t2, value)
    except ValueError:
        check_broadcast(a, t1, t2)
        raise


@register("addcdiv")
def addcdiv(input, tensor1, tensor2, *, value=1):
    return add(input, mul(div(tensor1, tensor2), value))


# ---------------------------------------------------------------- comparisons and logic
def _cmp(npfn):
    def op(input, other):
        a, b, _ = promote(input, other)
        try:
            return _make(npfn(_np(a), _np(b)))
        except ValueError:
            check_broadcast(a, b)
            raise
    return op


eq = register("eq")(_cmp(np.equal))
ne = register("ne", "not_equal")(_cmp(np.not_equal))
lt = register("lt", "less")(_cmp(np.less))
le = register("le", "less_equal")(_cmp(np.less_equal))
gt = register("gt", "greater")(_cmp(np.greater))
ge = register("ge", "greater_equal")(_cmp(np.greater_equal))


def _bool_arr(x):
    a = _np(as_tensor_arg(x))
    return np.asarray(a).astype(bool, copy=False)


@register("logical_and")
def logical_and(input, other):
    a, b = _bool_arr(input), _bool_arr(other)
    try:
        return _make(np.logical_and(a, b))
    except ValueError:
        check_broadcast(a, b)
        raise


@register("logical_or")
def logical_or(input, other):
    a, b = _bool_arr(input), _bool_arr(other)
    try:
        return _make(np.logical_or(a, b))
    except ValueError:
        check_broadcast(a, b)
        raise


@register("logical_xor")
def logical_xor(input, other):
    a, b = _bool_arr(input), _bool_arr(other)
    try:
        return _make(np.logical_xor(a, b))
    except ValueError:
        check_broadcast(a, b)
        raise


@register("logical_not")
def logical_not(input):
    return _make(np.logical_not(_bool_arr(input)))


def _bitwise(npfn, name):
    def op(input, other):
        a, b, dt = promote(input, other)
        if dt.is_floating_point:
            raise NotImplementedError(f"\"{name}\" is not implemented for floating-point tensors; use "
                            f"logical ops or compare first (e.g. (x > 0) & (y > 0))")
        return _make(npfn(_np(a), _np(b)))
    return op


bitwise_and = register("bitwise_and")(_bitwise(np.bitwise_and, "bitwise_and"))
bitwise_or = register("bitwise_or")(_bitwise(np.bitwise_or, "bitwise_or"))
bitwise_xor = register("bitwise_xor")(_bitwise(np.bitwise_xor, "bitwise_xor"))


@register("bitwise_not")
def bitwise_not(input):
    if input.dtype.is_floating_point:
        raise NotImplementedError("bitwise_not is not implemented for floating-point tensors")
    return _make(np.invert(input._np))


@register("isnan")
def isnan(input):
    return _make(np.isnan(input._np))


@register("isinf")
def isinf(input):
    return _make(np.isinf(input._np))


@register("isfinite")
def isfinite(input):
    return _make(np.isfinite(input._np))


@register("allclose")
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.allclose(_np(input), _np(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


@register("isclose")
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _make(np.isclose(_np(input), _np(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


@register("equal")
def equal(input, other):
    return bool(input._np.shape == other._np.shape and np.array_equal(input._np, other._np))
