"""Indexing: ``x[...]`` and ``x[...] = v``, gather/scatter, index_select, masked_fill, nonzero,
one_hot.  Indices are checked before NumPy sees them so errors name the dim, size and index.
"""
import numbers

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor, _make
from ._common import as_tensor_arg, as_view, cast, dim_arg
from ._registry import method, register
from .inplace import assign_result
from ..autograd.grad_mode import _state


def _sequence_as_tuple(idx):
    """PyTorch (like NumPy before 1.23) reads a list index that holds a slice, ``None``,
    ``...``, a tensor or another sequence as a tuple: ``x[[range(n), ys]]`` is ``x[range(n), ys]``.
    """
    if isinstance(idx, tuple):
        return True
    if not isinstance(idx, list) or len(idx) >= 32:
        return False
    return any(k is None or k is Ellipsis or isinstance(k, (slice, Tensor, list, tuple, range,
                                                            np.ndarray)) for k in idx)


def _index_array(k):
    """A list / range / NumPy array used as an index, as a NumPy array (tensors inside lists too)."""
    if isinstance(k, range):
        return np.arange(k.start, k.stop, k.step, dtype=np.int64)
    if isinstance(k, (list, tuple)) and any(isinstance(v, (Tensor, range, list, tuple)) for v in k):
        k = [_index_array(v) if isinstance(v, (range, list, tuple)) else
             (v._np if isinstance(v, Tensor) else v) for v in k]
    return np.asarray(k)


def _convert_index(idx, shape):
    """Turn a PyTorch-style index into a NumPy one; returns (np_index, is_basic).

    Accepted as in PyTorch: ints (also NumPy ints and 0-d integer tensors, which select like an
    int), slices, ``None``, ``...``, bools, and as advanced indices integer/bool tensors, NumPy
    arrays, lists and ``range`` objects.
    """
    if not _sequence_as_tuple(idx):
        idx = (idx,)
    elif isinstance(idx, list):
        import warnings
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated "
                      "(PyTorch too); use x[tuple(seq)] instead of x[seq].", UserWarning,
                      stacklevel=3)
    out = []
    basic = True
    for k in idx:
        if isinstance(k, Tensor):
            a = k._np
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors "
                                 f"(got {k.dtype}); convert with .long()")
            if a.ndim == 0 and a.dtype.kind in "iu":
                out.append(int(a))
                continue
            if a.dtype == np.uint8:                 # PyTorch's (deprecated) byte mask
                a = a.astype(bool)
            out.append(a)
            basic = False
        elif isinstance(k, (list, tuple, range, np.ndarray)):
            a = _index_array(k)
            if a.dtype == np.uint8:
                a = a.astype(bool)
            elif a.dtype.kind == "u" or (a.size == 0 and a.dtype.kind == "f"):   # x[[]]: empty
                a = a.astype(np.int64)
            if a.dtype.kind == "f":
                raise IndexError("arrays used as indices must be of integer or boolean type")
            if a.dtype.kind == "O":
                raise IndexError("index lists must hold integers (or booleans) only")
            out.append(a)
            basic = False
        elif isinstance(k, bool) or k is None or k is Ellipsis or isinstance(k, slice):
            if isinstance(k, slice) and k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(k)
            if isinstance(k, bool):
                basic = False
        elif isinstance(k, (numbers.Integral, np.integer)):
            out.append(int(k))
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"bool tensors are valid indices (got {type(k).__name__})")
    _check_bounds(out, shape)
    return tuple(out), basic


