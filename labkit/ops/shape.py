"""Shape ops: view/reshape, permute/transpose, squeeze/unsqueeze, expand, repeat, cat/stack,
split/chunk/unbind, flip/roll, tril/triu, narrow, clone/contiguous.

Ops that NumPy can do without copying (view, permute, expand, narrow, flip ...) return views that
share memory *and* the version counter with their input, like PyTorch.
"""
import builtins
import numbers

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor, Size, _make, _wrap_dim
from ._common import as_tensor_arg, as_view, cast, dim_arg, promote, shape_arg
from ._registry import method, register
from .. import dtypes as D
from .indexing import index_put, index_select


def _infer_shape(shape, numel, in_shape):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    if neg:
        known = 1
        for i, s in enumerate(shape):
            if i != neg[0]:
                known *= s
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    total = 1
    for s in shape:
        total *= s
    if total != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {list(in_shape)}); the new shape must have the same "
                           f"number of elements")
    return tuple(shape)


class Reshape(Function):
    raw = True
    derivative = "reshape the gradient back to the input's shape"
    node_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape, must_view):
        ctx.in_shape = x.shape
        if must_view:
            y = x.view()
            try:
                y.shape = shape
            except AttributeError:
                raise RuntimeError(
                    f"view size is not compatible with input tensor's size and stride (shape "
                    f"{list(x.shape)}, new shape {list(shape)}; the tensor is not contiguous, "
                    f"e.g. after transpose/permute). Use .reshape(...) instead, or call "
                    f".contiguous() before .view(...)") from None
            return y
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None, None


def _reshape(x, shape, must_view, node_name=None):
    shape = _infer_shape(shape, x._np.size, x._np.shape)
    fn = Reshape if node_name is None else Reshape.variant(node_name)
    r = fn.apply(x, shape, must_view)
    if np.shares_memory(r._np, x._np) if r._np.size else True:
        as_view(r, x)
    return r


@method("view")
def view(self, *args, size=None, dtype=None):
    if dtype is not None or (len(args) == 1 and size is None and
                             not isinstance(args[0], (tuple, list, numbers.Integral, Size))):
        dt = D.as_dtype(args[0] if dtype is None else dtype)   # x.view(dtype): reinterpret bits
        return as_view(_make(self._np.view(dt.np)), self)
    return _reshape(self, shape_arg(args, size), True)


@register("reshape")
def reshape(input, *args, shape=None):
    return _reshape(input, shape_arg(args, shape, "shape"), False)


@method("view_as")
def view_as(self, other):
    return view(self, other.shape)


@method("reshape_as")
def reshape_as(self, other):
    return reshape(self, other.shape)


