"""``Tensor`` methods and properties of PyTorch that the core files leave out.

What a dense real CPU tensor answers (``is_cpu``, ``is_sparse`` ... ``get_device() == -1``), the
identities of real numbers (``conj``, ``real``, ``resolve_neg``), older spellings (``fix``,
``__div__``, ``resize``), in-place operator dunders with PyTorch's in-place semantics
(``x <<= 1`` changes ``x``), memory questions (``storage_offset``, ``dim_order``,
``is_set_to``), Python-callable maps (``apply_``, ``map_``), more random fills, and
``register_post_accumulate_grad_hook``.  Importing this module installs them on ``Tensor``.
"""
import builtins
import warnings

import numpy as np

from . import dtypes as D
from . import namespace as _ns
from . import scope as _scope
from .namespace import empty_strided
from .ops.inplace import _check_leaf
from .random import _rng
from .tensor import Size, Tensor, _make
from .utils.hooks import RemovableHandle

_ATTRS = {}


def _method(fn, name=None):
    _ATTRS[name or fn.__name__] = fn
    return fn


def _false(self):
    return False


# ---------------------------------------------------------------- what kind of tensor
for _n in ("is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_nested", "is_mkldnn",
           "is_mps", "is_xla", "is_xpu", "is_ipu", "is_maia", "is_mtia", "is_vulkan"):
    _ATTRS[_n] = property(_false, doc=f"False: labkit tensors are dense CPU tensors ({_n}).")
_ATTRS["is_cpu"] = property(lambda self: True, doc="True: labkit tensors live on the CPU.")
_ATTRS["output_nr"] = property(lambda self: self._out_nr,
                               doc="Which output of its grad_fn this tensor is (0 for most).")
_ATTRS["name"] = property(lambda self: None, doc="None (labkit has no named tensors).")
_ATTRS["grad_dtype"] = property(lambda self: self.dtype,
                                doc="The dtype .grad gets: the tensor's own.")


def _volatile(self):
    warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning,
                  stacklevel=2)
    return False


_ATTRS["volatile"] = property(_volatile)


def _imag(self):
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


_ATTRS["real"] = property(lambda self: self, doc="The tensor itself (labkit tensors are real).")
_ATTRS["imag"] = property(_imag)


@_method
def get_device(self):
    return -1


@_method
def is_distributed(self):
    return False


@_method
def is_inference(self):
    """False: labkit's inference_mode switches gradients off but does not mark tensors."""
    return False


@_method
def is_conj(self):
    return False


@_method
def is_neg(self):
    return False


@_method
def is_pinned(self, device=None):
    return False


@_method
def is_shared(self):
    return False


@_method
def share_memory_(self):
    """Returns the tensor: NumPy arrays cannot be moved into shared memory in place, so a labkit
    tensor handed to another process is copied (``is_shared()`` stays False)."""
    return self


@_method
def pin_memory(self, device=None):
    raise RuntimeError("Cannot access accelerator device when none is available. (labkit "
                       "tensors live on the CPU: pinned memory only speeds up copies to a GPU.)")


@_method
def is_nonzero(self):
    n = self._np.size
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(self._np.reshape(-1)[0] != 0)


@_method
def is_same_size(self, other):
    return self._np.shape == other._np.shape


# ---------------------------------------------------------------- real numbers
def _self(self):
    return self


for _n in ("conj", "conj_physical", "conj_physical_", "resolve_conj", "resolve_neg"):
    _ATTRS[_n] = _self


@_method
def to_dense(self, dtype=None, *, masked_grad=True):
    """The tensor itself (already dense), or a copy in ``dtype``."""
    return self if dtype is None else self.to(dtype)


@_method
def adjoint(self):
    if self.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {self.ndim}-D tensor.")
    return self.transpose(-2, -1)


@_method
def fix(self):
    return self.trunc()


@_method
def fix_(self):
    return self.trunc_()


