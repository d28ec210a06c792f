"""More of PyTorch's op set, written as composites of existing ops (no backward to write).

Each op here is built from differentiable labkit ops, so its gradient (and, where those ops have
one, its second derivative) comes for free.  Found by the OpInfo conformance suite
(scripts/conformance.py); docs/conformance.md lists what passes.
"""
import builtins

import numpy as np

from .. import dtypes as D
from ..tensor import Tensor, _make
from ._common import as_tensor_arg
from ._registry import FUNCTIONS, register


# ---------------------------------------------------------------------------------- products

@register("inner")
def inner(input, other):
    """Sum over the last dims: ``inner(a, b)[i..., j...] = sum_k a[i..., k] * b[j..., k]``;
    a 0-d operand multiplies."""
    from .linalg import tensordot
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, dims=([input.ndim - 1], [other.ndim - 1]))


# ---------------------------------------------------------------------- linalg as methods
def _la(name):
    def fn(self, *args, **kwargs):
        from .. import linalg
        return getattr(linalg, name)(self, *args, **kwargs)
    return fn


def cholesky(input, upper=False):
    """``torch.cholesky`` (``upper`` positional); ``labkit.linalg.cholesky`` is the modern one."""
    from .. import linalg
    return linalg.cholesky(input, upper=upper)


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: ``linalg.pinv`` with singular values below ``rcond * largest`` cut."""
    from .. import linalg
    return linalg.pinv(input, rtol=rcond)


register("cholesky", function=False)(cholesky)
register("pinverse", function=False)(pinverse)
for _n, _target in (("logdet", "logdet"), ("det", "det"), ("slogdet", "slogdet"),
                    ("inverse", "inv")):
    register(_n, function=False)(_la(_target))


# ------------------------------------------------------------------------------ elementwise
class _Registered:
    """The registered ops by name (``_E().where``), whichever ops module defines them."""

    def __getattr__(self, name):
        try:
            return FUNCTIONS[name]
        except KeyError:
            raise AttributeError(name) from None


def _E():
    return _REGISTERED


_REGISTERED = _Registered()


def _f(x):
    """A float tensor (integers and bools become the default float dtype, as PyTorch does)."""
    from ._common import to_float
    return to_float(x)


_LN2 = float(np.log(2.0))


@register("acosh", "arccosh")
def acosh(input):
    x = _f(input)
    t = x - 1
    return (t + (t * (t + 2)).sqrt()).log1p()


@register("asinh", "arcsinh")
def asinh(input):
    x = _f(input)
    a = x.abs()
    return (a + a * a / (1 + (1 + a * a).sqrt())).log1p() * x.sign()


@register("atanh", "arctanh")
def atanh(input):
    x = _f(input)
    return 0.5 * (2 * x / (1 - x)).log1p()


@register("deg2rad")
def deg2rad(input):
    return _f(input) * (np.pi / 180.0)


@register("rad2deg")
def rad2deg(input):
    return _f(input) * (180.0 / np.pi)


@register("sinc")
def sinc(input):
    """``sin(pi x) / (pi x)``, 1 at 0 (with gradient 0 there)."""
    E = _E()
    x = _f(input)
    zero = x == 0
    safe = E.where(zero, 1.0, x) * np.pi
    return E.where(zero, 1.0, safe.sin() / safe)


@register("signbit")
def signbit(input):
    return _make(np.signbit(as_tensor_arg(input)._np))


@register("logaddexp2")
def logaddexp2(input, other):
    E = _E()
    return E.logaddexp(_f(input) * _LN2, _f(other) * _LN2) / _LN2


@register("hypot")
def hypot(input, other):
    return (input * input + other * other).sqrt()


@register("xlogy")
def xlogy(input, other):
    """``x * log(y)``, and 0 where x == 0 (unless y is NaN)."""
    E = _E()
    x, y = _as_operands(input, other)
    out = x * y.log()
    return E.where((x == 0) & ~y.isnan(), 0.0, out)


def _as_operands(a, b):
    """Two float tensors of the promoted dtype (a Python number becomes a 0-d tensor)."""
    from ._common import promote, cast
    a2, b2, dt = promote(a, b)
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    conv = [cast(v, dt) if isinstance(v, Tensor) else _make(np.asarray(v, dt.np)) for v in (a2, b2)]
    return conv[0], conv[1]


@register("copysign")
def copysign(input, other):
    E = _E()
    x, y = _as_operands(input, other)
    return E.where(_make(np.signbit(y._np)), -x.abs(), x.abs())


@register("heaviside")
def heaviside(input, values):
    from ._common import promote
    E = _E()
    _, _, dt = promote(input, values)
    step = (input > 0).to(dt)
    return E.where(input == 0, values.to(dt) if isinstance(values, Tensor) else values, step)


@register("isposinf")
def isposinf(input):
    return _make(np.isposinf(input._np)) if input._np.dtype.kind == "f" else \
        _make(np.zeros(input.shape, bool))


@register("isneginf")
def isneginf(input):
    return _make(np.isneginf(input._np)) if input._np.dtype.kind == "f" else \
        _make(np.zeros(input.shape, bool))


@register("isreal")
def isreal(input):
    return _make(np.ones(input.shape, bool))          # labkit has no complex numbers


@register("positive")
def positive(input):
    if input._np.dtype.kind == "b":
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return input


@register("float_power")
def float_power(input, exponent):
    """``pow`` computed in float64 (the result is always float64)."""
    a = input.to(D.float64) if isinstance(input, Tensor) else float(input)
    b = exponent.to(D.float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(a, Tensor):
        a = _make(np.asarray(a))
    return a ** b


def _float_power_(self, exponent):
    if self.dtype is not D.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype.name} but the "
                           f"operation's result requires dtype float64")
    return self.copy_(float_power(self, exponent))


register("float_power_", function=False)(_float_power_)


@register("ldexp")
def ldexp(input, other):
    """``input * 2 ** other``."""
    x, e = _as_operands(input, other)
    return x * (2.0 ** e)


@register("frexp")
def frexp(input):
    """``input = mantissa * 2 ** exponent`` with ``0.5 <= |mantissa| < 1``."""
    _, e = np.frexp(input._np)
    scale = _make(np.ldexp(np.ones((), input._np.dtype), -e).astype(input._np.dtype))
    return _frexp_result(input * scale, _make(e.astype(np.int32)))   # exact: a power of two


@register("erfc")
def erfc(input):
    return 1 - _E().erf(_f(input))


@register("angle")
def angle(input):
    """For real numbers: 0 for x >= 0, pi for x < 0, NaN for NaN; zero gradient."""
    x = _f(input)
    return _E().where(x < 0, np.pi, x.clamp(0, 0))


@register("rsub")
def rsub(input, other, alpha=1):
    """``other - alpha * input``."""
    return other - (input * alpha if alpha != 1 else input)


@register("nextafter")
def nextafter(input, other):
    """The next float after ``input`` towards ``other`` (gradient 1 to input, as PyTorch)."""
    n = _make(np.nextafter(input._np, other._np if isinstance(other, Tensor) else other))
    return input + (n - input).detach()          # exact: neighbouring floats differ exactly


@register("gcd")
def gcd(input, other):
    return _make(np.gcd(input._np, other._np))


@register("lcm")
def lcm(input, other):
    return _make(np.lcm(input._np, other._np))


@register("bitwise_left_shift")
def bitwise_left_shift(input, other):
    from ._common import promote
    a, b, dt = promote(input, other)
    av = a._np if isinstance(a, Tensor) else a
    bv = b._np if isinstance(b, Tensor) else b
    return _make(np.asarray(np.left_shift(av, bv), dt.np))


@register("bitwise_right_shift")
def bitwise_right_shift(input, other):
    from ._common import promote
    a, b, dt = promote(input, other)
    av = a._np if isinstance(a, Tensor) else a
    bv = b._np if isinstance(b, Tensor) else b
    return _make(np.asarray(np.right_shift(av, bv), dt.np))


@register("fill")
def fill(input, value):
    """A new tensor of ``input``'s shape and dtype filled with ``value`` (gradient to value)."""
    E = _E()
    v = value.to(input.dtype) if isinstance(value, Tensor) else value
    return E.where(_make(np.zeros(input.shape, bool)), input, v)


