"""nn ops that PyTorch also exposes at its top level (``torch.conv2d``, ``torch.batch_norm`` ...).

They are ``labkit.nn.functional``'s ops with the top-level argument lists, which are ATen's and
often differ from ``torch.nn.functional``'s: ``torch.batch_norm(input, weight, bias,
running_mean, running_var, training, momentum, eps, cudnn_enabled)``, ``torch.embedding(weight,
indices)``, ``torch.dropout(input, p, train)``, and losses whose ``reduction`` is an int (0: none
-- PyTorch's default at the top level --, 1: mean, 2: sum).  ``labkit.<name>`` finds these
lazily (``labkit.namespace.NN_ALIASES``), so ``import labkit`` does not load ``labkit.nn``.
"""
import warnings

from ...creation import rand
from ...ops._registry import _with_out
from ...ops.shape import cat, stack
from . import (adaptive_avg_pool1d, adaptive_max_pool1d, affine_grid, avg_pool1d, bilinear, celu,
               celu_, channel_shuffle, conv1d, conv2d, conv3d, conv_tbc, conv_transpose1d,
               conv_transpose2d, conv_transpose3d, cosine_similarity, grid_sample, hardshrink,
               linear, native_channel_shuffle, pairwise_distance, pdist, pixel_shuffle,
               pixel_unshuffle, prelu, rms_norm, selu, selu_, threshold, threshold_)
from . import (batch_norm as _batch_norm, binary_cross_entropy_with_logits as _bcel,
               cosine_embedding_loss as _cosine_embedding_loss, ctc_loss as _ctc_loss,
               dropout as _dropout, embedding as _embedding, group_norm as _group_norm,
               hinge_embedding_loss as _hinge_embedding_loss, instance_norm as _instance_norm,
               kl_div as _kl_div, layer_norm as _layer_norm,
               margin_ranking_loss as _margin_ranking_loss, max_pool1d as _max_pool1d,
               max_pool1d_with_indices as _max_pool1d_with_indices, max_pool2d as _max_pool2d,
               max_pool3d as _max_pool3d, poisson_nll_loss as _poisson_nll_loss, rrelu as _rrelu,
               rrelu_ as _rrelu_, triplet_margin_loss as _triplet_margin_loss)
from .dropout import _feature_dropout
from .extras import _alpha_dropout
NAMES = {}


def _export(fn, name=None):
    NAMES[name or fn.__name__] = fn
    return fn


def _export_out(fn):
    NAMES[fn.__name__] = _with_out(fn, fn.__name__)
    return fn


for _f in (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
           bilinear, prelu, celu_, selu, selu_, threshold_, cosine_similarity, pairwise_distance,
           pdist, rms_norm):
    _export(_f)
_export(native_channel_shuffle, "native_channel_shuffle")
# ATen declares out= variants for these (torch.hardshrink(x, out=y)); labkit accepts it for all
for _f in (conv_tbc, avg_pool1d, adaptive_avg_pool1d, celu, threshold, hardshrink, pixel_shuffle,
           pixel_unshuffle, channel_shuffle):
    _export(_with_out(_f, _f.__name__))


# ---------------------------------------------------------------- convolution and pooling
@_export_out
def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
                groups):
    """One entry for every convolution: ``input.ndim - 2`` spatial dims, ``transposed`` or not."""
    nd = input.ndim - 2
    if nd not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-D, 4-D or 5-D input, got {input.ndim}-D")
    if transposed:
        fn = (conv_transpose1d, conv_transpose2d, conv_transpose3d)[nd - 1]
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return (conv1d, conv2d, conv3d)[nd - 1](input, weight, bias, stride, padding, dilation,
                                            groups)


# (ATen's defaults: stride=[] means the kernel size; the lists are never modified)
def _stride(stride):
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride


@_export
def max_pool1d(input, kernel_size, stride=(), padding=[0], dilation=[1],
               ceil_mode=False):
    return _max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


@_export
def max_pool2d(input, kernel_size, stride=(), padding=[0, 0], dilation=[1, 1],
               ceil_mode=False):
    return _max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


@_export
def max_pool3d(input, kernel_size, stride=(), padding=[0, 0, 0], dilation=[1, 1, 1],
               ceil_mode=False):
    return _max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


@_export
def max_pool1d_with_indices(input, kernel_size, stride=(), padding=[0], dilation=[1],
                            ceil_mode=False):
    """``(values, indices)`` of 1-D max pooling."""
    return _max_pool1d_with_indices(input, kernel_size, _stride(stride), padding, dilation,
                                    ceil_mode, True)


_export(lambda input, output_size: adaptive_max_pool1d(input, output_size, True),
        "adaptive_max_pool1d")
