"""More shape ops (splits, copies, unfold, ``.H``, slicing, padding, gradient), as
composites of existing ops; see ``extra``."""
import builtins
import inspect

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor, _make
from . import shape as _shape
from ._common import as_view, dim_arg as _dim, shape_arg
from ._registry import register


# ------------------------------------------------------------------------------------ shape
def _sizes_from_indices(n, indices):
    bounds = [builtins.min(builtins.max(int(i) if i >= 0 else int(i) + n, 0), n) for i in indices]
    out, prev = [], 0
    for b in bounds:
        out.append(builtins.max(b - prev, 0))
        prev = builtins.max(prev, b)
    out.append(n - prev)
    return out, [0] + bounds


def _one_of(name, **given):
    """The one of PyTorch's overload names the caller used (``sections=``, ``indices=`` ...)."""
    used = [v for v in given.values() if v is not None]
    if len(used) != 1:
        raise TypeError(f"{name}() takes one of {', '.join(given)}, got {len(used)}")
    return used[0]


@register("tensor_split")
def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None):
    """Split into ``n`` nearly equal parts (the first ``len % n`` one longer), or at indices."""
    indices_or_sections = _one_of("tensor_split", indices_or_sections=indices_or_sections,
                                  sections=sections, indices=indices,
                                  tensor_indices_or_sections=tensor_indices_or_sections)
    S = _shape
    d = _dim(dim, input.ndim)
    n = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios._np.dtype.kind not in "iu" or ios.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have integer "
                               "dtype and be 0-D or 1-D")
        ios = int(ios.item()) if ios.ndim == 0 else [int(v) for v in ios._np]
    if isinstance(ios, (int, np.integer)):
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        starts, lens = [], []
        start = 0
        for i in range(k):
            ln = q + (1 if i < r else 0)
            starts.append(start)
            lens.append(ln)
            start += ln
    else:
        idx = [int(i) for i in ios]
        lens, starts = _sizes_from_indices(n, idx)
        starts = [builtins.min(builtins.max(s if s >= 0 else s + n, 0), n) for s in starts]
        starts = [builtins.max(starts[:i + 1]) for i in range(len(starts))]
    return tuple(S.narrow(input, d, s, ln) for s, ln in zip(starts, lens))


def _split_dir(name, input, ios, dim, need):
    if input.ndim < need:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {need} dimension, but "
                           f"got a tensor with {input.ndim} dimensions!")
    if isinstance(ios, int) and input.shape[dim] % ios:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size "
                           f"of the dimension {input.shape[dim]} is not divisible by the split_size "
                           f"{ios}!")
    return tensor_split(input, ios, dim)


@register("hsplit")
def hsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    ios = _one_of("hsplit", indices_or_sections=indices_or_sections, sections=sections,
                  indices=indices)
    return _split_dir("hsplit", input, ios, 0 if input.ndim == 1 else 1, 1)


@register("vsplit")
def vsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    ios = _one_of("vsplit", indices_or_sections=indices_or_sections, sections=sections,
                  indices=indices)
    return _split_dir("vsplit", input, ios, 0, 2)


@register("dsplit")
def dsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    ios = _one_of("dsplit", indices_or_sections=indices_or_sections, sections=sections,
                  indices=indices)
    return _split_dir("dsplit", input, ios, 2, 3)


@register("split_with_sizes", "unsafe_split_with_sizes")
def split_with_sizes(input, split_sizes, dim=0):
    return _shape.split(input, list(split_sizes), dim)


@register("unsafe_split")
def unsafe_split(input, split_size, dim=0):
    return _shape.split(input, split_size, dim)


@register("swapaxes")
def swapaxes(input, axis0, axis1):
    """``transpose`` under NumPy's name (and parameter names)."""
    return _shape.transpose(input, axis0, axis1)


