"""In-place ops (``add_``, ``mul_``, ``zero_``, ``x[i] = v`` ...) and PyTorch's rules for them.

Without autograd (``no_grad`` or nothing requires grad) they write straight into the array.  With
autograd they compute the out-of-place result from a copy of the old value, write it into the
tensor's storage and move the tensor onto the new graph node (PyTorch's "rebase history"), and
bump the version counter so a tensor saved for backward that changed is reported.
"""
import inspect

import numpy as np

from ..autograd.fpstate import quiet
from ..autograd.grad_mode import _state
from ..autograd.function import Function
from ..tensor import Tensor, _make
from ._common import as_tensor_arg, cast
from ._registry import method


def _check_leaf(self):
    """PyTorch's refusal to modify (a view of) a leaf that requires grad while grad is on."""
    if not _state.enabled:
        return
    if self._rg and self.grad_fn is None and self._base is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation. Wrap the update in `with labkit.no_grad():` (as optimizers "
                           "do), or use an out-of-place op.")
    base = self._base
    if base is not None and base._rg and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation. Use `with labkit.no_grad():`, or clone() the leaf "
                           "first (y = x.clone(); y[...] = ...).")


# ---------------------------------------------------------------- in-place ops on views
def _view_positions(base_arr, view_arr):
    """For every element of ``view_arr`` (a NumPy view into ``base_arr``'s memory), its flat
    C-order position in ``base_arr``.

    Works for any strided view (slices, steps, transposes, negative strides, reshapes): number
    the base's elements 0..n-1 in a scratch buffer laid out exactly like the base's memory, then
    read that buffer through the view's strides.
    """
    item = base_arr.itemsize
    lo_b, hi_b = _byte_bounds(base_arr)
    lo_v, hi_v = _byte_bounds(view_arr)
    if lo_v < lo_b or hi_v > hi_b:
        raise RuntimeError("in-place operation on a view whose memory is not inside its base")
    span = (hi_b - lo_b) // item
    itype = np.int64 if item == 8 else (np.int32 if item == 4 else None)
    if itype is None:
        raise NotImplementedError(f"in-place ops on views of {base_arr.dtype} tensors that need "
                                  f"gradients are not supported")
    buf = np.zeros(span + 1, dtype=itype)
    as_strided = np.lib.stride_tricks.as_strided
    start_b = (base_arr.__array_interface__["data"][0] - lo_b) // item
    as_strided(buf[start_b:], base_arr.shape, base_arr.strides)[...] = \
        np.arange(base_arr.size, dtype=itype).reshape(base_arr.shape)
    start_v = (view_arr.__array_interface__["data"][0] - lo_b) // item
    return np.array(as_strided(buf[start_v:], view_arr.shape, view_arr.strides), dtype=np.int64)


_byte_bounds = getattr(getattr(np.lib, "array_utils", None), "byte_bounds", None) or \
    getattr(np, "byte_bounds", None)      # NumPy 2 moved it


class CopySlices(Function):
    """The base of a view after an in-place op on the view (PyTorch's ``CopySlices``).

    Inputs: the base's previous value and the view's new value.  The view's region of the
    base's gradient goes to the new value; the rest goes to the base's previous value.
    """
    raw = True
    derivative = ("the view's region of the gradient goes to the written value, the rest to the "
                  "base")
    node_name = "CopySlices"

    @staticmethod
    def forward(ctx, base_now, new_view_value, positions):
        ctx.positions, ctx.view_shape = positions, np.shape(new_view_value)
        return base_now                    # the storage already holds the result

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        flat = xp.reshape(xp.copy(g), (-1,))
        g_view = flat[ctx.positions].reshape(ctx.view_shape)
        flat[ctx.positions] = 0
        return flat.reshape(g.shape), g_view, None


class AsStrided(Function):
    """A view re-derived from its base after the base's graph changed (``AsStridedBackward0``)."""
    raw = True
    derivative = "scatter-add the view's gradient back onto its base's elements"
    node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, base, view_arr, positions):
        ctx.base_shape, ctx.positions = base.shape, positions
        return view_arr

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        out = xp.zeros(int(np.prod(ctx.base_shape)), dtype=g.dtype)
        xp.add.at(out, ctx.positions.reshape(-1), xp.reshape(g, (-1,)))
        return out.reshape(ctx.base_shape), None, None


