"""``labkit.nn.functional`` (``F``): stateless versions of every layer, as in ``torch.nn.functional``.

Ops that matter for speed or numerics are single Functions with their backward written beside the
forward (linear, conv, pooling, batch/layer/group norm, the fused cross-entropy, embedding,
dropout, BCE ...).  Simple ones are composed from Tensor ops and need no backward of their own.

Examples::

    >>> import labkit.nn.functional as F
    >>> logits = model(x)
    >>> loss = F.cross_entropy(logits, y)
"""
import math
import numbers
import warnings

import numpy as np

import labkit as _lk
from ..autograd import grad as autograd_grad, grad_mode
from ..autograd.function import Function
from ..random import _rng
from ..tensor import Tensor, _make
from . import _kernels as NK
from .. import kernels as K

__all__ = [
    # activations
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "selu", "celu", "gelu", "silu",
    "mish", "softplus", "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "sigmoid", "tanh",
    "logsigmoid", "softsign", "tanhshrink", "threshold", "softmax", "log_softmax", "softmin",
    "glu", "prelu",
    # layers
    "linear", "bilinear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold",
    "fold", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "batch_norm", "layer_norm", "group_norm", "instance_norm", "dropout",
    "dropout1d", "dropout2d", "embedding", "one_hot", "pad", "interpolate", "upsample",
    "scaled_dot_product_attention", "normalize", "cosine_similarity", "pairwise_distance",
    # losses
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]


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


def _size(shape):
    return f"labkit.Size({list(shape)})"


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
    w = weight
    if input.ndim >= 2 and weight.numel() > 1:
        w = weight.reshape([1, -1] + [1] * (input.ndim - 2))
    return _lk.where(input > 0, input, w * input)


# ================================================================ linear
class Linear(Function):
    """``y = x @ W^T + b`` in one node (one BLAS call forward, two backward)."""
    raw = True
    derivative = "y = x W^T + b: dx = G W, dW = G^T x, db = sum of G over the batch"
    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b):
        # (..., in) inputs go through BLAS as one 2-D product: NumPy's batched matmul with the
        # transposed weight would otherwise take a plain loop (~100x slower).
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = np.matmul(x2, w.T)
        if b is not None:
            y += b
        ctx.save_for_backward(x, w)
        return y.reshape(x.shape[:-1] + (w.shape[0],)) if x.ndim != 2 else y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])                 # (..., out) as one 2-D product (BLAS)
        gx = (g2 @ w).reshape(x.shape) if nx else None
        gw = g2.mT @ x.reshape(-1, x.shape[-1]) if nw else None
        gb = ctx.xp.sum(g2, axis=0) if nb else None
        return gx, gw, gb


def linear(input, weight, bias=None):
    """Apply ``y = x W^T + b``.

    Args:
        input: ``(*, in_features)``
        weight: ``(out_features, in_features)``
        bias: ``(out_features)`` or None

    Returns:
        ``(*, out_features)``
    """
    if input.ndim == 0:
        raise RuntimeError("linear: input must have at least 1 dimension, got a 0-d tensor")
    if input.shape[-1] != weight.shape[-1]:
        rows = input.numel() // input.shape[-1] if input.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
            f"{weight.shape[-1]}x{weight.shape[0]}): the input's last dim is "
            f"{input.shape[-1]} but the layer expects in_features={weight.shape[-1]} "
            f"(input shape {list(input.shape)}, weight shape {list(weight.shape)})")
    if input._np.dtype != weight._np.dtype:
        names = {"float32": "Float", "float64": "Double", "int64": "Long", "float16": "Half"}
        hint = " (integer input: convert it with x.float())" if input._np.dtype.kind != "f" else \
            " (use x.to(weight.dtype) or model.to(x.dtype))"
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{names.get(input.dtype.name, input.dtype.name)} and "
                           f"{names.get(weight.dtype.name, weight.dtype.name)}{hint}")
    return (Linear if bias is not None or input.ndim != 2 else _LINEAR_NO_BIAS).apply(
        input, weight, bias)


_LINEAR_NO_BIAS = Linear.variant("MmBackward0")          # PyTorch's name for x @ W^T alone


def bilinear(input1, input2, weight, bias=None):
    """``y_k = x1^T W_k x2 + b_k``; weight ``(out, in1, in2)``."""
    y = _lk.einsum("...i,kij,...j->...k", input1, weight, input2)
    return y if bias is None else y + bias


# ================================================================ convolution
def _conv_out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


