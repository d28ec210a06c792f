"""More of ``torch.nn.functional``, as composites of labkit ops (no backward to write).

``labkit.nn.functional`` re-exports every name in ``__all__``.  Found missing by the OpInfo
conformance suite (scripts/conformance.py).
"""
import math

import numpy as np

import labkit as _lk
from ..tensor import Tensor, _make

__all__ = ["hardshrink", "softshrink", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
           "native_channel_shuffle", "rms_norm", "local_response_norm", "soft_margin_loss",
           "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
           "gaussian_nll_loss", "poisson_nll_loss", "multilabel_soft_margin_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss", "multi_margin_loss",
           "multilabel_margin_loss", "pdist", "upsample_nearest", "upsample_bilinear",
           "feature_alpha_dropout", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "adaptive_avg_pool3d",
           "max_unpool1d", "max_unpool2d", "max_unpool3d", "linear_cross_entropy",
           "embedding_bag", "conv3d", "avg_pool3d", "max_pool3d"]


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _legacy(size_average, reduce, reduction):
    """The deprecated ``size_average``/``reduce`` flags, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


# ------------------------------------------------------------------------------ activations
def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0."""
    return _lk.where(input.abs() > lambd, input, input * 0)


def softshrink(input, lambd=0.5):
    """``x - lambd`` above lambd, ``x + lambd`` below -lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _lk.where(input > lambd, input - lambd,
                     _lk.where(input < -lambd, input + lambd, input * 0))


# ------------------------------------------------------------------------------- rearrange
def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    nl = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, got {h} and {w} with {r}")
    nl = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """(N, g k, ...) -> channels regrouped as (k, g)."""
    n, c = input.shape[0], input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    rest = tuple(input.shape[2:])
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle


# ------------------------------------------------------------------------------ normalising
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last ``len(normalized_shape)`` dims."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size "
                           f"{list(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input._np.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt() if dims else \
        input * ((input * input) + eps).rsqrt()
    return out * weight if weight is not None else out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Divide by ``(k + alpha/size * sum of squares over `size` neighbouring channels)^beta``."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input * 1
    sq = input * input
    c = input.shape[1]
    pad_front, pad_back = size // 2, (size - 1) // 2
    zeros_f = sq.narrow(1, 0, 1) * 0
    parts = [zeros_f] * pad_front + [sq] + [zeros_f] * pad_back
    padded = _lk.cat(parts, 1)
    acc = padded.narrow(1, 0, c)
    for i in range(1, size):
        acc = acc + padded.narrow(1, i, c)
    div = (acc * (alpha / size) + k) ** beta
    return input / div


# ----------------------------------------------------------------------------------- losses
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    return _reduce((1 + (-target * input).exp()).log(), _legacy(size_average, reduce, reduction))


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    loss = (-target * (input1 - input2) + margin).clamp(min=0)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    zeros = input * 0                            # targets other than +-1 count in both terms
    pos = _lk.where(target != -1, input, zeros)
    neg = _lk.where(target != 1, (margin - input).clamp(min=0), zeros)
    return _reduce(pos + neg, _legacy(size_average, reduce, reduction))


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    eps = 1e-12
    d = input1.ndim - 1
    prod = (input1 * input2).sum(d)
    m1 = (input1 * input1).sum(d) + eps
    m2 = (input2 * input2).sum(d) + eps
    cos = prod / (m1 * m2).sqrt()
    zeros = cos * 0
    loss = _lk.where(target == 1, 1 - cos, zeros) + \
        _lk.where(target == -1, (cos - margin).clamp(min=0), zeros)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """``0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps))`` (+ const if full)."""
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _lk.full_like(input, float(var))
    if var.ndim != input.ndim and var.shape == input.shape[:-1]:
        var = var.unsqueeze(-1)
    elif var.ndim == input.ndim and var.shape[-1] == 1 and input.shape[-1] != 1:
        pass
    if bool((var._np < 0).any()):
        raise ValueError("var has negative entry/entries")
    v = var.clamp(min=eps) if not var.requires_grad else \
        var + (var.clamp(min=eps) - var).detach()
    loss = 0.5 * (v.log() + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        t = target
        safe = _lk.where(t > 1, t, t * 0 + 2)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + _lk.where(t > 1, stirling, t * 0)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    logsig = _lk.nn.functional.logsigmoid
    loss = -(target * logsig(input) + (1 - target) * logsig(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1] if input.ndim else loss
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def _pairwise(a, b, p, eps):
    return _lk.nn.functional.pairwise_distance(a, b, p, eps)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    d_pos = _pairwise(anchor, positive, p, eps)
    d_neg = _pairwise(anchor, negative, p, eps)
    if swap:
        d_neg = _lk.minimum(d_neg, _pairwise(positive, negative, p, eps))
    loss = (margin + d_pos - d_neg).clamp(min=0)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    dist = distance_function or _lk.nn.functional.pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = _lk.minimum(d_neg, dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """``sum_{i != y} max(0, margin - x[y] + x[i])^p / C`` per sample."""
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = target.reshape(-1, 1)
    c = x.shape[1]
    xy = x.gather(1, t)
    m = (margin - xy + x).clamp(min=0)
    if p == 2:
        m = m * m
    if weight is not None:
        m = m * weight.gather(0, t.reshape(-1)).reshape(-1, 1)
    mask = _make(np.arange(c)[None, :] != t._np)
    loss = _lk.where(mask, m, m * 0).sum(1) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Targets are class indices padded with -1; hinge between each target and non-target."""
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = target._np.reshape(x.shape)
    n, c = x.shape
    rows = []
    for i in range(n):
        tgt = []
        for v in t[i]:
            if v < 0:
                break
            tgt.append(int(v))
        is_t = np.zeros(c, bool)
        is_t[tgt] = True
        xi = x[i]
        total = xi.sum() * 0
        for j in tgt:
            others = _make(np.flatnonzero(~is_t))
            if others.shape[0]:
                total = total + (1 - (xi[j] - xi.index_select(0, others))).clamp(min=0).sum()
        rows.append(total / c)
    loss = _lk.stack(rows) if rows else x.sum(1)
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0, options=None):
    """``cross_entropy(logits, target, ...)`` with ``logits[..., c, o...] = sum_h input[..., h]
    * linear_weight[c, o..., h] (+ linear_bias[c, o...])`` (classes first, then any extra
    output dims: a K-dimensional loss)."""
    F = _lk.nn.functional
    if input.ndim not in (1, 2):
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    logits = _lk.tensordot(input, linear_weight, dims=([input.ndim - 1], [linear_weight.ndim - 1]))
    if linear_bias is not None:
        logits = logits + linear_bias
    kw = {} if ignore_index is None else {"ignore_index": ignore_index}
    return F.cross_entropy(logits, target, weight=weight, reduction=reduction,
                           label_smoothing=label_smoothing, **kw)


