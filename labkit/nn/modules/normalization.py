"""Normalization layers: BatchNorm1d/2d, LayerNorm, GroupNorm."""
import numbers

import labkit as _lk
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d"]


class _BatchNorm(Module):
    _expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(_lk.empty(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(_lk.empty(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _lk.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", _lk.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", _lk.tensor(0, dtype=_lk.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._np[...] = 0
            self.running_var._np[...] = 1
            self.num_batches_tracked._np[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input):
        if input.dim() not in self._expected_dims:
            raise ValueError(f"expected {' or '.join(f'{d}D' for d in self._expected_dims)} input "
                             f"(got {input.dim()}D input of shape {list(input.shape)})")
        if input.shape[1] != self.num_features:
            raise RuntimeError(f"{type(self).__name__}({self.num_features}) got an input with "
                               f"{input.shape[1]} channels (shape {list(input.shape)}): dim 1 "
                               f"must be the channel/feature dim")

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._np += 1
            self.num_batches_tracked._vc[0] += 1
            if self.momentum is None:        # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._np)
        use_batch_stats = self.training or (self.running_mean is None and
                                            self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over a ``(N, C)`` or ``(N, C, L)`` input.

    ``y = (x - mean) / sqrt(var + eps) * gamma + beta``, with the batch mean/var in training (and
    the running averages updated: ``running = (1 - momentum) running + momentum batch``) and the
    running averages in eval mode.

    Args:
        num_features (int): C
        eps (float): Default: 1e-5
        momentum (float or None): Default: 0.1 (None: cumulative average)
        affine (bool): learnable gamma, beta. Default: ``True``
        track_running_stats (bool): Default: ``True``

    Examples::

        >>> bn = nn.BatchNorm1d(100)
        >>> bn(labkit.randn(20, 100)).shape
        labkit.Size([20, 100])
    """
    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)``: statistics per channel over N, H, W."""
    _expected_dims = (4,)


class LayerNorm(Module):
    """Normalise over the last dims given by ``normalized_shape`` (per sample), then apply an
    elementwise affine transform.

    Args:
        normalized_shape (int or tuple): trailing shape to normalise over
        eps (float): Default: 1e-5
        elementwise_affine (bool): learnable weight (ones) and bias (zeros). Default: ``True``
        bias (bool): learn the bias too. Default: ``True``

    Examples::

        >>> ln = nn.LayerNorm(64)
        >>> ln(labkit.randn(8, 10, 64)).shape
        labkit.Size([8, 10, 64])
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_lk.ones(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(_lk.zeros(*self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the C channels into ``num_groups`` groups and normalise each group per sample.

    Args:
        num_groups (int): must divide ``num_channels``
        num_channels (int)
        eps (float): Default: 1e-5
        affine (bool): learnable per-channel weight and bias. Default: ``True``
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = Parameter(_lk.ones(num_channels, dtype=dtype))
            if bias:
                self.bias = Parameter(_lk.zeros(num_channels, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class InstanceNorm2d(Module):
    """Normalise each channel of each sample (no running stats; ``affine=False`` by default)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__()
        if track_running_stats:
            raise NotImplementedError("InstanceNorm2d(track_running_stats=True) is not "
                                      "supported by labkit")
        self.num_features, self.eps, self.affine = num_features, eps, affine
        self.momentum, self.track_running_stats = momentum, track_running_stats
        if affine:
            self.weight = Parameter(_lk.ones(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(_lk.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.instance_norm(input, weight=self.weight, bias=self.bias, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")