def _rebase_view(view, res):
    """``view`` (a view of ``view._base``) now holds ``res``: re-wire base and view in the graph."""
    base = view._base
    pos = _view_positions(base._np, view._np)
    old_base = _make(base._np, base._rg, base.grad_fn, base._out_nr)
    new_base = CopySlices.apply(old_base, res, pos)
    base.grad_fn, base._out_nr, base._rg = new_base.grad_fn, 0, True
    new_view = AsStrided.apply(base, view._np, pos)
    view.grad_fn, view._out_nr, view._rg = new_view.grad_fn, 0, True


def assign_result(self, compute):
    """Run ``compute(old_value_tensor)`` and make its result the new content/graph of ``self``.

    ``self`` keeps its storage (views of it see the change) and moves onto the result's graph
    node, as PyTorch does; when ``self`` is a view, its base is re-wired through ``CopySlices``.
    """
    _check_leaf(self)
    src = _make(self._np.copy(), self._rg, self.grad_fn, self._out_nr)
    res = compute(src)
    if res._np.dtype != self._np.dtype:
        if (res._np.dtype.kind == "f" and self._np.dtype.kind != "f") or \
                (res._np.dtype.kind in "iu" and self._np.dtype.kind == "b"):
            raise RuntimeError(f"result type {res.dtype.name} can't be cast to the desired output "
                               f"type {self.dtype.name}")
    if res._np.shape != self._np.shape:
        raise RuntimeError(f"output with shape {list(self._np.shape)} doesn't match the broadcast "
                           f"shape {list(res._np.shape)}")
    with quiet():
        np.copyto(self._np, res._np, casting="unsafe")
    self._vc[0] += 1
    if res._rg and _state.enabled:
        if self._base is not None:
            _rebase_view(self, res)
        else:
            self.grad_fn = res.grad_fn
            self._out_nr = res._out_nr
            self._rg = True
    return self


def _fast_ok(self, other):
    """Write straight into the array: no graph to record (nothing involved needs gradients)."""
    if not _state.enabled:
        return True
    if self._rg or (isinstance(other, Tensor) and other._rg):
        return False
    base = self._base
    return base is None or not base._rg


def _needs_graph(self):
    return _state.enabled and (self._rg or (self._base is not None and self._base._rg))


def _signature_of(op, fn):
    """``x.add_`` shows (and checks, through ``fn``) the parameters of ``x.add``."""
    try:
        op.__signature__ = inspect.signature(fn)
    except (TypeError, ValueError):
        pass


