"""Attention and distances: scaled dot-product attention, normalize, cosine similarity."""
import math

import numpy as np

import labkit as _lk
from ...autograd import grad as autograd_grad
from ...autograd.function import Function
from ...kernels import gemm
from ...kernels import nn as NK
from ...ops._registry import write_out
from ...tensor import _make
from .dropout import dropout


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
        enable_gqa: grouped-query attention: key and value may have fewer heads (dim -3) than
            query, each shared by ``Hq // Hkv`` query heads
    """
    if enable_gqa and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        if query.shape[-3] % key.shape[-3] or query.shape[-3] % value.shape[-3]:
            raise RuntimeError(f"scaled_dot_product_attention(enable_gqa=True): the query's "
                               f"{query.shape[-3]} heads must be a multiple of the key's "
                               f"{key.shape[-3]} and the value's {value.shape[-3]}")
        key = key.repeat_interleave(query.shape[-3] // key.shape[-3], dim=-3)
        value = value.repeat_interleave(query.shape[-3] // value.shape[-3], dim=-3)
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if is_causal:
        attn_mask = _make(np.tril(np.ones((L, S), dtype=bool)))
    if attn_mask is not None and attn_mask._np.dtype == np.bool_:
        attn_mask = _make(np.where(attn_mask._np, 0.0, -np.inf).astype(query._np.dtype))
    if dropout_p > 0.0:
        scores = (query @ key.transpose(-2, -1)) * s
        if attn_mask is not None:
            scores = scores + attn_mask
        return dropout(scores.softmax(dim=-1), dropout_p, training=True) @ value
    return attention(query, key, value, attn_mask, s)


class ScaledDotProductAttention(Function):
    """``softmax(q k^T * scale + mask) v`` as one node (no dropout); a query row that the mask
    leaves nothing to attend to gets zeros, as PyTorch's attention gives (a plain softmax: NaN).

    The scale, the additive mask and the softmax are one pass over the scores
    (``kernels.nn.attn_softmax``), written over the product ``q k^T``; backward is the softmax's
    Jacobian with the scale folded in (``attn_softmax_backward``) between four products.  The
    three separate nodes (scale, mask, softmax) moved each (L, S) matrix five more times, which
    the memory-bound machine feels (bench_train's transformer block: 2.4% faster on 2 threads,
    4% on one).  The general rule (``create_graph=True``) differentiates the same computation
    written with Tensor ops.
    """
    raw = True
    derivative = ("with P the weights and dP = G V^T: dV = P^T G, dS = scale * P * (dP - "
                  "sum(dP * P)), dQ = dS K, dK = dS^T Q, dmask = dS / scale")
    node_name = "ScaledDotProductFlashAttentionForCpuBackward0"

    @staticmethod
    def forward(ctx, q, k, v, mask, scale):
        sc = gemm.matmul(q, np.swapaxes(k, -1, -2))            # (..., L, S), C order
        S = sc.shape[-1]
        m2, mrow = _mask_rows(mask, sc.shape, sc.dtype)
        rows = sc.reshape(-1, S)
        NK.attn_softmax(rows, m2, mrow, scale, out=rows)         # the weights, in place
        ctx.save_for_backward(sc, q, k, v, mask)
        ctx.scale = scale
        return gemm.matmul(sc, v)

    @staticmethod
    def backward(ctx, g):
        """The general rule: the vector-Jacobian product of the same attention written with
        Tensor ops, so that the gradient is itself differentiable."""
        ins = ctx.saved_tensors[1:]
        want = [i for i in range(4) if ctx.needs_input_grad[i]]
        out = _attention_ops(*ins, ctx.scale)
        got = autograd_grad([out], [ins[i] for i in want], [g], create_graph=True,
                            allow_unused=True)
        res = [None] * 5
        for i, gi in zip(want, got):
            res[i] = gi
        return tuple(res)

    @staticmethod
    def fused_backward(ctx, g):
        p, q, k, v, _ = ctx.saved_tensors
        nq, nk, nv, nm = ctx.needs_input_grad[:4]
        S = p.shape[-1]
        dv = gemm.matmul(np.swapaxes(p, -1, -2), g) if nv else None
        dp = gemm.matmul(g, np.swapaxes(v, -1, -2))
        ds = NK.attn_softmax_backward(dp.reshape(-1, S), p.reshape(-1, S), ctx.scale)
        ds = ds.reshape(p.shape)                                 # scale * dL/d(scores + mask)
        dq = gemm.matmul(ds, k) if nq else None
        dk = gemm.matmul(np.swapaxes(ds, -1, -2), q) if nk else None
        dm = ds / ds.dtype.type(ctx.scale) if nm else None
        return dq, dk, dv, dm, None


def _mask_rows(mask, shape, dtype):
    """An additive mask broadcastable to the scores' ``shape`` (..., L, S) as rows: ``m2`` (its
    own rows, S wide) and ``mrow``, the row of ``m2`` for each score row."""
    S, R = shape[-1], int(np.prod(shape[:-1]))
    if mask is None:
        return np.zeros((0, S), dtype), np.zeros(R, np.int64)
    lead = mask.shape[:-1]
    m2 = np.ascontiguousarray(np.broadcast_to(mask, lead + (S,)), dtype).reshape(-1, S)
    ids = np.arange(m2.shape[0], dtype=np.int64).reshape(lead)
    return m2, np.ascontiguousarray(np.broadcast_to(ids, shape[:-1])).reshape(-1)


def _attention_ops(q, k, v, mask, scale):
    scores = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        scores = scores + mask
    dead = (scores == float("-inf")).all(-1, keepdim=True)      # rows masked out entirely: 0
    return scores.masked_fill(dead, 0.0).softmax(dim=-1).masked_fill(dead, 0.0) @ v


def attention(q, k, v, mask=None, scale=1.0):
    """``softmax(q k^T * scale + mask) v`` for Tensors (``mask``: additive, broadcastable to the
    scores) as one graph node: the path of ``scaled_dot_product_attention`` and of
    :class:`~labkit.nn.MultiheadAttention` without dropout."""
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise RuntimeError(f"scaled_dot_product_attention: query, key and value need at least 2 "
                           f"dimensions, got {tuple(q.shape)}, {tuple(k.shape)}, "
                           f"{tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query {tuple(q.shape)}, key "
                           f"{tuple(k.shape)} and value {tuple(v.shape)} do not fit: the query's "
                           f"and key's last sizes must match, and key and value need as many "
                           f"positions (dim -2)")
    return ScaledDotProductAttention.apply(q, k, v, mask, float(scale))


# ================================================================ distances
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``x / max(||x||_p, eps)`` along ``dim``."""
    if out is not None:
        return write_out("normalize", out, normalize, (input, p, dim, eps), {})
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 . x2 / max(||x1|| ||x2||, eps)`` along ``dim``."""
    if tuple(x1.shape) != tuple(x2.shape):
        x1, x2 = _lk.broadcast_tensors(x1, x2)
    w12 = (x1 * x2).sum(dim)
    n = ((x1 * x1).sum(dim) * (x2 * x2).sum(dim)).clamp_min(eps * eps).sqrt()
    return w12 / n


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` along the last dim."""
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)
