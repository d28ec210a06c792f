"""The exercises of notebook 09_char_transformer."""
import numpy as np

from .. import solutions as S
from .base import Exercise, _lk, _np, _rng, _t


def _attn_cases():
    def f(seed, causal):
        def g():
            r = _rng(seed)
            return (_t(r.normal(size=(2, 4, 8))), _t(r.normal(size=(2, 4, 8))),
                    _t(r.normal(size=(2, 4, 8))), causal)
        return g
    return [f(0, False), f(1, True)]


def _attn_diag(args, got, want, k):
    q, kk, v, causal = args
    lk = _lk()
    g = _np(got)
    if causal and np.allclose(g, _np(S.attention(q, kk, v, False)), atol=1e-4):
        return ("with causal=True each position may only attend to itself and earlier ones: mask "
                "the upper triangle with -inf before softmax")
    d = q.shape[-1]
    att = (q @ kk.transpose(-2, -1))
    if causal:
        att = att.masked_fill(lk.triu(lk.ones(att.shape[-2:], dtype=lk.bool), 1), float("-inf"))
    if np.allclose(g, _np(att.softmax(-1) @ v), atol=1e-4):
        return f"scale the scores by 1/sqrt(d) = 1/sqrt({d}) before the softmax"
    return None


def _mask_diag(args, got, want, k):
    T = args[0]
    g = _np(got)
    upper = np.triu(np.ones((T, T), bool), 1)
    if g.shape == (T, T) and np.isinf(np.diag(g)).all():
        return ("a position may attend to itself: mask only *strictly* above the diagonal "
                "(triu with diagonal=1)")
    if g.shape == (T, T) and np.isinf(g[upper.T]).all() and not np.isinf(g[upper]).any():
        return "you masked the past: the future (keys after the query, above the diagonal) gets -inf"
    return None


EXERCISES = [
    Exercise("attention", "09_char_transformer", "Scaled dot-product attention",
             "def attention(q, k, v, causal): q, k, v (B, T, d) -> softmax(q k^T / sqrt(d)) v, "
             "with future positions masked when causal",
             _attn_cases(), S.attention, diagnose=(_attn_diag,),
             hints=["scores: q @ k.transpose(-2, -1), shape (B, T, T), divided by sqrt(d)",
                    "causal: masked_fill the strict upper triangle with -inf before the softmax",
                    "softmax over the last dim, then @ v"]),
    Exercise("causal_mask", "09_char_transformer", "A causal attention mask",
             "def causal_mask(T): a (T, T) float tensor: 0 where the key position <= the query "
             "position, -inf above the diagonal (added to the scores before softmax)",
             [lambda: (4,), lambda: (7,)], S.causal_mask, diagnose=(_mask_diag,),
             hints=["row = query position, column = key position; the future is above the diagonal",
                    "lk.triu(..., diagonal=1) keeps the strict upper triangle",
                    "lk.triu(lk.full((T, T), float('-inf')), diagonal=1)"]),
]
