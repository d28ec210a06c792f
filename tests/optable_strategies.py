"""Value domains and hypothesis strategies for the op table (``tests/optable.py``)."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


# ----------------------------------------------------------------------------- value domains
def real(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


def pos(rng, shape):
    return rng.uniform(0.5, 2.5, shape)


def away0(rng, shape):
    """Values with |x| >= 0.25: keeps kinks (abs, relu, sign) out of finite differences."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.25, 2.0, shape)


def unit(rng, shape):
    return rng.uniform(-0.9, 0.9, shape)


def small(rng, shape):
    return rng.uniform(-0.8, 0.8, shape)


def boolean(rng, shape):
    return rng.random(shape) < 0.5


def ints(rng, shape):
    return rng.integers(-5, 6, shape).astype(np.int64)


def nz_ints(rng, shape):
    """Non-zero integers (divisors)."""
    return (rng.choice([-1, 1], shape) * rng.integers(1, 6, shape)).astype(np.int64)


# ----------------------------------------------------------------------------- strategies
MAX_SIDE = 4
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=MAX_SIDE)
nonempty = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE)
seeds = st.integers(0, 2 ** 32 - 1)


@st.composite
def array(draw, shape, domain=real, salt=0):
    """A float64 array of ``shape`` (a tuple or a strategy) with values from ``domain``.

    ``salt`` keeps two operands apart when hypothesis draws the same seed for both (ties would
    put max/clamp exactly on their kinks).
    """
    if not isinstance(shape, tuple):
        shape = draw(shape)
    return np.asarray(domain(np.random.default_rng([draw(seeds), salt]), shape))


def unary(domain=real, shape=shapes):
    return st.tuples(array(shape, domain))


@st.composite
def binary(draw, da=real, db=real, min_side=0):
    """Two arrays whose shapes broadcast (incl. size-0/1 dims and different ranks)."""
    sh = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                min_side=min_side, max_side=MAX_SIDE))
    a, b = sh.input_shapes
    return draw(array(a, da)), draw(array(b, db, salt=1))


@st.composite
def ternary(draw, da=real, db=real, dc=real):
    sh = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                max_side=MAX_SIDE))
    a, b, c = sh.input_shapes
    return draw(array(a, da)), draw(array(b, db, salt=1)), draw(array(c, dc, salt=2))


@st.composite
def tensor_scalar(draw, domain=real, scalars=st.floats(-2, 2).filter(lambda v: abs(v) > 0.1)):
    return draw(array(shapes, domain)), draw(scalars)


@st.composite
def with_dim(draw, domain=real, shape=nonempty, keepdim=True, multi=False, none=False):
    """(x, dim[, keepdim]): dim is a valid (possibly negative) dim, or a tuple, or None."""
    x = draw(array(shape, domain))
    nd = max(x.ndim, 1)
    choices = [st.integers(-nd, nd - 1)]
    if multi and x.ndim:
        choices.append(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim,
                                unique=True).map(tuple))
    if none:
        choices.append(st.none())
    dim = draw(st.one_of(*choices))
    return (x, dim, draw(st.booleans())) if keepdim else (x, dim)


@st.composite
def matmul_args(draw, domain=real):
    """Operands for matmul covering 1-D @ 1-D, 1-D @ n-D, n-D @ 1-D and broadcast batches."""
    k = draw(st.integers(1, 4))
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["vv", "vm", "mv", "mm", "batched", "bcast"]))
    if kind == "vv":
        return draw(array((k,), domain)), draw(array((k,), domain))
    if kind == "vm":
        return draw(array((k,), domain)), draw(array((2, k, n), domain))
    if kind == "mv":
        return draw(array((3, m, k), domain)), draw(array((k,), domain))
    if kind == "mm":
        return draw(array((m, k), domain)), draw(array((k, n), domain))
    if kind == "batched":
        return draw(array((2, m, k), domain)), draw(array((2, k, n), domain))
    return draw(array((2, 1, m, k), domain)), draw(array((3, k, n), domain))


@st.composite
def index_args(draw):
    """(x, dim, index) with an int64 index valid for gather along dim."""
    x = draw(array(nonempty))
    d = draw(st.integers(0, x.ndim - 1))
    ishape = tuple(draw(st.integers(1, s)) if i != d else draw(st.integers(1, 4))
                   for i, s in enumerate(x.shape))
    rng = np.random.default_rng(draw(seeds))
    return x, d, rng.integers(0, x.shape[d], ishape).astype(np.int64)


