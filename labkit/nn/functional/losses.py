"""Loss functions: MSE, L1, smooth L1 / Huber, cross-entropy, NLL, binary cross-entropy, KL."""
import warnings

import numpy as np

import labkit as _lk
from ...autograd.function import Function
from ...tensor import Tensor
from ...kernels import nn as NK
from ._common import _check_float, _check_reduction, _reduce, _reduction_arg, _size
from .activations import _sigmoid_np


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
