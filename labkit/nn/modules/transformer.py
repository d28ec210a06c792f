"""MultiheadAttention, the encoder and decoder layers and stacks, and nn.Transformer."""
import copy
import math

import numpy as np

import labkit as _lk
from ...tensor import _make
from .. import functional as F
from .. import init
from ..functional.attention import attention
from ..parameter import Parameter
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
           "TransformerDecoderLayer", "TransformerDecoder", "Transformer"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear (PyTorch uses this name for MultiheadAttention.out_proj; kept for repr parity)."""


def _to_additive(mask, dtype, name):
    """Bool mask (True = masked out) -> float mask with -inf; float masks pass through."""
    if mask is None:
        return None
    if mask._np.dtype == np.bool_:
        return _make(np.where(mask._np, -np.inf, 0.0).astype(dtype))
    if mask._np.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


class MultiheadAttention(Module):
    """Multi-head attention: ``softmax(Q K^T / sqrt(d)) V`` in ``num_heads`` subspaces.

    Args:
        embed_dim (int): total dimension E (split across heads: E / num_heads each)
        num_heads (int)
        dropout (float): dropout on the attention weights. Default: 0.0
        bias (bool): biases in the input/output projections. Default: ``True``
        kdim, vdim (int, optional): feature sizes of key and value (default: E)
        batch_first (bool): inputs ``(N, L, E)`` instead of ``(L, N, E)``. Default: ``False``

    Forward:
        ``query (L, N, E)``, ``key (S, N, E_k)``, ``value (S, N, E_v)``;
        ``key_padding_mask (N, S)`` (True = ignore that key); ``attn_mask (L, S)`` or
        ``(N * num_heads, L, S)`` (bool: True = not allowed, float: added);
        ``need_weights`` (return the attention weights, averaged over heads unless
        ``average_attn_weights=False``); ``is_causal``: a hint that ``attn_mask`` is the causal
        mask (as in PyTorch the mask must still be given: RuntimeError without it).

    Returns:
        ``attn_output (L, N, E)`` and ``attn_weights (N, L, S)`` (or None).

    Examples::

        >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
        >>> out, w = mha(x, x, x)
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention(add_bias_kv / add_zero_attn) is not "
                                      "supported by labkit")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(_lk.empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(_lk.empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(_lk.empty(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(_lk.empty(3 * embed_dim, embed_dim, dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_lk.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _projections(self):
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            return (w[:E], bq), (w[E:2 * E], bk), (w[2 * E:], bv)
        return (self.q_proj_weight, bq), (self.k_proj_weight, bk), (self.v_proj_weight, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:                          # work internally as (N, L, E)
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if query.dim() != 3:
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but "
                                 f"received {query.dim()}-D query tensor")
        N, L, E = query.shape
        S = key.shape[1]
        if E != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {E}")
        h, d = self.num_heads, self.head_dim
        if self._qkv_same_embed_dim and query is key and key is value:
            # self-attention: q, k and v from one product with the packed weight, as PyTorch;
            # (N, h, L, d) views of it, which the batched products take as they are
            qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)
            q, k, v = qkv.reshape(N, L, 3, h, d).permute(2, 0, 3, 1, 4).unbind(0)
        else:
            (wq, bq), (wk, bk), (wv, bv) = self._projections()
            q = F.linear(query, wq, bq).reshape(N, L, h, d).transpose(1, 2)   # (N, h, L, d)
            k = F.linear(key, wk, bk).reshape(N, S, h, d).transpose(1, 2)
            v = F.linear(value, wv, bv).reshape(N, S, h, d).transpose(1, 2)

        _check_causal_hint(attn_mask, is_causal)           # a hint: the mask itself is needed
        dt = q._np.dtype
        mask = _to_additive(attn_mask, dt, "attn_mask")
        if mask is not None:
            if mask.dim() == 2:
                if tuple(mask.shape) != (L, S):
                    raise RuntimeError(f"The shape of the 2D attn_mask is {_size(mask.shape)}, "
                                       f"but should be {(L, S)}.")
            elif mask.dim() == 3:
                if tuple(mask.shape) != (N * h, L, S):
                    raise RuntimeError(f"The shape of the 3D attn_mask is {_size(mask.shape)}, "
                                       f"but should be {(N * h, L, S)}.")
                mask = mask.reshape(N, h, L, S)
            else:
                raise RuntimeError(f"attn_mask's dimension {mask.dim()} is not supported")
        kpm = _to_additive(key_padding_mask, dt, "key_padding_mask")
        if kpm is not None:
            if tuple(kpm.shape) != (N, S):
                raise AssertionError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                     f"{tuple(kpm.shape)}")
            kpm = kpm.reshape(N, 1, 1, S)
            mask = kpm if mask is None else mask + kpm

        if need_weights or (self.dropout > 0.0 and self.training):
            scores = (q * (1.0 / math.sqrt(d))) @ k.transpose(-2, -1)     # q scaled, as PyTorch
            if mask is not None:
                scores = scores + mask
            attn = scores.softmax(dim=-1)
            if self.dropout > 0.0 and self.training:
                attn = F.dropout(attn, self.dropout, True)
            out = attn @ v
        else:                            # one node: scale, mask and softmax in one pass
            out = attention(q, k, v, mask, 1.0 / math.sqrt(d))
        out = out.transpose(1, 2).reshape(N, L, E)
        out = self.out_proj(out)

        weights = None
        if need_weights:
            weights = attn.mean(1) if average_attn_weights else attn
            if unbatched:
                weights = weights.squeeze(0)
        if unbatched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights


def _size(shape):
    return f"labkit.Size({list(shape)})"


def _get_activation(activation):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


class TransformerEncoderLayer(Module):
    """Self-attention + feed-forward block with residual connections and LayerNorm.

    ``norm_first=False`` (post-norm, the original paper)::

        x = norm1(x + dropout1(self_attn(x, x, x)))
        x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

    ``norm_first=True`` (pre-norm) applies the norms before each block instead.

    Args:
        d_model (int), nhead (int)
        dim_feedforward (int): Default: 2048
        dropout (float): Default: 0.1
        activation (str or callable): ``'relu'`` or ``'gelu'``. Default: ``'relu'``
        layer_norm_eps (float): Default: 1e-5
        batch_first (bool): Default: ``False``
        norm_first (bool): Default: ``False``
        bias (bool): Default: ``True``
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _get_activation(activation)
        self.activation_relu_or_gelu = 1 if activation == "relu" else \
            (2 if activation == "gelu" else 0)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


def _seq_len(x, batch_first):
    if x.dim() == 2:                     # unbatched (S, E)
        return x.shape[0]
    return x.shape[1 if batch_first else 0]


def _is_causal(mask, is_causal, size):
    """PyTorch's rule: an explicit ``is_causal`` wins; otherwise a mask equal to
    ``generate_square_subsequent_mask(size)`` counts as causal."""
    if is_causal is not None:
        return bool(is_causal)
    if mask is None:
        return False
    sz = size if size is not None else mask.shape[-2]
    if tuple(mask.shape[-2:]) != (sz, sz):
        return False
    causal = np.triu(np.ones((sz, sz), dtype=bool), 1)
    m = mask._np
    if m.dtype == np.bool_:
        return bool(np.all(m == causal))
    return bool(np.all(np.where(causal, m == -np.inf, m == 0)))


def _check_causal_hint(mask, is_causal):
    # PyTorch's attention needs the mask itself when is_causal is given (it is only a hint)
    if is_causal and mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (and an optional final ``norm``).

    Args:
        encoder_layer (TransformerEncoderLayer): the layer to copy (each copy starts with the
            same weights)
        num_layers (int)
        norm (Module, optional): applied to the output of the last layer
        enable_nested_tensor, mask_check (bool): accepted for PyTorch compatibility (labkit has
            no nested tensors; padded positions are computed like any other).

    Forward: ``src``, ``mask`` (``(S, S)``), ``src_key_padding_mask`` (``(N, S)``), ``is_causal``
    (a hint that ``mask`` is causal; ``None``: detected from the mask).
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        first = self.layers[0] if len(self.layers) else None
        batch_first = first.self_attn.batch_first if first is not None else False
        is_causal = _is_causal(mask, is_causal, _seq_len(src, batch_first))
        out = src
        for mod in self.layers:
            out = mod(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)
        if self.norm is not None:
            out = self.norm(out)
        return out


class TransformerDecoderLayer(Module):
    """Self-attention, attention over the encoder's output (``memory``) and a feed-forward block,
    each with a residual connection and LayerNorm.

    ``norm_first=False`` (post-norm, the original paper)::

        x = norm1(x + dropout1(self_attn(x, x, x, tgt_mask)))
        x = norm2(x + dropout2(multihead_attn(x, memory, memory, memory_mask)))
        x = norm3(x + dropout3(linear2(dropout(activation(linear1(x))))))

    ``norm_first=True`` (pre-norm) normalises the input of each block instead:
    ``x = x + block(norm(x))``.

    Args:
        d_model (int), nhead (int)
        dim_feedforward (int): Default: 2048
        dropout (float): Default: 0.1
        activation (str or callable): ``'relu'``, ``'gelu'`` or a function. Default: ``'relu'``
        layer_norm_eps (float): Default: 1e-5
        batch_first (bool): ``(N, T, E)`` inputs instead of ``(T, N, E)``. Default: ``False``
        norm_first (bool): Default: ``False``
        bias (bool): biases in the Linear and LayerNorm layers. Default: ``True``

    Examples::

        >>> layer = nn.TransformerDecoderLayer(d_model=32, nhead=4)
        >>> layer(labkit.rand(20, 2, 32), labkit.rand(10, 2, 32)).shape
        labkit.Size([20, 2, 32])
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _get_activation(activation)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        _check_causal_hint(attn_mask, is_causal)
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        _check_causal_hint(attn_mask, is_causal)
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer`` (and an optional final ``norm``).

    Forward: ``tgt``, ``memory`` (the encoder's output), ``tgt_mask`` (``(T, T)``),
    ``memory_mask`` (``(T, S)``), ``tgt_key_padding_mask`` (``(N, T)``),
    ``memory_key_padding_mask`` (``(N, S)``), ``tgt_is_causal`` (``None``: detected from
    ``tgt_mask``), ``memory_is_causal``.
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        first = self.layers[0] if len(self.layers) else None
        batch_first = first.self_attn.batch_first if first is not None else False
        tgt_is_causal = _is_causal(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
        out = tgt
        for mod in self.layers:
            out = mod(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            out = self.norm(out)
        return out


class Transformer(Module):
    """The encoder-decoder model of "Attention Is All You Need".

    ``output = decoder(tgt, encoder(src))``; each stack ends with a LayerNorm.  Every weight
    matrix (``dim > 1``) is re-initialised with ``xavier_uniform_``.

    Args:
        d_model (int): Default: 512
        nhead (int): Default: 8
        num_encoder_layers, num_decoder_layers (int): Default: 6
        dim_feedforward (int): Default: 2048
        dropout (float): Default: 0.1
        activation (str or callable): ``'relu'``, ``'gelu'`` or a function. Default: ``F.relu``
        custom_encoder, custom_decoder (Module, optional): used instead of the built stacks
        layer_norm_eps (float): Default: 1e-5
        batch_first (bool): ``(N, S, E)`` instead of ``(S, N, E)``. Default: ``False``
        norm_first (bool): pre-norm layers. Default: ``False``
        bias (bool): Default: ``True``

    Forward: ``src (S, N, E)``, ``tgt (T, N, E)`` and the optional ``src_mask``, ``tgt_mask``,
    ``memory_mask``, ``src_key_padding_mask``, ``tgt_key_padding_mask``,
    ``memory_key_padding_mask`` (bool: True = masked out; float: added to the scores) and the
    hints ``src_is_causal``, ``tgt_is_causal``, ``memory_is_causal``.  Returns ``(T, N, E)``.

    Examples::

        >>> model = nn.Transformer(d_model=32, nhead=4, num_encoder_layers=2,
        ...                        num_decoder_layers=2, dim_feedforward=64)
        >>> tgt_mask = nn.Transformer.generate_square_subsequent_mask(7)
        >>> model(labkit.rand(10, 3, 32), labkit.rand(7, 3, 32), tgt_mask=tgt_mask).shape
        labkit.Size([7, 3, 32])
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias,
                                            dtype=dtype)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                            layer_norm_eps, batch_first, norm_first, bias,
                                            dtype=dtype)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batched = src.dim() == 3
        b = 0 if self.batch_first else 1
        if batched and src.shape[b] != tgt.shape[b]:
            raise RuntimeError(f"the batch number of src and tgt must be equal (src "
                               f"{list(src.shape)}, tgt {list(tgt.shape)}, batch dim {b})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"the feature number of src and tgt must be equal to d_model "
                               f"({self.d_model}); got src {list(src.shape)}, tgt "
                               f"{list(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """A ``(sz, sz)`` float mask: -inf above the diagonal (the future), 0 elsewhere."""
        from ...tensor import device as _device
        if device is not None:
            _device(device)
        return _lk.triu(_lk.full((sz, sz), float("-inf"), dtype=dtype), diagonal=1)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
