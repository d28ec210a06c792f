"""``multi_head_attention_forward``: the functional form of ``nn.MultiheadAttention`` with every
PyTorch option (separate projection weights, ``bias_k`` / ``bias_v``, ``add_zero_attn``,
``static_k`` / ``static_v``, key-padding and attention masks), composed from Tensor ops."""
import math

import numpy as np

import labkit as _lk
from ...tensor import _make
from .dropout import dropout
from .linear import linear
from .padding import pad


def _additive(mask, dtype, name):
    if mask is None:
        return None
    if mask._np.dtype == np.bool_:
        return _make(np.where(mask._np, -np.inf, 0.0).astype(dtype))
    if mask._np.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention on ``query (L, N, E)``, ``key``/``value (S, N, E_k/E_v)`` (or
    unbatched ``(L, E)``): returns ``(attn_output (L, N, E), attn_weights)`` with the weights
    ``(N, L, S)`` averaged over heads (``(N, h, L, S)`` without averaging) or None."""
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    if query.ndim != 3:
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.ndim}-D query tensor")
    L, N, E = query.shape
    S = key.shape[0]
    if E != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {E}")
    h = num_heads
    d = E // h
    if d * h != E:
        raise AssertionError(f"embed_dim {E} not divisible by num_heads {h}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, "
                                 "k_proj_weight or v_proj_weight is None")
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        wq, wk, wv = in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:]
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:]
    q, k, v = linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
    dt = q._np.dtype
    mask = _additive(attn_mask, dt, "attn_mask")
    if mask is not None:
        if mask.ndim == 2:
            if tuple(mask.shape) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {mask.shape}, but should "
                                   f"be {(L, S)}.")
            mask = mask.unsqueeze(0)
        elif mask.ndim == 3:
            if tuple(mask.shape) != (N * h, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {mask.shape}, but should "
                                   f"be {(N * h, L, S)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {mask.ndim} is not supported")
    kpm = _additive(key_padding_mask, dt, "key_padding_mask")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key / value.")
        k = _lk.cat([k, bias_k.reshape(1, 1, E).expand(1, N, E)])
        v = _lk.cat([v, bias_v.reshape(1, 1, E).expand(1, N, E)])
        mask = pad(mask, (0, 1)) if mask is not None else None
        kpm = pad(kpm, (0, 1)) if kpm is not None else None
    elif (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must both be given or both be None")
    q = q.reshape(L, N * h, d).transpose(0, 1)                   # (N h, L, d)
    k = k.reshape(k.shape[0], N * h, d).transpose(0, 1) if static_k is None else static_k
    v = v.reshape(v.shape[0], N * h, d).transpose(0, 1) if static_v is None else static_v
    if add_zero_attn:
        k = _lk.cat([k, _lk.zeros((N * h, 1, d), dtype=k.dtype)], 1)
        v = _lk.cat([v, _lk.zeros((N * h, 1, d), dtype=v.dtype)], 1)
        mask = pad(mask, (0, 1)) if mask is not None else None
        kpm = pad(kpm, (0, 1)) if kpm is not None else None
    S2 = k.shape[1]
    if kpm is not None:
        if tuple(kpm.shape) != (N, S2):
            raise AssertionError(f"expecting key_padding_mask shape of {(N, S2)}, but got "
                                 f"{tuple(kpm.shape)}")
        kpm = kpm.reshape(N, 1, 1, S2).expand(N, h, 1, S2).reshape(N * h, 1, S2)
        mask = kpm if mask is None else mask + kpm
    if not training:
        dropout_p = 0.0
    scores = (q * math.sqrt(1.0 / d)) @ k.transpose(1, 2)
    if mask is not None:
        scores = scores + mask
    attn = scores.softmax(-1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    out = (attn @ v).transpose(0, 1).reshape(L * N, E)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(L, N, E)
    weights = None
    if need_weights:
        weights = attn.reshape(N, h, L, S2)
        if average_attn_weights:
            weights = weights.mean(1)
        if unbatched:
            weights = weights.squeeze(0)
    if unbatched:
        out = out.squeeze(1)
    return out, weights
