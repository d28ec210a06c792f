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
    Dropout, Embedding, _check_p, _dropout_mask, _feature_dropout, dropout, dropout1d, dropout2d,
    embedding, one_hot)
from .padding import (  # noqa: F401
    ConstantPad, IndexPad, _interp_scale, _linear_matrix, _pad_index, interpolate, pad, upsample)
from .attention import (  # noqa: F401
    cosine_similarity, normalize, pairwise_distance, scaled_dot_product_attention)
from .recurrent import (  # noqa: F401
    LSTMLayer, _lstm_steps, lstm_layer)
from .losses import (  # noqa: F401
    BCEWithLogits, BinaryCrossEntropy, CrossEntropy, HuberLossFn, MSELossFn, NLLLoss,
    SmoothL1LossFn, _PointwiseLoss, _check_targets, _class_weight, _expand, _pointwise_loss,
    _reduce_np, _warn_shape, binary_cross_entropy, binary_cross_entropy_with_logits,
    cross_entropy, huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from ..functional_extra import *  # noqa: F401,F403  (more of torch.nn.functional, composites)
from ..functional_extra import __all__ as _extra_all

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
]
__all__ += _extra_all