# ---------------------------------------------------------------------------------- distance
def pdist(input, p=2):
    """Distances between every pair of rows i < j (the upper triangle of cdist, flattened)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    a = input.index_select(0, _make(i.astype(np.int64)))
    b = input.index_select(0, _make(j.astype(np.int64)))
    d = a - b
    if p == 0:
        return (d != 0).to(input.dtype).sum(1) + d.abs().clamp(max=0).sum(1)
    return d.norm(p, dim=1) if d.shape[0] else d.sum(1)


# ------------------------------------------------------------------------------- resampling
def upsample_nearest(input, size=None, scale_factor=None):
    return _lk.nn.functional.interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return _lk.nn.functional.interpolate(input, size, scale_factor, mode="bilinear",
                                         align_corners=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    alpha_p = -1.7580993408473766                 # -selu scale * alpha
    keep = 1 - p
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    mask = _make((np.random.default_rng().random(shape) < keep).astype(input._np.dtype))
    a = (keep + alpha_p ** 2 * keep * p) ** -0.5
    b = -a * alpha_p * p
    return (input * mask + alpha_p * (1 - mask)) * a + b


# ----------------------------------------------------------------------------------- pooling
def _adaptive_bounds(n_in, n_out):
    starts = (np.arange(n_out) * n_in) // n_out
    ends = -((-(np.arange(n_out) + 1) * n_in) // n_out)
    return starts, ends


def _adaptive_max(input, output_size, nd):
    """Max over PyTorch's adaptive windows in the last ``nd`` dims: (values, flat indices)."""
    spatial = tuple(input.shape[-nd:])
    outs = (output_size,) * nd if isinstance(output_size, int) else tuple(
        s if s is not None else spatial[i] for i, s in enumerate(output_size))
    lead = tuple(input.shape[:-nd])
    a = input._np.reshape((-1,) + spatial)
    bounds = [_adaptive_bounds(spatial[i], outs[i]) for i in range(nd)]
    flat_idx = np.zeros((a.shape[0],) + outs, np.int64)
    for pos in np.ndindex(*outs):
        sl = tuple(slice(bounds[i][0][p], bounds[i][1][p]) for i, p in enumerate(pos))
        win = a[(slice(None),) + sl].reshape(a.shape[0], -1)
        arg = np.argmax(np.where(np.isnan(win), np.inf, win), axis=1)
        coords = np.unravel_index(arg, tuple(s.stop - s.start for s in sl))
        full = [c + s.start for c, s in zip(coords, sl)]
        flat_idx[(slice(None),) + pos] = np.ravel_multi_index(full, spatial)
    idx = _make(flat_idx.reshape(lead + outs))
    vals = input.reshape(lead + (-1,)).gather(len(lead), idx.reshape(lead + (-1,)))
    return vals.reshape(lead + outs), idx


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, 1)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, 2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    v, i = _adaptive_max(input, output_size, 1)
    return (v, i) if return_indices else v


