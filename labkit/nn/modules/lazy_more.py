"""Lazy 3-D layers: ``LazyConv3d`` and ``LazyBatchNorm3d`` learn ``in_channels`` /
``num_features`` from the first input (see :mod:`labkit.nn.modules.lazy`)."""
from .lazy import _LazyConvNd, _LazyNormBase
from .extra import BatchNorm3d
from .pooling_more import Conv3d

__all__ = ["LazyConv3d", "LazyBatchNorm3d"]


class LazyConv3d(_LazyConvNd, Conv3d):
    """A :class:`Conv3d` whose ``in_channels`` is inferred from the first input
    (``input.shape[1]``, or ``shape[0]`` unbatched)."""
    cls_to_become = Conv3d
    _nd = 3

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        self._lazy_init(out_channels, kernel_size, stride, padding, dilation, groups, bias,
                        padding_mode, dtype)


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """A :class:`BatchNorm3d` whose ``num_features`` is inferred from ``input.shape[1]``."""
    cls_to_become = BatchNorm3d