@_method
def hardshrink(self, lambd=0.5):
    """``x`` where ``|x| > lambd``, else 0."""
    return self * (self.abs() > lambd)


@_method
def prelu(self, weight):
    """``max(0, x) + weight * min(0, x)``, ``weight`` per channel (dim 1) or one for all."""
    if weight.numel() != 1:
        if self.ndim == 0 or weight.ndim != 1 or (self.shape[1 if self.ndim > 1 else 0]
                                                  != weight.numel()):
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{self.shape[1] if self.ndim > 1 else self.numel()}.")
        if self.ndim > 1:
            weight = weight.reshape((-1,) + (1,) * (self.ndim - 2))
    elif weight.ndim > self.ndim:
        weight = weight.reshape(())
    return self.clamp_min(0) + weight * self.clamp_max(0)


# ---------------------------------------------------------------- operator dunders
def _inplace_dunder(target):
    def op(self, other):
        return getattr(self, target)(other)
    op.__name__ = target
    return op


for _dunder, _target in (("__ilshift__", "bitwise_left_shift_"),
                         ("__irshift__", "bitwise_right_shift_"), ("__iand__", "bitwise_and_"),
                         ("__ior__", "bitwise_or_"), ("__ixor__", "bitwise_xor_"),
                         ("__imod__", "remainder_"),
                         ("__ifloordiv__", "floor_divide_"), ("__idiv__", "div_")):
    _ATTRS[_dunder] = _inplace_dunder(_target)


@_method
def __ipow__(self, exponent):
    return self.pow_(exponent)


@_method
def __lshift__(self, other):
    return self.bitwise_left_shift(other)


@_method
def __rshift__(self, other):
    return self.bitwise_right_shift(other)


@_method
def __rlshift__(self, other):
    return _scalar_like(other, self).bitwise_left_shift(self)


@_method
def __rrshift__(self, other):
    return _scalar_like(other, self).bitwise_right_shift(self)


def _scalar_like(value, like):
    return _make(np.asarray(value, dtype=like._np.dtype))


@_method
def __div__(self, other, rounding_mode=None):
    return self.div(other, rounding_mode=rounding_mode)


@_method
def __rdiv__(self, other):
    return self.__rtruediv__(other)


@_method
def __long__(self):
    return self.__int__()


@_method
def __nonzero__(self):
    return self.__bool__()


@_method
def __complex__(self):
    return builtins.complex(self.item())


@_method
def __contains__(self, element):
    if not isinstance(element, (Tensor, builtins.int, builtins.float, builtins.bool)):
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed "
                           f"in a {type(element)}.")
    return builtins.bool((self == element).any().item())


@_method
def __reversed__(self):
    return self if self.ndim == 0 else self.flip(0)


@_method
def __delitem__(self, key):
    raise TypeError("Tensor does not support deleting items")


@_method
def __array_wrap__(self, array, context=None, return_scalar=False):
    """NumPy functions applied to a tensor return a tensor (``np.sin(x)``), as in PyTorch."""
    arr = np.asarray(array)
    if arr.dtype == np.bool_ or arr.dtype in D._FROM_NP:
        return _make(arr)
    return arr


@_method
def __dlpack__(self, *, stream=-1, max_version=None, dl_device=None, copy=None):
    if self._rg:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    kw = {} if max_version is None else {"max_version": max_version}
    if copy is not None:
        kw["copy"] = copy
    return self._np.__dlpack__(**kw)


@_method
def __dlpack_device__(self):
    return (1, 0)                       # (kDLCPU, device 0)


@_method
def __setstate__(self, state):
    """Restore from ``__getstate__``-style state (labkit pickles through ``__reduce_ex__``)."""
    if isinstance(state, tuple) and len(state) >= 2 and isinstance(state[0], np.ndarray):
        self._np, self._rg = state[0], builtins.bool(state[1])
    elif isinstance(state, dict):
        self.__dict__.update(state)
    else:
        raise RuntimeError(f"__setstate__: unsupported state {type(state).__name__}")