@register("zero_", method=False)
def zero_(input):
    return input.zero_()


def _frexp_result(m, e):
    from collections import namedtuple
    global _FrexpType
    if _FrexpType is None:
        _FrexpType = namedtuple("frexp", ["mantissa", "exponent"])
    return _FrexpType(m, e)


_FrexpType = None


# ------------------------------------------------------------------------------------ shape
def _S():
    from . import shape
    return shape


def _dim(d, ndim):
    from ._common import dim_arg
    return dim_arg(d, ndim)


def _sizes_from_indices(n, indices):
    bounds = [builtins.min(builtins.max(int(i) if i >= 0 else int(i) + n, 0), n) for i in indices]
    out, prev = [], 0
    for b in bounds:
        out.append(builtins.max(b - prev, 0))
        prev = builtins.max(prev, b)
    out.append(n - prev)
    return out, [0] + bounds


@register("tensor_split")
def tensor_split(input, indices_or_sections, dim=0):
    """Split into ``n`` nearly equal parts (the first ``len % n`` one longer), or at indices."""
    S = _S()
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
def hsplit(input, indices_or_sections):
    return _split_dir("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1, 1)


@register("vsplit")
def vsplit(input, indices_or_sections):
    return _split_dir("vsplit", input, indices_or_sections, 0, 2)


@register("dsplit")
def dsplit(input, indices_or_sections):
    return _split_dir("dsplit", input, indices_or_sections, 2, 3)


@register("split_with_sizes", "unsafe_split_with_sizes")
def split_with_sizes(input, split_sizes, dim=0):
    return _S().split(input, list(split_sizes), dim)


@register("unsafe_split")
def unsafe_split(input, split_size, dim=0):
    return _S().split(input, split_size, dim)


@register("unsafe_chunk")
def unsafe_chunk(input, chunks, dim=0):
    return _S().chunk(input, chunks, dim)


def _copy_variant(name, view):
    def fn(input, *args, **kwargs):
        out = view(input, *args, **kwargs)
        if isinstance(out, (tuple, list)):
            return tuple(o.clone() for o in out)
        return out.clone()
    fn.__name__ = name
    fn.__doc__ = f"``{name[:-5]}`` as a new tensor (not a view)."
    register(name)(fn)
    return fn


for _name in ("expand", "diagonal", "narrow", "permute", "squeeze", "t", "transpose", "unbind",
              "unsqueeze", "view", "split_with_sizes", "unfold", "alias"):
    _copy_variant(_name + "_copy",
                  (lambda n: lambda input, *a, **k: getattr(input, n)(*a, **k)
                   if n != "alias" else input)(_name))


@register("sum_to_size")
def sum_to_size(input, *size):
    """Sum the broadcast dims away so that the result has ``size`` (the reverse of expand)."""
    from ._common import shape_arg
    shape = tuple(shape_arg(size))
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
Tensor.H = property(lambda self: self.t() if self.ndim == 2 else self._H_error())
Tensor.mH = property(lambda self: self.mT)


def _H_error(self):
    raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D "
                       f"tensor.")