def _inplace_binary(name, ufunc, fn):
    def op(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and _fast_ok(self, args[0]):
            other = args[0]
            o = other._np if isinstance(other, Tensor) else other
            if isinstance(other, Tensor) and other._np.dtype.kind == "f" and self._np.dtype.kind != "f":
                raise RuntimeError(f"result type {other.dtype.name} can't be cast to the desired "
                                   f"output type {self.dtype.name}")
            if isinstance(o, float) and self._np.dtype.kind != "f":
                raise RuntimeError(f"result type Float can't be cast to the desired output type "
                                   f"{self.dtype.name}")
            try:
                with quiet():
                    ufunc(self._np, o, out=self._np, casting="same_kind")
            except TypeError:            # NumPy's casting error (int_tensor.div_(2))
                raise RuntimeError(f"result type Float can't be cast to the desired output type "
                                   f"{self.dtype.name}") from None
            except ValueError:
                raise RuntimeError(f"output with shape {list(self._np.shape)} doesn't match the "
                                   f"broadcast shape "
                                   f"{list(np.broadcast_shapes(self._np.shape, np.shape(o)))}") from None
            self._vc[0] += 1
            return self
        return assign_result(self, lambda src: fn(src, *args, **kwargs))
    op.__name__ = name
    _signature_of(op, fn)
    method(name)(op)
    return op


def _inplace_unary(name, fn):
    def op(self, *args, **kwargs):
        return assign_result(self, lambda src: fn(src, *args, **kwargs))
    op.__name__ = name
    _signature_of(op, fn)
    method(name)(op)
    return op


def _install():
    add_ = _inplace_binary("add_", np.add, Tensor.add)
    _inplace_binary("sub_", np.subtract, Tensor.sub)
    _inplace_binary("mul_", np.multiply, Tensor.mul)
    _inplace_binary("div_", np.true_divide, Tensor.div)
    _inplace_binary("pow_", np.power, Tensor.pow)
    method("__iadd__")(add_)
    method("__isub__")(Tensor.sub_)
    method("__imul__")(Tensor.mul_)
    method("__itruediv__")(Tensor.div_)
    for n in ("exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "abs", "neg", "sin", "cos",
              "floor", "ceil", "round", "trunc", "sign", "log1p", "expm1", "reciprocal", "square",
              "clamp", "clip", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv",
              "masked_fill", "fill_diagonal", "tril", "triu", "index_put", "scatter",
              "scatter_add", "index_add", "maximum", "minimum", "remainder", "floor_divide"):
        fn = getattr(Tensor, n, None)
        if fn is not None and not hasattr(Tensor, n + "_"):
            _inplace_unary(n + "_", fn)
    # more of PyTorch's in-place methods (the OpInfo conformance suite checks each)
    for n in ("acos", "asin", "atan", "atan2", "arctan2", "cosh", "sinh", "tan", "acosh", "asinh",
              "atanh", "arccos", "arcsin", "arctan", "arccosh", "arcsinh", "arctanh", "erf",
              "erfc", "erfinv", "exp2", "log10", "log2", "logit", "frac", "sgn", "fmod",
              "true_divide", "cumsum", "cumprod", "eq", "ne", "ge", "gt", "le", "lt",
              "greater", "greater_equal", "less", "less_equal", "not_equal", "logical_and",
              "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
              "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
              "nan_to_num", "index_fill", "index_copy", "index_reduce", "scatter_reduce",
              "addmm", "addmv", "addr", "baddbmm", "addbmm", "xlogy", "hypot", "copysign",
              "heaviside", "deg2rad", "rad2deg", "sinc", "lgamma", "digamma", "polygamma",
              "float_power", "ldexp", "lerp", "renorm", "i0", "logaddexp", "gcd", "lcm",
              "nextafter", "fmax", "fmin", "masked_scatter", "put", "diagonal_scatter",
              "positive", "multiply", "divide", "subtract", "negative", "absolute", "fix",
              "square", "clamp", "mvlgamma", "sigmoid", "silu", "igamma", "igammac"):
        fn = getattr(Tensor, n, None)
        if fn is not None and not hasattr(Tensor, n + "_"):
            _inplace_unary(n + "_", fn)
    for n in ("t", "transpose", "squeeze", "unsqueeze", "swapaxes", "swapdims", "as_strided"):
        fn = getattr(Tensor, n, None)
        if fn is not None:
            _inplace_view(n + "_", fn)


def _inplace_view(name, fn):
    """``t_``, ``transpose_``, ``squeeze_``, ``unsqueeze_``: change the tensor's shape in place."""
    def op(self, *args, **kwargs):
        _check_leaf(self)
        res = fn(self, *args, **kwargs)
        self._np = res._np
        if res._rg and _state.enabled:
            self.grad_fn, self._out_nr, self._rg = res.grad_fn, res._out_nr, True
        return self
    op.__name__ = name
    _signature_of(op, fn)
    method(name)(op)
    return op


@method("zero_")
def zero_(self):
    """Fill with zeros (in the graph: the old value gets no gradient)."""
    if _needs_graph(self):
        return assign_result(self, lambda src: src * 0)
    _check_leaf(self)
    self._np[...] = 0
    self._vc[0] += 1
    return self


@method("fill_")
def fill_(self, value):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        if value._rg and _state.enabled:
            return assign_result(self, lambda src: src * 0 + value)
        value = value.item()
    if _needs_graph(self):
        return assign_result(self, lambda src: src * 0 + value)
    _check_leaf(self)
    if isinstance(value, float) and self._np.dtype.kind not in "f":
        value = self._np.dtype.type(value)
    self._np[...] = value
    self._vc[0] += 1
    return self


@method("copy_")
def copy_(self, other, non_blocking=False):     # non_blocking: no effect on a CPU-only engine
    s = as_tensor_arg(other)                     # (PyTorch's binding names it other; docs: src)
    if _fast_ok(self, s):
        try:
            np.copyto(self._np, s._np if isinstance(s, Tensor) else s, casting="unsafe")
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({list(self._np.shape)}) must match the size "
                               f"of tensor b ({list(np.shape(s._np))}) for copy_ (b must "
                               f"broadcast to a)") from None
        self._vc[0] += 1
        return self
    return assign_result(self, lambda old: cast(s, self.dtype).expand(self.shape) + old * 0)


@method("set_")
def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Share ``source``'s data (``set_()``: become empty)."""
    if storage_offset != 0 or size is not None or stride is not None:
        raise NotImplementedError("set_(source, storage_offset, size, stride): labkit has no "
                                  "storages to view with other strides; set_(source) shares a "
                                  "tensor's data, source.as_strided(size, stride) views it")
    self._set_storage(source._np if source is not None else np.empty((0,), self._np.dtype))
    return self
