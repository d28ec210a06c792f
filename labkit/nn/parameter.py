"""``nn.Parameter``: a Tensor that a Module registers as a learnable weight.

A Parameter shares the data of the tensor it is built from (no copy), requires grad by default and
prints as ``Parameter containing: tensor(...)``.  Ops on a Parameter return plain Tensors.
"""
import numpy as np

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


class Parameter(Tensor):
    """A Tensor that is a learnable parameter of a :class:`~labkit.nn.Module`.

    Assigning a Parameter as a Module attribute registers it: it then appears in
    ``module.parameters()`` and in ``module.state_dict()``.

    Args:
        data (Tensor): the tensor to wrap (its storage is shared, not copied).
        requires_grad (bool): whether the parameter requires gradient. Default: ``True``.

    Examples::

        >>> w = nn.Parameter(labkit.zeros(2, 3))
        >>> w.requires_grad
        True
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), dtype=np.float32)
            vc = [0]
        elif isinstance(data, Tensor):
            arr, vc = data._np, data._vc
        else:
            raise TypeError(f"Parameter(data) expects a Tensor, got {type(data).__name__}; wrap "
                            f"it first, e.g. nn.Parameter(labkit.tensor(data))")
        t = object.__new__(cls)
        t._np, t._rg, t.grad_fn, t._grad, t._out_nr = arr, False, None, None, 0
        t._vc, t._base, t._hooks, t._accum, t._retains_grad = vc, None, None, None, False
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __init__(self, data=None, requires_grad=True):
        pass

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self._np.copy(), self._rg))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        t = Parameter(Tensor(self._np.copy()), self._rg)
        if self._grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t


def _rebuild_parameter(arr, requires_grad):
    from ..tensor import _make
    return Parameter(_make(arr), requires_grad)


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a Module (``self.x = nn.Buffer(t)``).

    Buffers are saved in the ``state_dict`` (unless ``persistent=False``) and moved by ``.to()``,
    but they are not parameters (optimizers do not update them).  Assigning a Buffer returns it as
    a plain Tensor inside the module.
    """

    def __new__(cls, data=None, *, persistent=True):
        from ..tensor import _make
        arr = np.empty((0,), np.float32) if data is None else data._np
        t = _make(arr)
        b = object.__new__(cls)
        for k in ("_np", "_rg", "grad_fn", "_grad", "_out_nr", "_vc", "_base", "_hooks",
                  "_accum", "_retains_grad"):
            setattr(b, k, getattr(t, k))
        b.persistent = persistent
        return b

    def __init__(self, data=None, *, persistent=True):
        pass


class UninitializedTensorMixin:
    """What ``UninitializedParameter`` and ``UninitializedBuffer`` share: a tensor whose shape is
    not known yet.  It keeps its dtype and ``requires_grad``; using its values raises a
    ValueError (and ``.shape`` a RuntimeError), as in PyTorch, until :meth:`materialize` gives it
    a shape and turns it into a plain ``cls_to_become``."""
    cls_to_become = None

    @property
    def _np(self):
        raise ValueError(f"Attempted to use an uninitialized parameter or buffer "
                         f"({type(self).__name__}). This error happens when you are using a "
                         f"`LazyModule` (e.g. nn.LazyLinear) before its first forward call: run "
                         f"the module once on a batch of inputs (a dummy one is fine) so it can "
                         f"infer the shapes of its parameters.")

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. This "
                           "error usually happens in `load_state_dict` when trying to load an "
                           "uninitialized parameter into an initialized one. Call `forward` to "
                           "initialize the parameters before accessing their attributes.")

    def size(self, dim=None):
        return self.shape

    @property
    def dtype(self):
        return self.__dict__["_lazy_dtype"]

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def materialize(self, shape, device=None, dtype=None):
        """Give the tensor ``shape`` (its values uninitialised) and make it a plain
        ``cls_to_become`` (``Parameter`` / ``Tensor``) in place, so references to it stay valid."""
        from .. import dtypes as D
        from ..tensor import device as _device
        if device is not None:
            _device(device)
        dt = D.as_dtype(dtype) if dtype is not None else self.dtype
        if isinstance(shape, int):
            shape = (shape,)
        arr = np.empty(tuple(shape), dtype=dt.np)
        self.__dict__.pop("_lazy_dtype", None)
        self.__class__ = self.cls_to_become
        self._np = arr
        self._vc[0] += 1

    def _lazy_apply(self, fn):
        """``module.to(dtype)`` / ``.double()`` before the first forward: remember the dtype."""
        from .. import dtypes as D
        self.__dict__["_lazy_dtype"] = D._FROM_NP[fn(np.empty(0, self.dtype.np)).dtype]

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, proto):
        return (_rebuild_uninitialized, (type(self), self.requires_grad, str(self.dtype)))

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = _rebuild_uninitialized(type(self), self.requires_grad,
                                                    str(self.dtype))
        return memo[id(self)]


def _new_uninitialized(cls, requires_grad, dtype):
    from .. import dtypes as D
    t = object.__new__(cls)
    t._rg, t.grad_fn, t._grad, t._out_nr = False, None, None, 0
    t._vc, t._base, t._hooks, t._accum, t._retains_grad = [0], None, None, None, False
    t.__dict__["_lazy_dtype"] = D.as_dtype(dtype) if dtype is not None else \
        D.get_default_dtype()
    if requires_grad:
        t._rg = True
    return t


def _rebuild_uninitialized(cls, requires_grad, dtype):
    return cls(requires_grad=requires_grad, dtype=dtype.split(".")[-1])


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (what lazy modules such as ``nn.LazyLinear``
    hold until their first forward call infers it from the input).

    ``materialize(shape)`` turns it, in place, into a regular :class:`Parameter` (so optimizers
    built before the first forward keep working)."""
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return _new_uninitialized(cls, requires_grad, dtype)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (e.g. ``LazyBatchNorm1d``'s ``running_mean``)."""
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        t = _new_uninitialized(cls, requires_grad, dtype)
        t.persistent = persistent
        return t

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass


def is_lazy(param):
    """Whether ``param`` is an uninitialized (lazy) parameter or buffer."""
    return isinstance(param, UninitializedTensorMixin)