NAMES["adaptive_max_pool1d"].__doc__ = "``(values, indices)`` of adaptive 1-D max pooling."


_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")


@_export
def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    """``F.grid_sample`` with ATen's integer codes (mode 0 bilinear, 1 nearest, 2 bicubic;
    padding 0 zeros, 1 border, 2 reflection)."""
    return grid_sample(input, grid, _MODES[interpolation_mode], _PADDINGS[padding_mode],
                       align_corners)


@_export_out
def affine_grid_generator(theta, size, align_corners):
    return affine_grid(theta, list(size), align_corners)


# ---------------------------------------------------------------- normalization
@_export
def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled):
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


@_export
def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                  cudnn_enabled):
    return _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                          momentum, eps)


@_export
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return _layer_norm(input, normalized_shape, weight, bias, eps)


@_export
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return _group_norm(input, num_groups, weight, bias, eps)


# ATen's native_* forms return the statistics too (what the backward of a fused kernel saves)
@_export
def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """``(out, mean, rstd)``: mean and 1/std over the normalized dims (kept as size 1)."""
    dims = tuple(range(-len(normalized_shape), 0))
    mean = input.mean(dims, keepdim=True)
    rstd = (input.var(dims, correction=0, keepdim=True) + eps).rsqrt()
    return _layer_norm(input, normalized_shape, weight, bias, eps), mean, rstd


@_export_out
def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """``(out, save_mean, save_invstd)``: the batch statistics per channel when training (empty
    tensors otherwise, as PyTorch's CPU kernel)."""
    out = _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        return out, input.new_empty(0), input.new_empty(0)
    dims = (0,) + tuple(range(2, input.ndim))
    return (out, input.mean(dims), (input.var(dims, correction=0) + eps).rsqrt())


@_export
def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """``(out, mean, rstd)`` with the statistics per (sample, group): shape ``(N, group)``."""
    xg = input.reshape(N, group, -1)
    rstd = (xg.var(-1, correction=0) + eps).rsqrt()
    return _group_norm(input, group, weight, bias, eps), xg.mean(-1), rstd


@_export
def native_dropout(input, p, train):
    """``(out, mask)``: ``mask`` (bool) marks the kept elements; ``train=None`` trains."""
    if train is not None and not train:
        return input.clone(), input.new_ones(input.shape).bool()
    keep = (rand(input.shape, dtype=input.dtype) >= p) if p < 1 else \
        input.new_zeros(input.shape).bool()
    scale = 0.0 if p >= 1 else 1.0 / (1.0 - p)
    return input * keep * scale, keep


# ---------------------------------------------------------------- dropout (p, train: positional)
@_export
def dropout(input, p, train, inplace=False):
    return _dropout(input, p, train, inplace)


@_export
def dropout_(input, p, train):
    return _dropout(input, p, train, True)


@_export
def alpha_dropout(input, p, train, inplace=False):
    return _alpha_dropout(input, p, train, inplace, False)


@_export
def alpha_dropout_(input, p, train):
    return _alpha_dropout(input, p, train, True, False)


@_export
def feature_alpha_dropout(input, p, train):
    return _alpha_dropout(input, p, train, False, True)


@_export
def feature_alpha_dropout_(input, p, train):
    return _alpha_dropout(input, p, train, True, True)


@_export
def feature_dropout(input, p, train):
    """Zero whole channels (dim 1) of a batched input."""
    return _feature_dropout(input, p, train, False, max(input.ndim, 2), "feature_dropout")


@_export
def feature_dropout_(input, p, train):
    return _feature_dropout(input, p, train, True, max(input.ndim, 2), "feature_dropout_")


@_export
def rrelu(input, lower=0.125, upper=0.3333333333333333, training=False, generator=None):
    return _rrelu(input, lower, upper, training)


@_export
def rrelu_(input, lower=0.125, upper=0.3333333333333333, training=False, generator=None):
    return _rrelu_(input, lower, upper, training)


# ---------------------------------------------------------------- embedding
@_export_out
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """``F.embedding(indices, weight)``: note the order (weight first) and ``padding_idx=-1``
    meaning none."""
    return _embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                                scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


# ---------------------------------------------------------------- losses: reduction is an int
_REDUCTIONS = ("none", "mean", "sum")


def _reduction(name, reduction):
    if isinstance(reduction, bool) or not isinstance(reduction, int):
        raise TypeError(f"{name}(): argument 'reduction' must be int, not "
                        f"{type(reduction).__name__} (0: 'none', 1: 'mean', 2: 'sum'; "
                        f"nn.functional.{name} takes the strings)")
    if reduction not in (0, 1, 2):
        raise ValueError(f"{name}(): reduction must be 0 (none), 1 (mean) or 2 (sum), got "
                         f"{reduction}")
    return _REDUCTIONS[reduction]