@st.composite
def scatter_args(draw, unique=False):
    """(x, dim, index, src); ``unique`` makes the scatter targets distinct (plain scatter)."""
    x = draw(array(nonempty))
    d = draw(st.integers(0, x.ndim - 1))
    rng = np.random.default_rng(draw(seeds))
    ishape = tuple(draw(st.integers(1, s)) for s in x.shape)
    if unique:
        idx = np.argsort(rng.random(x.shape), axis=d)
        idx = idx[tuple(slice(0, s) for s in ishape)]
    else:
        idx = rng.integers(0, x.shape[d], ishape)
    src = draw(array(ishape))
    return x, d, idx.astype(np.int64), src


@st.composite
def getitem_args(draw):
    """(x, key): basic and advanced keys PyTorch accepts (slices with steps, None, ..., ints,
    integer lists / tensors, boolean masks)."""
    x = draw(array(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)))
    rng = np.random.default_rng(draw(seeds))
    kind = draw(st.sampled_from(["int", "slice", "step", "none_ellipsis", "list", "tensor",
                                 "mask", "mixed", "neg"]))
    n0 = x.shape[0]
    if kind == "int":
        key = int(rng.integers(-n0, n0))
    elif kind == "slice":
        key = (slice(int(rng.integers(0, n0)), None),) + (slice(None, -1),) * (x.ndim > 1)
    elif kind == "step":
        key = (slice(None, None, int(rng.integers(1, 3))),) + \
            ((Ellipsis, slice(1, None, 2)) if x.ndim > 1 else ())
    elif kind == "none_ellipsis":
        key = (None, Ellipsis, 0)
    elif kind == "list":
        key = [int(i) for i in rng.integers(0, n0, 4)]          # repeats accumulate in backward
    elif kind == "tensor":
        key = (Ellipsis, rng.integers(0, x.shape[-1], (2, 3)).astype(np.int64))
    elif kind == "mask":
        key = rng.random(x.shape) < 0.5
    elif kind == "mixed":
        key = (rng.random(n0) < 0.5,) + (slice(None, None, 2),) * (x.ndim > 1)
    else:
        key = (-1, slice(None, None, 2)) if x.ndim > 1 else -1
    return x, key


def _np_getitem(x, key):
    return x[key]


@st.composite
def einsum_args(draw):
    eq, shapes_ = draw(st.sampled_from([
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),      # attention scores
        ("bhqk,bhkd->bhqd", [(2, 2, 3, 5), (2, 2, 5, 4)]),      # attention @ values
        ("ij,jk->ik", [(3, 4), (4, 2)]),
        ("i,i->", [(4,), (4,)]),
        ("i,j->ij", [(3,), (4,)]),
        ("bij->bji", [(2, 3, 4)]),
        ("ij->", [(3, 4)]),
        ("ijk,k->ij", [(2, 3, 4), (4,)]),
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ]))
    return (eq,) + tuple(draw(array(s)) for s in shapes_)


@st.composite
def shape_and(draw, extra, shape=nonempty, domain=real):
    """(x, *extra(x, draw)) for ops whose other arguments depend on x's shape."""
    x = draw(array(shape, domain))
    return (x,) + tuple(extra(x, draw))


def _dim(x, draw, allow_extra=0):
    nd = x.ndim + allow_extra if allow_extra else max(x.ndim, 1)
    return draw(st.integers(-nd, nd - 1))


def _view_shape(x, draw):
    """A shape with x's number of elements (maybe with one -1)."""
    n = x.size
    dims = []
    while n > 1:
        f = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
        dims.append(f)
        n //= f
    dims += [1] * draw(st.integers(0, 1))
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return (tuple(dims),)


def _perm(x, draw):
    return (tuple(draw(st.permutations(range(x.ndim)))),)


def _expand_target(x, draw):
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return (lead + tuple(draw(st.integers(1, 3)) if s == 1 else
                         draw(st.sampled_from([s, -1])) for s in x.shape),)


def _repeats(x, draw):
    return (tuple(draw(st.lists(st.integers(1, 3), min_size=x.ndim, max_size=x.ndim + 1))),)