Tensor._H_error = _H_error


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
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
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
    from ._common import promote
    S = _S()
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
    S = _S()
    if len(tensors) == 1:
        return tensors[0]
    grids = S.meshgrid(*tensors, indexing="ij")
    return S.stack([g.reshape(-1) for g in grids], 1)


@register("combinations", method=False)
def combinations(input, r=2, with_replacement=False):
    import itertools
    S = _S()
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


# ------------------------------------------------------------------------ scans and orders
def _values_at(x, d, idx, keepdim):
    """(values, indices) from int64 indices ``idx`` (keepdim shape) along ``d``: gathered, so
    the values carry the gradient."""
    idx_t = _make(np.ascontiguousarray(idx).astype(np.int64))
    vals = x.gather(d, idx_t)
    if not keepdim:
        vals, idx_t = vals.squeeze(d), idx_t.squeeze(d)
    return vals, idx_t


def _result(name, fields=("values", "indices")):
    from .. import return_types as RT
    t = getattr(RT, name, None)
    if t is None:
        t = RT._make(name, list(fields))
        setattr(RT, name, t)
    return t


@register("logcumsumexp")
def logcumsumexp(input, dim):
    """``log(cumsum(exp(x)))`` along ``dim``, shifted by the max so that it cannot overflow."""
    x = _f(input)
    d = _dim(dim, x.ndim)
    if x._np.size == 0:
        return x * 1
    m = np.max(x._np, axis=d, keepdims=True) if x.ndim else x._np
    m = np.where(np.isfinite(m), m, 0)
    shift = _make(m.astype(x._np.dtype))
    return (x - shift).exp().cumsum(d).log() + shift