def _check_bounds(idx, shape):
    """IndexError naming dim/size for ints and integer arrays out of range (PyTorch wording)."""
    n_real = sum(1 for k in idx if k is not None and k is not Ellipsis and not
                 (isinstance(k, np.ndarray) and k.dtype == bool) and not isinstance(k, bool)) + \
        sum(k.ndim for k in idx if isinstance(k, np.ndarray) and k.dtype == bool)
    if n_real > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    dim = 0
    for pos, k in enumerate(idx):
        if k is Ellipsis:
            dim = len(shape) - sum(1 for kk in idx[pos + 1:] if kk is not None and
                                   not (isinstance(kk, np.ndarray) and kk.dtype == bool)
                                   ) - sum(kk.ndim for kk in idx[pos + 1:]
                                           if isinstance(kk, np.ndarray) and kk.dtype == bool)
            continue
        if k is None or isinstance(k, bool):
            continue
        if isinstance(k, np.ndarray) and k.dtype == bool:
            for j in range(k.ndim):
                if k.shape[j] != shape[dim + j]:
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {j} does not "
                                     f"match the shape of the indexed tensor {list(shape)} at "
                                     f"index {dim + j}")
            dim += k.ndim
            continue
        size = shape[dim]
        if isinstance(k, int):
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {size}")
        elif isinstance(k, np.ndarray) and k.size:
            lo, hi = k.min(), k.max()
            if lo < -size or hi >= size:
                bad = hi if hi >= size else lo
                raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
        dim += 1


class Index(Function):
    raw = True
    derivative = "scatter the gradient back to the indexed positions (zeros elsewhere)"

    @staticmethod
    def forward(ctx, x, idx, basic):
        ctx.shape, ctx.dtype, ctx.idx, ctx.basic = x.shape, x.dtype, idx, basic
        return x[idx]

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        out = xp.zeros(ctx.shape, dtype=g.dtype)
        if ctx.basic:
            out[ctx.idx] = g
        else:
            xp.add.at(out, ctx.idx, g)            # repeated indices accumulate
        return out, None, None


def _basic_index_fn(idx):
    """PyTorch applies a basic index step by step and names the node after the last step:
    ``x[0]`` SelectBackward0, ``x[1:3]`` SliceBackward0, ``x[None]`` UnsqueezeBackward0."""
    name = "AliasBackward0"
    for part in (idx if isinstance(idx, tuple) else (idx,)):
        if part is None:
            name = "UnsqueezeBackward0"
        elif isinstance(part, slice):
            if part != slice(None):
                name = "SliceBackward0"
        elif part is not Ellipsis:
            name = "SelectBackward0"
    return Index.variant(name)


@method("__getitem__")
def getitem(self, idx, _fn=None):
    np_idx, basic = _convert_index(idx, self._np.shape)
    if basic and not any(k is Ellipsis for k in np_idx):
        np_idx += (Ellipsis,)         # x[i, j] stays a 0-d view (NumPy would return a scalar copy)
    fn = _fn or (_basic_index_fn(idx) if basic else Index)
    r = fn.apply(self, np_idx, basic)
    if basic:
        as_view(r, self)
    elif type(r._np) is not np.ndarray:
        r._np = np.asarray(r._np)
    return r


class IndexPut(Function):
    """``out = x.clone(); out[idx] = v`` (or ``+=`` with accumulate)."""
    raw = True
    derivative = "the overwritten positions get no gradient; the written values get theirs"

    @staticmethod
    def forward(ctx, x, v, idx, accumulate):
        ctx.idx, ctx.accumulate, ctx.vshape = idx, accumulate, np.shape(v)
        out = x.copy()
        if accumulate:
            np.add.at(out, idx, v)
        else:
            out[idx] = v
        return out

    @staticmethod
    def backward(ctx, g):
        gx = g
        if not ctx.accumulate:
            gx = ctx.xp.copy(g)
            gx[ctx.idx] = 0
        gv = g[ctx.idx]
        return gx, gv, None, None


@register("index_put")
def index_put(input, indices, values, accumulate=False):
    np_idx, _ = _convert_index(tuple(indices), input._np.shape)
    v = as_tensor_arg(values)
    if isinstance(v, Tensor):
        v = cast(v, input.dtype)
    try:
        return IndexPut.apply(input, v, np_idx, accumulate)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(_arr(v)))} "
                           f"cannot be broadcast to indexing result of shape "
                           f"{list(input._np[np_idx].shape)}") from None


