"""More of PyTorch's op set, written as composites of existing ops (no backward to write).

Each op here is built from differentiable labkit ops, so its gradient (and, where those ops have
one, its second derivative) comes for free.  Found by the OpInfo conformance suite
(scripts/conformance.py); docs/conformance.md lists what passes.

This module holds the elementwise ones and the helpers its siblings share; the rest live beside
it: ``extra_shape`` (splits, padding, gradient), ``extra_linalg`` (products, the older linalg
spellings), ``extra_reduction`` (scans and orders) and ``extra_index`` (scatter-like updates).
"""
import numpy as np

from .. import dtypes as D
from ..tensor import Tensor, _make
from ._common import as_tensor_arg, cast, promote, to_float
from ._registry import FUNCTIONS, register


# ------------------------------------------------------------------------------ elementwise
class _Registered:
    """The registered ops by name (``_E().where``), whichever ops module defines them."""

    def __getattr__(self, name):
        try:
            return FUNCTIONS[name]
        except KeyError:
            raise AttributeError(name) from None


def _E():
    return _REGISTERED


_REGISTERED = _Registered()


def _f(x):
    """A float tensor (integers and bools become the default float dtype, as PyTorch does)."""
    return to_float(x)


_LN2 = float(np.log(2.0))


@register("acosh", "arccosh")
def acosh(input):
    x = _f(input)
    t = x - 1
    return (t + (t * (t + 2)).sqrt()).log1p()


@register("asinh", "arcsinh")
def asinh(input):
    x = _f(input)
    a = x.abs()
    return (a + a * a / (1 + (1 + a * a).sqrt())).log1p() * x.sign()


@register("atanh", "arctanh")
def atanh(input):
    x = _f(input)
    return 0.5 * (2 * x / (1 - x)).log1p()


@register("deg2rad")
def deg2rad(input):
    return _f(input) * (np.pi / 180.0)


@register("rad2deg")
def rad2deg(input):
    return _f(input) * (180.0 / np.pi)


@register("sinc")
def sinc(input):
    """``sin(pi x) / (pi x)``, 1 at 0 (with gradient 0 there)."""
    E = _E()
    x = _f(input)
    zero = x == 0
    safe = E.where(zero, 1.0, x) * np.pi
    return E.where(zero, 1.0, safe.sin() / safe)


@register("signbit")
def signbit(input):
    return _make(np.signbit(as_tensor_arg(input)._np))


@register("logaddexp2")
def logaddexp2(input, other):
    E = _E()
    return E.logaddexp(_f(input) * _LN2, _f(other) * _LN2) / _LN2


@register("hypot")
def hypot(input, other):
    return (input * input + other * other).sqrt()


@register("xlogy")
def xlogy(input, other):
    """``x * log(y)``, and 0 where x == 0 (unless y is NaN)."""
    E = _E()
    x, y = _as_operands(input, other)
    out = x * y.log()
    return E.where((x == 0) & ~y.isnan(), 0.0, out)


def _as_operands(a, b):
    """Two float tensors of the promoted dtype (a Python number becomes a 0-d tensor)."""
    a2, b2, dt = promote(a, b)
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    conv = [cast(v, dt) if isinstance(v, Tensor) else _make(np.asarray(v, dt.np)) for v in (a2, b2)]
    return conv[0], conv[1]


@register("copysign")
def copysign(input, other):
    E = _E()
    x, y = _as_operands(input, other)
    return E.where(_make(np.signbit(y._np)), -x.abs(), x.abs())


@register("heaviside")
def heaviside(input, values):
    E = _E()
    _, _, dt = promote(input, values)
    step = (input > 0).to(dt)
    return E.where(input == 0, values.to(dt) if isinstance(values, Tensor) else values, step)


@register("isposinf")
def isposinf(input):
    return _make(np.isposinf(input._np)) if input._np.dtype.kind == "f" else \
        _make(np.zeros(input.shape, bool))


@register("isneginf")
def isneginf(input):
    return _make(np.isneginf(input._np)) if input._np.dtype.kind == "f" else \
        _make(np.zeros(input.shape, bool))


@register("isreal")
def isreal(input):
    return _make(np.ones(input.shape, bool))          # labkit has no complex numbers


@register("positive")
def positive(input):
    if input._np.dtype.kind == "b":
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return input


@register("float_power")
def float_power(input, exponent):
    """``pow`` computed in float64 (the result is always float64)."""
    a = input.to(D.float64) if isinstance(input, Tensor) else float(input)
    b = exponent.to(D.float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(a, Tensor):
        a = _make(np.asarray(a))
    return a ** b


def _float_power_(self, exponent):
    if self.dtype is not D.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype.name} but the "
                           f"operation's result requires dtype float64")
    return self.copy_(float_power(self, exponent))


register("float_power_", function=False)(_float_power_)


@register("ldexp")
def ldexp(input, other):
    """``input * 2 ** other``."""
    x, e = _as_operands(input, other)
    return x * (2.0 ** e)


@register("frexp")
def frexp(input):
    """``input = mantissa * 2 ** exponent`` with ``0.5 <= |mantissa| < 1``."""
    _, e = np.frexp(input._np)
    scale = _make(np.ldexp(np.ones((), input._np.dtype), -e).astype(input._np.dtype))
    return _frexp_result(input * scale, _make(e.astype(np.int32)))   # exact: a power of two


@register("erfc")
def erfc(input):
    return 1 - _E().erf(_f(input))


@register("angle")
def angle(input):
    """For real numbers: 0 for x >= 0, pi for x < 0, NaN for NaN; zero gradient."""
    x = _f(input)
    return _E().where(x < 0, np.pi, x.clamp(0, 0))


@register("rsub")
def rsub(input, other, alpha=1):
    """``other - alpha * input``."""
    return other - (input * alpha if alpha != 1 else input)


@register("nextafter")
def nextafter(input, other):
    """The next float after ``input`` towards ``other`` (gradient 1 to input, as PyTorch)."""
    n = _make(np.nextafter(input._np, other._np if isinstance(other, Tensor) else other))
    return input + (n - input).detach()          # exact: neighbouring floats differ exactly


@register("gcd")
def gcd(input, other):
    return _make(np.gcd(input._np, other._np))


@register("lcm")
def lcm(input, other):
    return _make(np.lcm(input._np, other._np))


@register("bitwise_left_shift")
def bitwise_left_shift(input, other):
    a, b, dt = promote(input, other)
    av = a._np if isinstance(a, Tensor) else a
    bv = b._np if isinstance(b, Tensor) else b
    return _make(np.asarray(np.left_shift(av, bv), dt.np))


@register("bitwise_right_shift")
def bitwise_right_shift(input, other):
    a, b, dt = promote(input, other)
    av = a._np if isinstance(a, Tensor) else a
    bv = b._np if isinstance(b, Tensor) else b
    return _make(np.asarray(np.right_shift(av, bv), dt.np))


@register("fill")
def fill(input, value):
    """A new tensor of ``input``'s shape and dtype filled with ``value`` (gradient to value)."""
    E = _E()
    v = value.to(input.dtype) if isinstance(value, Tensor) else value
    return E.where(_make(np.zeros(input.shape, bool)), input, v)


@register("zero_", method=False)
def zero_(input):
    return input.zero_()


def _frexp_result(m, e):
    from collections import namedtuple
    global _FrexpType
    if _FrexpType is None:
        _FrexpType = namedtuple("frexp", ["mantissa", "exponent"])
    return _FrexpType(m, e)


_FrexpType = None