def _cum_extreme(input, dim, is_max):
    x = input
    d = _dim(dim, x.ndim)
    a = x._np if x.ndim else x._np.reshape(1)
    dd = d if x.ndim else 0
    a = np.moveaxis(a, dd, 0)
    idx = np.zeros(a.shape, np.int64)
    if a.shape[0]:
        cur, cur_i = a[0].copy(), np.zeros(a.shape[1:], np.int64)
        for i in range(a.shape[0]):
            v = a[i]
            with np.errstate(invalid="ignore"):
                better = (v >= cur) if is_max else (v <= cur)
            if a.dtype.kind == "f":
                better = (better & ~np.isnan(cur)) | np.isnan(v)
            cur = np.where(better, v, cur)
            cur_i = np.where(better, i, cur_i)
            idx[i] = cur_i
    idx = np.moveaxis(idx, 0, dd)
    if not x.ndim:
        idx = idx.reshape(())
        return _result("cummax" if is_max else "cummin")(x.clone(), _make(idx))
    return _result("cummax" if is_max else "cummin")(*_values_at(x, d, idx, True))


@register("cummax")
def cummax(input, dim):
    return _cum_extreme(input, dim, True)


@register("cummin")
def cummin(input, dim):
    return _cum_extreme(input, dim, False)


@register("mode")
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones)."""
    x = input
    if x.ndim == 0:
        return _result("mode")(x.clone(), _make(np.zeros((), np.int64)))
    d = _dim(dim, x.ndim)
    a = np.moveaxis(x._np, d, -1)
    flat = a.reshape(-1, a.shape[-1])
    out = np.zeros(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]                  # np.unique sorts: the smallest wins ties
        out[r] = np.flatnonzero((row == best) | (np.isnan(row) & np.isnan(best)))[-1]
    idx = np.expand_dims(out.reshape(a.shape[:-1]), d)
    return _result("mode")(*_values_at(x, d, idx, keepdim))


@register("nanmedian")
def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the non-NaN values (NaN where a row is all NaN)."""
    x = input
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise RuntimeError("nanmedian(): input tensor must not be empty")
        return nanmedian(flat, 0).values
    if x.ndim == 0:
        return _result("nanmedian")(x.clone(), _make(np.zeros((), np.int64)))
    d = _dim(dim, x.ndim)
    a = np.moveaxis(x._np, d, -1)
    if a.shape[-1] == 0:
        raise IndexError(f"nanmedian(): Expected reduction dim {d} to have non-zero size.")
    order = np.argsort(a, axis=-1, kind="stable")       # NaN sorts last
    cnt = (~np.isnan(a)).sum(-1) if a.dtype.kind == "f" else np.full(a.shape[:-1], a.shape[-1])
    k = np.where(cnt > 0, (cnt - 1) // 2, a.shape[-1] - 1 if a.shape[-1] else 0)
    idx = np.take_along_axis(order, k[..., None], -1)
    if a.dtype.kind == "f":                              # an all-NaN row: PyTorch's first NaN
        first_nan = np.argmax(np.isnan(a), axis=-1)[..., None]
        idx = np.where((cnt == 0)[..., None], first_nan, idx)
    idx = np.moveaxis(idx, -1, d)
    return _result("nanmedian")(*_values_at(x, d, idx, keepdim))


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    x = input
    if x._np.dtype.kind != "f":
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    qt = q if isinstance(q, Tensor) else _make(np.asarray(q, x._np.dtype))
    if qt.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    qv = qt._np.astype(np.float64).reshape(-1)
    if np.any((qv < 0) | (qv > 1)):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{name}() interpolation must be one of linear, lower, higher, midpoint "
                         f"or nearest. Got {interpolation}")
    if dim is None:
        xs, d = x.reshape(-1), 0
    else:
        xs, d = x, _dim(dim, x.ndim)
        if xs.ndim == 0:
            xs, d = xs.reshape(1), 0
    if xs.shape[d] == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    srt = xs.sort(d).values                              # NaN last
    a = np.moveaxis(srt._np, d, -1)
    n = a.shape[-1]
    if ignore_nan:
        cnt = (~np.isnan(a)).sum(-1, keepdims=True)
    else:
        cnt = np.full(a.shape[:-1] + (1,), n)
    has_nan = np.isnan(a).any(-1, keepdims=True)
    outs = []
    for qi, qq in enumerate(qv):
        pos = qq * (cnt - 1).astype(np.float64)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        frac = pos - lo
        if interpolation == "lower":
            hi, frac = lo, frac * 0
        elif interpolation == "higher":
            lo, frac = hi, frac * 0
        elif interpolation == "nearest":
            r = np.round(pos).astype(np.int64)            # half to even, as PyTorch
            lo = hi = r
            frac = frac * 0
        elif interpolation == "midpoint":
            frac = np.where(hi > lo, 0.5, 0.0)
        lo, hi = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
        mv = lambda t: np.moveaxis(t, -1, d)                # noqa: E731
        v_lo = srt.gather(d, _make(mv(lo)))
        v_hi = srt.gather(d, _make(mv(hi)))
        fr = _make(mv(frac).astype(x._np.dtype))
        if interpolation == "linear" and qt.requires_grad:      # the fraction depends on q
            q_el = (qt if qt.ndim == 0 else qt[qi]).to(x.dtype)
            fr = q_el * _make(mv(cnt - 1).astype(x._np.dtype)) - _make(mv(lo).astype(x._np.dtype))
        val = v_lo + (v_hi - v_lo) * fr
        bad = (cnt == 0) if ignore_nan else has_nan
        val = _E().where(_make(mv(bad)), float("nan"), val)
        outs.append(val if keepdim and dim is not None and x.ndim else val.squeeze(d))
    if keepdim and dim is None:
        outs = [o.reshape((1,) * x.ndim) for o in outs]
    if qt.ndim == 0:
        return outs[0]
    return _S().stack(outs, 0)