def _arr(v):
    return v._np if isinstance(v, Tensor) else v


@method("__setitem__")
def setitem(self, idx, value):
    np_idx, _ = _convert_index(idx, self._np.shape)
    v = as_tensor_arg(value)
    if not _needs_graph(self, v):
        try:
            self._np[np_idx] = v._np if isinstance(v, Tensor) else v
        except ValueError as e:
            raise RuntimeError(f"shape mismatch: value tensor of shape "
                               f"{list(np.shape(v._np if isinstance(v, Tensor) else v))} cannot be "
                               f"broadcast to indexing result of shape "
                               f"{list(self._np[np_idx].shape)}") from e
        self._vc[0] += 1
        return
    assign_result(self, lambda src: IndexPut.apply(
        src, cast(v, self.dtype) if isinstance(v, Tensor) else v, np_idx, False))


def _needs_graph(self, v):
    return _state.enabled and (self._rg or (isinstance(v, Tensor) and v._rg))


class Gather(Function):
    raw = True
    derivative = "scatter-add the gradient back to the gathered positions"

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, index
        return np.take_along_axis(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        out = xp.zeros(ctx.shape, dtype=g.dtype)
        idx = list(np.indices(ctx.index.shape, sparse=True))
        idx[ctx.dim] = ctx.index
        xp.add.at(out, tuple(idx), g)
        return out, None, None


def _scatter_add_np(out, dim, index, src):
    idx = list(np.indices(index.shape, sparse=True))
    idx[dim] = index
    np.add.at(out, tuple(idx), src[tuple(slice(0, s) for s in index.shape)])


def _check_index_arg(name, x, dim, index):
    if not isinstance(index, Tensor) or index._np.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index.ndim != x.ndim:
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input "
                           f"tensor (input {list(x.shape)}, index {list(index.shape)})")
    if index._np.size:
        n = x.shape[dim]
        lo, hi = index._np.min(), index._np.max()
        if lo < -n or hi >= n:
            raise RuntimeError(f"{name}(): index {hi if hi >= n else lo} is out of bounds for "
                               f"dimension {dim} with size {n}")


@register("gather")
def gather(input, dim, index, *, sparse_grad=False):
    if sparse_grad:
        raise NotImplementedError("gather(sparse_grad=True): labkit has no sparse tensors; "
                                  "leave sparse_grad=False (same values, a dense gradient)")
    d = dim_arg(dim, input.ndim)
    if isinstance(index, Tensor) and index._np.size == 0 and index._np.dtype.kind in "iu":
        return input.reshape(-1)[:0].reshape(index.shape)    # nothing gathered: any rank
    if input.ndim == 0 and isinstance(index, Tensor) and index.ndim <= 1:
        return gather(input.reshape(1), 0, index.reshape(-1)).reshape(index.shape)
    _check_index_arg("gather", input, d, index)
    for k in range(input.ndim):
        if k != d and index.shape[k] > input.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{list(index.shape)} to be smaller than self {list(input.shape)} "
                               f"apart from dimension {d}")
    idx = index._np
    if idx.shape != input._np.shape:
        sl = tuple(slice(0, s) if k != d else slice(None) for k, s in enumerate(idx.shape))
        return Gather.apply(input[sl] if any(s.stop is not None for s in sl) else input, d, idx)
    return Gather.apply(input, d, idx)


@register("take_along_dim")
def take_along_dim(input, indices, dim=None):
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = dim_arg(dim, input.ndim)
    shape = list(np.broadcast_shapes(tuple(s if k != d else 1 for k, s in enumerate(input.shape)),
                                     tuple(s if k != d else 1 for k, s in enumerate(indices.shape))))
    ishape = list(shape)
    ishape[d] = indices.shape[d]
    xshape = list(shape)
    xshape[d] = input.shape[d]
    return gather(input.expand(xshape), d, _make(np.broadcast_to(indices._np, ishape)))