def _split_args(x, draw):
    d = draw(st.integers(0, x.ndim - 1))
    n = x.shape[d]
    if draw(st.booleans()):
        return draw(st.integers(1, max(n, 1))), d
    cut = sorted(draw(st.lists(st.integers(0, n), max_size=2)))
    edges = [0] + cut + [n]
    return [b - a for a, b in zip(edges, edges[1:])], d


def _np_split(x, sizes, d):
    if isinstance(sizes, int):
        sizes = [min(sizes, x.shape[d] - i) for i in range(0, x.shape[d], sizes)]
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=d))


def _np_chunk(x, chunks, d):
    n = x.shape[d]
    size = -(-n // chunks)
    return _np_split(x, size, d)


def _narrow_args(x, draw):
    d = draw(st.integers(0, x.ndim - 1))
    n = x.shape[d]
    start = draw(st.integers(0, n))
    return d, start, draw(st.integers(0, n - start))


@st.composite
def cat_args(draw, same=False):
    base = draw(nonempty)
    d = draw(st.integers(0, len(base) - 1))
    k = draw(st.integers(1, 3))
    arrs = []
    for _ in range(k):
        s = list(base)
        if not same:
            s[d] = draw(st.integers(0, 3))
        arrs.append(draw(array(tuple(s))))
    dim = draw(st.integers(-len(base) - same, len(base) - 1 + same))
    if not same:
        dim = d if draw(st.booleans()) else d - len(base)
    return (arrs, dim)


def _roll_args(x, draw):
    if draw(st.booleans()):
        return draw(st.integers(-5, 5)), None
    d = draw(st.integers(0, x.ndim - 1))
    return draw(st.integers(-5, 5)), d


def _np_roll(x, shifts, dims):
    return np.roll(x, shifts, axis=dims)


def _ax(x, dim):
    """NumPy has no axis 0 on a 0-d array; PyTorch accepts dim 0 / -1 there."""
    return None if x.ndim == 0 else dim


def red(npfn):
    """NumPy reduction reference ``(x, dim, keepdim)`` that also accepts 0-d inputs."""
    return lambda x, d, k: npfn(x, axis=_ax(x, d), keepdims=k)


def _np_var(x, dim, keepdim, corr):
    n = x.size if dim is None else np.prod([x.shape[d] for d in np.atleast_1d(dim)])
    if n - corr <= 0:
        return np.full(np.var(x, axis=dim, keepdims=keepdim).shape, np.nan)
    return np.var(x, axis=dim, keepdims=keepdim, ddof=corr)


def _np_logsumexp(x, dim, keepdim):
    m = np.max(x, axis=dim, keepdims=True)
    r = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    return r if keepdim else np.squeeze(r, axis=dim)


def _np_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _np_maxdim(x, dim, keepdim, fn=np.max, argfn=np.argmax):
    return (fn(x, axis=dim, keepdims=keepdim),
            np.expand_dims(argfn(x, axis=dim), dim) if keepdim else argfn(x, axis=dim))


def _np_scatter(x, d, idx, src, add):
    out = x.copy()
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = idx
    if add:
        np.add.at(out, tuple(grid), src)
    else:
        out[tuple(grid)] = src
    return out


def _np_index_select(x, d, idx):
    return np.take(x, idx, axis=d)


def _np_one_hot(idx):
    return np.eye(5, dtype=np.int64)[idx]


def _setitem(M, x, v, key):
    y = x * 1                                # a non-leaf copy we may write into
    y[key] = v
    return y


def _np_setitem(x, v, key):
    y = x.copy()
    y[key] = v
    return y


def _view_inplace(M, x):
    """In-place op on a view of a non-leaf tensor (PyTorch's CopySlices)."""
    y = x * 2
    y[:, 0].mul_(3)
    y[1:].add_(y[:1])
    return y


def _np_view_inplace(x):
    y = x * 2
    y[:, 0] *= 3
    y[1:] += y[:1].copy()
    return y


@st.composite
def where_args(draw):
    sh = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=MAX_SIDE))
    c, a, b = sh.input_shapes
    return draw(array(c, boolean)), draw(array(a)), draw(array(b, salt=1))


@st.composite
def mask_args(draw):
    sh = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=MAX_SIDE))
    x_shape, m_shape = sh.input_shapes
    x_shape = sh.result_shape         # the mask must broadcast to x
    return draw(array(x_shape)), draw(array(m_shape, boolean)), draw(st.floats(-3, 3))