@register("meshgrid", method=False)
def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors; 'xy' swaps the first two axes (None: 'ij', warned)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        import warnings
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument (indexing='ij', the default, or 'xy')", stacklevel=3)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got '{indexing}'")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid expects all tensors to have 0 or 1 dimensions, got "
                               f"shape {list(t.shape)}")
    ts = [t.reshape(-1) for t in tensors]
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    n = len(ts)
    shape = tuple(t.shape[0] for t in ts)
    grids = [_shape.expand(t.reshape((1,) * i + (-1,) + (1,) * (n - i - 1)), shape)
             for i, t in enumerate(ts)]
    if indexing == "xy" and n >= 2:            # 'ij' grids of (y, x, ...), handed back as (x, y, ...)
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@register("unsafe_chunk")
def unsafe_chunk(input, chunks, dim=0):
    return _shape.chunk(input, chunks, dim)


def _copy_variant(name, view):
    def fn(input, *args, **kwargs):
        out = view(input, *args, **kwargs)
        if isinstance(out, (tuple, list)):
            return tuple(o.clone() for o in out)
        return out.clone()
    fn.__name__ = name
    fn.__doc__ = f"``{name[:-5]}`` as a new tensor (not a view)."
    src = getattr(Tensor, name[:-5], None) if name != "alias_copy" else (lambda input: input)
    if src is not None:                 # the view's parameters (the signature test reads them)
        sig = inspect.signature(src)
        ps = list(sig.parameters.values())
        fn.__signature__ = sig.replace(parameters=[ps[0].replace(name="input")] + ps[1:])
    register(name)(fn)
    return fn


@register("sum_to_size")
def sum_to_size(input, *args, size=None):
    """Sum the broadcast dims away so that the result has ``size`` (the reverse of expand)."""
    shape = tuple(shape_arg(args, size))
    lead = input.ndim - len(shape)
    if lead < 0 or any(s not in (1, input.shape[lead + i]) for i, s in enumerate(shape)):
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(input.shape)}")
    if not shape:                                # to a scalar: the sum of everything
        return input.sum()
    x = input.sum(tuple(range(lead))) if lead else input
    dims = tuple(i for i, s in enumerate(shape) if s == 1 and x.shape[i] != 1)
    return x.sum(dims, keepdim=True) if dims else x


def _unfold(input, dimension, size, step):
    """Every window of ``size`` along ``dimension`` (moved to a new last dim), ``step`` apart."""
    x = input.reshape(1) if input.ndim == 0 else input
    d = _dim(dimension, x.ndim)
    n = x.shape[d]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    starts = np.arange(0, n - size + 1, step)
    idx = (starts[:, None] + np.arange(size)[None, :]).reshape(-1)
    out = x.index_select(d, _make(idx.astype(np.int64)))
    shape = list(x.shape)
    shape[d:d + 1] = [len(starts), size]
    out = out.reshape(shape).movedim(d + 1, -1)
    return out.reshape(-1) if input.ndim == 0 else out


register("unfold", function=False)(_unfold)


for _name in ("expand", "diagonal", "narrow", "permute", "squeeze", "t", "transpose", "unbind",
              "unsqueeze", "view", "split_with_sizes", "unfold", "alias"):
    _copy_variant(_name + "_copy",
                  (lambda n: lambda input, *a, **k: getattr(input, n)(*a, **k)
                   if n != "alias" else input)(_name))


Tensor.H = property(lambda self: self.t() if self.ndim == 2 else self._H_error())
Tensor.mH = property(lambda self: self.mT)


def _H_error(self):
    raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D "
                       f"tensor.")


Tensor._H_error = _H_error


@register("slice", method=False)
def slice_(input, dim=0, start=None, end=None, step=1):
    d = _dim(dim, input.ndim)
    return input[(slice(None),) * d + (slice(start, end, step),)]


# ------------------------------------------------------------------------- constant padding
class ConstantPad(Function):
    raw = True
    derivative = "crop the gradient back to the unpadded region"
    node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        # pads: per dim (before, after), may be negative (cropping)
        grow = [(max(a, 0), max(b, 0)) for a, b in pads]
        y = np.pad(x, grow, constant_values=value)
        crop = tuple(slice(-min(a, 0), y.shape[i] + min(b, 0)) for i, (a, b) in enumerate(pads))
        ctx.pads = pads
        return np.ascontiguousarray(y[crop])

    @staticmethod
    def backward(ctx, g):
        pads = ctx.pads
        xp = ctx.xp
        neg = [(max(-a, 0), max(-b, 0)) for a, b in pads]
        gg = xp.pad(g, neg)
        sl = tuple(slice(max(a, 0), gg.shape[i] - max(b, 0)) for i, (a, b) in enumerate(pads))
        return xp.ascontiguousarray(gg[sl]), None, None