class Scatter(Function):
    raw = True
    derivative = "the written positions pass the gradient to the source"

    @staticmethod
    def forward(ctx, x, src, dim, index, reduce_add):
        ctx.dim, ctx.index, ctx.add = dim, index, reduce_add
        out = x.copy()
        idx = list(np.indices(index.shape, sparse=True))
        idx[dim] = index
        idx = tuple(idx)
        ctx.idx = idx
        s = src if np.ndim(src) == 0 else src[tuple(slice(0, n) for n in index.shape)]
        if reduce_add:
            np.add.at(out, idx, s)
        else:
            out[idx] = s
        return out

    @staticmethod
    def backward(ctx, g):
        gx = g
        if not ctx.add:
            gx = ctx.xp.copy(g)
            gx[ctx.idx] = 0
        gs = g[ctx.idx]
        return gx, gs, None, None, None


def _scatter(name, input, dim, index, src, add):
    if input.ndim == 0:                          # a 0-d tensor scatters as a 1-element vector
        dim_arg(dim, 0)
        s = as_tensor_arg(src)
        s = s.reshape(1) if isinstance(s, Tensor) and s.ndim == 0 else s
        ix = index.reshape(1) if isinstance(index, Tensor) and index.ndim == 0 else index
        return _scatter(name, input.reshape(1), 0, ix, s, add).reshape(())
    d = dim_arg(dim, input.ndim)
    _check_index_arg(name, input, d, index)
    s = as_tensor_arg(src)
    if not isinstance(s, Tensor):                # a scalar value takes the input's dtype
        s = input._np.dtype.type(s)
    if isinstance(s, Tensor):
        s = cast(s, input.dtype)
        if s.ndim != index.ndim:
            raise RuntimeError(f"{name}(): src must have the same number of dims as index")
    return Scatter.apply(input, s, d, index._np, add)