# ---------------------------------------------------------------- memory
def _root(arr):
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


@_method
def storage_offset(self):
    """Elements between the start of the memory this tensor views and its first element."""
    start = _root(self._np).__array_interface__["data"][0]
    return (self._np.__array_interface__["data"][0] - start) // self._np.itemsize


@_method
def const_data_ptr(self):
    return self.data_ptr()


@_method
def is_set_to(self, tensor):
    """True when both tensors view the same memory with the same offset, shape and strides."""
    a, b = self._np, tensor._np
    return (_root(a) is _root(b) and a.__array_interface__["data"][0] ==
            b.__array_interface__["data"][0] and a.shape == b.shape and a.strides == b.strides)


@_method
def dim_order(self, *, ambiguity_check=False):
    """Dims from the outermost to the innermost in memory (by decreasing stride)."""
    st = self.stride()
    return tuple(sorted(range(self.ndim), key=lambda d: (-st[d], d)))


@_method
def new(self, *args, size=None, device=None):
    """Legacy constructor with this tensor's dtype: ``x.new(2, 3)`` (uninitialised),
    ``x.new([1, 2])`` (data), ``x.new()`` (empty)."""
    npd = self._np.dtype
    if size is not None:
        args = tuple(size)
    if not args:
        return _make(np.empty(0, dtype=npd))
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0]
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if len(args) == 1 and not isinstance(args[0], (builtins.int, np.integer)):
        return _make(np.array(args[0], dtype=npd))
    return _make(np.empty(tuple(builtins.int(a) for a in args), dtype=npd))


@_method
def new_empty_strided(self, size, stride, dtype=None, device=None, requires_grad=False,
                      layout=None, pin_memory=False):
    return empty_strided(size, stride, dtype=dtype or self.dtype, device=device,
                         requires_grad=requires_grad, pin_memory=pin_memory)


def _sizes(args):
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


@_method
def resize_(self, *sizes, size=None, memory_format=None):
    """Change the shape in place: keeps the first elements, new ones are uninitialised."""
    if self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    shape = tuple(builtins.int(s) for s in _sizes(sizes if size is None else (size,)))
    n = int(np.prod(shape))
    flat = self._np.reshape(-1)
    if n > flat.size:
        grown = np.empty(n, dtype=flat.dtype)
        grown[:flat.size] = flat
        flat = grown
    self._np = flat[:n].reshape(shape)
    self._vc[0] += 1
    return self


@_method
def resize_as_(self, tensor, memory_format=None):
    return self.resize_(tensor.shape)


@_method
def resize(self, *sizes):
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    return self.reshape(_sizes(sizes))


@_method
def resize_as(self, tensor):
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    return self.reshape(tensor.shape)


@_method
def reinforce(self, reward):
    raise RuntimeError("reinforce() was removed. Use labkit.distributions-style code instead: "
                       "compute log_prob of the sampled action and backpropagate "
                       "-log_prob * reward (the REINFORCE estimator).")


@_method
def lstsq(self, A):
    return _ns.lstsq(self, A)


@_method
def solve(self, A):
    return _ns.solve(self, A)


@_method
def symeig(self, eigenvectors=False, upper=True):
    return _ns.symeig(self, eigenvectors, upper)


@_method
def eig(self, eigenvectors=False):
    return _ns.eig(self, eigenvectors)


# ---------------------------------------------------------------- fills and maps
@_method
def fill_diagonal_(self, fill_value, wrap=False):
    """Write ``fill_value`` on the main diagonal (``wrap``: restart below it in tall matrices)."""
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    _check_leaf(self)
    a = self._np
    if a.ndim == 2:
        n = min(a.shape) if not wrap else None
        step = a.shape[1] + 1
        flat = a.reshape(-1) if a.flags.c_contiguous else None
        if flat is not None:
            end = a.size if wrap else n * a.shape[1]
            flat[:end:step] = fill_value
        else:
            rows = np.arange(a.shape[0])
            keep = rows % (a.shape[1] + 1) < a.shape[1] if wrap else rows < min(a.shape)
            rows = rows[keep]
            a[rows, rows % (a.shape[1] + 1)] = fill_value
    else:
        idx = np.arange(a.shape[0])
        a[(idx,) * a.ndim] = fill_value
    self._vc[0] += 1
    return self


