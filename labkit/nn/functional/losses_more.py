"""More losses: ranking / margin / embedding losses, Gaussian and Poisson NLL (composites of Tensor
ops, so their gradients follow) and CTC (the forward recursion in Tensor ops)."""
import math

import numpy as np

import labkit as _lk
from ...tensor import Tensor, _make
from ._common import _check_reduction, _reduce, _reduction_arg
from .activations import logsigmoid
from .attention import pairwise_distance
from .padding import pad
from .linear import linear
from .losses import cross_entropy


def _valid_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


# ================================================================ margin / ranking losses
def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -y (x1 - x2) + margin)``: ``y = 1`` says x1 should rank higher, ``-1`` lower."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {list(input1.shape)}, input2: "
                           f"{list(input2.shape)}, target: {list(target.shape)} ")
    _check_reduction(reduction)
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``x`` where ``y = 1``, ``max(0, margin - x)`` where ``y = -1`` (x: a distance)."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    _check_reduction(reduction)
    zeros = _lk.zeros_like(input)
    from_margin = _lk.where(target != 1, (margin - input).clamp_min(0), zeros)
    from_self = _lk.where(target != -1, input, zeros)
    return _reduce(from_margin + from_self, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss ``log(1 + exp(-y x))`` for targets ``y`` in {1, -1}."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    _valid_reduction(reduction)
    return _reduce((-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class binary logistic loss averaged over the classes (last dim) of ``(N, C)``."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    c = input.shape[-1] if input.ndim else 1
    loss = loss.sum(dim=input.ndim - 1) / c if input.ndim else loss / c
    _valid_reduction(reduction)
    return _reduce(loss, reduction)


def _margin_shape_check(name, input, target):
    nd = input.ndim
    if not ((nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0):
        raise RuntimeError(f"{name}: Expected non-empty vector or matrix with optional 0-dim "
                           f"batch size, but got: {list(input.shape)}")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss: ``sum_{j != y} max(0, margin - x[y] + x[j])^p / C`` per sample
    (``p`` 1 or 2; ``weight[y]`` scales a sample's terms)."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _check_reduction(reduction)
    _margin_shape_check("multi_margin_loss", input, target)
    nd = input.ndim
    x = input.reshape(-1, input.shape[-1] if nd else 1)
    n, c = x.shape
    if target.ndim > 1 or target.numel() != n:
        raise RuntimeError(f"inconsistent target size, expected {n} but got "
                           f"{list(target.shape)}")
    y = target._np.reshape(-1).astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= c):
        raise RuntimeError("target out of range")
    xy = x.gather(1, _make(y[:, None]))
    z = (margin - xy + x).clamp_min(0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.index_select(0, _make(y)).unsqueeze(1)
    other = np.ones((n, c), bool)
    other[np.arange(n), y] = False
    loss = (z * _make(other.astype(x._np.dtype))).sum(1) / c
    if nd < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss: for each target class j (the row of ``target`` up to its first
    -1) and each non-target class k, ``max(0, 1 - (x[j] - x[k]))``, summed and divided by C."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    _check_reduction(reduction)
    _margin_shape_check("multilabel_margin_loss", input, target)
    nd = input.ndim
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input.reshape(-1, input.shape[-1] if nd else 1)
    n, c = x.shape
    t = target._np.reshape(n, c).astype(np.int64)
    if t.size and (t.min() < -1 or t.max() >= c):
        raise RuntimeError("target out of range")
    stop = np.cumsum(t < 0, axis=1) > 0               # at and after the first -1
    valid = ~stop
    is_target = np.zeros((n, c), bool)
    rows = np.nonzero(valid)[0]
    is_target[rows, t[valid]] = True
    xt = x.gather(1, _make(np.where(valid, t, 0)))     # x at each listed target
    hinge = (1 - xt.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)
    mask = (valid[:, :, None] & ~is_target[:, None, :]).astype(x._np.dtype)
    loss = (hinge * _make(mask)).sum((1, 2)) / c
    if nd < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` where ``y = 1``, ``max(0, cos(x1, x2) - margin)`` where ``y = -1``."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    td = target.ndim
    if td not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if td == 1 and not (input1.ndim == 2 and input2.ndim == 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if td == 0 and not (input1.ndim == 1 and input2.ndim == 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    _check_reduction(reduction)
    eps = 1e-12
    prod = (input1 * input2).sum(td)
    m1 = (input1 * input1).sum(td) + eps
    m2 = (input2 * input2).sum(td) + eps
    cos = prod / (m1 * m2).sqrt()
    zeros = _lk.zeros_like(cos)
    loss = _lk.where(target == 1, 1 - cos, zeros) + \
        _lk.where(target == -1, (cos - margin).clamp_min(0), zeros)
    return _reduce(loss, reduction)


def _triplet_dims(anchor, positive, negative):
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not (a == p == n):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a}D, positive {p}D, and "
                           f"negative {n}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the p-norm distance (``swap``: use
    ``d(p, n)`` when it is smaller)."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    _triplet_dims(anchor, positive, negative)
    _check_reduction(reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _lk.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """:func:`triplet_margin_loss` with any distance function (default: pairwise distance)."""
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin to be greater "
                         f"than 0, got {margin} instead")
    _triplet_dims(anchor, positive, negative)
    _valid_reduction(reduction)
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = _lk.minimum(d_neg, dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


# ================================================================ likelihood losses
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of ``target`` under ``N(input, var)``:
    ``0.5 (log var + (input - target)^2 / var)`` (+ ``0.5 log(2 pi)`` with ``full``).

    ``var`` may have the input's shape, lack its last dim, or have size 1 in one dim; it is
    clamped to ``eps`` for the value only (the gradient passes as if unclamped, as in PyTorch).
    """
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * _lk.ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and \
                sum(b for a, b in zip(input.shape, var.shape) if a != b) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var + (var.detach().clamp_min(eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Negative log-likelihood of ``target`` under a Poisson of rate ``exp(input)``
    (``log_input``) or ``input``: ``exp(x) - y x`` or ``x - y log(x + eps)``; ``full`` adds
    Stirling's approximation of ``log(y!)`` where ``y > 1``."""
    reduction = _reduction_arg(size_average, reduce, reduction)
    _valid_reduction(reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        t = target if isinstance(target, Tensor) else _lk.as_tensor(target)
        stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
        loss = loss + stirling.masked_fill(t <= 1, 0)
    return _reduce(loss, reduction)


# ================================================================ CTC
_NEG = -1e30          # "log 0" that keeps logsumexp and its gradient finite


def _ctc_nll(lp, ext, in_len, ext_len):
    """``-log p(target)`` per sample by the forward (alpha) recursion over the blank-extended
    targets ``ext`` ``(N, L)``, in Tensor ops (so it is differentiable to any order)."""
    T, N, C = lp.shape
    L = ext.shape[1]
    s = np.arange(L)
    skip = np.zeros((N, L), bool)                  # s-2 -> s allowed: a label unlike l[s-2]
    skip[:, 2:] = (ext[:, 2:] != ext[:, :-2]) & (s[2:] % 2 == 1)
    inside = _make(s[None, :] < ext_len[:, None])
    skip = _make(skip)
    em = lp.gather(2, _make(np.broadcast_to(ext, (T, N, L)).copy()))     # (T, N, L)
    neg = _lk.full((N, L), _NEG, dtype=lp.dtype)
    a = _lk.where(_make((s[None, :] < 2) & (s[None, :] < ext_len[:, None])), em[0], neg)
    for t in range(1, T):
        p1 = pad(a, (1, 0), value=_NEG)[:, :L]
        p2 = _lk.where(skip, pad(a, (2, 0), value=_NEG)[:, :L], neg)
        new = _lk.where(inside, _lk.stack([a, p1, p2]).logsumexp(0) + em[t], neg)
        a = _lk.where(_make((t < in_len)[:, None]), new, a)
    last = a.gather(1, _make(np.maximum(ext_len - 1, 0)[:, None]))
    prev = _lk.where(_make((ext_len > 1)[:, None]),
                     a.gather(1, _make(np.maximum(ext_len - 2, 0)[:, None])), neg[:, :1])
    return -_lk.cat([last, prev], 1).logsumexp(1)


def _lengths(x, name, n):
    a = np.asarray(x._np if isinstance(x, Tensor) else x).astype(np.int64).reshape(-1)
    if a.shape[0] != n:
        raise RuntimeError(f"ctc_loss: {name} must be of size batch_size ({n}), got "
                           f"{a.shape[0]}")
    return a


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """CTC loss of ``log_probs`` ``(T, N, C)`` (log-softmax over C; ``(T, C)`` unbatched) for
    ``targets`` ``(N, S)`` padded or 1-D concatenated, with per-sample lengths.

    ``reduction='mean'`` divides each loss by its target length, then averages over the batch.
    ``zero_infinity`` zeroes impossible alignments' losses and gradients (without it their
    loss is ``inf``; their gradient is finite here where PyTorch's is NaN).  The gradient with
    respect to ``log_probs`` is PyTorch's (which assumes they come from ``log_softmax``).
    """
    _valid_reduction(reduction)
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.ndim else targets
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got "
                           f"{list(log_probs.shape)}")
    T, N, C = log_probs.shape
    in_len = _lengths(input_lengths, "input_lengths", N)
    tg_len = _lengths(target_lengths, "target_lengths", N)
    if not 0 <= blank < C:
        raise RuntimeError(f"blank must be in label range (blank={blank}, C={C})")
    if in_len.size and in_len.max() > T:
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value "
                           f"{in_len.max()} (while checking arguments for ctc_loss_cpu)")
    if (in_len < 0).any() or (tg_len < 0).any():
        raise RuntimeError("ctc_loss: lengths must be non-negative")
    tg = np.asarray(targets._np if isinstance(targets, Tensor) else targets).astype(np.int64)
    S = int(tg_len.max()) if N else 0
    labels = np.full((N, S), blank, np.int64)
    if tg.ndim == 1:
        if tg_len.sum() > tg.shape[0]:
            raise RuntimeError(f"ctc_loss: the concatenated targets have {tg.shape[0]} labels, "
                               f"fewer than sum(target_lengths) = {tg_len.sum()}")
        start = np.concatenate([[0], np.cumsum(tg_len)[:-1]])
        for b in range(N):
            labels[b, :tg_len[b]] = tg[start[b]:start[b] + tg_len[b]]
    else:
        if tg.ndim != 2 or tg.shape[0] != N:
            raise RuntimeError(f"ctc_loss: targets must be (N, S) or 1-D, got {list(tg.shape)}")
        if S > tg.shape[1]:
            raise RuntimeError(f"Expected tensor to have size at least {S} at dimension 1, but "
                               f"got size {tg.shape[1]} for argument #2 'targets' (while "
                               f"checking arguments for ctc_loss_cpu)")
        labels[:] = tg[:, :S]
    ext = np.full((N, 2 * S + 1), blank, np.int64)
    ext[:, 1::2] = labels
    ext_len = 2 * tg_len + 1
    dt = log_probs._np.dtype
    if T:
        nll = _ctc_nll(log_probs, ext, in_len, ext_len)
    else:
        nll = _lk.zeros(N, dtype=log_probs.dtype)
    # an empty input only explains an empty target; no alignment at all means an infinite loss
    empty = in_len == 0
    impossible = (nll._np > 1e29) | (empty & (tg_len > 0))
    loss = _lk.where(_make(empty), _lk.zeros(N, dtype=log_probs.dtype), nll)
    loss = _lk.where(_make(impossible), _make(np.asarray(np.inf, dt)), loss)
    if zero_infinity:
        loss = _lk.where(_make(impossible), _lk.zeros(N, dtype=log_probs.dtype), loss)
    # PyTorch's gradient with respect to log_probs also has exp(log_probs) at every valid step
    # (it assumes log_softmax inputs, through which that term vanishes): a zero-valued term here
    # gives the same numbers
    valid = (np.arange(T)[:, None] < in_len[None, :]) & ~(impossible & zero_infinity)[None, :]
    extra = (log_probs.exp() * _make(valid[:, :, None].astype(dt))).sum((0, 2))
    loss = loss + (extra - extra.detach())
    if reduction == "mean":
        loss = (loss / _make(np.maximum(tg_len, 1).astype(log_probs._np.dtype))).mean()
    elif reduction == "sum":
        loss = loss.sum()
    elif unbatched:
        loss = loss.squeeze(0)
    return loss


# ================================================================ linear + cross-entropy
def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0, options=None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``.

    ``linear_weight`` is ``(C, in_features)`` or ``(C, d_1, ..., d_K, in_features)`` (a
    K-dimensional loss over batched input).  PyTorch's ``options`` chunk the computation to save
    memory; labkit computes the same numbers in one piece and ignores them.
    """
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.ndim}")
    batch = tuple(input.shape[:-1])
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions "
                           f"(in_features), got {input.shape[-1]} and {linear_weight.shape[-1]}, "
                           f"respectively")
    C = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (C,) + out_features:
        raise RuntimeError(f"expected linear_bias shape {(C,) + out_features}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batch:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{tuple(linear_weight.shape)} requires batched input, "
                           f"(N, {in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits_shape = batch + (C,) + out_features
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    if out_features:
        k = int(np.prod(out_features)) * C
        linear_weight = linear_weight.reshape(k, in_features)
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(k)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)