class Conv2d(Function):
    """2-D convolution as im2col (a Numba kernel) + one batched matrix product per group.

    ``cols`` (N, C*KH*KW, OH*OW) holds, per image, one row per (input channel, kernel offset): the
    input pixel that offset sees at each output pixel.  ``W (OC, C*KH*KW) @ cols[n]`` is image n's
    output, already in (OC, OH*OW) order, so the batched product writes NCHW directly.  Backward
    reuses the saved ``cols`` for the weight gradient and scatters ``W^T @ grad`` back with col2im.
    """
    raw = True
    derivative = ("dx = transposed convolution of G with the kernels; dW = correlation of x with G; "
                  "db = sum of G")
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        N, C, H, W = x.shape
        OC, Cg, KH, KW = w.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        OH, OW = _conv_out(H, KH, sh, ph, dh), _conv_out(W, KW, sw, pw, dw)
        x_in, x = x, np.ascontiguousarray(x)
        cols = NK.im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, pooled=True)  # (N, C*KK, P)
        wm = w.reshape(OC, Cg * KH * KW)
        y = np.empty((N, OC, OH * OW), x.dtype)
        if groups == 1:
            np.matmul(wm, cols, out=y)
        else:
            ocg, rows = OC // groups, Cg * KH * KW
            for g in range(groups):
                np.matmul(wm[g * ocg:(g + 1) * ocg], cols[:, g * rows:(g + 1) * rows],
                          out=y[:, g * ocg:(g + 1) * ocg])
        if b is not None:
            y += b[:, None]
        ctx.save_for_backward(x_in, w, cols)       # freed by the engine after backward
        ctx.geom = (KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, groups)
        return y.reshape(N, OC, OH, OW)

    @staticmethod
    def backward(ctx, g):
        """The rule with unfold / fold and grouped matrix products (any order of derivative)."""
        x, w, _ = ctx.saved_tensors
        KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, groups = ctx.geom
        nx, nw, nb = ctx.needs_input_grad[:3]
        xp = ctx.xp
        N, OC = g.shape[:2]
        geom = ((KH, KW), (dh, dw), (ph, pw), (sh, sw), OH, OW)
        g4 = g.reshape(N, groups, OC // groups, OH * OW)            # (N, G, OC/G, L)
        gx = gw = gb = None
        if nw:
            cols = Unfold.call(ctx, x, *geom).reshape(N, groups, -1, OH * OW)
            gw = xp.sum(g4 @ cols.mT, axis=0).reshape(w.shape)
        if nx:
            w3 = w.reshape(groups, OC // groups, -1)                 # (G, OC/G, C/G*KH*KW)
            gcols = (w3.mT @ g4).reshape(N, -1, OH * OW)
            gx = _Fold.call(ctx, gcols, x.shape, *geom)
        if nb:
            gb = xp.sum(g, axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None

    @staticmethod
    def fused_backward(ctx, g):
        """Reuses the ``cols`` saved by forward and writes into pooled buffers."""
        x, w, cols = ctx.saved_tensors
        KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, groups = ctx.geom
        nx, nw, nb = ctx.needs_input_grad[:3]
        N, OC = g.shape[:2]
        Cg = w.shape[1]
        g3 = g.reshape(N, OC, OH * OW)
        wm = w.reshape(OC, Cg * KH * KW)
        gx = gw = gb = None
        ocg, rows = OC // groups, Cg * KH * KW
        if nw:
            # gw[o, k] = sum over images n and pixels p of g[n, o, p] * cols[n, k, p]: per-image
            # products (small-matrix BLAS kernels), then a sum over the batch
            gw = np.empty_like(wm)
            for gi in range(groups):
                o, r = slice(gi * ocg, (gi + 1) * ocg), slice(gi * rows, (gi + 1) * rows)
                gw[o] = np.matmul(cols[:, r], g3[:, o].transpose(0, 2, 1)).sum(axis=0).T
            gw = gw.reshape(w.shape)
        if nx:
            gcols = NK.empty(cols.shape, cols.dtype)                       # (N, C*KK, OH*OW)
            if groups == 1:
                np.matmul(wm.T, g3, out=gcols)
            else:
                for gi in range(groups):
                    o, r = slice(gi * ocg, (gi + 1) * ocg), slice(gi * rows, (gi + 1) * rows)
                    np.matmul(wm[o].T, g3[:, o], out=gcols[:, r])
            gx = NK.col2im(gcols, x.shape, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
        if nb:
            gb = g3.sum(axis=(0, 2))
        return gx, gw, gb, None, None, None, None


def _conv_checks(name, input, weight, bias, groups, nd):
    _check_float(input, name)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{name}: weight must be {nd + 2}-D, got shape {list(weight.shape)}")
    _same_dtype(name, input, weight)
    C = input.shape[-nd - 1]
    if weight.shape[0] % groups:
        raise RuntimeError(f"{name}: out_channels ({weight.shape[0]}) must be divisible by "
                           f"groups ({groups})")
    if C != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got {C} "
            f"channels instead")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"{name}: bias must have shape [{weight.shape[0]}], got "
                           f"{list(bias.shape)}")


def _same_padding(input, weight, dilation, nd):
    """Padding for ``padding='same'``: symmetric part (per dim) and an extra right pad."""
    pads, extra = [], []
    for i in range(nd):
        total = dilation[i] * (weight.shape[2 + i] - 1)
        pads.append(total // 2)
        extra.append(total - 2 * (total // 2))
    if any(extra):
        pad_arg = []
        for i in reversed(range(nd)):
            pad_arg += [0, extra[i]]
        input = pad(input, pad_arg)
    return input, tuple(pads)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in every DL library).

    Args:
        input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``
        weight: ``(C_out, C_in / groups, kH, kW)``
        bias: ``(C_out)`` or None
        stride, padding, dilation: int or pair; ``padding`` may also be ``'valid'`` or ``'same'``
        groups (int): split channels into groups convolved separately

    Shape:
        Output ``(N, C_out, H_out, W_out)`` with
        ``H_out = floor((H + 2 * padding - dilation * (kH - 1) - 1) / stride + 1)``.
    """
    _conv_checks("conv2d", input, weight, bias, groups, 2)
    stride = _tuple(stride, 2, "stride")
    dilation = _tuple(dilation, 2, "dilation")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            input, padding = _same_padding(input, weight, dilation, 2)
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of "
                             f"{{'valid', 'same'}}")
    padding = _tuple(padding, 2, "padding")
    H, W = input.shape[2:]
    for i, n in enumerate((H, W)):
        if n + 2 * padding[i] < dilation[i] * (weight.shape[2 + i] - 1) + 1:
            raise RuntimeError(
                f"Calculated padded input size per channel: ({H + 2 * padding[0]} x "
                f"{W + 2 * padding[1]}). Kernel size: ({weight.shape[2]} x {weight.shape[3]}). "
                f"Kernel size can't be greater than actual input size")
    out = Conv2d.apply(input, weight, bias, stride, padding, dilation, int(groups))
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over ``(N, C_in, L)`` with weight ``(C_out, C_in / groups, k)``."""
    _conv_checks("conv1d", input, weight, bias, groups, 1)
    unbatched = input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    s = _tuple(stride, 1, "stride")[0]
    d = _tuple(dilation, 1, "dilation")[0]
    if isinstance(padding, str):
        if padding == "same" and s != 1:
            raise ValueError("padding='same' is not supported for strided convolutions")
        p = padding
    else:
        p = (0, _tuple(padding, 1, "padding")[0])
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), p, (1, d), groups)
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


class ConvTranspose2d(Function):
    """Transposed convolution: the adjoint of Conv2d (``col2im(W^T @ x)``)."""
    raw = True
    derivative = "the gradient of a transposed convolution is a convolution (and vice versa)"
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, groups, dilation):
        N, Cin, H, W = x.shape
        _, Cog, KH, KW = w.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + output_padding[0] + 1
        OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + output_padding[1] + 1
        Cout = Cog * groups
        cig, rows = Cin // groups, Cog * KH * KW
        x3 = np.ascontiguousarray(x).reshape(N, Cin, H * W)
        wm = w.reshape(Cin, rows)
        cols = np.empty((N, Cout * KH * KW, H * W), x.dtype)
        for gi in range(groups):
            np.matmul(wm[gi * cig:(gi + 1) * cig].T, x3[:, gi * cig:(gi + 1) * cig],
                      out=cols[:, gi * rows:(gi + 1) * rows])
        y = NK.col2im(cols, (N, Cout, OH, OW), KH, KW, sh, sw, ph, pw, dh, dw, H, W)
        if b is not None:
            y += b[:, None, None]
        ctx.save_for_backward(w, x)
        ctx.geom = (N, Cin, H, W, KH, KW, sh, sw, ph, pw, dh, dw, groups)
        return y

    @staticmethod
    def backward(ctx, g):
        """The rule with unfold and grouped matrix products (any order of derivative)."""
        w, x = ctx.saved_tensors
        N, Cin, H, W, KH, KW, sh, sw, ph, pw, dh, dw, groups = ctx.geom
        nx, nw, nb = ctx.needs_input_grad[:3]
        xp = ctx.xp
        gcols = Unfold.call(ctx, g, (KH, KW), (dh, dw), (ph, pw), (sh, sw), H, W)
        gcols = gcols.reshape(N, groups, -1, H * W)              # (N, G, C_out/G*KH*KW, H*W)
        gx = gw = gb = None
        if nx:
            w3 = w.reshape(groups, Cin // groups, -1)
            gx = (w3 @ gcols).reshape(N, Cin, H, W)
        if nw:
            x4 = x.reshape(N, groups, Cin // groups, H * W)
            gw = xp.sum(x4 @ gcols.mT, axis=0).reshape(w.shape)
        if nb:
            gb = xp.sum(g, axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def fused_backward(ctx, g):
        w, x = ctx.saved_tensors
        N, Cin, H, W, KH, KW, sh, sw, ph, pw, dh, dw, groups = ctx.geom
        nx, nw, nb = ctx.needs_input_grad[:3]
        Cog = w.shape[1]
        cig, rows = Cin // groups, Cog * KH * KW
        gcols = NK.im2col(np.ascontiguousarray(g), KH, KW, sh, sw, ph, pw, dh, dw, H, W)
        wm = w.reshape(Cin, rows)
        gx = gw = gb = None
        if nx:
            gx = np.empty((N, Cin, H * W), g.dtype)
            for gi in range(groups):
                np.matmul(wm[gi * cig:(gi + 1) * cig], gcols[:, gi * rows:(gi + 1) * rows],
                          out=gx[:, gi * cig:(gi + 1) * cig])
            gx = gx.reshape(N, Cin, H, W)
        if nw:
            x3 = x.reshape(N, Cin, H * W)
            gw = np.empty_like(wm)
            for gi in range(groups):
                gw[gi * cig:(gi + 1) * cig] = np.matmul(
                    x3[:, gi * cig:(gi + 1) * cig],
                    gcols[:, gi * rows:(gi + 1) * rows].transpose(0, 2, 1)).sum(axis=0)
            gw = gw.reshape(w.shape)
        if nb:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None, None


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution ("deconvolution"), weight ``(C_in, C_out / groups, kH, kW)``.

    Output size: ``(H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1``.
    """
    _check_float(input, "conv_transpose2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, "
                           f"but got input of size: {list(input.shape)}")
    _same_dtype("conv_transpose2d", input, weight)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {weight.shape[0]} channels, but got "
                           f"{input.shape[1]} channels instead")
    stride, padding = _tuple(stride, 2, "stride"), _tuple(padding, 2, "padding")
    output_padding, dilation = _tuple(output_padding, 2, "output_padding"), \
        _tuple(dilation, 2, "dilation")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               f"but got output_padding={tuple(output_padding)}, stride="
                               f"{tuple(stride)}, dilation={tuple(dilation)}")
    out = ConvTranspose2d.apply(input, weight, bias, stride, padding, output_padding, int(groups),
                                dilation)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution over ``(N, C_in, L)``."""
    unbatched = input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    out = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias,
                           (1, _tuple(stride, 1)[0]), (0, _tuple(padding, 1)[0]),
                           (0, _tuple(output_padding, 1)[0]), groups, (1, _tuple(dilation, 1)[0]))
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


class Unfold(Function):
    raw = True
    derivative = "fold (sum) the gradient patches back onto the image"
    node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, k, d, p, s, OH, OW):
        ctx.geom = (x.shape, k, d, p, s, OH, OW)
        return NK.im2col(np.ascontiguousarray(x), k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1],
                         OH, OW)                                # (N, C*kH*kW, L): unfold's layout

    @staticmethod
    def backward(ctx, g):
        shape, k, d, p, s, OH, OW = ctx.geom
        return (_Fold.call(ctx, g, shape, k, d, p, s, OH, OW),) + (None,) * 6


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks (im2col): ``(N, C, H, W) -> (N, C * kH * kW, L)``.

    ``conv2d(x, w) == (w.view(OC, -1) @ unfold(x, k)).view(N, OC, OH, OW)``.
    """
    if input.ndim != 4:
        raise NotImplementedError(f"Input Error: Only 4D input Tensors are supported (got "
                                  f"{input.ndim}D)")
    k, d = _tuple(kernel_size, 2), _tuple(dilation, 2)
    p, s = _tuple(padding, 2), _tuple(stride, 2)
    OH = _conv_out(input.shape[2], k[0], s[0], p[0], d[0])
    OW = _conv_out(input.shape[3], k[1], s[1], p[1], d[1])
    return Unfold.apply(input, k, d, p, s, OH, OW)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Inverse of :func:`unfold` (sums overlapping values): ``(N, C*kH*kW, L) -> (N, C, H, W)``."""
    H, W = _tuple(output_size, 2)
    k, d = _tuple(kernel_size, 2), _tuple(dilation, 2)
    p, s = _tuple(padding, 2), _tuple(stride, 2)
    N, CK, L = input.shape
    C = CK // (k[0] * k[1])
    OH, OW = _conv_out(H, k[0], s[0], p[0], d[0]), _conv_out(W, k[1], s[1], p[1], d[1])
    if OH * OW != L:
        raise RuntimeError(f"Given output_size=({H}, {W}), kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {OH} * {OW} = "
                           f"{OH * OW}, but got input.size(2)={L}.")
    # fold is the adjoint of unfold: take the vector-Jacobian product of unfold
    return _Fold.apply(input, (N, C, H, W), k, d, p, s, OH, OW)


class _Fold(Function):
    raw = True
    derivative = "unfold the gradient into patches (fold's adjoint)"
    node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, x, shape, k, d, p, s, OH, OW):
        ctx.geom = (k, d, p, s, OH, OW)
        return NK.col2im(np.ascontiguousarray(x), shape, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], OH, OW)

    @staticmethod
    def backward(ctx, g):
        k, d, p, s, OH, OW = ctx.geom
        return (Unfold.call(ctx, g, k, d, p, s, OH, OW),) + (None,) * 7