@_method
def apply_(self, callable):               # noqa: A002  (PyTorch's name)
    """Replace each element ``v`` by ``callable(v)`` (a Python loop, as in PyTorch; CPU only)."""
    if self._rg:
        raise RuntimeError("Can't call apply_() on Variable that requires grad. Use "
                           "var.detach().apply_() instead.")
    flat = self._np.reshape(-1)
    vals = [callable(v) for v in flat.tolist()]
    self._np[...] = np.asarray(vals, dtype=self._np.dtype).reshape(self._np.shape)
    self._vc[0] += 1
    return self


@_method
def map_(self, tensor, callable):        # noqa: A002
    """``self[i] = callable(self[i], tensor[i])`` (``tensor`` broadcast to ``self``)."""
    if self._rg:
        raise RuntimeError("Can't call map_() on Variable that requires grad. Use "
                           "var.detach().map_() instead.")
    other = np.broadcast_to(tensor._np, self._np.shape)
    vals = [callable(a, b) for a, b in zip(self._np.reshape(-1).tolist(),
                                            other.reshape(-1).tolist())]
    self._np[...] = np.asarray(vals, dtype=self._np.dtype).reshape(self._np.shape)
    self._vc[0] += 1
    return self


@_method
def map2_(self, x, y, callable):         # noqa: A002
    if self._rg:
        raise RuntimeError("Can't call map2_() on Variable that requires grad. Use "
                           "var.detach().map2_() instead.")
    xs = np.broadcast_to(x._np, self._np.shape).reshape(-1).tolist()
    ys = np.broadcast_to(y._np, self._np.shape).reshape(-1).tolist()
    vals = [callable(a, b, c) for a, b, c in zip(self._np.reshape(-1).tolist(), xs, ys)]
    self._np[...] = np.asarray(vals, dtype=self._np.dtype).reshape(self._np.shape)
    self._vc[0] += 1
    return self


def _random_fill(self, arr):
    _check_leaf(self)
    self._np[...] = arr
    self._vc[0] += 1
    return self


@_method
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with draws whose logarithm is Normal(mean, std)."""
    return _random_fill(self, _rng(generator).lognormal(mean, std, self.shape))


@_method
def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _random_fill(self, _rng(generator).geometric(p, self.shape))


@_method
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with draws from the Cauchy distribution."""
    return _random_fill(self, median + sigma * _rng(generator).standard_cauchy(self.shape))


# ---------------------------------------------------------------- hooks
@_method
def register_post_accumulate_grad_hook(self, hook):
    """Call ``hook(tensor)`` right after backward accumulated into this leaf's ``.grad`` (e.g.
    an optimizer step per parameter during backward, which frees gradients early)."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    acc = self._accumulator()
    if acc._post_acc_hooks is None:
        acc._post_acc_hooks = []
    acc._post_acc_hooks.append(hook)
    return RemovableHandle(acc._post_acc_hooks, hook)


# ---------------------------------------------------------------- out of scope, with the reason
class _OutOfScope:
    """``x.to_sparse`` & co.: raises labkit.scope's AttributeError saying why (hasattr is False)."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, owner=None):
        raise _scope.error("labkit.Tensor", "Tensor." + self.name)


for _n in _scope.TENSOR_NAMES:
    _ATTRS[_n] = _OutOfScope(_n)


def _install():
    for name, value in _ATTRS.items():
        if name not in Tensor.__dict__:            # never replace what the core defines
            setattr(Tensor, name, value)


_install()
