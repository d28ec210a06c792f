"""``nn.Parameter``: a Tensor that a Module registers as a learnable weight.

A Parameter shares the data of the tensor it is built from (no copy), requires grad by default and
prints as ``Parameter containing: tensor(...)``.  Ops on a Parameter return plain Tensors.
"""
import numpy as np

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter"]


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


UninitializedParameter = None   # lazy modules are not supported