@register("scatter")
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if reduce == "multiply":                     # the older spelling of scatter_reduce('prod')
        s = src if src is not None else value
        if not isinstance(s, Tensor):
            s = _make(np.full(index.shape, s, input._np.dtype))
        return scatter_reduce(input, dim, index, s, "prod")
    if reduce not in (None, "add"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    return _scatter("scatter", input, dim, index, value if src is None else src, reduce == "add")


@register("scatter_add")
def scatter_add(input, dim, index, src):
    return _scatter("scatter_add", input, dim, index, src, True)


@register("index_select")
def index_select(input, dim, index):
    d = dim_arg(dim, input.ndim)
    if not isinstance(index, Tensor):
        index = _make(np.asarray(index, dtype=np.int64))
    if input.ndim == 0:                          # 0-d: index [0] picks the value itself
        return index_select(input.reshape(1), 0, index.reshape(-1)).reshape(())
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    return getitem(input, (slice(None),) * d + (index.reshape(-1),),
                   _fn=Index.variant("IndexSelectBackward0"))


@register("index_add")
def index_add(input, dim, index, source, *, alpha=1):
    d = dim_arg(dim, input.ndim)
    if input.ndim == 0:
        src = source.reshape(1) if isinstance(source, Tensor) else source
        return index_add(input.reshape(1), 0, index.reshape(-1), src, alpha=alpha).reshape(())
    src = source if alpha == 1 else source * alpha
    return index_put(input, (slice(None),) * d + (index,), src, accumulate=True) if d == 0 else \
        index_put(input.movedim(d, 0), (index,), src.movedim(d, 0), accumulate=True).movedim(0, d)


class MaskedFill(Function):
    raw = True
    derivative = "filled positions get no gradient (the fill value gets their sum)"

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.mask = mask
        return np.where(mask, np.asarray(value, dtype=x.dtype), x)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        gv = xp.sum(xp.where(ctx.mask, g, 0.0)) if ctx.needs_input_grad[2] else None
        return xp.where(ctx.mask, 0.0, g), None, gv


@register("masked_fill")
def masked_fill(input, mask, value):
    m = as_tensor_arg(mask)
    if m._np.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{m.dtype.name}; use mask.bool()")
    try:
        np.broadcast_shapes(m._np.shape, input._np.shape)
    except ValueError:
        raise RuntimeError(f"The size of the mask {list(m.shape)} must be broadcastable to the "
                           f"tensor's size {list(input.shape)}") from None
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        if not value._rg:
            value = value.item()
    return MaskedFill.apply(input, m._np, value)


@register("masked_select")
def masked_select(input, mask):
    m = as_tensor_arg(mask)
    shape = np.broadcast_shapes(m._np.shape, input._np.shape)
    return getitem(input.expand(shape), m.expand(shape))


@register("nonzero")
def nonzero(input, *, as_tuple=False):
    a = as_tensor_arg(input)._np
    if a.ndim == 0:                  # PyTorch: (1, 0) or (0, 0) indices; as_tuple: one 1-D tensor
        n = int(bool(a))
        if as_tuple:
            return (_make(np.zeros(n, np.int64)),)
        return _make(np.zeros((n, 0), np.int64))
    nz = np.nonzero(a)
    if as_tuple:
        return tuple(_make(i.astype(np.int64)) for i in nz)
    return _make(np.stack(nz, axis=1).astype(np.int64) if nz else np.zeros((0, 0), np.int64))


@register("argwhere")
def argwhere(input):
    return nonzero(input)


@register("one_hot")
def one_hot(tensor, num_classes=-1):
    a = tensor._np
    if a.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    n = int(a.max()) + 1 if num_classes == -1 and a.size else num_classes
    if a.size and a.max() >= n:
        raise RuntimeError(f"Class values must be smaller than num_classes ({n}); got "
                           f"{int(a.max())}")
    out = np.zeros(a.shape + (n,), dtype=np.int64)
    np.put_along_axis(out, a[..., None].astype(np.int64), 1, axis=-1)
    return _make(out)


@register("take")
def take(input, index):
    """Elements of the flattened ``input`` at ``index`` (the result has index's shape)."""
    idx = index._np if isinstance(index, Tensor) else np.asarray(index)
    n = input.numel()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexError(f"take(): index {int(bad)} out of range for tensor of size "
                         f"{list(input.shape)} ({n} elements)")
    return getitem(input.reshape(-1), _make(idx.astype(np.int64)))


@register("index_fill")
def index_fill(input, dim, index, value):
    """A copy of ``input`` with the slices ``index`` along ``dim`` set to ``value``."""
    d = dim_arg(dim, input.ndim)
    idx = index if isinstance(index, Tensor) else _make(np.asarray(index, dtype=np.int64))
    mask = np.zeros(input.shape[d] if input.ndim else 1, dtype=bool)
    mask[idx._np.reshape(-1)] = True
    shape = [1] * input.ndim
    if input.ndim:
        shape[d] = -1
    return masked_fill(input, _make(mask.reshape(shape) if input.ndim else mask.reshape(())),
                       value)


# ---------------------------------------------------------------------- scatter_reduce
_REDUCE_UFUNC = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum,
                 "mean": np.add}


