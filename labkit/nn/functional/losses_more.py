"""More losses: ranking / margin / embedding losses, Gaussian and Poisson NLL (composites of Tensor
ops, so their gradients follow), and CTC (a primitive: the forward-backward recursion)."""
import math

import numpy as np

import labkit as _lk
from ...autograd.function import Function
from ...tensor import Tensor, _make
from ._common import _check_reduction, _reduce, _reduction_arg
from .activations import logsigmoid
from .attention import pairwise_distance


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
def _lse(*arrays):
    """log(sum(exp(a))) elementwise over several arrays, -inf safe."""
    m = np.maximum.reduce(arrays)
    mm = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return np.log(sum(np.exp(a - mm) for a in arrays)) + mm


class CTCLoss(Function):
    """Connectionist temporal classification: ``-log p(target | log_probs)`` summed over every
    alignment, by the forward (alpha) and backward (beta) recursions over the blank-extended
    target ``l' = (blank, l1, blank, l2, ..., blank)``."""
    raw = True
    derivative = ("d loss / d log_probs[t, c] = exp(log_probs[t, c]) - sum of alpha*beta over the "
                  "positions of label c / p(target) (PyTorch's rule, which assumes log_softmax "
                  "inputs)")
    node_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, lp, ext, in_len, ext_len, zero_infinity):
        T, N, C = lp.shape
        L = ext.shape[1]
        neg = -np.inf
        s = np.arange(L)
        # a skip from s-2 is allowed onto a label that differs from the label two back
        skip = np.zeros((N, L), bool)
        skip[:, 2:] = (ext[:, 2:] != ext[:, :-2]) & (s[2:] % 2 == 1)
        inside = s[None, :] < ext_len[:, None]
        bidx = np.arange(N)[:, None]
        emit = lambda t: lp[t][bidx, ext]               # noqa: E731  (N, L)
        alpha = np.full((T, N, L), neg, lp.dtype)
        if T:
            a0 = np.full((N, L), neg)
            a0[:, 0] = lp[0][np.arange(N), ext[:, 0]]
            if L > 1:
                a0[:, 1] = np.where(ext_len > 1, lp[0][np.arange(N), ext[:, 1]], neg)
            alpha[0] = np.where(inside, a0, neg)
        for t in range(1, T):
            prev = alpha[t - 1]
            p1 = np.concatenate([np.full((N, 1), neg), prev[:, :-1]], 1)
            p2 = np.where(skip, np.concatenate([np.full((N, 2), neg), prev[:, :-2]], 1), neg)
            a = _lse(prev, p1, p2) + emit(t)
            alpha[t] = np.where(inside & (t < in_len)[:, None], a, neg)
        last = np.maximum(in_len - 1, 0)
        n = np.arange(N)
        end1 = alpha[last, n, np.maximum(ext_len - 1, 0)] if T else np.full(N, neg)
        end2 = np.where(ext_len > 1, alpha[last, n, np.maximum(ext_len - 2, 0)], neg) if T \
            else np.full(N, neg)
        nll = -_lse(end1, end2)
        nll = np.where(in_len == 0, np.where(ext_len <= 1, 0.0, np.inf), nll) if T else \
            np.where(ext_len <= 1, 0.0, np.inf)
        ctx.saved = (lp, ext, in_len, ext_len, alpha, skip, inside, nll, zero_infinity)
        if zero_infinity:
            nll = np.where(np.isinf(nll), 0.0, nll)
        return nll.astype(lp.dtype)

    @staticmethod
    def backward(ctx, g):
        lp, ext, in_len, ext_len, alpha, skip, inside, nll, zero_infinity = ctx.saved
        T, N, C = lp.shape
        L = ext.shape[1]
        neg = -np.inf
        bidx = np.arange(N)[:, None]
        beta = np.full((T, N, L), neg, lp.dtype)
        nxt = np.full((N, L), neg)
        s = np.arange(L)
        skip_next = np.zeros((N, L), bool)             # s may jump to s+2
        skip_next[:, :-2] = skip[:, 2:]
        for t in range(T - 1, -1, -1):
            start = t == in_len - 1
            b1 = np.concatenate([nxt[:, 1:], np.full((N, 1), neg)], 1)
            b2 = np.where(skip_next, np.concatenate([nxt[:, 2:], np.full((N, 2), neg)], 1), neg)
            b = _lse(nxt, b1, b2) + lp[t][bidx, ext]
            init = np.where((s[None, :] == ext_len[:, None] - 1) |
                            (s[None, :] == ext_len[:, None] - 2), lp[t][bidx, ext], neg)
            b = np.where(start[:, None], init, np.where((t < in_len - 1)[:, None], b, neg))
            b = np.where(inside, b, neg)
            beta[t] = b
            nxt = b
        ab = alpha + beta                                # (T, N, L)
        lcab = np.full((T, N, C), neg)
        for s_ in range(L):                              # logsumexp over positions with label c
            cols = ext[:, s_]
            cur = lcab[:, np.arange(N), cols]
            lcab[:, np.arange(N), cols] = _lse(cur, ab[:, :, s_])
        with np.errstate(invalid="ignore", over="ignore"):
            grad = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
        valid_t = np.arange(T)[:, None] < in_len[None, :]
        grad = np.where(valid_t[:, :, None], grad, 0.0)
        if zero_infinity:
            grad = np.where(np.isinf(nll)[None, :, None], 0.0, grad)
        grad = grad.astype(lp.dtype) if isinstance(g, np.ndarray) else _make(grad.astype(lp.dtype))
        return grad * g.reshape(1, N, 1), None, None, None, None


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
    ``zero_infinity`` zeroes impossible alignments' losses and gradients.
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
    loss = CTCLoss.apply(log_probs, ext, in_len, ext_len, bool(zero_infinity))
    if reduction == "mean":
        loss = (loss / _make(np.maximum(tg_len, 1).astype(log_probs._np.dtype))).mean()
    elif reduction == "sum":
        loss = loss.sum()
    elif unbatched:
        loss = loss.squeeze(0)
    return loss