# ================================================================ pooling
def _pool_out(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:      # the last window must start inside the input
        out -= 1
    return out


def _pool_args(name, input, kernel_size, stride, padding, dilation, nd=2):
    k = _tuple(kernel_size, nd, "kernel_size")
    s = k if (stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)) \
        else _tuple(stride, nd, "stride")
    p = _tuple(padding, nd, "padding")
    d = _tuple(dilation, nd, "dilation")
    for i in range(nd):
        if p[i] > (d[i] * (k[i] - 1) + 1) // 2 or p[i] > k[i] // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
        if s[i] <= 0:
            raise RuntimeError(f"{name}: stride should be greater than zero, but got {s}")
    return k, s, p, d


class MaxPool2d(Function):
    raw = True
    derivative = "only the max element of each window receives the gradient"
    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, k, s, p, d, OH, OW):
        out, idx = NK.max_pool2d(np.ascontiguousarray(x), k[0], k[1], s[0], s[1], p[0], p[1],
                                 d[0], d[1], OH, OW)
        ctx.idx = idx
        ctx.shape = x.shape
        ctx.mark_non_differentiable(idx)
        return out, idx

    @staticmethod
    def backward(ctx, g, g_idx=None):
        N, C, H, W = ctx.shape
        xp = ctx.xp
        out = xp.zeros((N, C, H * W), dtype=g.dtype)
        where = (np.arange(N)[:, None, None], np.arange(C)[None, :, None], ctx.idx.reshape(N, C, -1))
        xp.add.at(out, where, g.reshape(N, C, -1))
        return (out.reshape(N, C, H, W),) + (None,) * 6

    @staticmethod
    def fused_backward(ctx, g, g_idx=None):
        return (NK.max_pool2d_backward(g, ctx.idx, ctx.shape),) + (None,) * 6


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over ``(N, C, H, W)`` (or ``(C, H, W)``).

    Output ``H_out = floor((H + 2p - d (k - 1) - 1) / s + 1)`` (``ceil`` with ``ceil_mode``);
    ``stride`` defaults to ``kernel_size``.  With ``return_indices`` also returns the flat index
    (``h * W + w``) of each maximum, as PyTorch does.
    """
    _check_float(input, "max_pool2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"max_pool2d: Expected 3D or 4D (batch mode) tensor for input, but "
                           f"got: {list(input.shape)}")
    k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    H, W = input.shape[2:]
    OH, OW = _pool_out(H, k[0], s[0], p[0], d[0], ceil_mode), \
        _pool_out(W, k[1], s[1], p[1], d[1], ceil_mode)
    if OH <= 0 or OW <= 0:
        raise RuntimeError(f"max_pool2d: Given input size: ({input.shape[1]}x{H}x{W}). "
                           f"Calculated output size: ({input.shape[1]}x{OH}x{OW}). Output size "
                           f"is too small")
    out, idx = MaxPool2d.apply(input, k, s, p, d, OH, OW)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over ``(N, C, L)``."""
    k = _tuple(kernel_size, 1)[0]
    s = k if stride is None else _tuple(stride, 1)[0]
    r = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _tuple(padding, 1)[0]),
                   (1, _tuple(dilation, 1)[0]), ceil_mode, return_indices)
    if return_indices:
        return r[0].squeeze(-2), r[1].squeeze(-2)
    return r.squeeze(-2)