@_export
def kl_div(input, target, reduction=0, *, log_target=False):
    with warnings.catch_warnings():      # (F.kl_div's 'mean' warning: the ATen op has none)
        warnings.simplefilter("ignore", UserWarning)
        return _kl_div(input, target, reduction=_reduction("kl_div", reduction),
                       log_target=log_target)


@_export_out
def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return _bcel(input, target, weight, reduction=_reduction(
        "binary_cross_entropy_with_logits", reduction), pos_weight=pos_weight)


@_export
def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    return _margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(
        "margin_ranking_loss", reduction))


@_export
def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    return _hinge_embedding_loss(input, target, margin, reduction=_reduction(
        "hinge_embedding_loss", reduction))


@_export
def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    return _cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(
        "cosine_embedding_loss", reduction))


@_export
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-06, swap=False,
                        reduction=0):
    return _triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                          reduction=_reduction("triplet_margin_loss", reduction))


@_export
def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return _poisson_nll_loss(input, target, log_input, full, eps=eps,
                                       reduction=_reduction("poisson_nll_loss", reduction))


@_export
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False):
    return _ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                               _reduction("ctc_loss", reduction), zero_infinity)


# ---------------------------------------------------------------- recurrent cells and layers
@_export
def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return (linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh)).tanh()


@_export
def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return (linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh)).relu()


@_export
def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """``(h', c')`` of one LSTM step; ``hx = (h, c)``; gates in the order i, f, g, o."""
    h, c = hx
    i, f, g, o = (linear(input, w_ih, b_ih) + linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


@_export
def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """``h'`` of one GRU step; gates in the order r, z, n."""
    i_r, i_z, i_n = linear(input, w_ih, b_ih).chunk(3, -1)
    h_r, h_z, h_n = linear(hx, w_hh, b_hh).chunk(3, -1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * hx


def _layers(name, cell, input, hx, params, has_biases, num_layers, dropout_p, train,
            bidirectional, batch_first):
    """Run stacked (bi)directional layers of ``cell``; ``hx``: one state tensor (or LSTM's
    pair) of shape ``(layers * directions, N, H)``; params per layer and direction:
    ``w_ih, w_hh[, b_ih, b_hh]``."""
    if input.ndim != 3:
        raise RuntimeError(f"{name}: expected a 3-D input (seq, batch, feature), got "
                           f"{input.ndim}-D")
    x = input.transpose(0, 1) if batch_first else input
    per = 4 if has_biases else 2
    dirs = 2 if bidirectional else 1
    params = list(params)
    if len(params) != per * dirs * num_layers:
        raise RuntimeError(f"{name}: expected {per * dirs * num_layers} parameter tensors, got "
                           f"{len(params)}")
    lstm = isinstance(hx, (tuple, list))
    finals = []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w = params[k * per:(k + 1) * per]
            w_ih, w_hh = w[0], w[1]
            b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
            state = (hx[0][k], hx[1][k]) if lstm else hx[k]
            steps = range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])
            seq = [None] * x.shape[0]
            for t in steps:
                state = cell(x[t], state, w_ih, w_hh, b_ih, b_hh)
                seq[t] = state[0] if lstm else state
            outs.append(stack(seq, 0))
            finals.append(state)
        x = cat(outs, -1) if dirs == 2 else outs[0]
        if dropout_p and train and layer < num_layers - 1:
            x = _dropout(x, dropout_p, True)
    out = x.transpose(0, 1) if batch_first else x
    if lstm:
        return out, stack([s[0] for s in finals], 0), stack([s[1] for s in finals], 0)
    return out, stack(finals, 0)


@_export
def lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """``(output, h_n, c_n)`` of a stacked LSTM given its flat parameter list."""
    return _layers("lstm", lstm_cell, input, tuple(hx), params, has_biases, num_layers, dropout,
                   train, bidirectional, batch_first)


@_export
def gru(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    return _layers("gru", gru_cell, input, hx, params, has_biases, num_layers, dropout, train,
                   bidirectional, batch_first)


@_export
def rnn_tanh(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
             batch_first):
    return _layers("rnn_tanh", rnn_tanh_cell, input, hx, params, has_biases, num_layers, dropout,
                   train, bidirectional, batch_first)


@_export
def rnn_relu(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
             batch_first):
    return _layers("rnn_relu", rnn_relu_cell, input, hx, params, has_biases, num_layers, dropout,
                   train, bidirectional, batch_first)

