"""Normalization: batch norm, layer norm, group norm, instance norm."""
import numbers

import numpy as np

from ...autograd.function import Function
from ...kernels import nn as NK
from ._common import _check_float, _same_dtype, _size


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
    if input.numel() == 0 and input.ndim < 2:
        return input * 1                                # PyTorch returns empty input as is
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
    if input.numel() == 0:
        shape = [1, C] + [1] * (input.ndim - 2)
        out = input * 1
        if weight is not None:
            out = out * weight.reshape(shape)
        return out + bias.reshape(shape) if bias is not None else out
    return GroupNorm.apply(input, weight, bias, int(num_groups), float(eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample separately (GroupNorm with one channel a group).

    With running stats (or ``use_input_stats=False``), as PyTorch: batch norm over the
    ``(1, N*C, ...)`` view, the running stats repeated per sample and averaged back."""
    if use_input_stats and running_mean is None and running_var is None:
        return group_norm(input, input.shape[1], weight, bias, eps)
    n, c = input.shape[:2]
    rm = None if running_mean is None else running_mean.detach().repeat(n)
    rv = None if running_var is None else running_var.detach().repeat(n)
    out = batch_norm(input.reshape(1, n * c, *input.shape[2:]), rm, rv,
                     None if weight is None else weight.repeat(n),
                     None if bias is None else bias.repeat(n), use_input_stats, momentum, eps)
    for running, repeated in ((running_mean, rm), (running_var, rv)):
        if running is not None and use_input_stats:
            running._np[...] = repeated._np.reshape(n, c).mean(0)
            running._vc[0] += 1
    return out.reshape(input.shape)
