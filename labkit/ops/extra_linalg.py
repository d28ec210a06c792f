"""Products and the older ``torch`` spellings of linear algebra (``cholesky``, ``lu``,
``inverse`` ...), as composites of ``labkit.linalg`` and existing ops; see ``extra``."""
import builtins
import inspect
import itertools
from collections import namedtuple

import numpy as np

from .. import dtypes as D
from .. import linalg as LA
from ..tensor import _make
from . import shape as _shape
from ._common import dim_arg as _dim, promote
from ._registry import register
from .extra import _E
from .extra_shape import meshgrid as _meshgrid
from .linalg import no_out_dtype, tensordot


# ---------------------------------------------------------------------------------- products

@register("inner")
def inner(input, other):
    """Sum over the last dims: ``inner(a, b)[i..., j...] = sum_k a[i..., k] * b[j..., k]``;
    a 0-d operand multiplies."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, dims=([input.ndim - 1], [other.ndim - 1]))


# ---------------------------------------------------------------------- linalg as methods
def _la(name, alias):
    """``torch.det(input)``, ``x.det()`` ...: labkit.linalg's function under PyTorch's older name
    (the first parameter is ``input`` there)."""
    target = inspect.unwrap(getattr(LA, name))

    def fn(input, *args, **kwargs):
        return target(input, *args, **kwargs)
    sig = inspect.signature(target)
    ps = list(sig.parameters.values())
    fn.__signature__ = sig.replace(parameters=[ps[0].replace(name="input")] + ps[1:])
    fn.__name__ = fn.__qualname__ = alias
    return fn


def cholesky(input, upper=False):
    """``torch.cholesky`` (``upper`` positional); ``labkit.linalg.cholesky`` is the modern one."""
    return LA.cholesky(input, upper=upper)


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: ``linalg.pinv`` with singular values below ``rcond * largest`` cut."""
    return LA.pinv(input, rtol=rcond)


register("cholesky")(cholesky)          # torch's older spelling (upper positional), out= too
register("pinverse", function=False)(pinverse)
for _n, _target in (("logdet", "logdet"), ("det", "det"), ("slogdet", "slogdet"),
                    ("inverse", "inv")):
    register(_n)(_la(_target, _n))


# ---------------------------------------------------------------------------------- products
def _addlike(input, product, beta, alpha):
    """``beta * input + alpha * product`` where beta = 0 ignores input (even NaN), as PyTorch."""
    if not product.dtype.is_floating_point:      # integer tensors take integer factors
        beta, alpha = int(beta), int(alpha)
    p = product if alpha == 1 else product * alpha
    if beta == 0:
        return p.expand(np.broadcast_shapes(tuple(input.shape), tuple(p.shape))) + 0 * p \
            if tuple(p.shape) != tuple(np.broadcast_shapes(tuple(input.shape), tuple(p.shape))) \
            else p
    return (input if beta == 1 else input * beta) + p


@register("addmv")
def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _addlike(input, mat @ vec, beta, alpha)


@register("addr")
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1 and vec2, but got {vec1.ndim}-D and "
                           f"{vec2.ndim}-D")
    if input._np.dtype.kind == "b":              # booleans: or / and
        outer = vec1.reshape(-1, 1).logical_and(vec2.reshape(1, -1))
        out = outer if alpha else outer & False
        return (out | input) if beta else out.expand(out.shape)
    return _addlike(input, vec1.reshape(-1, 1) * vec2.reshape(1, -1), beta, alpha)


@register("baddbmm")
def baddbmm(input, batch1, batch2, out_dtype=None, *, beta=1, alpha=1):
    no_out_dtype("baddbmm", out_dtype)
    return _addlike(input, batch1.bmm(batch2), beta, alpha)


@register("addbmm")
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _addlike(input, batch1.bmm(batch2).sum(0), beta, alpha)


@register("vdot")
def vdot(input, other):
    return input.dot(other)


@register("kron")
def kron(input, other):
    """The Kronecker product: block ``(i, j)`` of the result is ``input[i, j] * other``."""
    nd = builtins.max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    sa = [s for d in a.shape for s in (d, 1)]
    sb = [s for d in b.shape for s in (1, d)]
    out = a.reshape(sa) * b.reshape(sb)
    return out.reshape(tuple(x * y for x, y in zip(a.shape, b.shape)))