def adaptive_max_pool2d(input, output_size, return_indices=False):
    v, i = _adaptive_max(input, output_size, 2)
    return (v, i) if return_indices else v


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, 3)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    v, i = _adaptive_max(input, output_size, 3)
    return (v, i) if return_indices else v


def adaptive_avg_pool3d(input, output_size):
    """Average over PyTorch's adaptive bins: separable, one averaging matrix per spatial dim."""
    from .functional.pooling import _adaptive_matrix
    spatial = tuple(input.shape[-3:])
    outs = (output_size,) * 3 if isinstance(output_size, int) else tuple(
        s if s is not None else spatial[i] for i, s in enumerate(output_size))
    out = input
    for k in range(3):
        m = _make(np.ascontiguousarray(_adaptive_matrix(spatial[k], outs[k],
                                                        input._np.dtype).T))
        d = input.ndim - 3 + k
        out = (out.movedim(d, -1) @ m).movedim(-1, d)
    return out


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd):
    ks = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
    st = ks if stride is None else ((stride,) * nd if isinstance(stride, int) else tuple(stride))
    pd = (padding,) * nd if isinstance(padding, int) else tuple(padding)
    in_sp = tuple(input.shape[-nd:])
    if output_size is None:
        out_sp = tuple((in_sp[i] - 1) * st[i] - 2 * pd[i] + ks[i] for i in range(nd))
    else:
        out_sp = tuple(output_size)[-nd:]
    lead = tuple(input.shape[:-nd])
    m = int(np.prod(out_sp))
    flat = input.reshape(lead + (-1,))
    idx = indices.reshape(lead + (-1,))
    zeros = _make(np.zeros(lead + (m,), input._np.dtype))
    out = zeros.scatter(len(lead), idx, flat) if flat.shape[-1] else zeros
    return out.reshape(lead + out_sp)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# -------------------------------------------------------------------------------- embedding
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Sum, mean or max of the embeddings in each bag (bags: rows of a 2-D input, or
    ``offsets`` into a 1-D one); ``padding_idx`` entries are left out."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. "
                                  "per_sample_weights is only supported for mode='sum'")
    idx = input._np
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    if max_norm is not None:                     # as PyTorch: rescale used rows in place
        rows_used = np.unique(idx.reshape(-1))
        w = weight._np
        norms = np.linalg.norm(w[rows_used], ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w[rows_used] = w[rows_used] * scale[:, None].astype(w.dtype)
    if idx.ndim == 2:
        n_bags, width = idx.shape
        starts = np.arange(n_bags) * width
        flat = idx.reshape(-1)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
    else:
        flat = idx
        starts = offsets._np.astype(np.int64)
        if include_last_offset:
            starts = starts[:-1]
        psw = per_sample_weights
    ends = np.append(starts[1:], flat.shape[0]) if not (idx.ndim == 1 and include_last_offset) \
        else offsets._np.astype(np.int64)[1:]
    if idx.ndim == 1 and include_last_offset:
        ends = np.minimum(ends, flat.shape[0])
    rows = []
    d = weight.shape[1]
    for s, e in zip(starts, ends):
        sel = np.arange(s, e)
        if padding_idx is not None:
            sel = sel[flat[sel] != padding_idx]
        if sel.size == 0:
            rows.append(weight[0] * 0)
            continue
        emb = weight.index_select(0, _make(flat[sel].astype(np.int64)))
        if psw is not None:
            emb = emb * psw.index_select(0, _make(sel.astype(np.int64))).reshape(-1, 1)
        if mode == "sum":
            rows.append(emb.sum(0))
        elif mode == "mean":
            rows.append(emb.mean(0))
        else:
            rows.append(emb.amax(0))
    if not rows:
        return weight[:0]
    return _lk.stack(rows) if rows else _make(np.zeros((0, d), weight._np.dtype))


# -------------------------------------------------------------------------- 3-D conv, pool
def _triple(v, name):
    if isinstance(v, int):
        return (v,) * 3
    v = tuple(v)
    if len(v) == 1:
        return v * 3
    if len(v) != 3:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 3 values")
    return v


def _out_len(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    o = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (o - 1) * s >= n + p:       # the last window must start inside
        o -= 1
    return o


def _windows(x, k, s, d, outs):
    """Sliding windows over the last three dims: (..., OD, OH, OW, kD, kH, kW)."""
    nd = x.ndim
    for i in range(3):
        dim = nd - 3 + i
        idx = (np.arange(outs[i])[:, None] * s[i] + np.arange(k[i])[None, :] * d[i]).reshape(-1)
        x = x.index_select(dim, _make(idx.astype(np.int64)))
        shape = list(x.shape)
        shape[dim:dim + 1] = [outs[i], k[i]]
        x = x.reshape(shape).movedim(dim + 1, -1)
    return x


def _pad3(x, p, extra=(0, 0, 0), value=0.0):
    F = _lk.nn.functional
    pads = []
    for i in (2, 1, 0):
        pads += [p[i], p[i] + extra[i]]
    return F.pad(x, pads, value=value) if any(pads) else x


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over ``(N, C_in, D, H, W)``: sliding windows contracted with the weight
    (an einsum, so the gradient comes from the ops it is made of)."""
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    if x.ndim != 5:
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv3d, but got "
                           f"input of size: {list(input.shape)}")
    if input._np.dtype.kind in "iu":
        out = conv3d(input.double(), weight.double(), None if bias is None else bias.double(),
                     stride, padding, dilation, groups)
        return out.trunc().to(input.dtype)
    s, d = _triple(stride, "stride"), _triple(dilation, "dilation")
    k = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "same":
            tot = [d[i] * (k[i] - 1) for i in range(3)]
            pads = []
            for i in (2, 1, 0):
                pads += [tot[i] // 2, tot[i] - tot[i] // 2]
            x = _lk.nn.functional.pad(x, pads)
        elif padding != "valid":
            raise ValueError(f"Invalid padding string '{padding}'")
    else:
        x = _pad3(x, _triple(padding, "padding"))
    n, c = x.shape[:2]
    outs = tuple(_out_len(x.shape[2 + i], k[i], s[i], 0, d[i], False) for i in range(3))
    win = _windows(x, k, s, d, outs)             # (N, C, OD, OH, OW, kD, kH, kW)
    g = groups
    co = weight.shape[0]
    win = win.reshape(n, g, c // g, *outs, *k)
    w = weight.reshape(g, co // g, c // g, *k)
    out = _lk.einsum("ngcdhwxyz,gocxyz->ngodhw", win, w).reshape(n, co, *outs)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out.squeeze(0) if unbatched else out


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling (PyTorch's divisors: the window clipped to the padded input, or only
    the real elements when ``count_include_pad=False``)."""
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    if input._np.dtype.kind in "iu":
        out = avg_pool3d(input.double(), kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override)
        return out.trunc().to(input.dtype)
    k = _triple(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _triple(stride, "stride")
    p = _triple(padding, "padding")
    sp = tuple(x.shape[2:])
    outs = tuple(_out_len(sp[i], k[i], s[i], p[i], 1, ceil_mode) for i in range(3))
    extra = tuple(max(0, (outs[i] - 1) * s[i] + k[i] - (sp[i] + 2 * p[i])) for i in range(3))
    xp = _pad3(x, p, extra)
    total = _windows(xp, k, s, (1, 1, 1), outs).sum((-3, -2, -1))
    if divisor_override:
        div = float(divisor_override)
    else:
        ones = np.zeros(tuple(xp.shape[2:]), x._np.dtype)
        if count_include_pad:
            ones[tuple(slice(0, sp[i] + 2 * p[i]) for i in range(3))] = 1
        else:
            ones[tuple(slice(p[i], p[i] + sp[i]) for i in range(3))] = 1
        div = _windows(_make(ones), k, s, (1, 1, 1), outs).sum((-3, -2, -1))
    out = total / div
    return out.squeeze(0) if unbatched else out


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling; ``return_indices`` gives the flat (d*H*W + h*W + w) input index."""
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    k = _triple(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _triple(stride, "stride")
    p, d = _triple(padding, "padding"), _triple(dilation, "dilation")
    sp = tuple(x.shape[2:])
    outs = tuple(_out_len(sp[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(3))
    extra = tuple(max(0, (outs[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - (sp[i] + 2 * p[i]))
                  for i in range(3))
    lowest = -np.inf if x._np.dtype.kind == "f" else np.iinfo(x._np.dtype).min
    xp = _pad3(x, p, extra, value=lowest)
    win = _windows(xp, k, s, d, outs)
    flat = win.reshape(*win.shape[:5], -1)
    arg = np.argmax(np.where(np.isnan(flat._np), np.inf, flat._np), axis=-1) \
        if flat._np.dtype.kind == "f" else np.argmax(flat._np, axis=-1)
    vals = flat.gather(-1, _make(arg[..., None])).squeeze(-1)
    out = vals.squeeze(0) if unbatched else vals
    if not return_indices:
        return out
    kd, kh, kw = np.unravel_index(arg, k)
    grid = np.meshgrid(*[np.arange(o) for o in outs], indexing="ij")
    pos = [grid[i][None, None] * s[i] + np.array((kd, kh, kw)[i]) * d[i] - p[i]
           for i in range(3)]
    idx = (pos[0] * sp[1] + pos[1]) * sp[2] + pos[2]
    idx = _make(idx.astype(np.int64))
    return out, (idx.squeeze(0) if unbatched else idx)
