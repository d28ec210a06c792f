"""More elementwise math: inverse trigonometric and hyperbolic functions, atan2, logit,
logaddexp, nan_to_num, clamp, and the rounding ops (zero gradient, as in PyTorch).

Each differentiable op is a Function with its forward and its backward rule side by side.
"""
import numpy as np

from ..autograd.function import Function
from ..tensor import _make, Tensor
from ._common import promote, to_float
from ._registry import register
from .elementwise import _make_unary, abs, add, Clamp, div, exp, log, log1p, maximum, neg, sub
from .logic import isinf, isnan, where


# ---- more math: inverse trigonometric and hyperbolic functions (forward and derivative)
class Asin(Function):
    raw = True
    derivative = "d(asin a)/da = 1/sqrt(1 - a^2)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return np.arcsin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / ctx.xp.sqrt(1 - x * x)


class Acos(Function):
    raw = True
    derivative = "d(acos a)/da = -1/sqrt(1 - a^2)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):
            return np.arccos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return -g / ctx.xp.sqrt(1 - x * x)


class Atan(Function):
    raw = True
    derivative = "d(atan a)/da = 1/(1 + a^2)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.arctan(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors                      # d/dx atan x = 1 / (1 + x^2)
        return g / (1 + x * x)


class Sinh(Function):
    raw = True
    derivative = "d(sinh a)/da = cosh a"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sinh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.xp.cosh(x)


class Cosh(Function):
    raw = True
    derivative = "d(cosh a)/da = sinh a"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cosh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.xp.sinh(x)


class Atan2(Function):
    """atan2(y, x): the angle of the point (x, y)."""
    raw = True
    derivative = "d atan2(y, x)/dy = x/(x^2+y^2), d/dx = -y/(x^2+y^2)"

    @staticmethod
    def forward(ctx, y, x):
        ctx.save_for_backward(y, x)
        return np.arctan2(y, x)

    @staticmethod
    def backward(ctx, g):
        y, x = ctx.saved_tensors                      # d/dy = x / r^2, d/dx = -y / r^2
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = x * x + y * y
            return g * x / r2, -g * y / r2


asin = _make_unary("asin", Asin, aliases=("arcsin",))
acos = _make_unary("acos", Acos, aliases=("arccos",))
atan = _make_unary("atan", Atan, aliases=("arctan",))
sinh = _make_unary("sinh", Sinh)
cosh = _make_unary("cosh", Cosh)


@register("atan2", "arctan2")
def atan2(input, other):
    a, b, dt = promote(input, other)
    if not dt.is_floating_point:
        a, b = to_float(a), to_float(b)
    return Atan2.apply(a, b)


@register("frac")
def frac(input):
    """The fractional part, ``x - trunc(x)`` (gradient 1, as in PyTorch)."""
    return sub(input, trunc(input).detach())


@register("logaddexp")
def logaddexp(input, other):
    """log(exp(a) + exp(b)) without overflow: max + log1p(exp(-|a - b|))."""
    m = maximum(input, other)
    return add(m, log1p(exp(neg(abs(sub(input, other))))))


@register("nan_to_num")
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's max), -inf -> ``neginf``."""
    if not input.dtype.is_floating_point:
        return input.clone()
    info = np.finfo(input._np.dtype)
    x = where(isnan(input), float(nan), input)
    x = where(isinf(x) & (x > 0), float(info.max if posinf is None else posinf), x)
    return where(isinf(x) & (x < 0), float(info.min if neginf is None else neginf), x)


@register("logit")
def logit(input, eps=None):
    input = to_float(input)
    x = input if eps is None else clamp(input, eps, 1 - eps)
    return log(div(x, sub(1, x)))


@register("clamp", "clip")
def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    x = input
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        lo = min if min is None or isinstance(min, Tensor) else _make(np.asarray(min, x._np.dtype))
        hi = max if max is None or isinstance(max, Tensor) else _make(np.asarray(max, x._np.dtype))
        return Clamp.apply(x, lo, hi)
    if x._np.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        x = to_float(x)
    return Clamp.variant("ClampBackward1").apply(x, min, max)       # scalar bounds


@register("clamp_min")
def clamp_min(input, min):
    return clamp(input, min=min)


@register("clamp_max")
def clamp_max(input, max):
    return clamp(input, max=max)


# ---- non-differentiable (zero gradient) rounding ops; PyTorch gives them zero gradients
class _ZeroGrad(Function):
    raw = True
    derivative = "the derivative is 0 (a step function): no gradient flows back"

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.zeros_like(g)


def _zero_grad_op(name, npfn):
    cls = type(name.capitalize(), (_ZeroGrad,), {
        "raw": True, "forward": staticmethod(lambda ctx, x: npfn(x))})

    def op(input):
        if input._np.dtype.kind != "f":
            if name == "sign" and input._np.dtype.kind != "b":
                return _make(np.sign(input._np))
            return input.clone()
        return cls.apply(input)
    op.__name__ = name
    register(name)(op)
    return cls, op


Sign, sign = _zero_grad_op("sign", np.sign)
Floor, floor = _zero_grad_op("floor", np.floor)
Ceil, ceil = _zero_grad_op("ceil", np.ceil)
Trunc, trunc = _zero_grad_op("trunc", np.trunc)
Frac = None


Round, _zero_grad_op_round = _zero_grad_op("round", np.round)   # re-registered just below


@register("round")
def round(input, *, decimals=0):
    if decimals:
        s = 10.0 ** decimals
        return _zero_grad_op_round(input * s) / s
    return _zero_grad_op_round(input)



@register("sgn")
def sgn(input):
    return sign(input)
