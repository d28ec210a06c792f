"""More lazy layers: ``LazyConv3d``, ``LazyBatchNorm3d`` and ``LazyConvTranspose1d/2d/3d`` learn
``in_channels`` / ``num_features`` from the first input (see :mod:`labkit.nn.modules.lazy`)."""
from ..parameter import UninitializedParameter
from .conv import ConvTranspose1d, ConvTranspose2d
from .extra import BatchNorm3d
from .lazy import _LazyConvNd, _LazyNormBase
from .pooling_more import Conv3d, ConvTranspose3d

__all__ = ["LazyConv3d", "LazyBatchNorm3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d"]


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


class _LazyConvTransposeNd(_LazyConvNd):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        self.cls_to_become.__init__(self, 0, out_channels, kernel_size, stride, padding,
                                    output_padding, groups, bias, dilation, padding_mode,
                                    dtype=dtype)
        self.in_channels = 0
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            unbatched = input.dim() == self._nd + 1
            self.in_channels = input.shape[0 if unbatched else 1]
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            # a transposed convolution's weight is (C_in, C_out / groups, k...)
            self.weight.materialize((self.in_channels, self.out_channels // self.groups) +
                                    tuple(self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):
    """A :class:`ConvTranspose1d` whose ``in_channels`` is inferred from the first input."""
    cls_to_become = ConvTranspose1d
    _nd = 1


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):
    """A :class:`ConvTranspose2d` whose ``in_channels`` is inferred from the first input."""
    cls_to_become = ConvTranspose2d
    _nd = 2


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):
    """A :class:`ConvTranspose3d` whose ``in_channels`` is inferred from the first input."""
    cls_to_become = ConvTranspose3d
    _nd = 3