def _avg_divisors(n, k, s, p, out, count_include_pad):
    """Window sizes along one axis, following PyTorch's rules for padding and ceil_mode."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    size_pad = end - start
    start_c, end_c = np.maximum(start, 0), np.minimum(end, n)
    return size_pad if count_include_pad else (end_c - start_c)


class AvgPool2d(Function):
    raw = True
    derivative = "each element of a window receives G / (window size)"
    node_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, k, s, p, OH, OW, count_include_pad, divisor_override):
        N, C, H, W = x.shape
        eh = max(0, (OH - 1) * s[0] + k[0] - H - 2 * p[0])
        ew = max(0, (OW - 1) * s[1] + k[1] - W - 2 * p[1])
        xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0] + eh), (p[1], p[1] + ew)))
        acc = np.zeros((N, C, OH, OW), x.dtype)
        for ki in range(k[0]):
            for kj in range(k[1]):
                acc += xp[:, :, ki: ki + s[0] * (OH - 1) + 1: s[0],
                          kj: kj + s[1] * (OW - 1) + 1: s[1]]
        if divisor_override:
            div = np.full((OH, OW), float(divisor_override))
        else:
            div = np.outer(_avg_divisors(H, k[0], s[0], p[0], OH, count_include_pad),
                           _avg_divisors(W, k[1], s[1], p[1], OW, count_include_pad))
        inv = (1.0 / div).astype(x.dtype)
        ctx.geom = (x.shape, k, s, p, OH, OW, xp.shape, inv)
        ctx.args = (k, s, p, OH, OW, count_include_pad, divisor_override)
        return acc * inv

    @staticmethod
    def backward(ctx, g):
        return (_AvgPool2dAdjoint.call(ctx, g, ctx.geom, ctx.args),) + (None,) * 7


class _AvgPool2dAdjoint(Function):
    """AvgPool2d's backward as a primitive of its own (it is linear: its backward is average
    pooling again), so that the gradient of average pooling can be differentiated."""
    raw = True
    derivative = "average pooling of the gradient (the adjoint of the adjoint)"
    node_name = "AvgPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx, g, geom, args):
        shape, k, s, p, OH, OW, pshape, inv = geom
        ctx.args = args
        gp = np.zeros(pshape, g.dtype)
        gi = g * inv
        for ki in range(k[0]):
            for kj in range(k[1]):
                gp[:, :, ki: ki + s[0] * (OH - 1) + 1: s[0],
                   kj: kj + s[1] * (OW - 1) + 1: s[1]] += gi
        H, W = shape[2:]
        return np.ascontiguousarray(gp[:, :, p[0]:p[0] + H, p[1]:p[1] + W])

    @staticmethod
    def backward(ctx, gg):
        return AvgPool2d.call(ctx, gg, *ctx.args), None, None


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling (``stride`` defaults to ``kernel_size``)."""
    _check_float(input, "avg_pool2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"avg_pool2d: Expected 3D or 4D (batch mode) tensor for input, but "
                           f"got: {list(input.shape)}")
    k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 1)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    H, W = input.shape[2:]
    OH, OW = _pool_out(H, k[0], s[0], p[0], 1, ceil_mode), _pool_out(W, k[1], s[1], p[1], 1,
                                                                     ceil_mode)
    if OH <= 0 or OW <= 0:
        raise RuntimeError(f"avg_pool2d: Given input size: ({input.shape[1]}x{H}x{W}). "
                           f"Calculated output size: ({input.shape[1]}x{OH}x{OW}). Output size "
                           f"is too small")
    out = AvgPool2d.apply(input, k, s, p, OH, OW, bool(count_include_pad), divisor_override)
    return out.squeeze(0) if unbatched else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over ``(N, C, L)``."""
    k = _tuple(kernel_size, 1)[0]
    s = k if stride is None else _tuple(stride, 1)[0]
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _tuple(padding, 1)[0]), ceil_mode,
                      count_include_pad).squeeze(-2)


def _adaptive_matrix(n_in, n_out, dtype):
    """(n_out, n_in) averaging matrix: row i averages input bin [floor(i n/o), ceil((i+1) n/o))."""
    m = np.zeros((n_out, n_in), dtype)
    for i in range(n_out):
        a = (i * n_in) // n_out
        b = -(-((i + 1) * n_in) // n_out)
        m[i, a:b] = 1.0 / (b - a)
    return m


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (``None`` in ``output_size`` keeps that dim).

    Each bin is a rectangle, so the pooling is separable: ``A_h @ x @ A_w^T``.
    """
    _check_float(input, "adaptive_avg_pool2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    H, W = input.shape[-2:]
    oh, ow = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    oh, ow = H if oh is None else int(oh), W if ow is None else int(ow)
    dt = input._np.dtype
    out = input
    if oh != H:
        out = _make(_adaptive_matrix(H, oh, dt)) @ out
    if ow != W:
        out = out @ _make(np.ascontiguousarray(_adaptive_matrix(W, ow, dt).T))
    return out if out is not input else input * 1


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of ``(N, C, L)`` to length ``output_size``."""
    L = input.shape[-1]
    o = _tuple(output_size, 1)[0]
    return input @ _make(np.ascontiguousarray(_adaptive_matrix(L, o, input._np.dtype).T))


# ================================================================ normalization
class BatchNorm(Function):
    """Batch normalization over all dims but the channel dim (1), forward and backward fused.

    In training the batch statistics are used and the running ones updated in place
    (``running_var`` with the unbiased variance); in eval the running ones are used.
    """
    raw = True
    derivative = "normalised over the batch: dx = (G - mean(G) - x_hat * mean(G * x_hat)) / std"
    node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, running_mean, running_var, training, momentum, eps):
        C = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, C) + (1,) * (x.ndim - 2)
        if training:
            mean = x.mean(axis=axes)
            xc = x - mean.reshape(bshape)
            var = np.mean(xc * xc, axis=axes)
            n = x.size // C
            if running_mean is not None:
                running_mean *= (1 - momentum)
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= (1 - momentum)
                running_var += momentum * var * (n / max(n - 1, 1))
        else:
            mean, var = running_mean, running_var
            xc = x - mean.reshape(bshape).astype(x.dtype)
        rstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        xhat = xc * rstd.reshape(bshape)
        y = xhat
        if w is not None:
            y = y * w.reshape(bshape)
        if b is not None:
            y = y + b.reshape(bshape)
        ctx.save_for_backward(w, xhat, rstd, x)             # (x: for create_graph=True)
        ctx.training, ctx.eps, ctx.mean = training, eps, None if training else mean
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        """x_hat recomputed from the input, so that (in training) the batch statistics' dependence
        on it is part of the rule (any order of derivative); eval uses the running statistics."""
        w, _, rstd, x = ctx.saved_tensors
        xp = ctx.xp
        C = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, C) + (1,) * (x.ndim - 2)
        if ctx.training:
            xc = x - xp.mean(x, axis=axes, keepdims=True)
            r = 1 / xp.sqrt(xp.mean(xc * xc, axis=axes, keepdims=True) + ctx.eps)
        else:
            xc = x - xp.astype(xp.asarray(ctx.mean.reshape(bshape)), x.dtype)
            r = rstd.reshape(bshape)
        xhat = xc * r
        gxhat = g if w is None else g * w.reshape(bshape)
        if ctx.training:
            gx = r * (gxhat - xp.mean(gxhat, axis=axes, keepdims=True)
                      - xhat * xp.mean(gxhat * xhat, axis=axes, keepdims=True))
        else:
            gx = gxhat * r
        nx, nw, nb = ctx.needs_input_grad[:3]
        return ((gx if nx else None), (xp.sum(g * xhat, axis=axes) if nw else None),
                (xp.sum(g, axis=axes) if nb else None)) + (None,) * 5

    @staticmethod
    def fused_backward(ctx, g):
        """Reuses the x_hat saved by forward."""
        w, xhat, rstd, _ = ctx.saved_tensors
        C = g.shape[1]
        axes = (0,) + tuple(range(2, g.ndim))
        bshape = (1, C) + (1,) * (g.ndim - 2)
        nx, nw, nb = ctx.needs_input_grad[:3]
        gb = g.sum(axis=axes)
        gxh_sum = (g * xhat).sum(axis=axes)
        gx = None
        if nx:
            scale = rstd if w is None else rstd * w
            if ctx.training:
                n = g.size // C
                gx = (g - (gb / n).reshape(bshape) - xhat * (gxh_sum / n).reshape(bshape)) * \
                    scale.reshape(bshape)
            else:
                gx = g * scale.reshape(bshape)
        return (gx, gxh_sum if nw else None, gb if nb else None) + (None,) * 5


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization (see :class:`~labkit.nn.BatchNorm1d`); updates running stats in place
    when ``training``."""
    _check_float(input, "batch_norm")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (N, C, ...), got "
                         f"{list(input.shape)}")
    C = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"batch_norm: {name} should contain {C} elements (one per channel "
                               f"of input {list(input.shape)}), not {t.numel()}")
    if training:
        n = input.numel() // C
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {_size(input.shape)}")
    elif running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be defined in "
                           "evaluation mode")
    rm = running_mean._np if running_mean is not None else None
    rv = running_var._np if running_var is not None else None
    out = BatchNorm.apply(input, weight, bias, rm, rv, bool(training), float(momentum),
                          float(eps))
    if training:
        for t in (running_mean, running_var):
            if t is not None:
                t._vc[0] += 1
    return out