def pad_pairs(input, pad):
    """PyTorch's flat ``pad = (left, right, top, bottom, ...)`` (from the last dim) as one
    ``(before, after)`` pair per dim of ``input``."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pads = [(0, 0)] * input.ndim
    for k in range(len(pad) // 2):
        pads[input.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return pads


@register("constant_pad_nd", method=False)
def constant_pad_nd(input, pad, value=0):
    """Pad the last dims with ``value`` (negative pads crop); ``F.pad``'s constant mode."""
    return ConstantPad.apply(input, pad_pairs(input, pad), 0.0 if value is None else value)


@register("gradient", method=False)
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Central differences inside, one-sided (first or second order) at the edges, along each
    of ``dim``; ``spacing``: a step, one step per dim, or the coordinates along each dim."""
    S = _shape
    dims = list(range(input.ndim)) if dim is None else (
        [_dim(dim, input.ndim)] if isinstance(dim, int) else [_dim(d, input.ndim) for d in dim])
    if spacing is None:
        spacing = 1
    if isinstance(spacing, (list, tuple)):
        sp = list(spacing)
    else:
        sp = [spacing] * len(dims)
    if len(sp) != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or a "
                           f"list of length {len(dims)}, but got a list of length {len(sp)}")
    out = []
    for d, h in zip(dims, sp):
        n = input.shape[d]
        if n < edge_order + 1:
            raise RuntimeError(f"torch.gradient expected each dimension size to be at least "
                               f"edge_order+1")
        nar = lambda s, ln: S.narrow(input, d, s, ln)          # noqa: E731
        if isinstance(h, Tensor) and h.ndim == 1:              # coordinates
            x = h.to(input.dtype) if input.dtype.is_floating_point else h
            shape = [1] * input.ndim
            shape[d] = -1
            dx = (x[1:] - x[:-1])
            h1, h2 = dx[:-1].reshape(shape), dx[1:].reshape(shape)
            a = -h2 / (h1 * (h1 + h2))
            b = (h2 - h1) / (h1 * h2)
            c = h1 / (h2 * (h1 + h2))
            inner = a * nar(0, n - 2) + b * nar(1, n - 2) + c * nar(2, n - 2)
            d0 = dx[0].reshape([1] * input.ndim)
            d1 = dx[-1].reshape([1] * input.ndim)
            if edge_order == 1:
                first = (nar(1, 1) - nar(0, 1)) / d0
                last = (nar(n - 1, 1) - nar(n - 2, 1)) / d1
            else:
                e0, e1 = dx[0], dx[1]
                first = (-(2 * e0 + e1) / (e0 * (e0 + e1)) * nar(0, 1)
                         + (e0 + e1) / (e0 * e1) * nar(1, 1) - e0 / (e1 * (e0 + e1)) * nar(2, 1))
                f0, f1 = dx[-1], dx[-2]
                last = (f0 / (f1 * (f1 + f0)) * nar(n - 3, 1) - (f1 + f0) / (f1 * f0)
                        * nar(n - 2, 1) + (2 * f0 + f1) / (f0 * (f1 + f0)) * nar(n - 1, 1))
        else:
            hv = float(h.item()) if isinstance(h, Tensor) else float(h)
            inner = (nar(2, n - 2) - nar(0, n - 2)) / (2 * hv)
            if edge_order == 1:
                first = (nar(1, 1) - nar(0, 1)) / hv
                last = (nar(n - 1, 1) - nar(n - 2, 1)) / hv
            else:
                first = (-1.5 * nar(0, 1) + 2 * nar(1, 1) - 0.5 * nar(2, 1)) / hv
                last = (0.5 * nar(n - 3, 1) - 2 * nar(n - 2, 1) + 1.5 * nar(n - 1, 1)) / hv
        out.append(S.cat([first, inner, last], d))
    return tuple(out)


# ------------------------------------------------------------------------------ as_strided
def _positions(offset, size, stride):
    """The flat storage position of every element of a (size, stride, offset) view."""
    idx = np.full(tuple(size), int(offset), dtype=np.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        idx += (np.arange(n, dtype=np.int64) * int(s)).reshape((-1,) + (1,) * (len(size) - d - 1))
    return idx


def _storage(input):
    """``input``'s storage as a flat array and where its elements sit in it: the memory of the
    tensor it is a view of (as in PyTorch), or its own contiguous copy."""
    root = input._base if input._base is not None else input
    base, x = root._np, input._np
    if base.flags.c_contiguous and base.size:
        item = x.itemsize
        start = (x.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
        if 0 <= start < base.size:
            return base.reshape(-1), _positions(start, x.shape, [s // item for s in x.strides])
    flat = np.ascontiguousarray(x).reshape(-1)
    return flat, np.arange(flat.size, dtype=np.int64).reshape(x.shape)


class AsStrided(Function):
    raw = True
    derivative = ("the gradient added into a zero storage where the view reads it, then read "
                  "back where the input sits in that storage")
    node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, x, storage, x_pos, idx, size, stride, offset):
        ctx.n, ctx.x_pos, ctx.idx = storage.size, x_pos, idx
        item = storage.itemsize
        return np.lib.stride_tricks.as_strided(storage[offset:], tuple(size),
                                               tuple(int(s) * item for s in stride))

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        gs = xp.zeros((ctx.n,), dtype=g.dtype)
        xp.add.at(gs, ctx.idx.reshape(-1), xp.reshape(g, (-1,)))
        gx = xp.reshape(xp.take(gs, ctx.x_pos.reshape(-1), 0), ctx.x_pos.shape)
        return gx, None, None, None, None, None, None


def _strided_args(name, input, size, stride, storage_offset, n_storage, default_offset):
    size, stride = [int(s) for s in size], [int(s) for s in stride]
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {name} got size {size} and "
                           f"stride {stride}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"{name}: Negative strides are not supported at the moment, got "
                           f"strides: {stride}")
    offset = default_offset if storage_offset is None else int(storage_offset)
    idx = _positions(offset, size, stride)
    need = int(idx.max()) + 1 if idx.size else 0
    if need > n_storage:
        raise RuntimeError(f"setStorage: sizes {size}, strides {stride}, storage offset {offset}, "
                           f"and itemsize {input._np.itemsize} requiring a storage size of "
                           f"{need * input._np.itemsize} are out of bounds for storage of size "
                           f"{n_storage * input._np.itemsize}")
    return size, stride, offset, idx


@register("as_strided")
def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given sizes and strides (in elements), starting at
    ``storage_offset`` (the input's own offset by default); elements may overlap."""
    storage, x_pos = _storage(input)
    own = int(x_pos.reshape(-1)[0]) if x_pos.size else 0
    size, stride, offset, idx = _strided_args("as_strided", input, size, stride, storage_offset,
                                              storage.size, own)
    return as_view(AsStrided.apply(input, storage, x_pos, idx, size, stride, offset), input)


@register("as_strided_copy")
def as_strided_copy(input, size, stride, storage_offset=None):
    """``as_strided`` as a new tensor (no memory shared)."""
    return as_strided(input, size, stride, storage_offset).clone()


@register("as_strided_scatter")
def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """A copy of ``input`` with ``src`` written where ``input.as_strided(size, stride,
    storage_offset)`` would read (in the copy's contiguous storage)."""
    flat = input.reshape(-1)
    size, stride, offset, idx = _strided_args("as_strided_scatter", input, size, stride,
                                              storage_offset, flat.shape[0], 0)
    if tuple(src.shape) != tuple(size):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {size}")
    out = flat.index_put((_make(idx.reshape(-1)),), src.reshape(-1).to(input.dtype))
    return out.reshape(tuple(input.shape))


@register("as_strided_", method=False)
def as_strided_(input, size, stride, storage_offset=None):
    """``torch.as_strided_``: ``input.as_strided_(size, stride, storage_offset)``, in place."""
    return input.as_strided_(size, stride, storage_offset)
