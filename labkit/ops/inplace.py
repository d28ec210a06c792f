"""In-place ops (``add_``, ``mul_``, ``zero_``, ``x[i] = v`` ...) and PyTorch's rules for them.

Without autograd (``no_grad`` or nothing requires grad) they write straight into the array.  With
autograd they compute the out-of-place result from a copy of the old value, write it into the
tensor's storage and move the tensor onto the new graph node (PyTorch's "rebase history"), and
bump the version counter so a tensor saved for backward that changed is reported.
"""
import numpy as np

from ..autograd.grad_mode import _state
from ..tensor import Tensor, _make
from ._common import as_tensor_arg
from ._registry import method


def _check_leaf(self):
    if self._rg and self.grad_fn is None and _state.enabled:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation. Wrap the update in `with labkit.no_grad():` (as optimizers "
                           "do), or use an out-of-place op.")
    base = self._base
    if base is not None and _state.enabled and base._rg:
        if base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation. Use `with labkit.no_grad():` or clone() first.")
        raise NotImplementedError("in-place operations on a view of a tensor that is part of the "
                                  "autograd graph are not supported by labkit yet; write the "
                                  "out-of-place form (e.g. x = x.clone(); x[...] = ...) instead.")


def assign_result(self, compute):
    """Run ``compute(old_value_tensor)`` and make its result the new content/graph of ``self``."""
    _check_leaf(self)
    src = _make(self._np.copy(), self._rg, self.grad_fn, self._out_nr)
    res = compute(src)
    if res._np.dtype != self._np.dtype:
        if res._np.dtype.kind == "f" and self._np.dtype.kind != "f":
            raise RuntimeError(f"result type {res.dtype.name} can't be cast to the desired output "
                               f"type {self.dtype.name}")
    if res._np.shape != self._np.shape:
        raise RuntimeError(f"output with shape {list(self._np.shape)} doesn't match the broadcast "
                           f"shape {list(res._np.shape)}")
    np.copyto(self._np, res._np, casting="unsafe")
    self._vc[0] += 1
    if res._rg and _state.enabled:
        self.grad_fn = res.grad_fn
        self._out_nr = res._out_nr
        self._rg = True
    return self


def _fast_ok(self, other):
    """Write straight into the array: no graph to record and no broadcasting of ``self``."""
    return not (_state.enabled and (self._rg or (isinstance(other, Tensor) and other._rg)))


def _inplace_binary(name, ufunc, fn):
    def op(self, other, *args, **kwargs):
        if _fast_ok(self, other) and not args and not kwargs:
            o = other._np if isinstance(other, Tensor) else other
            if isinstance(other, Tensor) and other._np.dtype.kind == "f" and self._np.dtype.kind != "f":
                raise RuntimeError(f"result type {other.dtype.name} can't be cast to the desired "
                                   f"output type {self.dtype.name}")
            if isinstance(o, float) and self._np.dtype.kind != "f":
                raise RuntimeError(f"result type Float can't be cast to the desired output type "
                                   f"{self.dtype.name}")
            try:
                ufunc(self._np, o, out=self._np, casting="same_kind")
            except ValueError:
                raise RuntimeError(f"output with shape {list(self._np.shape)} doesn't match the "
                                   f"broadcast shape "
                                   f"{list(np.broadcast_shapes(self._np.shape, np.shape(o)))}") from None
            self._vc[0] += 1
            return self
        return assign_result(self, lambda src: fn(src, other, *args, **kwargs))
    op.__name__ = name
    method(name)(op)
    return op


def _inplace_unary(name, fn):
    def op(self, *args, **kwargs):
        return assign_result(self, lambda src: fn(src, *args, **kwargs))
    op.__name__ = name
    method(name)(op)
    return op


def _install():
    from . import elementwise as E

    add_ = _inplace_binary("add_", np.add, lambda s, o, alpha=1: E.add(s, o, alpha=alpha))
    _inplace_binary("sub_", np.subtract, lambda s, o, alpha=1: E.sub(s, o, alpha=alpha))
    _inplace_binary("mul_", np.multiply, E.mul)
    _inplace_binary("div_", np.true_divide, E.div)
    _inplace_binary("pow_", np.power, E.pow)
    method("__iadd__")(add_)
    method("__isub__")(Tensor.sub_)
    method("__imul__")(Tensor.mul_)
    method("__itruediv__")(Tensor.div_)
    for n in ("exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "abs", "neg", "sin", "cos",
              "floor", "ceil", "round", "trunc", "sign", "log1p", "expm1", "reciprocal", "square",
              "clamp", "clip", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv",
              "masked_fill", "fill_diagonal", "tril", "triu", "index_put", "scatter",
              "scatter_add", "index_add", "maximum", "minimum", "remainder", "floor_divide",
              "t", "transpose", "squeeze", "unsqueeze"):
        fn = getattr(Tensor, n, None)
        if fn is not None and not hasattr(Tensor, n + "_"):
            _inplace_unary(n + "_", fn)


@method("zero_")
def zero_(self):
    _check_leaf(self)
    self._np[...] = 0
    self._vc[0] += 1
    if self.grad_fn is not None and _state.enabled:
        self.grad_fn = None
        self._rg = False
    return self


@method("fill_")
def fill_(self, value):
    if isinstance(value, Tensor):
        if value._rg and _state.enabled:
            return assign_result(self, lambda src: src * 0 + value)
        value = value.item()
    _check_leaf(self)
    if isinstance(value, float) and self._np.dtype.kind not in "f":
        value = self._np.dtype.type(value)
    self._np[...] = value
    self._vc[0] += 1
    if self.grad_fn is not None and _state.enabled:
        self.grad_fn = None
        self._rg = False
    return self


@method("copy_")
def copy_(self, src, non_blocking=False):
    s = as_tensor_arg(src)
    if _fast_ok(self, s):
        try:
            np.copyto(self._np, s._np if isinstance(s, Tensor) else s, casting="unsafe")
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({list(self._np.shape)}) must match the size "
                               f"of tensor b ({list(np.shape(s._np))}) for copy_ (b must "
                               f"broadcast to a)") from None
        self._vc[0] += 1
        return self
    from ._common import cast
    from .shape import expand
    return assign_result(self, lambda old: expand(cast(s, self.dtype), self.shape) + old * 0)


@method("set_")
def set_(self, source):
    self._np = source._np
    return self
