"""Activation functions (relu, gelu, silu, softplus, hardtanh, ...): fused Functions with their
backward rules, and compositions of Tensor ops."""
import math

import numpy as np

import labkit as _lk
from ...autograd.function import Function
from ... import kernels as K
from ._common import _check_float, _inplace_result


# ================================================================ activations
def relu(input, inplace=False):
    """``max(0, x)`` elementwise. See :class:`~labkit.nn.ReLU`."""
    r = _lk.relu(input)
    return _inplace_result(input, r) if inplace else r


def relu_(input):
    return relu(input, inplace=True)


class LeakyReLU(Function):
    raw = True
    derivative = "1 where x > 0, the negative slope elsewhere"
    node_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return np.where(x > 0, x, x * x.dtype.type(slope))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.xp.where(x > 0, g, g * ctx.slope), None


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` if ``x > 0`` else ``negative_slope * x``."""
    r = LeakyReLU.apply(input, float(negative_slope))
    return _inplace_result(input, r) if inplace else r


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


class ELU(Function):
    raw = True
    derivative = "1 where x > 0, alpha * e^x elsewhere (scaled for SELU / CELU)"
    node_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        t = x.dtype.type
        y = np.where(x > 0, t(scale) * x, t(scale * alpha) * np.expm1(np.minimum(x, 0) *
                                                                         t(input_scale)))
        ctx.save_for_backward(x)
        ctx.p = (alpha, scale, input_scale)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        alpha, scale, input_scale = ctx.p
        xp = ctx.xp
        neg = (scale * alpha * input_scale) * xp.exp(xp.minimum(x, 0.0) * input_scale)
        return g * xp.where(x > 0, scale, neg), None, None, None


def elu(input, alpha=1.0, inplace=False):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    r = ELU.apply(input, float(alpha), 1.0, 1.0)
    return _inplace_result(input, r) if inplace else r


def selu(input, inplace=False):
    r = ELU.apply(input, 1.6732632423543772848170429916717, 1.0507009873554804934193349852946,
                  1.0)
    return _inplace_result(input, r) if inplace else r


def celu(input, alpha=1.0, inplace=False):
    r = ELU.apply(input, float(alpha), 1.0, 1.0 / float(alpha))
    return _inplace_result(input, r) if inplace else r


class GELU(Function):
    raw = True
    derivative = "d(x Phi(x))/dx = Phi(x) + x phi(x)"
    node_name = "GeluBackward0"
    _C = math.sqrt(2.0 / math.pi)

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            t = x.dtype.type
            inner = t(GELU._C) * (x + t(0.044715) * x * x * x)
            return (t(0.5) * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
        return K.unary("gelu", x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        if ctx.approximate == "tanh":
            c = GELU._C
            th = xp.tanh(c * (x + 0.044715 * x * x * x))
            d = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * (c * (1 + 3 * 0.044715 * x * x))
        else:
            d = 0.5 * (1 + xp.erf(x * 0.7071067811865476)) + \
                x * xp.exp(-0.5 * x * x) * 0.3989422804014327
        return g * d, None

    @staticmethod
    def fused_backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = x.dtype.type
            inner = t(GELU._C) * (x + t(0.044715) * x * x * x)
            th = np.tanh(inner)
            d_inner = t(GELU._C) * (1 + t(3 * 0.044715) * x * x)
            return g * (t(0.5) * (1 + th) + t(0.5) * x * (1 - th * th) * d_inner), None
        return K.binary("gelu_backward", g, x), None


def gelu(input, approximate="none"):
    """Gaussian Error Linear Unit ``x * Phi(x)``; ``approximate='tanh'`` uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got "
                           f"'{approximate}'")
    _check_float(input, "gelu")
    return GELU.apply(input, approximate)


class SiLU(Function):
    raw = True
    derivative = "d(x s(x))/dx = s(x) (1 + x (1 - s(x)))"
    node_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.unary("silu", x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = ctx.xp.sigmoid(x)
        return g * (s * (1 + x * (1 - s)))

    @staticmethod
    def fused_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return K.binary("silu_backward", g, x)


def silu(input, inplace=False):
    """``x * sigmoid(x)`` (also called swish)."""
    _check_float(input, "silu")
    r = SiLU.apply(input)
    return _inplace_result(input, r) if inplace else r


def _softplus_np(x, beta, threshold):
    bx = x * x.dtype.type(beta)
    return np.where(bx > threshold, x, np.logaddexp(0, bx) / x.dtype.type(beta)).astype(
        x.dtype, copy=False)


def _sigmoid_np(x):
    return K.unary("sigmoid", np.ascontiguousarray(x))


class Softplus(Function):
    raw = True
    derivative = "d softplus(x)/dx = sigmoid(beta x) (1 above the threshold)"
    node_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.p = (beta, threshold)
        return _softplus_np(x, beta, threshold)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.p
        xp = ctx.xp
        return g * xp.where(x * beta > threshold, 1.0, xp.sigmoid(x * beta)), None, None

    @staticmethod
    def fused_backward(ctx, g):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.p
        bx = x * x.dtype.type(beta)
        return g * np.where(bx > threshold, 1, _sigmoid_np(bx)).astype(g.dtype), None, None


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta`` (linear above ``threshold`` for stability)."""
    return Softplus.apply(input, float(beta), float(threshold))


class Mish(Function):
    raw = True
    derivative = "d(x tanh(softplus x))/dx = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)"
    node_name = "MishBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * np.tanh(_softplus_np(x, 1.0, 20.0))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        sp = xp.where(x > 20, x, xp.log1p(xp.exp(xp.minimum(x, 20.0))))
        tsp = xp.tanh(sp)
        return g * (tsp + x * (1 - tsp * tsp) * xp.sigmoid(x))

    @staticmethod
    def fused_backward(ctx, g):
        (x,) = ctx.saved_tensors
        tsp = np.tanh(_softplus_np(x, 1.0, 20.0))
        return g * (tsp + x * (1 - tsp * tsp) * _sigmoid_np(x))


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``."""
    r = Mish.apply(input)
    return _inplace_result(input, r) if inplace else r


class Hardtanh(Function):
    raw = True
    derivative = "1 inside [min, max], 0 outside"
    node_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.p = (lo, hi)
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.p
        return g * ((x > lo) & (x < hi)), None, None


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to ``[min_val, max_val]`` (gradient 0 outside)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    r = Hardtanh.apply(input, float(min_val), float(max_val))
    return _inplace_result(input, r) if inplace else r


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """``min(max(0, x), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


class Hardsigmoid(Function):
    raw = True
    derivative = "1/6 inside (-3, 3), 0 outside"
    node_name = "HardsigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.clip(x / x.dtype.type(6) + x.dtype.type(0.5), 0, 1).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ((x > -3) & (x < 3)) / 6


def hardsigmoid(input, inplace=False):
    r = Hardsigmoid.apply(input)
    return _inplace_result(input, r) if inplace else r


class Hardswish(Function):
    raw = True
    derivative = "0 below -3, 1 above 3, x/3 + 1/2 between"
    node_name = "HardswishBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        t = x.dtype.type
        return (x * np.clip(x + t(3), 0, 6) / t(6)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        return xp.where(x < -3, 0.0, xp.where(x > 3, g, g * (x / 3 + 0.5)))


def hardswish(input, inplace=False):
    r = Hardswish.apply(input)
    return _inplace_result(input, r) if inplace else r


def sigmoid(input):
    return _lk.sigmoid(input)


def tanh(input):
    return _lk.tanh(input)


class LogSigmoid(Function):
    raw = True
    derivative = "d log s(x)/dx = 1 - s(x) = s(-x)"
    node_name = "LogSigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (-np.logaddexp(0, -x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.xp.sigmoid(-x)

    @staticmethod
    def fused_backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _sigmoid_np(-x)


def logsigmoid(input):
    """``log(sigmoid(x))``, computed stably."""
    return LogSigmoid.apply(input)


def softsign(input):
    return input / (input.abs() + 1)


def tanhshrink(input):
    return input - input.tanh()


class Threshold(Function):
    raw = True
    derivative = "1 where x > threshold, 0 elsewhere"

    @staticmethod
    def forward(ctx, x, threshold, value):
        ctx.save_for_backward(x)
        ctx.threshold = threshold
        return np.where(x > threshold, x, x.dtype.type(value))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > ctx.threshold), None, None


def threshold(input, threshold, value, inplace=False):
    """``x`` if ``x > threshold`` else ``value``."""
    r = Threshold.apply(input, float(threshold), float(value))
    return _inplace_result(input, r) if inplace else r


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Softmax along ``dim`` (exponentiate and normalise so each slice sums to 1)."""
    return _lk.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(x))`` computed stably along ``dim``."""
    return _lk.log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return _lk.softmax(-input, dim, dtype=dtype)


def glu(input, dim=-1):
    """Gated linear unit: split ``input`` in two halves ``a, b`` along ``dim``; ``a * sigmoid(b)``."""
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input, weight):
    """``max(0, x) + weight * min(0, x)`` with a learnable slope per channel (dim 1)."""
    w = weight.reshape(()) if weight.numel() == 1 else weight   # keeps input's shape (0-d too)
    if input.ndim >= 2 and weight.numel() > 1:
        w = weight.reshape([1, -1] + [1] * (input.ndim - 2))
    out = _lk.where(input > 0, input, w * input)
    return out.reshape(()) if input.ndim == 0 else out