class LayerNorm(Function):
    """Layer normalization over the trailing dims, one Numba row kernel forward and backward."""
    raw = True
    derivative = "normalised over the features: dx = (G - mean(G) - x_hat * mean(G * x_hat)) / std"
    node_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, D_, eps):
        x2 = np.ascontiguousarray(x).reshape(-1, D_)
        w1 = np.ones(D_, x.dtype) if w is None else np.ascontiguousarray(w).reshape(D_)
        b1 = np.zeros(D_, x.dtype) if b is None else np.ascontiguousarray(b).reshape(D_)
        y, mean, rstd = NK.layer_norm(x2, w1, b1, eps)
        ctx.save_for_backward(x, w, x2, w1, mean, rstd)
        ctx.eps = eps
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        """x_hat and the std recomputed from the input (any order of derivative)."""
        x, w, x2 = ctx.saved_tensors[:3]
        xp = ctx.xp
        D = x2.shape[1]
        r = x.reshape(-1, D)
        xc = r - xp.mean(r, axis=1, keepdims=True)
        rstd = 1 / xp.sqrt(xp.mean(xc * xc, axis=1, keepdims=True) + ctx.eps)
        xhat = xc * rstd
        g2 = g.reshape(-1, D)
        gxhat = g2 if w is None else g2 * w.reshape(D)
        gx = rstd * (gxhat - xp.mean(gxhat, axis=1, keepdims=True)
                     - xhat * xp.mean(gxhat * xhat, axis=1, keepdims=True))
        nw, nb = ctx.needs_input_grad[1:3]
        gw = xp.sum(g2 * xhat, axis=0).reshape(w.shape) if nw else None
        gb = xp.sum(g2, axis=0).reshape(w.shape) if nb else None
        return gx.reshape(x.shape), gw, gb, None, None

    @staticmethod
    def fused_backward(ctx, g):
        x, w, x2, w1, mean, rstd = ctx.saved_tensors
        gx, gw, gb = NK.layer_norm_backward(np.ascontiguousarray(g).reshape(x2.shape), x2, w1,
                                            mean, rstd)
        nw, nb = ctx.needs_input_grad[1:3]
        wshape = None if w is None else w.shape
        return (gx.reshape(x.shape), gw.reshape(wshape) if nw else None,
                gb.reshape(wshape) if nb else None, None, None)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dims, then scale and shift."""
    _check_float(input, "layer_norm")
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    n = len(normalized_shape)
    if tuple(input.shape[input.ndim - n:]) != normalized_shape or input.ndim < n:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got input "
                           f"of size{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"layer_norm: {name} must have shape {list(normalized_shape)}, "
                               f"got {list(t.shape)}")
    _same_dtype("layer_norm", input, weight)
    D_ = int(np.prod(normalized_shape))
    return LayerNorm.apply(input, weight, bias, D_, float(eps))


class GroupNorm(Function):
    raw = True
    derivative = "normalised over each group: as LayerNorm, within the group"
    node_name = "NativeGroupNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, G, eps):
        N, C = x.shape[:2]
        rows = np.ascontiguousarray(x).reshape(N * G, -1)
        D_ = rows.shape[1]
        xhat, mean, rstd = NK.layer_norm(rows, np.ones(D_, x.dtype), np.zeros(D_, x.dtype), eps)
        bshape = (1, C) + (1,) * (x.ndim - 2)
        xhat = xhat.reshape(x.shape)
        y = xhat
        if w is not None:
            y = y * w.reshape(bshape)
        if b is not None:
            y = y + b.reshape(bshape)
        ctx.save_for_backward(w, rows, xhat, mean, rstd, x)
        ctx.G, ctx.eps = G, eps
        return y

    @staticmethod
    def backward(ctx, g):
        """x_hat and the std recomputed from the input (any order of derivative)."""
        w, x = ctx.saved_tensors[0], ctx.saved_tensors[5]
        xp = ctx.xp
        N, C = x.shape[:2]
        bshape = (1, C) + (1,) * (x.ndim - 2)
        axes = (0,) + tuple(range(2, x.ndim))
        r = x.reshape(N * ctx.G, -1)
        xc = r - xp.mean(r, axis=1, keepdims=True)
        rstd = 1 / xp.sqrt(xp.mean(xc * xc, axis=1, keepdims=True) + ctx.eps)
        xhat = xc * rstd
        gxhat = (g if w is None else g * w.reshape(bshape)).reshape(N * ctx.G, -1)
        gx = rstd * (gxhat - xp.mean(gxhat, axis=1, keepdims=True)
                     - xhat * xp.mean(gxhat * xhat, axis=1, keepdims=True))
        nw, nb = ctx.needs_input_grad[1:3]
        gw = xp.sum(g * xhat.reshape(x.shape), axis=axes) if nw else None
        gb = xp.sum(g, axis=axes) if nb else None
        return gx.reshape(x.shape), gw, gb, None, None

    @staticmethod
    def fused_backward(ctx, g):
        w, rows, xhat, mean, rstd, _ = ctx.saved_tensors
        C = g.shape[1]
        bshape = (1, C) + (1,) * (g.ndim - 2)
        axes = (0,) + tuple(range(2, g.ndim))
        gxhat = g if w is None else g * w.reshape(bshape)
        D_ = rows.shape[1]
        gx, _, _ = NK.layer_norm_backward(np.ascontiguousarray(gxhat).reshape(rows.shape), rows,
                                          np.ones(D_, g.dtype), mean, rstd)
        nw, nb = ctx.needs_input_grad[1:3]
        gw = (g * xhat).sum(axis=axes) if nw else None
        gb = g.sum(axis=axes) if nb else None
        return gx.reshape(g.shape), gw, gb, None, None


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of ``C / num_groups`` channels (per sample), then scale per channel."""
    _check_float(input, "group_norm")
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected input of at least 2 dims (N, C, *), got "
                           f"{list(input.shape)}")
    C = input.shape[1]
    if C % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and num_groups="
                           f"{num_groups}")
    return GroupNorm.apply(input, weight, bias, int(num_groups), float(eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample separately (GroupNorm with one channel a group)."""
    return group_norm(input, input.shape[1], weight, bias, eps)


# ================================================================ dropout / embedding
class Dropout(Function):
    raw = True
    derivative = "dropped elements get 0, kept ones G / (1 - p)"
    node_name = "NativeDropoutBackward0"

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.xp.asarray(ctx.mask), None


def _dropout_mask(shape, p, dtype):
    keep = _rng().random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (only when
    ``training``)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        r = input * 0.0
    else:
        r = Dropout.apply(input, _dropout_mask(input.shape, p, input._np.dtype))
    return _inplace_result(input, r) if inplace else r


def _feature_dropout(input, p, training, inplace, batched_ndim, name):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if input.ndim not in (batched_ndim, batched_ndim - 1):
        raise RuntimeError(f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but "
                           f"received a {input.ndim}D input")
    nlead = 2 if input.ndim == batched_ndim else 1
    shape = tuple(input.shape[:nlead]) + (1,) * (input.ndim - nlead)
    mask = _dropout_mask(shape, p, input._np.dtype) if p < 1 else np.zeros(shape,
                                                                          input._np.dtype)
    r = Dropout.apply(input, mask)
    return _inplace_result(input, r) if inplace else r


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (feature maps) of ``(N, C, H, W)`` with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 4, "dropout2d")


class Embedding(Function):
    raw = True
    derivative = "scatter-add G into the rows of the table that were looked up"
    node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, idx, w, padding_idx, scale_grad_by_freq):
        ctx.idx, ctx.p = idx, (w.shape, padding_idx, scale_grad_by_freq)
        return np.take(w, idx, axis=0)

    @staticmethod
    def backward(ctx, g):
        shape, padding_idx, scale = ctx.p
        xp = ctx.xp
        idx = ctx.idx.reshape(-1)
        g2 = g.reshape(-1, shape[1])
        gw = xp.zeros(shape, dtype=g.dtype)
        if scale:
            counts = np.bincount(idx, minlength=shape[0])
            g2 = g2 / xp.astype(xp.asarray(counts[idx][:, None]), g.dtype)
        xp.add.at(gw, idx, g2)
        if padding_idx is not None:
            gw[padding_idx] = 0
        return None, gw, None, None


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (``(num_embeddings, dim)``) at the integer ``input``.

    ``padding_idx`` rows get no gradient; ``max_norm`` renormalises the looked-up rows in place.
    """
    if not isinstance(input, Tensor):
        input = _lk.tensor(input)
    if input._np.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} instead "
                           f"(convert with .long())")
    n = weight.shape[0]
    idx = input._np.astype(np.int64, copy=False)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)].ravel()[0]
        raise IndexError(f"index out of range in self: index {bad} with an embedding table of "
                         f"{n} rows (valid indices are 0..{n - 1})")
    idx = np.where(idx < 0, idx + n, idx)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    if max_norm is not None:
        with grad_mode.no_grad():
            rows = np.unique(idx)
            w = weight._np
            norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            w[rows] *= scale[:, None].astype(w.dtype)
            weight._vc[0] += 1
    return Embedding.apply(_make(idx), weight, padding_idx, bool(scale_grad_by_freq))


def one_hot(tensor, num_classes=-1):
    """``(*)`` integer classes -> ``(*, num_classes)`` int64 one-hot."""
    return _lk.one_hot(tensor, num_classes)


# ================================================================ pad / interpolate
class ConstantPad(Function):
    raw = True
    derivative = "crop the gradient back to the unpadded region"
    node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        # pads: per dim (before, after), may be negative (cropping)
        grow = [(max(a, 0), max(b, 0)) for a, b in pads]
        y = np.pad(x, grow, constant_values=value)
        crop = tuple(slice(-min(a, 0), y.shape[i] + min(b, 0)) for i, (a, b) in enumerate(pads))
        ctx.pads = pads
        return np.ascontiguousarray(y[crop])

    @staticmethod
    def backward(ctx, g):
        pads = ctx.pads
        xp = ctx.xp
        neg = [(max(-a, 0), max(-b, 0)) for a, b in pads]
        gg = xp.pad(g, neg)
        sl = tuple(slice(max(a, 0), gg.shape[i] - max(b, 0)) for i, (a, b) in enumerate(pads))
        return xp.ascontiguousarray(gg[sl]), None, None


class IndexPad(Function):
    """reflect / replicate / circular padding: a gather along each padded dim."""
    raw = True
    derivative = "scatter-add the gradient back from the padded (repeated) positions"
    node_name = "ReflectionPadBackward0"

    @staticmethod
    def forward(ctx, x, indices):
        ctx.indices, ctx.shape = indices, x.shape
        for d, idx in indices:
            x = np.take(x, idx, axis=d)
        return x

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        shapes = [ctx.shape]
        for d, idx in ctx.indices[:-1]:
            s = list(shapes[-1])
            s[d] = len(idx)
            shapes.append(tuple(s))
        for (d, idx), shape in zip(reversed(ctx.indices), reversed(shapes)):
            out = xp.zeros(shape, dtype=g.dtype)
            xp.add.at(out, (slice(None),) * d + (idx,), g)
            g = out
        return g, None