@register("quantile")
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


@register("nanquantile")
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


@register("cov")
def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows (variables) over the columns (observations), optionally
    weighted."""
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if x._np.dtype.kind != "f":
        x = x.to(D.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:                     # weights keep their dtype (as PyTorch's sums)
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        wsum = _make(np.asarray(float(n), x._np.dtype))
        avg = x.mean(1, keepdim=True) if n else x.sum(1, keepdim=True) * float("nan")
        norm_ = wsum - correction
    else:
        wsum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / wsum
        if correction == 0:
            norm_ = wsum
        elif aweights is None:
            norm_ = wsum - correction
        else:
            norm_ = wsum - correction * (w * aweights).sum() / wsum
    norm_ = _E().where(norm_ <= 0, 0.0, norm_)
    xc = x - avg
    xw = xc if w is None else xc * w
    c = (xw @ xc.mT) / norm_
    return c.reshape(()) if c.shape[0] == 1 else c      # one variable: a scalar, as PyTorch


@register("corrcoef")
def corrcoef(input):
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    c = c / d.reshape(-1, 1) / d.reshape(1, -1)
    return c.clamp(-1, 1)


@register("trapezoid")
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule along ``dim``: samples ``y`` at points ``x`` (or spacing ``dx``)."""
    S = _S()
    d = _dim(dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return y.sum(d) * 0
    left, right = S.narrow(y, d, 0, n - 1), S.narrow(y, d, 1, n - 1)
    if x is None:
        return (left + right).sum(d) * ((1.0 if dx is None else dx) / 2.0)
    if x.ndim == 1:
        dxs = x[1:] - x[:-1]
        shape = [1] * y.ndim
        shape[d] = dxs.shape[0]
        dxs = dxs.reshape(shape)
    else:
        xd = _dim(dim, x.ndim)
        dxs = S.narrow(x, xd, 1, n - 1) - S.narrow(x, xd, 0, n - 1)
    return ((left + right) * dxs).sum(d) / 2.0


@register("trapz")
def trapz(y, x=None, *, dx=None, dim=-1):
    if x is not None and not isinstance(x, Tensor):
        x, dx = None, x                                  # trapz(y, dx) spells the spacing
    return trapezoid(y, x, dx=dx, dim=dim)


@register("cumulative_trapezoid")
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    S = _S()
    d = _dim(dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return y * 1
    left, right = S.narrow(y, d, 0, n - 1), S.narrow(y, d, 1, n - 1)
    if x is None:
        return ((left + right) * ((1.0 if dx is None else dx) / 2.0)).cumsum(d)
    if x.ndim == 1:
        dxs = x[1:] - x[:-1]
        shape = [1] * y.ndim
        shape[d] = dxs.shape[0]
        dxs = dxs.reshape(shape)
    else:
        xd = _dim(dim, x.ndim)
        dxs = S.narrow(x, xd, 1, n - 1) - S.narrow(x, xd, 0, n - 1)
    return ((left + right) * dxs / 2.0).cumsum(d)


# ------------------------------------------------------------------- scatter-like updates
def _I():
    from . import indexing
    return indexing


def _put_flat(input, positions, values, accumulate=False):
    """``input`` with the flat ``positions`` replaced by (or, accumulating, added to) ``values``."""
    flat = input.reshape(-1)
    pos = _make(np.asarray(positions, np.int64).reshape(-1))
    vals = values.reshape(-1) if isinstance(values, Tensor) else values
    return _I().index_put(flat, (pos,), vals, accumulate).reshape(input.shape)


def _positions(shape):
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


@register("index_copy")
def index_copy(input, dim, index, source):
    """``input`` with the slices ``index`` along ``dim`` replaced by ``source``'s slices."""
    d = _dim(dim, input.ndim)
    pos = _positions(input.shape) if input.ndim else _positions((1,))
    idx = index._np.reshape(-1)
    sel = np.take(pos, idx, axis=d if input.ndim else 0)
    src = source.reshape(sel.shape) if source.ndim != len(sel.shape) else source
    return _put_flat(input, sel, src.to(input.dtype))


@register("put")
def put(input, index, source, accumulate=False):
    n = input._np.size
    idx = index._np.reshape(-1)
    idx = np.where(idx < 0, idx + n, idx)
    return _put_flat(input, idx, source.to(input.dtype), accumulate)


@register("masked_scatter")
def masked_scatter(input, mask, source):
    """Where ``mask`` is True, ``source``'s elements in order; elsewhere ``input``."""
    shape = np.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    x = input.expand(shape) if tuple(input.shape) != shape else input
    m = np.broadcast_to(mask._np, shape)
    pos = np.flatnonzero(m)
    if source._np.size < pos.size:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements as "
                           "ones in mask")
    return _put_flat(x, pos,
                     source.reshape(-1)[:pos.size].to(input.dtype))


@register("select_scatter")
def select_scatter(input, src, dim, index):
    d = _dim(dim, input.ndim)
    sel = np.take(_positions(input.shape), int(index), axis=d)
    return _put_flat(input, sel, src.to(input.dtype).reshape(sel.shape))


@register("slice_scatter")
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    d = _dim(dim, input.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    sel = _positions(input.shape)[key]
    return _put_flat(input, sel, src.to(input.dtype).reshape(sel.shape))


@register("diagonal_scatter")
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    sel = np.diagonal(_positions(input.shape), offset, _dim(dim1, input.ndim),
                      _dim(dim2, input.ndim))
    return _put_flat(input, sel, src.to(input.dtype).reshape(sel.shape))


_REDUCE_UFUNC = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum,
                 "mean": np.add}


@register("scatter_reduce")
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Reduce ``src`` into ``input`` at ``index`` along ``dim`` with sum, prod, mean, amax or
    amin (``include_self=False``: the old values of the targets do not take part).

    The values come from NumPy's ``ufunc.at``; the gradient from an expression whose value is
    exactly those values and whose derivative is PyTorch's: sum and mean pass the gradient back
    (mean divided by the count), amax/amin share it evenly between the elements equal to the
    result, prod multiplies by the product of the others."""
    if reduce not in _REDUCE_UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if input.ndim == 0:
        s = src.reshape(1) if src.ndim == 0 else src
        ix = index.reshape(1) if index.ndim == 0 else index
        return scatter_reduce(input.reshape(1), 0, ix, s, reduce,
                              include_self=include_self).reshape(())
    d = _dim(dim, input.ndim)
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
    # d(result)/d(input) and d(result)/d(src) as a zero-valued differentiable correction
    self_w = np.where(hit, 1.0 if include_self else 0.0, 1.0).astype(x.dtype)
    if reduce in ("sum", "mean"):
        w_self = self_w / (np.maximum(count + (1 if include_self else 0), 1) if reduce == "mean"
                           else 1)
        w_self = np.where(hit, w_self, 1.0).astype(x.dtype)
        w_src = 1.0 / np.maximum(count + (1 if include_self else 0), 1) if reduce == "mean" \
            else np.ones(x.shape)
        w_src = w_src[at].astype(x.dtype)
    elif reduce in ("amax", "amin"):
        eq_self = (x == out) & hit & include_self
        eq_src = s == out[at]
        n_eq = eq_self.astype(np.int64)
        np.add.at(n_eq, at, eq_src.astype(np.int64))
        n_eq = np.maximum(n_eq, 1)
        w_self = np.where(hit, eq_self / n_eq, 1.0).astype(x.dtype)
        w_src = (eq_src / n_eq[at]).astype(x.dtype)
    else:                                              # prod: the product of the others
        nz = np.where(hit & include_self & (x != 0), x, 1).astype(x.dtype)
        zeros = (hit & include_self & (x == 0)).astype(np.int64)
        np.multiply.at(nz, at, np.where(s != 0, s, 1))
        np.add.at(zeros, at, (s == 0).astype(np.int64))
        with np.errstate(divide="ignore", invalid="ignore"):
            others_x = np.where(x != 0, out / np.where(x != 0, x, 1), np.where(zeros == 1, nz, 0))
            others_s = np.where(s != 0, out[at] / np.where(s != 0, s, 1),
                                np.where(zeros[at] == 1, nz[at], 0))
        w_self = np.where(hit, np.where(include_self, others_x, 0.0), 1.0).astype(x.dtype)
        w_src = others_s.astype(x.dtype)
    dx = input - input.detach()
    ds = src[sl] - src[sl].detach() if src.requires_grad else None
    corr = dx * _make(w_self)
    if ds is not None:
        contrib = ds * _make(w_src)
        corr = corr + _I().index_put(_make(np.zeros(x.shape, x.dtype)),
                                     tuple(_make(np.broadcast_to(a, ix.shape).astype(np.int64))
                                           for a in at), contrib, True)
    return result + corr


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


@register("index_reduce")
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """``scatter_reduce`` of whole slices: ``source``'s slice ``i`` into ``input``'s slice
    ``index[i]`` along ``dim`` (reduce: prod, mean, amax, amin)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    if input.ndim == 0:
        return index_reduce(input.reshape(1), 0, index.reshape(-1),
                            source.reshape(1) if source.ndim == 0 else source, reduce,
                            include_self=include_self).reshape(())
    d = _dim(dim, input.ndim)
    shape = [1] * source.ndim
    shape[d] = -1
    full = np.broadcast_to(index._np.reshape(shape), tuple(source.shape)).copy()
    return scatter_reduce(input, d, _make(full), source, reduce, include_self=include_self)


@register("unravel_index", method=False)
def unravel_index(indices, shape):
    from ._common import shape_arg
    shp = tuple(shape_arg((shape,) if isinstance(shape, int) else shape))
    idx = indices._np if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError("expected 'indices' to be integer dtype, but got " + str(idx.dtype))
    n = int(np.prod(shp))
    if np.any(idx < -n) or np.any(idx >= n):
        raise RuntimeError("'indices' must be in range [-prod(shape), prod(shape) - 1]")
    idx = np.where(idx < 0, idx + n, idx)
    return tuple(_make(np.asarray(a, np.int64)) for a in np.unravel_index(idx, shp))


@register("nonzero_static")
def nonzero_static(input, *, size, fill_value=-1):
    nz = np.argwhere(input._np)
    out = np.full((size, input.ndim), fill_value, np.int64)
    k = builtins.min(size, nz.shape[0])
    out[:k] = nz[:k]
    return _make(out)


@register("scalar_tensor", method=False)
def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, **kw):
    from ..creation import tensor
    return tensor(s, dtype=dtype or D.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


@register("unique_consecutive")
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``)."""
    a = input._np
    if dim is None:
        flat = a.reshape(-1)
        if flat.size == 0:
            change = np.zeros(0, bool)
        else:
            change = np.concatenate([[True], flat[1:] != flat[:-1]])
        vals = flat[change]
        inv = (np.cumsum(change) - 1).reshape(a.shape)
    else:
        d = _dim(dim, input.ndim)
        m = np.moveaxis(a, d, 0).reshape(a.shape[d], int(np.prod(a.shape)) // builtins.max(
            a.shape[d], 1) if a.shape[d] else 0)
        change = np.ones(m.shape[0], bool)
        if m.shape[0] > 1:
            change[1:] = np.any(m[1:] != m[:-1], axis=1)
        vals = np.compress(change, a, axis=d)
        inv = np.cumsum(change) - 1
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, change.size))
    out = [_make(np.ascontiguousarray(vals))]
    if return_inverse:
        out.append(_make(inv.astype(np.int64)))
    if return_counts:
        out.append(_make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def _linalg_fn(name):
    def fn(*args, **kwargs):
        from .. import linalg
        return getattr(linalg, name)(*args, **kwargs)
    fn.__name__ = name
    return fn


register("matrix_power")(_linalg_fn("matrix_power"))
register("matrix_exp")(_linalg_fn("matrix_exp"))


@register("cholesky_inverse")
def cholesky_inverse(input, upper=False):
    """``inv(L L^T)`` (``inv(U^T U)`` when upper) from a Cholesky factor."""
    from .. import linalg
    A = input.mT @ input if upper else input @ input.mT
    return linalg.inv(A)


@register("cholesky_solve")
def cholesky_solve(input, L, upper=False):
    """``X`` with ``(L L^T) X = B``; ``L`` is the Cholesky factor (``U`` when upper)."""
    from .. import linalg
    A = L.mT @ L if upper else L @ L.mT
    return linalg.solve(A, input)


@register("triangular_solve")
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):
    """``(X, A)`` with ``A X = b`` (``A^T X = b`` when transpose), reading A's triangle."""
    from collections import namedtuple
    from .. import linalg
    T = A.mT if transpose else A
    X = linalg.solve_triangular(T, input, upper=upper != transpose, unitriangular=unitriangular)
    return namedtuple("triangular_solve", ["solution", "cloned_coefficient"])(X, A.clone())


