"""Less common ops of ``torch.nn.functional``, composed from Tensor ops (so their gradients, and
their gradients' gradients, come from the ops they are made of): shrinkage activations, RReLU,
in-place variants, alpha dropout, pixel / channel shuffle, RMS and local response normalisation,
``pdist``, ``gumbel_softmax`` and ``embedding_bag``."""
import math

import numpy as np

import labkit as _lk
from ...autograd import grad_mode
from ...random import _rng
from ...tensor import Tensor, _make
from ._common import _check_float, _inplace_result
from .activations import celu, elu, leaky_relu, selu, softmax
from .activations import threshold as _threshold
from .dropout import _check_p, _dense_grad_only, _feature_dropout
from .padding import pad


# ================================================================ activations
def hardshrink(input, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0."""
    _check_float(input, "hardshrink")
    inside = (input >= -lambd) & (input <= lambd)       # NaN stays NaN, as in PyTorch
    return _lk.where(inside, _lk.zeros_like(input), input)


def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 in between."""
    _check_float(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return input - input.clamp(-lambd, lambd)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU: negative inputs are scaled by a slope drawn from
    ``U(lower, upper)`` per element while training, by ``(lower + upper) / 2`` in eval."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    _check_float(input, "rrelu")
    x = input._np
    slope = _rng().uniform(lower, upper, x.shape).astype(x.dtype)
    scale = np.where(x >= 0, x.dtype.type(1), slope)
    r = input * _make(scale)
    return _inplace_result(input, r) if inplace else r


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, inplace=True)


# ================================================================ dropout variants
_SELU_ALPHA = 1.7580993408473766      # -(SELU's negative saturation value)


def _alpha_dropout(input, p, training, inplace, feature):
    _check_p(p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        r = input * 0.0
        return _inplace_result(input, r) if inplace else r
    if feature and input.ndim < 2:
        raise RuntimeError(f"Feature dropout requires at least 2 dimensions in the input, got "
                           f"{input.ndim}")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if feature else tuple(input.shape)
    dt = input._np.dtype
    keep = (_rng().random(shape) >= p).astype(dt)
    a = 1.0 / math.sqrt((_SELU_ALPHA ** 2 * p + 1) * (1 - p))
    b = (keep - 1) * _SELU_ALPHA * a + _SELU_ALPHA * a * p
    r = input * _make((keep * a).astype(dt)) + _make(b.astype(dt))
    return _inplace_result(input, r) if inplace else r


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalising mean and variance: dropped elements are set to
    SELU's negative saturation value, then everything is rescaled (only when ``training``)."""
    return _alpha_dropout(input, p, training, inplace, False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels of ``(N, C, ...)``."""
    return _alpha_dropout(input, p, training, inplace, True)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, D, H, W)`` with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 5, "dropout3d")


# ================================================================ shuffles
def _lead_and_check(name, input, nd=3):
    if input.ndim < nd:
        raise RuntimeError(f"{name} expects input to have at least {nd} dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    return list(input.shape[:-3])


def pixel_shuffle(input, upscale_factor):
    """``(*, C r^2, H, W) -> (*, C, H r, W r)``: channels become ``r x r`` pixel blocks."""
    lead = _lead_and_check("pixel_shuffle", input)
    r = int(upscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c, h, w = input.shape[-3:]
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(lead + [c // (r * r), r, r, h, w])
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(lead + [c // (r * r), h * r, w * r])


def pixel_unshuffle(input, downscale_factor):
    """``(*, C, H r, W r) -> (*, C r^2, H, W)``: the inverse of :func:`pixel_shuffle`."""
    lead = _lead_and_check("pixel_unshuffle", input)
    r = int(downscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    c, h, w = input.shape[-3:]
    if h % r or w % r:
        which, size = ("height", h) if h % r else ("width", w)
        raise RuntimeError(f"pixel_unshuffle expects {which} to be divisible by "
                           f"downscale_factor, but input.size({-2 if which == 'height' else -1})"
                           f"={size} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(lead + [c, h // r, r, w // r, r])
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(lead + [c * r * r, h // r, w // r])


def channel_shuffle(input, groups):
    """``(N, C, *)``: split the channels into ``groups`` and interleave them (ShuffleNet)."""
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    g = int(groups)
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    shape = list(input.shape)
    c = shape[1]
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    x = input.reshape([shape[0], g, c // g] + shape[2:]).transpose(1, 2)
    return x.reshape(shape)


native_channel_shuffle = channel_shuffle


# ================================================================ normalisation
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last ``len(normalized_shape)`` dims
    (``eps`` defaults to the dtype's machine epsilon)."""
    if isinstance(normalized_shape, (int, np.integer)):
        raise TypeError("rms_norm(): argument 'normalized_shape' (position 2) must be tuple of "
                        "ints, not int (nn.RMSNorm accepts an int; here write [n])")
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{list(shape)}")
    _check_float(input, "rms_norm")
    if eps is None:
        eps = float(np.finfo(input._np.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt() if k else \
        input * (input * input + eps).rsqrt()
    return out * weight if weight is not None else out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Normalise each element by the squares of its ``size`` neighbouring channels:
    ``x / (k + alpha / size * sum(x^2))^beta`` (AlexNet's LRN)."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = (input * input).movedim(1, -1)
    sq = pad(sq, (size // 2, (size - 1) // 2))
    acc = sq[..., 0:c]
    for j in range(1, size):
        acc = acc + sq[..., j:j + c]
    div = (acc.movedim(-1, 1) * (alpha / size) + k) ** beta
    return input / div


# ================================================================ distances / sampling
def pdist(input, p=2):
    """Distances between all pairs of rows of ``(N, M)`` (the upper triangle, row by row:
    ``N (N - 1) / 2`` values)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = np.triu_indices(input.shape[0], 1)
    d = input.index_select(0, _make(i)) - input.index_select(0, _make(j))
    return _lk.linalg.vector_norm(d, p, dim=1)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):  # eps: unused, as in PyTorch
    """Sample from the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with Gumbel
    noise ``g``; ``hard=True`` returns one-hot samples whose gradient is the soft sample's
    (straight-through)."""
    g = -np.log(_rng().exponential(size=tuple(logits.shape))).astype(logits._np.dtype)
    y = softmax((logits + _make(g)) / tau, dim)
    if not hard:
        return y
    idx = y.argmax(dim, keepdim=True)
    y_hard = _lk.zeros_like(logits).scatter(dim, idx, 1.0)
    return y_hard - y.detach() + y


# ================================================================ embedding_bag
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sum, mean or max of *bags* of embedding rows.

    ``input`` is either ``(B, n)`` (B bags of n indices) or 1-D with ``offsets`` (where each bag
    starts).  ``padding_idx`` entries are left out (and not counted by the mean); an empty bag
    gives zeros.  ``per_sample_weights`` (mode ``'sum'`` only) scales each looked-up row.
    """
    _dense_grad_only("embedding_bag", sparse)
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is "
                         f"not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated "
                             f"is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets)}")
        starts = np.arange(0, input.numel(), input.shape[1]) if input.shape[1] else \
            np.zeros(input.shape[0], np.int64)
        idx = input._np.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
        include_last_offset = False
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = np.asarray(offsets._np if isinstance(offsets, Tensor) else offsets, np.int64)
        idx = input._np
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' "
                                  f"(got mode='{mode}'). Please open a feature request on "
                                  f"GitHub.")
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"embedding_bag: expected indices to be of an integer type, got "
                           f"{input.dtype}")
    num, dim = weight.shape
    n = idx.shape[0]
    if include_last_offset:
        if starts.shape[0] < 1:
            raise RuntimeError("include_last_offset: number of offsets should be at least 1")
        ends = starts[1:]
        starts = starts[:-1]
        ends = np.minimum(ends, n)
    else:
        ends = np.append(starts[1:], n)
    B = starts.shape[0]
    if B and starts[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {starts[0]}")
    if B and starts[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length ({n}), but got "
                           f"offsets[-1] of {starts[-1]}")
    if n and (idx.min() < 0 or idx.max() >= num):
        bad = idx[(idx < 0) | (idx >= num)][0]
        raise IndexError(f"embedding_bag: index {bad} is out of range for a weight with "
                         f"{num} rows")
    if padding_idx is not None:
        padding_idx = int(padding_idx)
        if not -num <= padding_idx < num:
            raise AssertionError("padding_idx must be within the number of embeddings")
        padding_idx %= num
    if max_norm is not None:
        with grad_mode.no_grad():
            rows = np.unique(idx)
            w = weight._np
            norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            w[rows] = (w[rows] * scale[:, None]).astype(w.dtype)
            weight._vc[0] += 1
    bag = np.repeat(np.arange(B), np.maximum(ends - starts, 0))     # bag of each position
    pos = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)]) if B else \
        np.zeros(0, np.int64)
    keep = idx[pos] != padding_idx if padding_idx is not None else np.ones(len(pos), bool)
    pos, bag = pos[keep], bag[keep]
    rows = weight.index_select(0, _make(idx[pos].astype(np.int64)))
    if mode == "max":
        # per bag and feature, the first row holding the maximum (found in NumPy); gathering it
        # sends the gradient to that row only, as PyTorch does; empty bags stay zero
        out = _lk.zeros((B, dim), dtype=weight.dtype)
        if not len(bag):
            return out
        vals = rows._np
        starts = np.flatnonzero(np.r_[True, bag[1:] != bag[:-1]])
        seg = np.cumsum(np.r_[False, bag[1:] != bag[:-1]])      # segment of each row
        top = np.maximum.reduceat(vals, starts, axis=0)
        where = np.where(vals == top[seg], np.arange(len(bag))[:, None], len(bag))
        first = np.minimum.reduceat(where, starts, axis=0)
        picked = rows.gather(0, _make(first.astype(np.int64)))
        return out.index_add(0, _make(bag[starts]), picked)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.index_select(0, _make(pos)).unsqueeze(1)
    out = _lk.zeros((B, dim), dtype=weight.dtype).index_add(0, _make(bag), rows)
    if mode == "mean":
        count = np.maximum(np.bincount(bag, minlength=B), 1).astype(weight._np.dtype)
        out = out / _make(count[:, None])
    return out
