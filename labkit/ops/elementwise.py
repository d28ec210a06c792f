"""Elementwise ops: arithmetic and the math functions (exp, log, sqrt, sin, tanh, relu ...).

More math (inverse trigonometric, hyperbolic, clamp, rounding) is in ``elementwise_math.py``;
where / lerp / addcmul, comparisons and logic in ``logic.py``; Python's operators in
``operators.py``.

Each differentiable op is a Function with its forward and backward side by side.  Broadcasting is
plain NumPy broadcasting; the engine sums gradients back to each input's shape.
"""
import numpy as np

from .. import dtypes as D, kernels as K
from ..autograd.function import Function, apply_pair
from ..tensor import _make, Tensor
from ._common import as_tensor_arg, check_broadcast, promote, to_float
from ._registry import register


# ---------------------------------------------------------------- arithmetic (binary)
class Add(Function):
    raw = True
    derivative = "d(a+b)/da = 1, d(a+b)/db = 1: the gradient passes through unchanged"

    @staticmethod
    def forward(ctx, a, b):
        return np.add(a, b)

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    raw = True
    derivative = "d(a-b)/da = 1, d(a-b)/db = -1"

    @staticmethod
    def forward(ctx, a, b):
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    raw = True
    derivative = "d(a*b)/da = b, d(a*b)/db = a: each input gets the gradient times the other input"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    raw = True
    derivative = "d(a/b)/da = 1/b, d(a/b)/db = -a/b^2"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = g / b if na else None
        gb = -g * a / (b * b) if nb else None
        return ga, gb


class Pow(Function):
    raw = True
    derivative = "d(a^n)/da = n*a^(n-1), d(a^n)/dn = a^n*ln(a)"

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):   # NaN/inf, as torch
            y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        xp = ctx.xp
        ga = gb = None
        if na:
            if not hasattr(b, "shape"):                      # a Python number exponent
                ga = g * 2 * a if b == 2 else g * b * a ** (b - 1) if b != 0 else xp.zeros_like(g)
            else:
                ga = xp.where(b == 0, 0.0, g * b * a ** (b - 1))
        if nb:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1.0)),
                                 xp.where(a == 0, 0.0, np.nan))
            gb = g * y * log_a
        return ga, gb


class Maximum(Function):
    raw = True
    derivative = "the gradient goes to the larger input (split on ties)"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        # ties share the gradient equally, as PyTorch does
        w = xp.astype(xp.where(a > b, 1.0, xp.where(a == b, 0.5, 0.0)), g.dtype)
        return g * w, g * (1 - w)


class Minimum(Function):
    raw = True
    derivative = "the gradient goes to the smaller input (split on ties)"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        w = xp.astype(xp.where(a < b, 1.0, xp.where(a == b, 0.5, 0.0)), g.dtype)
        return g * w, g * (1 - w)


def _binary(cls, a, b, true_division=False):
    """Promote the operands to their common dtype and apply ``cls``.

    Two tensors of one dtype (the common case: ``a + b``, ``w * x``) need no promotion and take
    the shortest path to the graph (``apply_pair``).  ``true_division``: integer operands are
    divided as the default float dtype, as in PyTorch (``Div``).  Shapes that do not broadcast
    raise PyTorch's RuntimeError naming both sizes (NumPy's ValueError never reaches the user).
    """
    pair = (isinstance(a, Tensor) and isinstance(b, Tensor) and a._np.dtype is b._np.dtype
            and (not true_division or a._np.dtype.kind == "f"))
    if not pair:
        a, b, dt = promote(a, b)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            raise TypeError("at least one operand must be a Tensor")
        if true_division and not dt.is_floating_point:
            a = to_float(a) if isinstance(a, Tensor) else float(a)
            b = to_float(b) if isinstance(b, Tensor) else float(b)
    try:
        return apply_pair(cls, a, b) if pair else cls.apply(a, b)
    except ValueError:
        check_broadcast(a, b)
        raise


def _scale(x, alpha):
    if alpha == 1:
        return x
    return mul(x, alpha) if isinstance(x, Tensor) else x * alpha