@register("slice", method=False)
def slice_(input, dim=0, start=None, end=None, step=1):
    d = _dim(dim, input.ndim)
    return input[(slice(None),) * d + (slice(start, end, step),)]


@register("constant_pad_nd", method=False)
def constant_pad_nd(input, pad, value=0):
    from ..nn import functional as F
    return F.pad(input, pad, "constant", value)


@register("gradient", method=False)
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Central differences inside, one-sided (first or second order) at the edges, along each
    of ``dim``; ``spacing``: a step, one step per dim, or the coordinates along each dim."""
    S = _S()
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


@register("lu_unpack", method=False)
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    from ..linalg_extra import lu_unpack as _unpack
    return _unpack(LU_data, LU_pivots, unpack_data, unpack_pivots)


@register("lu_solve")
def lu_solve(input, LU_data, LU_pivots):
    """``torch.lu_solve(b, LU, pivots)``: the older argument order of ``linalg.lu_solve``."""
    from ..linalg_extra import lu_solve as _solve
    return _solve(LU_data, LU_pivots, input)


@register("lu")
def lu(input, pivot=True, get_infos=False):
    from ..linalg_extra import lu_factor, _info
    LU, piv = lu_factor(input, pivot=pivot)
    return (LU, piv, _info(input)) if get_infos else (LU, piv)