@register("scatter_reduce")
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` into ``input`` at ``index`` along ``dim`` with sum, prod, mean, amax or
    amin (``include_self=False``: the old values of the targets do not take part).

    The values come from NumPy's ``ufunc.at``; the gradient from an expression whose value is
    exactly those values and whose derivative is PyTorch's: sum and mean pass the gradient back
    (mean divided by the count), amax/amin share it evenly between the elements equal to the
    result; prod (with a gradient) is built from differentiable ops (``_scatter_prod_graph``)."""
    if reduce not in _REDUCE_UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if input.ndim == 0:
        s = src.reshape(1) if src.ndim == 0 else src
        ix = index.reshape(1) if index.ndim == 0 else index
        return scatter_reduce(input.reshape(1), 0, ix, s, reduce,
                              include_self=include_self).reshape(())
    d = dim_arg(dim, input.ndim)
    x, ix = input._np, index._np
    sl = tuple(slice(0, n) for n in ix.shape)
    s = src._np[sl].astype(x.dtype)
    full = list(np.indices(ix.shape, sparse=True))
    full[d] = ix
    at = tuple(full)
    hit = np.zeros(x.shape, bool)
    hit[at] = True
    count = np.zeros(x.shape, np.int64)
    np.add.at(count, at, 1)
    uf = _REDUCE_UFUNC[reduce]
    if include_self:
        out = x.copy()
    else:
        ident = _reduce_identity(reduce, x.dtype)
        out = np.where(hit, np.asarray(ident).astype(x.dtype), x)
    uf.at(out, at, s)
    if reduce == "mean":
        n = count + (1 if include_self else 0)
        n = np.maximum(n, 1)
        out = np.where(hit, out / n if x.dtype.kind == "f" else out // n, out).astype(x.dtype)
    result = _make(np.asarray(out, x.dtype))
    if not (input.requires_grad or src.requires_grad):
        return result
    if reduce == "prod":
        return _scatter_prod_graph(input, src[sl], x, at, ix.shape, include_self)
    # d(result)/d(input) and d(result)/d(src) as a zero-valued differentiable correction
    self_w = np.where(hit, 1.0 if include_self else 0.0, 1.0).astype(x.dtype)
    if reduce in ("sum", "mean"):
        w_self = self_w / (np.maximum(count + (1 if include_self else 0), 1) if reduce == "mean"
                           else 1)
        w_self = np.where(hit, w_self, 1.0).astype(x.dtype)
        w_src = 1.0 / np.maximum(count + (1 if include_self else 0), 1) if reduce == "mean" \
            else np.ones(x.shape)
        w_src = w_src[at].astype(x.dtype)
    else:                                              # amax, amin
        eq_self = (x == out) & hit & include_self
        eq_src = s == out[at]
        n_eq = eq_self.astype(np.int64)
        np.add.at(n_eq, at, eq_src.astype(np.int64))
        n_eq = np.maximum(n_eq, 1)
        w_self = np.where(hit, eq_self / n_eq, 1.0).astype(x.dtype)
        w_src = (eq_src / n_eq[at]).astype(x.dtype)
    dx = input - input.detach()
    ds = src[sl] - src[sl].detach() if src.requires_grad else None
    corr = dx * _make(w_self)
    if ds is not None:
        contrib = ds * _make(w_src)
        corr = corr + index_put(_make(np.zeros(x.shape, x.dtype)),
                           tuple(_make(np.broadcast_to(a, ix.shape).astype(np.int64))
                                 for a in at), contrib, True)
    return result + corr


def _scatter_prod_graph(input, src, x, at, shape, include_self):
    """scatter_reduce(prod) built from differentiable ops, so that every order of derivative
    is PyTorch's (the product of the others, zeros included): the sources of each target are
    gathered into a row (padded with ones), multiplied along it, and put in place."""
    tgt = np.ravel_multi_index(tuple(np.broadcast_to(a, shape) for a in at), x.shape).reshape(-1)
    order = np.argsort(tgt, kind="stable")
    targets, start, count = np.unique(tgt[order], return_index=True, return_counts=True)
    rows = np.repeat(np.arange(targets.size), count)
    cols = np.arange(order.size) - np.repeat(start, count)
    width = int(count.max()) if count.size else 0
    gather = np.zeros((targets.size, width), np.int64)
    used = np.zeros((targets.size, width), bool)
    gather[rows, cols], used[rows, cols] = order, True
    flat = input.reshape(-1)
    prods = src.reshape(-1)[_make(gather)].where(_make(used), 1.0).prod(1)
    if include_self:
        prods = prods * flat[_make(targets)]
    return index_put(flat, (_make(targets),), prods.to(input.dtype)).reshape(tuple(x.shape))


def _reduce_identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "b":
        return reduce == "amin"
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    return np.iinfo(dtype).min if reduce == "amax" else np.iinfo(dtype).max