def _pad_index(n, a, b, mode, dim, shape):
    i = np.arange(-a, n + b)
    if mode == "reflect":
        if a >= n or b >= n:
            raise RuntimeError(f"Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({a}, {b}) at dimension {dim} of "
                               f"input {list(shape)}")
        i = np.abs(i)
        i = np.where(i >= n, 2 * (n - 1) - i, i)
    elif mode == "replicate":
        i = np.clip(i, 0, n - 1)
    else:
        if a > n or b > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        i = np.mod(i, n)
    return i


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims: ``pad = (left, right, top, bottom, ...)`` starting from the last dim.

    Modes: ``'constant'`` (with ``value``, default 0; negative pads crop), ``'reflect'``,
    ``'replicate'``, ``'circular'``.
    """
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pads = [(0, 0)] * input.ndim
    for k in range(len(pad) // 2):
        pads[input.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    if mode == "constant":
        return ConstantPad.apply(input, pads, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    indices = []
    for d, (a, b) in enumerate(pads):
        if a or b:
            indices.append((d, _pad_index(input.shape[d], a, b, mode, d, input.shape)))
    if not indices:
        return input * 1
    return IndexPad.apply(input, indices)


def _interp_scale(n_in, n_out, scale_factor, align_corners):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    if scale_factor is not None:
        return 1.0 / scale_factor
    return n_in / n_out


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) matrix of linear interpolation weights (PyTorch's source-index rule)."""
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    l1 = src - i0
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.arange(n_out), i0), 1 - l1)
    np.add.at(m, (np.arange(n_out), i1), l1)
    return m.astype(dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize ``(N, C, L)`` / ``(N, C, H, W)``: modes ``'nearest'``, ``'nearest-exact'``,
    ``'linear'``, ``'bilinear'`` (``align_corners`` as in PyTorch).

    Linear modes are separable: each spatial dim is multiplied by an interpolation matrix.
    """
    nd = input.ndim - 2
    if nd not in (1, 2):
        raise NotImplementedError(f"interpolate: only 3D (N, C, L) and 4D (N, C, H, W) inputs "
                                  f"are supported, got {input.ndim}D")
    linear_modes = {"linear": 1, "bilinear": 2}
    if mode in linear_modes:
        if linear_modes[mode] != nd:
            raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                      f"{linear_modes[mode] + 2}D input")
        align_corners = bool(align_corners)
    elif mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    else:
        raise NotImplementedError(f"interpolate: mode '{mode}' is not supported (use nearest, "
                                  f"nearest-exact, linear or bilinear)")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_sizes = list(input.shape[2:])
    if size is not None:
        out_sizes = list(_tuple(size, nd, "size"))
        scales = [None] * nd
    else:
        sf = scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * nd
        out_sizes = [int(math.floor(n * float(s))) for n, s in zip(in_sizes, sf)]
        scales = [None if recompute_scale_factor else float(s) for s in sf]
    out = input
    dt = input._np.dtype
    for k in range(nd):
        dim = 2 + k
        n_in, n_out = in_sizes[k], out_sizes[k]
        if mode in linear_modes:
            m = _linear_matrix(n_in, n_out, _interp_scale(n_in, n_out, scales[k], align_corners),
                               align_corners, dt)
            if dim == input.ndim - 1:
                out = out @ _make(np.ascontiguousarray(m.T))
            else:
                out = _make(m) @ out
        else:
            scale = _interp_scale(n_in, n_out, scales[k], False)
            dst = np.arange(n_out)
            if mode == "nearest":
                src = np.floor(dst * scale)
            else:
                src = np.floor((dst + 0.5) * scale)
            src = np.minimum(src.astype(np.int64), n_in - 1)
            out = out.index_select(dim, _make(src))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


# ================================================================ attention
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(Q K^T * scale + mask) V``.

    Args:
        query: ``(..., L, E)``; key: ``(..., S, E)``; value: ``(..., S, Ev)``
        attn_mask: bool ``(L, S)`` (True = may attend) or float (added to the scores)
        dropout_p: dropout on the attention weights
        is_causal: position ``i`` attends only to ``j <= i`` (don't also pass ``attn_mask``)
        scale: default ``1 / sqrt(E)``
    """
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * s
    if is_causal:
        causal = _make(np.tril(np.ones((L, S), dtype=bool)))
        scores = scores.masked_fill(causal.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask._np.dtype == np.bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    attn = scores.softmax(dim=-1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, training=True)
    return attn @ value


# ================================================================ distances
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``x / max(||x||_p, eps)`` along ``dim``."""
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 . x2 / max(||x1|| ||x2||, eps)`` along ``dim``."""
    w12 = (x1 * x2).sum(dim)
    n = ((x1 * x1).sum(dim) * (x2 * x2).sum(dim)).clamp_min(eps * eps).sqrt()
    return w12 / n


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` along the last dim."""
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


# ================================================================ recurrent
class LSTMLayer(Function):
    """One LSTM layer (one direction) over the whole sequence as ONE graph node.

    ``xw`` (L, N, 4H) is the input projection ``x W_ih^T + b_ih`` of every step (one matrix
    product, done before by :func:`linear`).  Each step is then one product ``h W_hh^T`` and one
    fused kernel (``lstm_cell`` in kernels/nn_jit.py: the gate equations, written out).  Backward
    walks the steps in reverse the same way and computes ``W_hh``'s gradient as one product over
    all steps.  (Step by step with Tensor ops this was ~15 graph nodes per time step.)
    """
    raw = True
    derivative = ("backpropagation through time: the gate equations' derivatives, step by step in "
                  "reverse")
    node_name = "LSTMBackward0"

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, b_hh, reverse):
        L, N, G = xw.shape
        H = G // 4
        k = NK._mod(xw, w_hh)
        xb = NK.empty(xw.shape, xw.dtype)             # NK.empty: reused buffers, see _kernels.py
        if b_hh is not None:
            np.add(xw, b_hh, out=xb)
        else:
            np.copyto(xb, xw)
        hs = NK.empty((L + 1, N, H), xw.dtype)       # hs[s]: h before step s (s = 0 .. L)
        cs = NK.empty((L + 1, N, H), xw.dtype)
        acts = NK.empty((L, N, G), xw.dtype)         # i, f, g, o activations of each step
        hs[0], cs[0] = h0, c0
        hg = np.empty((N, G), xw.dtype)
        wt = np.ascontiguousarray(w_hh.T)           # (H, 4H): h @ wt is NN, 1.5x faster
        for s in range(L):
            t = L - 1 - s if reverse else s             # steps run backwards in time if reverse
            np.matmul(hs[s], wt, out=hg)
            k.lstm_cell(xb[t], hg, cs[s], acts[s], cs[s + 1], hs[s + 1])
        ctx.save_for_backward(w_hh, acts, hs, cs, xw, h0, c0, w_hh, b_hh)
        ctx.reverse = reverse
        ctx.set_materialize_grads(False)
        # copies: the outputs are the user's, hs / cs stay ours for backward
        out = np.ascontiguousarray(hs[:0:-1]) if reverse else hs[1:].copy()
        return out, hs[L].copy(), cs[L].copy()

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        """The general rule: the vector-Jacobian product of the same layer written step by step
        with Tensor ops (``_lstm_steps``), so that the gradient is itself differentiable
        (``create_graph=True``).  An ordinary backward runs ``fused_backward``."""
        xw, h0, c0, w_hh, b_hh = ctx.saved_tensors[4:]
        ins = (xw, h0, c0, w_hh, b_hh)
        outs = _lstm_steps(xw, h0, c0, w_hh, b_hh, ctx.reverse)
        pairs = [(o, g) for o, g in zip(outs, (g_out, g_h, g_c)) if g is not None]
        want = [i for i, t in enumerate(ins) if ctx.needs_input_grad[i]]
        got = autograd_grad([o for o, _ in pairs], [ins[i] for i in want], [g for _, g in pairs],
                            create_graph=True, allow_unused=True)
        res = [None] * 6
        for i, gi in zip(want, got):
            res[i] = gi
        return tuple(res)

    @staticmethod
    def fused_backward(ctx, g_out, g_h, g_c):
        w_hh, acts, hs, cs = ctx.saved_tensors[:4]
        L, N, G = acts.shape
        H = G // 4
        reverse = ctx.reverse
        k = NK._mod(acts, w_hh)
        dt = acts.dtype
        g_out = np.zeros((L, N, H), dt) if g_out is None else np.ascontiguousarray(g_out, dt)
        dh = np.zeros((N, H), dt) if g_h is None else np.array(np.broadcast_to(g_h, (N, H)), dt)
        dc = np.zeros((N, H), dt) if g_c is None else np.array(np.broadcast_to(g_c, (N, H)), dt)
        dgates = NK.empty((L, N, G), dt)            # by step s, like acts
        for s in range(L - 1, -1, -1):
            t = L - 1 - s if reverse else s
            k.lstm_cell_backward(acts[s], cs[s], cs[s + 1], dh, g_out[t], dc, dgates[s])
            np.matmul(dgates[s], w_hh, out=dh)      # gradient reaching h before step s
        nxw, nh, nc, nw, nb = ctx.needs_input_grad[:5]
        g_w = g_b = None
        if nw:
            g_w = np.matmul(dgates.reshape(L * N, G).T, hs[:L].reshape(L * N, H))
        if nb:
            g_b = dgates.sum(axis=(0, 1))
        g_xw = dgates[::-1] if reverse else dgates
        return g_xw, dh if nh else None, dc if nc else None, g_w, g_b, None


def _lstm_steps(xw, h0, c0, w_hh, b_hh, reverse):
    """The LSTM layer step by step with Tensor ops (LSTMLayer's general backward rule
    differentiates this): returns ``output`` (L, N, H), ``h_n``, ``c_n``."""
    L = xw.shape[0]
    h, c, outs = h0, c0, [None] * L
    for s in range(L):
        t = L - 1 - s if reverse else s
        gates = xw[t] + h @ w_hh.mT
        if b_hh is not None:
            gates = gates + b_hh
        i, f, gg, o = gates.chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * gg.tanh()
        h = o.sigmoid() * c.tanh()
        outs[t] = h
    return _lk.stack(outs, 0), h, c


def lstm_layer(xw, h0, c0, w_hh, b_hh=None, reverse=False):
    """Run one LSTM layer over a sequence: ``xw`` (L, N, 4H) = ``x W_ih^T + b_ih`` for every step,
    ``h0``/``c0`` (N, H).  Returns ``output`` (L, N, H), ``h_n``, ``c_n``."""
    return LSTMLayer.apply(xw, h0, c0, w_hh, b_hh, bool(reverse))


# ================================================================ losses
def _warn_shape(input, target):
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"Using a target size ({_size(target.shape)}) that is different to the "
                      f"input size ({_size(input.shape)}). This will likely lead to incorrect "
                      f"results due to broadcasting. Please ensure they have the same size.",
                      stacklevel=3)


def _reduce_np(loss, reduction, dtype):
    """Reduce an elementwise loss array inside a loss node (as PyTorch's loss nodes do)."""
    if reduction == "none":
        return loss.astype(dtype, copy=False)
    total = loss.sum(dtype=np.float64)
    if reduction == "mean":
        total = total / loss.size if loss.size else np.nan
    return np.asarray(total, dtype)


def _expand(xp, g, shape, reduction):
    """The upstream gradient of a reduced loss, per element (``xp``: ``g``'s array namespace)."""
    if reduction == "none":
        return g
    n = int(np.prod(shape))
    return xp.broadcast_to(g if reduction == "sum" else g / max(n, 1), shape)


class _PointwiseLoss(Function):
    """A loss ``f(x - y)`` per element, weighted, reduced in the same node (one graph node named
    like PyTorch's, e.g. ``MseLossBackward0``).  Subclasses give ``f`` and ``f'`` of ``d``."""
    raw = True
    derivative = "d loss/dx = f'(x - y) (times the weight, / n for the mean), d loss/dy = -that"

    @staticmethod
    def forward(ctx, x, t, w, reduction, p):
        d = x - t
        loss = ctx._fn.f(d, p)
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, t)
        ctx.w, ctx.reduction, ctx.p, ctx.shape = w, reduction, p, loss.shape
        return _reduce_np(loss, reduction, np.result_type(x, t))

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        xp = ctx.xp
        gd = _expand(xp, g, ctx.shape, ctx.reduction) * ctx._fn.df(xp, x - t, ctx.p)
        if ctx.w is not None:
            gd = gd * xp.asarray(ctx.w)
        nx, nt = ctx.needs_input_grad[:2]
        return (gd if nx else None), (-gd if nt else None), None, None, None


class MSELossFn(_PointwiseLoss):
    node_name = "MseLossBackward0"
    f = staticmethod(lambda d, p: d * d)
    df = staticmethod(lambda xp, d, p: 2 * d)


class SmoothL1LossFn(_PointwiseLoss):
    node_name = "SmoothL1LossBackward0"
    f = staticmethod(lambda d, beta: np.where(np.abs(d) < beta, 0.5 * d * d / (beta or 1),
                                              np.abs(d) - 0.5 * beta))
    df = staticmethod(lambda xp, d, beta: xp.where(xp.abs(d) < beta, d / (beta or 1), xp.sign(d)))


class HuberLossFn(_PointwiseLoss):
    node_name = "HuberLossBackward0"
    f = staticmethod(lambda d, delta: np.where(np.abs(d) < delta, 0.5 * d * d,
                                               delta * (np.abs(d) - 0.5 * delta)))
    df = staticmethod(lambda xp, d, delta: xp.where(xp.abs(d) < delta, d, delta * xp.sign(d)))


def _pointwise_loss(cls, input, target, weight, reduction, p=None):
    _warn_shape(input, target)
    _check_reduction(reduction)
    w = None if weight is None else _lk.as_tensor(weight)._np
    return cls.apply(input, target, w, reduction, p)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(x - y)^2`` (mean over all elements by default)."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    return _pointwise_loss(MSELossFn, input, target, weight, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|x - y|``."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    _warn_shape(input, target)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` if ``|d| < beta`` else ``|d| - 0.5 beta``."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _pointwise_loss(SmoothL1LossFn, input, target, None, reduction, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` if ``|d| < delta`` else ``delta (|d| - 0.5 delta)``."""
    return _pointwise_loss(HuberLossFn, input, target, weight, reduction, float(delta))


def _class_weight(weight, C, dtype):
    if weight is None:
        return np.ones(C, dtype)
    w = np.ascontiguousarray(weight._np, dtype=dtype)
    if w.shape != (C,):
        raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no "
                           f"classes but got weight tensor of shape: {list(w.shape)}")
    return w


def _check_targets(y, C, ignore_index):
    if not y.size or (y.min() >= 0 and y.max() < C):     # the usual case: two cheap passes
        return
    bad = (y != ignore_index) & ((y < 0) | (y >= C))
    if bad.any():
        v = int(y[bad].ravel()[0])
        raise IndexError(f"Target {v} is out of bounds: class targets must be in [0, {C - 1}] "
                         f"(the input has C={C} classes along dim 1) or equal to "
                         f"ignore_index={ignore_index}.")


class CrossEntropy(Function):
    """log_softmax + nll in one node; backward is ``(softmax - target) * g / N`` in one pass.

    Works on rows: the class dim is moved last and the other dims flattened.
    """
    raw = True
    derivative = "d loss / d logits = (softmax(logits) - one_hot(target)) / N"
    node_name = "CrossEntropyLossBackward0"

    @staticmethod
    def forward(ctx, x, y, w, eps, ignore_index, reduction):
        C = x.shape[1]
        xm = x if x.ndim == 2 else np.moveaxis(x, 1, -1)
        z = np.ascontiguousarray(xm).reshape(-1, C)
        yr = np.ascontiguousarray(y, dtype=np.int64).reshape(-1)
        loss, lse = NK.cross_entropy(z, yr, w, eps, ignore_index)
        ctx.save_for_backward(x)
        ctx.p = (z, yr, w, eps, ignore_index, lse, reduction, xm.shape)
        if reduction == "none":
            return loss.reshape(y.shape)
        if reduction == "sum":
            return np.asarray(loss.sum(dtype=np.float64), x.dtype)
        valid = yr != ignore_index
        denom = w[yr[valid]].sum(dtype=np.float64)
        ctx.denom = denom
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum(dtype=np.float64) / denom, x.dtype)

    @staticmethod
    def backward(ctx, g, *_):
        """``g_i (Q_i softmax(z_i) - q_i)`` with q the weighted, smoothed target (a constant) and
        the softmax recomputed from the logits (any order of derivative)."""
        (x,) = ctx.saved_tensors
        z, yr, w, eps, ignore_index, lse, reduction, mshape = ctx.p
        xp = ctx.xp
        R, C = z.shape
        zz = (x if x.ndim == 2 else xp.moveaxis(x, 1, -1)).reshape(R, C)
        m = xp.asarray(z.max(axis=1, keepdims=True) if R else np.zeros((0, 1), z.dtype))
        e = xp.exp(zz - m)                               # (any constant shift gives the same)
        p = e / xp.sum(e, axis=1, keepdims=True)
        valid = yr != ignore_index
        ys = np.where(valid, yr, 0)
        wy = w[ys]
        big_q = ((1 - eps) * wy + eps / C * w.sum()) * valid
        q = np.broadcast_to(eps / C * w, (R, C)).copy()
        q[np.arange(R), ys] += (1 - eps) * wy
        q *= valid[:, None]
        if reduction == "none":
            gr = g.reshape(R)
        else:
            gr = xp.broadcast_to((g if reduction == "sum" else g / ctx.denom).reshape(1), (R,))
        dt = z.dtype
        gz = (p * xp.asarray(big_q[:, None].astype(dt)) - xp.asarray(q.astype(dt))) * \
            xp.expand_dims(gr, 1)
        gx = gz.reshape(mshape)
        return (gx if x.ndim == 2 else xp.moveaxis(gx, -1, 1)), None, None, None, None, None

    @staticmethod
    def fused_backward(ctx, g, *_):
        z, yr, w, eps, ignore_index, lse, reduction, mshape = ctx.p
        if reduction == "none":
            gr = np.ascontiguousarray(g, dtype=z.dtype).reshape(-1)
        else:
            scale = g.item() if reduction == "sum" else g.item() / ctx.denom
            gr = np.full(z.shape[0], scale, z.dtype)
        gz = NK.cross_entropy_backward(z, yr, w, eps, ignore_index, lse, gr)
        gx = gz.reshape(mshape) if len(mshape) == 2 else np.moveaxis(gz.reshape(mshape), -1, 1)
        return gx, None, None, None, None, None


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` and ``target`` (log_softmax + NLL, fused).

    Args:
        input: logits ``(N, C)``, ``(C)`` or ``(N, C, d1, ...)``
        target: class indices ``(N)`` / ``()`` / ``(N, d1, ...)`` (int64), or class
            probabilities with the shape of ``input``
        weight: per-class weight ``(C)``
        ignore_index: target value that contributes no loss and no gradient
        reduction: ``'mean'`` (weighted mean over non-ignored targets), ``'sum'``, ``'none'``
        label_smoothing: mix the target with the uniform distribution (0.0 to 1.0)
    """
    reduction = _reduction_arg(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _check_float(input, "cross_entropy")
    if not isinstance(target, Tensor):
        target = _lk.tensor(target)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    unbatched = input.ndim == 1
    if unbatched:
        input = input.unsqueeze(0)
        target = target.unsqueeze(0)
    C = input.shape[1]
    if target._np.dtype.kind == "f":                       # class probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(f"cross_entropy: probability targets must have the input's shape "
                               f"{list(input.shape)}, got {list(target.shape)} (class-index "
                               f"targets must be integers: use target.long())")
        logp = input.log_softmax(1)
        t = target
        if label_smoothing > 0:
            t = t * (1 - label_smoothing) + label_smoothing / C
        if weight is not None:
            logp = logp * weight.reshape([1, C] + [1] * (input.ndim - 2))
        loss = -(logp * t).sum(1)
        if unbatched:
            loss = loss.squeeze(0)
        return _reduce(loss, reduction)
    if target._np.dtype.kind not in "iu":
        raise RuntimeError(f"cross_entropy: expected class-index targets of an integer dtype, got "
                           f"{target.dtype}")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        if input.ndim == 2 and target.ndim == 2 and tuple(target.shape) == tuple(input.shape):
            hint = " (one-hot targets: pass them as float probabilities, or use target.argmax(1))"
        else:
            hint = ""
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 1}): cross_entropy "
                         f"needs target shape {list(expected)} for input shape "
                         f"{list(input.shape)}, got {list(target.shape)}{hint}")
    y = target._np.astype(np.int64, copy=False)
    _check_targets(y, C, ignore_index)
    w = _class_weight(weight, C, input._np.dtype)
    out = CrossEntropy.apply(input, y, w, float(label_smoothing), int(ignore_index), reduction)
    if unbatched and reduction == "none":
        out = out.squeeze(0)
    return out


class NLLLoss(Function):
    raw = True
    derivative = "d loss / d logp = -w_y at the target class (/ the weight sum for the mean)"
    node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, x, y, w, ignore_index, reduction):
        C = x.shape[1]
        xm = np.moveaxis(x, 1, -1)
        lp = xm.reshape(-1, C)
        yr = y.reshape(-1)
        valid = yr != ignore_index
        ys = np.where(valid, yr, 0)
        wy = np.where(valid, w[ys], 0).astype(x.dtype)
        loss = -wy * lp[np.arange(len(ys)), ys]
        ctx.p = (x.shape, xm.shape, ys, wy, reduction)
        if reduction == "none":
            return loss.reshape(y.shape)
        if reduction == "sum":
            return np.asarray(loss.sum(), x.dtype)
        ctx.denom = wy.sum(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum(dtype=np.float64) / ctx.denom, x.dtype)

    @staticmethod
    def backward(ctx, g):
        shape, mshape, ys, wy, reduction = ctx.p
        xp = ctx.xp
        n = len(ys)
        if reduction == "none":
            gr = g.reshape(-1)
        else:
            gr = xp.broadcast_to((g if reduction == "sum" else g / ctx.denom).reshape(1), (n,))
        gm = xp.zeros((n, mshape[-1]), dtype=g.dtype)
        gm[np.arange(n), ys] = -xp.asarray(wy) * gr
        return xp.moveaxis(gm.reshape(mshape), -1, 1), None, None, None, None


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` ``(N, C, ...)`` at class ``target``."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    C = input.shape[1]
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 1}): nll_loss needs "
                         f"target shape {list(expected)} for input shape {list(input.shape)}, "
                         f"got {list(target.shape)}")
    if target._np.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: expected integer class targets, got {target.dtype}")
    y = target._np.astype(np.int64, copy=False)
    _check_targets(y, C, ignore_index)
    w = _class_weight(weight, C, input._np.dtype)
    out = NLLLoss.apply(input, y, w, int(ignore_index), reduction)
    if unbatched and reduction == "none":
        out = out.squeeze(0)
    return out