@register("flatten")
def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    if nd == 0:
        return reshape(input, (1,))
    s, e = dim_arg(start_dim, nd), dim_arg(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    sh = input._np.shape
    return reshape(input, sh[:s] + (-1 if input._np.size else int(np.prod(sh[s:e + 1])),) + sh[e + 1:])


@register("unflatten")
def unflatten(input, dim, sizes):
    d = dim_arg(dim, input.ndim)
    sh = input._np.shape
    sizes = tuple(sizes)
    inner = _infer_shape(sizes, sh[d], (sh[d],))
    return reshape(input, sh[:d] + inner + sh[d + 1:])


class Permute(Function):
    raw = True
    derivative = "permute the gradient back with the inverse permutation"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inv = tuple(np.argsort(dims))
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.transpose(g, ctx.inv), None


@register("permute")
def permute(input, *args, dims=None):
    dims = shape_arg(args, dims, "dims")
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    dims = tuple(dim_arg(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError(f"permute(): duplicate dims are not allowed (got {list(dims)})")
    return as_view(Permute.apply(input, dims), input)


@register("transpose", "swapdims")
def transpose(input, dim0, dim1, _node="TransposeBackward0"):
    nd = input.ndim
    if nd == 0:
        return input
    d0, d1 = dim_arg(dim0, nd), dim_arg(dim1, nd)
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return as_view(Permute.variant(_node).apply(input, tuple(dims)), input)


@register("t")
def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D; "
                           f"use .transpose(-2, -1) or .mT for batches of matrices")
    return transpose(input, 0, 1, _node="TBackward0") if input.ndim == 2 else input


Tensor.T = property(lambda self: permute(self, tuple(range(self.ndim - 1, -1, -1))))


def _mT(self):
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {self.ndim}-D tensor.")
    return transpose(self, -2, -1)


Tensor.mT = property(_mT)


@register("movedim", "moveaxis")
def movedim(input, source, destination):
    nd = input.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [dim_arg(s, nd) for s in src]
    dst = [dim_arg(d, nd) for d in dst]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


@register("squeeze")
def squeeze(input, dim=None):
    sh = input._np.shape
    if dim is None:
        new = tuple(s for s in sh if s != 1)
    else:
        dims = {dim_arg(d, input.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        new = tuple(s for i, s in enumerate(sh) if not (i in dims and s == 1))
    return _reshape(input, new, False, "SqueezeBackward0" if dim is None else "SqueezeBackward1")


@register("unsqueeze")
def unsqueeze(input, dim):
    nd = input.ndim + 1
    d = _wrap_dim(dim, nd)
    sh = input._np.shape
    return _reshape(input, sh[:d] + (1,) + sh[d:], False, "UnsqueezeBackward0")


class Expand(Function):
    raw = True
    derivative = "sum the gradient over the broadcast (expanded) dimensions"

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None               # the engine sums g back to the input's shape


@method("expand")
def expand(self, *args, size=None, implicit=False):  # implicit=: PyTorch's tracer's, no effect
    sizes = list(shape_arg(args, size))
    sh = self._np.shape
    if len(sizes) < len(sh):
        raise RuntimeError(f"expand(labkit.FloatTensor{{{list(sh)}}}, size={sizes}): the number of "
                           f"sizes provided ({len(sizes)}) must be greater or equal to the number "
                           f"of dimensions in the tensor ({len(sh)})")
    off = len(sizes) - len(sh)
    for i in range(len(sizes)):
        if sizes[i] == -1:
            if i < off:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            sizes[i] = sh[i - off]
        elif i >= off and sh[i - off] != 1 and sh[i - off] != sizes[i]:
            raise RuntimeError(f"The expanded size of the tensor ({sizes[i]}) must match the "
                               f"existing size ({sh[i - off]}) at non-singleton dimension {i}. "
                               f"Target sizes: {sizes}.  Tensor sizes: {list(sh)}")
    return as_view(Expand.apply(self, tuple(sizes)), self)


@method("expand_as")
def expand_as(self, other):
    return expand(self, other.shape)


@register("broadcast_to")
def broadcast_to(input, size):
    return expand(input, size)


class Repeat(Function):
    raw = True
    derivative = "sum the gradient over the repeated copies"

    @staticmethod
    def forward(ctx, x, reps):
        xs = x.reshape((1,) * (len(reps) - x.ndim) + x.shape)
        ctx.xshape = xs.shape
        ctx.reps = reps
        return np.tile(xs, reps)

    @staticmethod
    def backward(ctx, g):
        inter = []
        for r, s in zip(ctx.reps, ctx.xshape):
            inter += [r, s]
        gs = ctx.xp.sum(g.reshape(inter), axis=tuple(range(0, len(inter), 2)))
        return gs, None


@method("repeat")
def repeat(self, *args, repeats=None):
    reps = shape_arg(args, repeats, "repeats")
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    return Repeat.apply(self, reps)


@register("tile")
def tile(input, dims):
    dims = tuple(dims)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


@register("repeat_interleave")
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:                          # repeat_interleave(r): r[i] copies of i
        repeats, input = input, _make(np.arange(input.shape[0] if input.ndim else 1))
    x = input
    if dim is None:
        x, dim = flatten(x), 0
    d = dim_arg(dim, x.ndim)
    r = repeats._np if isinstance(repeats, Tensor) else repeats
    idx = np.repeat(np.arange(x.shape[d]), r)
    if output_size not in (None, len(idx)):      # the hint is checked, as PyTorch does
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {len(idx)} but got "
                           f"{output_size}")
    return index_select(x, d, _make(idx.astype(np.int64)))


class Cat(Function):
    raw = True
    derivative = "split the gradient back into the concatenated pieces"

    @staticmethod
    def forward(ctx, dim, *xs):
        # PyTorch (legacy) lets 1-D empty tensors join any cat: they are skipped, but still get
        # an (empty) gradient
        nd = builtins.max(x.ndim for x in xs)
        ctx.skip = [x.ndim == 1 and x.shape[0] == 0 and nd != 1 for x in xs]
        ctx.sizes = [0 if s else x.shape[dim] for x, s in zip(xs, ctx.skip)]
        ctx.dim = dim
        return np.concatenate([x for x, s in zip(xs, ctx.skip) if not s], axis=dim)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        parts = xp.split(g, np.cumsum(ctx.sizes)[:-1], axis=ctx.dim)
        return (None, *[xp.zeros((0,), dtype=g.dtype) if s else p for p, s in zip(parts, ctx.skip)])


def _same_dtype(tensors):
    tensors = [as_tensor_arg(t) for t in tensors]
    dt = tensors[0]
    for t in tensors[1:]:
        _, _, d = promote(dt, t)
        dt = _make(np.empty((1,), d.np))
    return [cast(t, dt.dtype) for t in tensors]


@register("cat", "concat", "concatenate")
def cat(tensors, dim=0):
    """Join tensors along an existing dim (sizes must match in every other dim)."""
    tensors = [as_tensor_arg(t) for t in tensors]
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    real = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    nd = real[0].ndim
    if nd == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = dim_arg(dim, nd)
    for i, t in enumerate(tensors):
        if t.ndim == 1 and t.shape[0] == 0:
            continue
        if t.ndim != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and {t.ndim}")
        for k in range(nd):
            if k != d and t.shape[k] != real[0].shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                                   f"size {real[0].shape[k]} but got size {t.shape[k]} for "
                                   f"tensor number {i} in the list.")
    return Cat.apply(d, *_same_dtype(tensors))


class Stack(Function):
    raw = True
    derivative = "unstack the gradient back into the stacked pieces"

    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim, ctx.n = dim, len(xs)
        return np.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None, *[ctx.xp.take(g, i, axis=ctx.dim) for i in range(ctx.n)])


@register("stack")
def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at entry {i}")
    d = _wrap_dim(dim, tensors[0].ndim + 1)
    return Stack.apply(d, *_same_dtype(tensors))


@register("hstack")
def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@register("vstack")
def vstack(tensors):
    return cat([t if t.ndim > 1 else t.unsqueeze(0) for t in tensors], 0)


@register("narrow")
def narrow(input, dim, start, length):
    d = dim_arg(dim, input.ndim)
    n = input.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    idx = (slice(None),) * d + (slice(start, start + length),)
    return input[idx]


@register("select")
def select(input, dim, index):
    d = dim_arg(dim, input.ndim)
    return input[(slice(None),) * d + (int(index),)]


@register("split", method=False)
def split(tensor, split_size_or_sections, dim=0):
    d = dim_arg(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        s = int(split_size_or_sections)
        if s <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [builtins.min(s, n - i) for i in range(0, n, s)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got split_sizes={sizes}")
    return _split(tensor, d, sizes, False,
                  isinstance(split_size_or_sections, numbers.Integral))


@method("split")
def split_method(self, split_size, dim=0):
    """``x.split(2)``: the method's parameter is ``split_size`` (the function's is
    ``split_size_or_sections``), as in PyTorch."""
    return split(self, split_size, dim)


class Split(Function):
    """split/chunk/unbind: one node with one output per piece.

    One node (not one indexing node per piece) keeps backward linear: it concatenates the
    pieces' gradients once, instead of each piece scattering into a zero array the size of the
    whole input (quadratic in the number of pieces, e.g. an LSTM unbinding 32 time steps).
    """
    raw = True
    derivative = "concatenate the pieces' gradients back (zeros for unused pieces)"
    node_name = "SplitWithSizesBackward0"

    @staticmethod
    def forward(ctx, x, dim, sizes, squeeze):
        ctx.set_materialize_grads(False)
        ctx.shape, ctx.dtype, ctx.dim, ctx.sizes, ctx.squeeze = x.shape, x.dtype, dim, sizes, squeeze
        # the input's axes from the largest stride to the smallest (its layout in memory)
        ctx.layout = None if x.flags.c_contiguous else sorted(range(x.ndim),
                                                               key=lambda i: -abs(x.strides[i]))
        outs, start = [], 0
        for n in sizes:
            key = start if squeeze else slice(start, start + n)
            outs.append(x[(slice(None),) * dim + (key,)])
            start += n
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        d, parts, xp = ctx.dim, [], ctx.xp
        for g, n in zip(grads, ctx.sizes):
            if g is None:                            # this piece was not used
                shape = list(ctx.shape)
                if ctx.squeeze:
                    del shape[d]
                else:
                    shape[d] = n
                g = xp.zeros(shape, dtype=ctx.dtype)
            parts.append(g)
        full = xp.stack(parts, axis=d) if ctx.squeeze else xp.concatenate(parts, axis=d)
        return full, None, None, None

    @staticmethod
    def fused_backward(ctx, *grads):
        """The same rule on arrays, laid out in memory as the input was (attention's q, k, v
        views of one product: their gradient then goes back through permute/reshape uncopied)."""
        perm = ctx.layout or range(len(ctx.shape))
        buf = np.empty([ctx.shape[i] for i in perm], ctx.dtype).transpose(np.argsort(perm))
        d, start = ctx.dim, 0
        for g, n in zip(grads, ctx.sizes):
            key = (slice(None),) * d + (start if ctx.squeeze else slice(start, start + n),)
            buf[key] = 0 if g is None else g
            start += n
        return buf, None, None, None


class Unbind(Split):
    raw = True
    node_name = "UnbindBackward0"


def _split(tensor, dim, sizes, squeeze, equal=False):
    fn = Unbind if squeeze else Split.variant("SplitBackward0") if equal else Split
    outs = fn.apply(tensor, dim, tuple(sizes), squeeze)
    for o in outs:
        as_view(o, tensor)
    return outs


@register("chunk")
def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0")
    n = input.shape[dim_arg(dim, input.ndim)]
    size = -(-n // chunks) if n else 0
    if size == 0:
        return tuple(split(input, 1 if n == 0 else n, dim))
    return split(input, size, dim)


@register("unbind")
def unbind(input, dim=0):
    d = dim_arg(dim, input.ndim)
    if input.shape[d] == 0:
        return ()
    return _split(input, d, [1] * input.shape[d], True)


class Flip(Function):
    raw = True
    derivative = "flip the gradient back"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        # A copy, as in PyTorch: NumPy's flip is a negative-stride view, and writing into it
        # would silently change the input (bypassing its version counter).
        return np.flip(x, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.flip(g, ctx.dims), None


@register("flip")
def flip(input, dims):
    dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    dims = tuple(dim_arg(d, input.ndim) for d in dims)
    return Flip.apply(input, dims)


@register("fliplr")
def fliplr(input):
    return flip(input, (1,))


@register("flipud")
def flipud(input):
    return flip(input, (0,))


class Roll(Function):
    raw = True
    derivative = "roll the gradient back"

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return ctx.xp.roll(g, neg, ctx.dims), None, None


@register("roll")
def roll(input, shifts, dims=None):
    if dims is None:
        return reshape(Roll.apply(flatten(input), shifts, 0), input.shape)
    if isinstance(shifts, (tuple, list)):
        shifts, dims = tuple(shifts), tuple(dim_arg(d, input.ndim) for d in dims)
    else:
        dims = dim_arg(dims, input.ndim)
    return Roll.apply(input, shifts, dims)


class Tri(Function):
    raw = True
    derivative = "the zeroed triangle gets no gradient"

    @staticmethod
    def forward(ctx, x, k, lower):
        ctx.k, ctx.lower = k, lower
        return np.tril(x, k) if lower else np.triu(x, k)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        return (xp.tril(g, ctx.k) if ctx.lower else xp.triu(g, ctx.k)), None, None


@register("tril")
def tril(input, diagonal=0):
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tri.variant("TrilBackward0").apply(input, diagonal, True)


@register("triu")
def triu(input, diagonal=0):
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tri.variant("TriuBackward0").apply(input, diagonal, False)


class Clone(Function):
    raw = True
    derivative = "the gradient passes through unchanged"

    @staticmethod
    def forward(ctx, x):
        return np.array(x, copy=True, order="C")

    @staticmethod
    def backward(ctx, g):
        return g


@register("clone")
def clone(input, *, memory_format=None):
    return Clone.apply(input)


@method("contiguous")
def contiguous(self, memory_format=None):
    if self._np.flags.c_contiguous:
        return self
    return Clone.apply(self)


def _diagonal_view(a, offset, d1, d2):
    """The (writable) strided view of ``a``'s diagonal: PyTorch's ``diagonal`` is a view, and
    NumPy's is read-only."""
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    n = builtins.max(0, builtins.min(a.shape[d1] - r0, a.shape[d2] - c0))
    start = a[tuple(slice(r0 if n else 0, None) if i == d1 else slice(c0 if n else 0, None)
                    if i == d2 else slice(None) for i in range(a.ndim))]
    keep = [i for i in range(a.ndim) if i not in (d1, d2)]
    shape = tuple(a.shape[i] for i in keep) + (n,)
    strides = tuple(a.strides[i] for i in keep) + (a.strides[d1] + a.strides[d2],)
    return np.lib.stride_tricks.as_strided(start, shape, strides)


class Diagonal(Function):
    raw = True
    derivative = "write the gradient onto the same diagonal of a zero tensor of the input's shape"
    node_name = "DiagonalBackward0"

    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.shape, ctx.dims = x.shape, (offset, d1, d2)
        return _diagonal_view(x, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        out = ctx.xp.zeros(ctx.shape, dtype=g.dtype)
        diag = out.diagonal(*ctx.dims) if isinstance(out, Tensor) else \
            _diagonal_view(out, *ctx.dims)
        diag[...] = g
        return out, None, None, None


@register("diagonal")
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the matrices on dims ``dim1``/``dim2``, as a view (writes show in
    ``input``), appended as the last dim."""
    d1, d2 = dim_arg(dim1, input.ndim), dim_arg(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return as_view(Diagonal.apply(input, int(offset), d1, d2), input)


@register("diag")
def diag(input, diagonal=0):
    if input.ndim == 1:
        n = input.shape[0] + builtins.abs(diagonal)
        from ..creation import zeros
        out = zeros(n, n, dtype=input.dtype)
        rows = np.arange(input.shape[0]) + builtins.max(0, -diagonal)
        cols = np.arange(input.shape[0]) + builtins.max(0, diagonal)
        return index_put(out, (_make(rows), _make(cols)), input)
    return globals()["diagonal"](input, diagonal)


@register("trace")
def trace(input):
    return globals()["diagonal"](input).sum()


@register("ravel")
def ravel(input):
    return reshape(input, (-1,))


@register("broadcast_shapes", method=False)
def broadcast_shapes(*shapes):
    """The shape that all ``shapes`` broadcast to (RuntimeError naming the sizes otherwise)."""
    shapes = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape "
                           f"(shapes {[list(s) for s in shapes]}); sizes must be equal or 1, "
                           f"compared from the last dim") from None


@register("broadcast_tensors", method=False)
def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


@register("diff")
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """``x[1:] - x[:-1]`` along ``dim``, ``n`` times."""
    x = input
    d = dim_arg(dim, x.ndim)
    if n == 0:                                   # torch ignores prepend/append then
        return x
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, x, append) if t is not None], d)
    for _ in range(n):
        k = x.shape[d]
        if k == 0:
            break
        hi, lo = narrow(x, d, 1, builtins.max(k - 1, 0)), narrow(x, d, 0, builtins.max(k - 1, 0))
        x = (hi != lo) if x._np.dtype.kind == "b" else hi - lo      # bools: logical xor
    return x


def _atleast(tensors, fix):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):   # atleast_1d([a, b])
        return tuple(fix(as_tensor_arg(t)) for t in tensors[0])
    r = tuple(fix(as_tensor_arg(t)) for t in tensors)
    return r[0] if len(r) == 1 else r


@register("atleast_1d", method=False)
def atleast_1d(*tensors):
    return _atleast(tensors, lambda t: t.reshape(1) if t.ndim == 0 else t)


@register("atleast_2d", method=False)
def atleast_2d(*tensors):
    return _atleast(tensors, lambda t: t.reshape(1, -1) if t.ndim < 2 else t)


@register("atleast_3d", method=False)
def atleast_3d(*tensors):
    """0-d -> (1, 1, 1); (n) -> (1, n, 1); (m, n) -> (m, n, 1)."""
    return _atleast(tensors, lambda t: t.reshape(1, 1, 1) if t.ndim == 0 else
                    t.reshape(1, -1, 1) if t.ndim == 1 else t.unsqueeze(-1) if t.ndim == 2 else t)


@register("column_stack", method=False)
def column_stack(tensors):
    return cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors], 1)


@register("dstack", method=False)
def dstack(tensors):
    ts = []
    for t in tensors:
        if t.ndim <= 1:
            t = t.reshape(1, -1, 1)
        elif t.ndim == 2:
            t = t.unsqueeze(-1)
        ts.append(t)
    return cat(ts, 2)


@register("rot90")
def rot90(input, k=1, dims=(0, 1)):
    d0, d1 = dim_arg(dims[0], input.ndim), dim_arg(dims[1], input.ndim)
    k %= 4
    if k == 0:
        return input.clone()
    if k == 2:
        return flip(input, (d0, d1))
    if k == 1:
        return transpose(flip(input, (d1,)), d0, d1)
    return flip(transpose(input, d0, d1), (d1,))
