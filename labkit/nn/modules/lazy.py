"""Lazy modules: layers that learn their input size from the first batch they see.

``nn.LazyLinear(10)`` is a ``Linear`` whose ``in_features`` is not given: its ``weight`` and
``bias`` start as :class:`~labkit.nn.UninitializedParameter` (no shape, no values).  The first
call ``m(x)`` reads the size from ``x`` (``in_features = x.shape[-1]``), gives the parameters
their shapes *in place* (so an optimizer built before that call keeps working), initialises them
as the regular layer would, and turns the module into the regular class (``type(m)`` becomes
``nn.Linear``).  ``load_state_dict`` also materializes them, with the checkpoint's shapes.

As in PyTorch, optimizers accept uninitialized parameters (they have no gradient until the first
forward/backward), and ``state_dict()`` of a module not run yet holds the uninitialized
parameters themselves.
"""
from .. import functional as F
from ..parameter import Parameter, UninitializedBuffer, UninitializedParameter, is_lazy
from .conv import Conv1d, Conv2d
from .linear import Linear
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyBatchNorm1d",
           "LazyBatchNorm2d"]


class LazyModuleMixin:
    """Mixin for modules whose parameters' shapes come from the first input.

    A lazy module implements :meth:`initialize_parameters` (materialize each uninitialized
    parameter/buffer from the input's shape, then ``reset_parameters()``) and names the class it
    becomes once initialised in ``cls_to_become``.
    """
    cls_to_become = None

    def has_uninitialized_params(self):
        """Whether any parameter or buffer of this module (not its children) has no shape yet."""
        return any(is_lazy(t) for t in list(self._parameters.values()) +
                   list(self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def __call__(self, *args, **kwargs):
        # runs once: afterwards the module is a plain cls_to_become (this mixin is gone)
        self._infer_parameters(args, kwargs)
        return Module.__call__(self, *args, **kwargs)

    def _infer_parameters(self, args, kwargs):
        from ...autograd import no_grad
        with no_grad():
            self.initialize_parameters(*args, **kwargs)
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if (is_lazy(p) or keep_vars) else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if (is_lazy(b) or keep_vars) else b.detach()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # materialize with the checkpoint's shapes, then load as usual; a lazy entry loaded into
        # a lazy parameter leaves it lazy
        skipped = {}
        for table in (self._parameters, self._buffers):
            for name, t in list(table.items()):
                key = prefix + name
                if t is None or not is_lazy(t) or key not in state_dict:
                    continue
                value = state_dict[key]
                if is_lazy(value):
                    skipped[name] = (table, t)
                    del table[name]
                else:
                    t.materialize(tuple(value.shape))
        if skipped:
            state_dict = {k: v for k, v in state_dict.items()
                          if k[len(prefix):] not in skipped or not k.startswith(prefix)}
        try:
            Module._load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                         missing_keys, unexpected_keys, error_msgs)
        finally:
            for name, (table, t) in skipped.items():
                table[name] = t


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is inferred from the first input
    (``input.shape[-1]``).

    Args:
        out_features (int), bias (bool): as :class:`Linear`.

    Examples::

        >>> m = nn.LazyLinear(3)
        >>> m(labkit.randn(2, 5)).shape
        labkit.Size([2, 3])
        >>> m
        Linear(in_features=5, out_features=3, bias=True)
    """
    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features = 0
        self.out_features = out_features
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()


class _LazyConvNd(LazyModuleMixin):
    _nd = 2

    def _lazy_init(self, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                   padding_mode, dtype):
        # build the regular layer with in_channels=0 (reset_parameters skips it), then replace
        # its weights by uninitialized ones
        self.cls_to_become.__init__(self, 0, out_channels, kernel_size, stride, padding,
                                    dilation, groups, bias, padding_mode, dtype=dtype)
        self.in_channels = 0
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            unbatched = input.dim() == self._nd + 1
            self.in_channels = input.shape[0 if unbatched else 1]
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            self.weight.materialize((self.out_channels, self.in_channels // self.groups) +
                                    tuple(self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()


class LazyConv1d(_LazyConvNd, Conv1d):
    """A :class:`Conv1d` whose ``in_channels`` is inferred from the first input
    (``input.shape[1]``, or ``shape[0]`` unbatched)."""
    cls_to_become = Conv1d
    _nd = 1

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        self._lazy_init(out_channels, kernel_size, stride, padding, dilation, groups, bias,
                        padding_mode, dtype)


class LazyConv2d(_LazyConvNd, Conv2d):
    """A :class:`Conv2d` whose ``in_channels`` is inferred from the first input
    (``input.shape[1]``, or ``shape[0]`` unbatched)."""
    cls_to_become = Conv2d
    _nd = 2

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        self._lazy_init(out_channels, kernel_size, stride, padding, dilation, groups, bias,
                        padding_mode, dtype)


class _LazyNormBase(LazyModuleMixin):
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        self.cls_to_become.__init__(self, 0, eps, momentum, affine, track_running_stats,
                                    device=device, dtype=dtype, bias=bias)
        if affine:
            self.weight = UninitializedParameter(dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            for t in (self.weight, self.bias, self.running_mean, self.running_var):
                if t is not None and is_lazy(t):
                    t.materialize((self.num_features,))
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """A :class:`BatchNorm1d` whose ``num_features`` is inferred from ``input.shape[1]``."""
    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """A :class:`BatchNorm2d` whose ``num_features`` is inferred from ``input.shape[1]``."""
    cls_to_become = BatchNorm2d


del F, Parameter