@register("block_diag", method=False)
def block_diag(*tensors):
    """Matrices on the diagonal of one block matrix (0-d and 1-d inputs count as rows)."""
    S = _shape
    if not tensors:
        return _make(np.zeros((1, 0), D.get_default_dtype().np))
    ts = []
    for t in tensors:
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input has {t.ndim} dimensions")
        ts.append(t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t)
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = promote(_make(np.zeros(1, dt.np)), t)[2]
    width = builtins.sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        r, c = t.shape
        parts = [_make(np.zeros((r, left), dt.np)), t.to(dt),
                 _make(np.zeros((r, width - left - c), dt.np))]
        rows.append(S.cat(parts, 1))
        left += c
    return S.cat(rows, 0)


@register("cartesian_prod", method=False)
def cartesian_prod(*tensors):
    S = _shape
    if len(tensors) == 1:
        return tensors[0]
    grids = _meshgrid(*tensors, indexing="ij")
    return S.stack([g.reshape(-1) for g in grids], 1)


@register("combinations", method=False)
def combinations(input, r=2, with_replacement=False):
    import itertools
    S = _shape
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r == 0:
        return _make(np.zeros((0,), input._np.dtype))
    fn = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(fn(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    if idx.shape[0] == 0:
        return input.reshape(-1)[:0].reshape(0, r) if r > 1 else input[:0]
    cols = [input.index_select(0, _make(idx[:, k].copy())) for k in range(r)]
    return S.stack(cols, 1)


@register("diag_embed")
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """The last dim of ``input`` on the ``offset`` diagonal of new (dim1, dim2) matrices."""
    if input._np.dtype.kind == "b":
        return diag_embed(input.to(D.int64), offset, dim1, dim2).to(D.bool)
    k = input.shape[-1]
    n = k + builtins.abs(offset)
    e = np.zeros((k, n, n), input._np.dtype)
    i = np.arange(k)
    e[i, i + builtins.max(-offset, 0), i + builtins.max(offset, 0)] = 1
    out = (input.unsqueeze(-1).unsqueeze(-1) * _make(e)).sum(-3)
    nd = input.ndim + 1
    d1, d2 = _dim(dim1, nd), _dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return out.movedim((nd - 2, nd - 1), (d1, d2))


@register("diagflat")
def diagflat(input, offset=0):
    return diag_embed(input.reshape(-1), offset)


@register("dist")
def dist(input, other, p=2):
    return (input - other).norm(p)


@register("renorm")
def renorm(input, p, dim, maxnorm):
    """Rescale each slice along ``dim`` whose p-norm exceeds ``maxnorm`` to norm ``maxnorm``."""
    d = _dim(dim, input.ndim)
    others = tuple(i for i in range(input.ndim) if i != d)
    norms = input.norm(p, dim=others, keepdim=True) if others else input.abs() if p != 0 else \
        (input != 0).to(input.dtype)
    scale = _E().where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * scale


register("matrix_power")(_la("matrix_power", "matrix_power"))
register("matrix_exp")(_la("matrix_exp", "matrix_exp"))


@register("cholesky_inverse")
def cholesky_inverse(input, upper=False):
    """``inv(L L^T)`` (``inv(U^T U)`` when upper) from a Cholesky factor."""
    A = input.mT @ input if upper else input @ input.mT
    return LA.inv(A)


@register("cholesky_solve")
def cholesky_solve(input, input2, upper=False):
    """``X`` with ``(L L^T) X = B``: ``input`` is B, ``input2`` the Cholesky factor L (``U`` when
    upper); PyTorch's binding names them so (its docs say B and L)."""
    L = input2
    A = L.mT @ L if upper else L @ L.mT
    return LA.solve(A, input)


@register("triangular_solve")
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):
    """``(X, A)`` with ``A X = b`` (``A^T X = b`` when transpose), reading A's triangle."""
    from collections import namedtuple
    T = A.mT if transpose else A
    X = LA.solve_triangular(T, input, upper=upper != transpose, unitriangular=unitriangular)
    return namedtuple("triangular_solve", ["solution", "cloned_coefficient"])(X, A.clone())


@register("lu_unpack", method=False)
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    return LA._lu_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots)


@register("lu_solve")
def lu_solve(input, LU_data, LU_pivots):
    """``torch.lu_solve(b, LU, pivots)``: the older argument order of ``linalg.lu_solve``."""
    return LA.lu_solve(LU_data, LU_pivots, input)


@register("lu")
def lu(input, pivot=True, get_infos=False):
    LU, piv = LA.lu_factor(input, pivot=pivot)
    return (LU, piv, LA._info(input)) if get_infos else (LU, piv)