@register("add")
def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting."""
    return _binary(Add, input, _scale(other, alpha) if alpha != 1 else other)


_BOOL = np.dtype(bool)       # (NumPy's built-in dtypes are single objects: ``is`` compares them)


@register("sub", "subtract")
def sub(input, other, *, alpha=1, _fn=Sub):
    if (isinstance(input, Tensor) and input._np.dtype is _BOOL
            or isinstance(other, Tensor) and other._np.dtype is _BOOL):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return _binary(_fn, input, _scale(other, alpha) if alpha != 1 else other)


@register("mul", "multiply")
def mul(input, other):
    return _binary(Mul, input, other)


@register("div", "divide", "true_divide")
def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return _binary(Div, input, other, True)
    if rounding_mode == "floor":
        r = floor_divide(input, other)
        if r.dtype.is_floating_point and any(isinstance(t, Tensor) and t.requires_grad
                                             for t in (input, other)):
            # on the graph with a zero gradient, as PyTorch (the value stays floor_divide's)
            zero = div(input, other).floor()
            return zero.where(_make(np.zeros(r.shape, bool)), r)      # (Tensor.where: logic.py)
        return r
    if rounding_mode == "trunc":
        q = div(input, other)
        r = q.trunc() if q.dtype.is_floating_point else q
        a, b, dt = promote(input, other)
        return r if dt.is_floating_point else r.to(dt)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found '{rounding_mode}'")


@register("pow")
def pow(input, exponent):
    if not isinstance(input, Tensor):                     # scalar ** tensor
        base = as_tensor_arg(input)
        if not isinstance(base, Tensor):
            if exponent.dtype.is_floating_point or isinstance(input, float):
                e = exponent if exponent.dtype.is_floating_point else to_float(exponent)
                return Pow.variant("PowBackward2").apply(
                    _make(np.asarray(input, dtype=e._np.dtype)), e)
            if (exponent._np < 0).any():                  # int ** int tensor stays integer
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            return _make(np.power(np.int64(input), exponent._np.astype(np.int64)))
        input = base
    if not isinstance(exponent, Tensor):
        if input.dtype.is_floating_point or isinstance(exponent, (int, np.integer)):
            if not input.dtype.is_floating_point and exponent < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            return Pow.apply(input, exponent if input.dtype.is_floating_point else int(exponent))
        return Pow.apply(to_float(input), float(exponent))
    return _binary(Pow.variant("PowBackward1"), input, exponent)


@register("maximum")
def maximum(input, other):
    return _binary(Maximum, input, other)


@register("minimum")
def minimum(input, other):
    return _binary(Minimum, input, other)


@register("fmax")
def fmax(input, other):
    return _binary(Maximum, input, other)


@register("fmin")
def fmin(input, other):
    return _binary(Minimum, input, other)


@register("floor_divide")
def floor_divide(input, other):
    """``a // b`` rounded toward minus infinity (not differentiable, as in PyTorch)."""
    a, b, dt = promote(input, other)
    if not dt.is_floating_point and np.any(_np(b) == 0):
        raise RuntimeError("ZeroDivisionError: integer division or modulo by zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        return _make(np.asarray(np.floor_divide(_np(a), _np(b))))


class Remainder(Function):
    """Python's ``a % b`` (sign of the divisor): a - floor(a / b) * b."""
    raw = True
    derivative = "d(a mod b)/da = 1, d(a mod b)/db = -floor(a/b)"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.remainder(a, b))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        nb = ctx.needs_input_grad[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return g, (-g * (a // b) if nb else None)


class Fmod(Function):
    """C's ``fmod`` (sign of the dividend): a - trunc(a / b) * b."""
    raw = True
    derivative = "d fmod(a, b)/da = 1, d fmod(a, b)/db = -trunc(a/b)"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.fmod(a, b))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        nb = ctx.needs_input_grad[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return g, (-g * ctx.xp.trunc(a / b) if nb else None)


def _int_division(cls, input, other):
    a, b, dt = promote(input, other)
    if not dt.is_floating_point and np.any(_np(b) == 0):
        raise RuntimeError("ZeroDivisionError: integer division or modulo by zero")
    if not isinstance(a, Tensor):
        a = _make(np.asarray(a, dtype=dt.np))
    return cls.apply(a, b)


@register("remainder")
def remainder(input, other):
    return _int_division(Remainder, input, other)


@register("fmod")
def fmod(input, other):
    return _int_division(Fmod, input, other)


def _np(x):
    return x._np if isinstance(x, Tensor) else x


# ---------------------------------------------------------------- unary math
class Neg(Function):
    raw = True
    derivative = "d(-a)/da = -1"

    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    raw = True
    derivative = "d(e^a)/da = e^a (the output itself)"

    @staticmethod
    def forward(ctx, x):
        y = K.unary("exp", x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log(Function):
    raw = True
    derivative = "d(ln a)/da = 1/a"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore"):
            return g / x


class Log1p(Function):
    raw = True
    derivative = "d(ln(1+a))/da = 1/(1+a)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + x)


class Expm1(Function):
    raw = True
    derivative = "d(e^a - 1)/da = e^a"

    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y + 1)


class Sqrt(Function):
    raw = True
    derivative = "d(sqrt a)/da = 1/(2 sqrt a)"

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):
            y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / (2 * y)


class Rsqrt(Function):
    raw = True
    derivative = "d(a^-1/2)/da = -1/2 a^-3/2"

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore", divide="ignore"):
            y = 1 / np.sqrt(x)
        ctx.save_for_backward(y)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return -0.5 * g * y * y * y


class Erf(Function):
    raw = True
    derivative = "d erf(a)/da = 2/sqrt(pi) e^(-a^2)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.unary("erf", x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / np.sqrt(np.pi)) * ctx.xp.exp(-x * x)


class Sin(Function):
    raw = True
    derivative = "d(sin a)/da = cos a"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.xp.cos(x)


class Cos(Function):
    raw = True
    derivative = "d(cos a)/da = -sin a"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * ctx.xp.sin(x)


class Tanh(Function):
    raw = True
    derivative = "d(tanh a)/da = 1 - tanh(a)^2"

    @staticmethod
    def forward(ctx, x):
        y = K.unary("tanh", x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)

    @staticmethod
    def fused_backward(ctx, g):
        (y,) = ctx.saved_tensors
        return K.binary("tanh_backward", g, y)


class Sigmoid(Function):
    raw = True
    derivative = "d(s(a))/da = s(a) * (1 - s(a))"

    @staticmethod
    def forward(ctx, x):
        y = K.unary("sigmoid", x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)

    @staticmethod
    def fused_backward(ctx, g):
        (y,) = ctx.saved_tensors
        return K.binary("sigmoid_backward", g, y)


class Relu(Function):
    raw = True
    derivative = "d(relu a)/da = 1 where a > 0, else 0"

    @staticmethod
    def forward(ctx, x):
        y = K.unary("relu", x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y > 0)

    @staticmethod
    def fused_backward(ctx, g):
        (y,) = ctx.saved_tensors
        return K.binary("relu_backward", g, y)


class Abs(Function):
    raw = True
    derivative = "d|a|/da = sign(a)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.xp.sign(x)


class Clamp(Function):
    raw = True
    derivative = ("gradient passes where min <= a <= max; below min it goes to min (if min < max), "
                  "above max (or where max < min) to max")

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        y = x
        if lo is not None:
            y = np.maximum(y, lo)
        if hi is not None:
            y = np.minimum(y, hi)
        return y.astype(x.dtype, copy=False) if y is not x else x.copy()

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        na = ctx.needs_input_grad
        keep = None
        if lo is not None:
            keep = x >= lo
        if hi is not None:
            keep = x <= hi if keep is None else keep & (x <= hi)
        gx = g * keep if na[0] else None
        glo = ghi = None
        if na[1] and lo is not None:   # with both bounds, PyTorch sends it to min only if min < max
            glo = g * ((x < lo) & (lo < hi) if hi is not None else x < lo)
        if na[2] and hi is not None:   # max wins where max < min (clamp applies min, then max)
            ghi = g * ((x > hi) | (hi < lo) if lo is not None else x > hi)
        return gx, glo, ghi


def _unary(cls, x, need_float=True):
    if not isinstance(x, Tensor):
        x = as_tensor_arg(x)
        if not isinstance(x, Tensor):
            x = _make(np.asarray(x, dtype=D.get_default_dtype().np))
    if cls is Neg and x._np.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    if cls is Abs and x._np.dtype.kind == "b":
        raise NotImplementedError('"abs_cpu" not implemented for \'Bool\': abs of a bool tensor is '
                                  'the tensor itself (or convert it first: x.long().abs())')
    if need_float and x._np.dtype.kind != "f":
        x = to_float(x)
    return cls.apply(x)


def _make_unary(name, cls, need_float=True, aliases=()):
    def op(input):
        return _unary(cls, input, need_float)
    op.__name__ = name
    op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` (differentiable: see ``{cls.__name__}.backward``)."
    register(name, *aliases)(op)
    return op


exp = _make_unary("exp", Exp)
log = _make_unary("log", Log)
log1p = _make_unary("log1p", Log1p)
expm1 = _make_unary("expm1", Expm1)
sqrt = _make_unary("sqrt", Sqrt)
rsqrt = _make_unary("rsqrt", Rsqrt)
sin = _make_unary("sin", Sin)
erf = _make_unary("erf", Erf)
cos = _make_unary("cos", Cos)
tanh = _make_unary("tanh", Tanh)
sigmoid = _make_unary("sigmoid", Sigmoid)
relu = _make_unary("relu", Relu, need_float=False)
abs = _make_unary("abs", Abs, need_float=False, aliases=("absolute",))
neg = _make_unary("neg", Neg, need_float=False, aliases=("negative",))


@register("exp2")
def exp2(input):
    return exp(mul(to_float(input), float(np.log(2.0))))


@register("log2")
def log2(input):
    return div(log(input), float(np.log(2.0)))


@register("log10")
def log10(input):
    return div(log(input), float(np.log(10.0)))


@register("tan")
def tan(input):
    return div(sin(input), cos(input))


@register("square")
def square(input):
    if isinstance(input, Tensor) and input._np.dtype.kind == "b":
        input = input.to(D.int64)               # as pow(x, 2): bools square to int64
    return mul(input, input)


@register("reciprocal")
def reciprocal(input):
    return div(1.0, to_float(input))