class BinaryCrossEntropy(Function):
    raw = True
    derivative = "d loss / dp = (p - y) / (p (1 - p)) (/ N for the mean)"
    node_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, x, t, w, reduction):
        logx = np.maximum(np.log(x), -100)
        log1mx = np.maximum(np.log1p(-x), -100)
        loss = -(t * logx + (1 - t) * log1mx)
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, t, w)
        ctx.reduction = reduction
        return _reduce_np(loss, reduction, x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        xp = ctx.xp
        g = _expand(xp, g, x.shape, ctx.reduction)
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = g * (x - t) / xp.maximum((1 - x) * x, 1e-12)
            if w is not None:
                gx = gx * w
        if ctx.needs_input_grad[1]:
            gt = g * (xp.maximum(xp.log1p(-x), -100.0) - xp.maximum(xp.log(x), -100.0))
            if w is not None:
                gt = gt * w
        return gx, gt, None, None


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """``-(y log x + (1 - y) log(1 - x))`` for probabilities ``x`` in [0, 1] (logs clamped at
    -100).  Prefer :func:`binary_cross_entropy_with_logits` on raw scores."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({_size(target.shape)}) that is different to the "
                         f"input size ({_size(input.shape)}) is deprecated. Please ensure they "
                         f"have the same size.")
    x = input._np
    if x.size and (x.min() < 0 or x.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1 (binary_cross_entropy"
                           " takes probabilities; for raw scores use "
                           "binary_cross_entropy_with_logits / nn.BCEWithLogitsLoss)")
    if target._np.dtype != input._np.dtype:
        target = target.to(input.dtype)
    if weight is not None:
        weight = _lk.broadcast_to(weight.to(input.dtype), input.shape)
    _check_reduction(reduction)
    return BinaryCrossEntropy.apply(input, target, weight, reduction)


class BCEWithLogits(Function):
    raw = True
    derivative = "d loss / d logit = (sigmoid(logit) - y) (weighted; / N for the mean)"
    node_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, x, t, w, pw, reduction):
        sp = np.logaddexp(0, -x)                         # softplus(-x) = -log(sigmoid(x))
        lw = 1 if pw is None else 1 + (pw - 1) * t
        loss = (1 - t) * x + lw * sp
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, t, w, pw)
        ctx.reduction = reduction
        return _reduce_np(loss, reduction, x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t, w, pw = ctx.saved_tensors
        xp = ctx.xp
        g = _expand(xp, g, x.shape, ctx.reduction)
        gx = gt = None
        if w is not None:
            g = g * w
        if ctx.needs_input_grad[0]:
            lw = 1 if pw is None else 1 + (pw - 1) * t
            gx = g * ((1 - t) - lw * xp.sigmoid(-x))
        if ctx.needs_input_grad[1]:
            gt = -x if pw is None else -x + (pw - 1) * xp.logaddexp(0.0, -x)
            gt = g * gt
        return gx, gt, None, None, None

    @staticmethod
    def fused_backward(ctx, g):
        x, t, w, pw = ctx.saved_tensors
        g = _expand(np, g, x.shape, ctx.reduction)
        gx = gt = None
        if w is not None:
            g = g * w
        if ctx.needs_input_grad[0]:
            lw = 1 if pw is None else 1 + (pw - 1) * t
            gx = g * ((1 - t) - lw * _sigmoid_np(-x))
        if ctx.needs_input_grad[1]:
            gt = -x if pw is None else -x + (pw - 1) * np.logaddexp(0, -x)
            gt = g * gt
        return gx, gt, None, None, None


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable step.

    ``loss = -w [p_w y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]``; ``pos_weight`` (one per
    class, broadcast over the last dim) scales the positive term.
    """
    reduction = _reduction_arg(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({_size(target.shape)}) must be the same as input size "
                         f"({_size(input.shape)})")
    dt = input.dtype
    if target._np.dtype != input._np.dtype:
        target = target.to(dt)
    if weight is not None:
        weight = _lk.broadcast_to(weight.to(dt), input.shape)
    if pos_weight is not None:
        pos_weight = pos_weight.to(dt)
    _check_reduction(reduction)
    return BCEWithLogits.apply(input, target, weight, pos_weight, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence ``sum target * (log target - input)`` with ``input`` log-probabilities.

    Use ``reduction='batchmean'`` for the mathematically correct KL (sum / batch size).
    """
    reduction = _reduction_arg(size_average, reduce, reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = _lk.where(target > 0, target, _lk.ones_like(target))
        loss = target * (safe.log() - input)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    return _reduce(loss, reduction)
