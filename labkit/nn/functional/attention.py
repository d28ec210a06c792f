"""Attention and distances: scaled dot-product attention, normalize, cosine similarity."""
import math

import numpy as np

import labkit as _lk
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
