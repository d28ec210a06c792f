"""``labkit.nn.functional`` (``F``): stateless versions of every layer, as in ``torch.nn.functional``.

Ops that matter for speed or numerics are single Functions with their backward written beside the
forward (linear, conv, pooling, batch/layer/group norm, the fused cross-entropy, embedding,
dropout, BCE ...).  Simple ones are composed from Tensor ops and need no backward of their own.

Examples::

    >>> import labkit.nn.functional as F
    >>> logits = model(x)
    >>> loss = F.cross_entropy(logits, y)
"""
from ._common import (  # noqa: F401
    _check_float, _check_reduction, _inplace_result, _np, _reduce, _reduction_arg, _same_dtype,
    _size, _tuple)
from .activations import (  # noqa: F401
    ELU, GELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, Mish, SiLU, Softplus,
    Threshold, _sigmoid_np, _softplus_np, celu, elu, gelu, glu, hardsigmoid, hardswish, hardtanh,
    hardtanh_, leaky_relu, leaky_relu_, log_softmax, logsigmoid, mish, prelu, relu, relu6, relu_,
    selu, sigmoid, silu, softmax, softmin, softplus, softsign, tanh, tanhshrink, threshold)
from .linear import (  # noqa: F401
    Conv2d, ConvTranspose2d, Linear, Unfold, _Fold, _LINEAR_NO_BIAS, _conv_checks, _conv_out,
    _same_padding, bilinear, conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, linear,
    unfold)
from .pooling import (  # noqa: F401
    AvgPool2d, MaxPool2d, _AvgPool2dAdjoint, _adaptive_matrix, _avg_divisors, _pool_args,
    _pool_out, adaptive_avg_pool1d, adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d,
    max_pool2d)
from .normalization import (  # noqa: F401
    BatchNorm, GroupNorm, LayerNorm, batch_norm, group_norm, instance_norm, layer_norm)
from .dropout import (  # noqa: F401
    Dropout, Embedding, _check_p, _dense_grad_only, _dropout_mask, _feature_dropout, dropout,
    dropout1d, dropout2d,
    embedding, one_hot)
from .padding import ConstantPad, IndexPad, _pad_index, pad  # noqa: F401
from .sampling import (  # noqa: F401
    GRID_SAMPLE_INTERPOLATION_MODES, GRID_SAMPLE_PADDING_MODES, _interp_scale, _linear_matrix,
    affine_grid, grid_sample, interpolate, upsample, upsample_bilinear, upsample_nearest)
from .attention import (  # noqa: F401
    cosine_similarity, normalize, pairwise_distance, scaled_dot_product_attention)
from .recurrent import (  # noqa: F401
    LSTMLayer, _lstm_steps, lstm_layer)
from .losses import (  # noqa: F401
    BCEWithLogits, BinaryCrossEntropy, CrossEntropy, HuberLossFn, MSELossFn, NLLLoss,
    SmoothL1LossFn, _PointwiseLoss, _check_targets, _class_weight, _expand, _pointwise_loss,
    _reduce_np, _warn_shape, binary_cross_entropy, binary_cross_entropy_with_logits,
    cross_entropy, huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from .extras import (  # noqa: F401
    alpha_dropout, celu_, channel_shuffle, dropout3d, elu_, embedding_bag, feature_alpha_dropout,
    gumbel_softmax, hardshrink, local_response_norm, native_channel_shuffle, pdist, pixel_shuffle,
    pixel_unshuffle, rms_norm, rrelu, rrelu_, selu_, softshrink, threshold_)
from .losses_more import (  # noqa: F401
    cosine_embedding_loss, ctc_loss, gaussian_nll_loss, hinge_embedding_loss, linear_cross_entropy,
    margin_ranking_loss, multi_margin_loss, multilabel_margin_loss, multilabel_soft_margin_loss,
    poisson_nll_loss, soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss)
from .attention_more import multi_head_attention_forward  # noqa: F401
from .pooling_more import (  # noqa: F401
    adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d, adaptive_max_pool2d_with_indices, adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices, avg_pool3d, conv3d, conv_tbc, conv_transpose3d, lp_pool1d,
    lp_pool2d, lp_pool3d, max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d,
    max_pool3d_with_indices, max_unpool1d, max_unpool2d, max_unpool3d)
from .fractional import (  # noqa: F401
    fractional_max_pool2d, fractional_max_pool2d_with_indices, fractional_max_pool3d,
    fractional_max_pool3d_with_indices)

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "selu", "celu", "gelu", "silu",
    "mish", "softplus", "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "sigmoid", "tanh",
    "logsigmoid", "softsign", "tanhshrink", "threshold", "softmax", "log_softmax", "softmin",
    "glu", "prelu", "linear", "bilinear", "conv1d", "conv2d", "conv_transpose1d",
    "conv_transpose2d", "unfold", "fold", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "group_norm",
    "instance_norm", "dropout", "dropout1d", "dropout2d", "embedding", "one_hot", "pad",
    "interpolate", "upsample", "scaled_dot_product_attention", "normalize", "cosine_similarity",
    "pairwise_distance", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy",
    "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    "hardshrink", "softshrink", "rrelu", "rrelu_", "elu_", "celu_", "selu_", "threshold_",
    "alpha_dropout", "feature_alpha_dropout", "dropout3d", "pixel_shuffle", "pixel_unshuffle",
    "channel_shuffle", "native_channel_shuffle", "rms_norm", "local_response_norm", "pdist",
    "gumbel_softmax", "embedding_bag", "margin_ranking_loss", "hinge_embedding_loss",
    "soft_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
    "multilabel_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "gaussian_nll_loss", "poisson_nll_loss", "ctc_loss",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "adaptive_avg_pool3d", "max_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d",
    "max_unpool3d", "conv3d", "conv_transpose3d", "grid_sample", "affine_grid",
    "upsample_nearest", "upsample_bilinear", "linear_cross_entropy", "conv_tbc",
    "multi_head_attention_forward",
]

# The F functions that are ATen built-ins in PyTorch take out= there (F.gelu(x, out=y)); the
# registry's one out= mechanism adds it.
from ...ops._registry import with_out as _with_out  # noqa: E402
gelu, softplus, hardshrink, softshrink, linear, avg_pool2d, avg_pool3d = (
    _with_out(_f, _f.__name__) for _f in (gelu, softplus, hardshrink, softshrink, linear,
                                          avg_pool2d, avg_pool3d))

from ... import scope as _scope  # noqa: E402


def __getattr__(name):
    # torch.nn.functional's internals and float8 GPU matmuls: labkit.scope says why
    raise _scope.error("labkit.nn.functional", "nn.functional." + name)
