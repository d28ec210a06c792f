"""The op table: one row per op drives every generic test in ``test_ops_table.py``.

A row says how to call the op (``fn(M, *args)`` where ``M`` is ``labkit`` or ``torch`` -- labkit
speaks PyTorch, so one lambda serves both), what NumPy computes for it (``ref(*arrays)``), and how
to draw its arguments (a hypothesis strategy returning a tuple).  In that tuple every float NumPy
array becomes a float tensor (differentiable in the gradient tests), every integer/bool array an
integer/bool tensor; anything else (dims, scalars, equations) is passed as it is.

Adding an op = adding a row::

    Op("exp", lambda M, x: M.exp(x), np.exp, unary()),

Flags: ``grad=False`` for ops without gradients (comparisons, argmax ...), ``gradcheck=False``
where central differences are meaningless, ``torch_fn`` where PyTorch spells the call
differently, ``atol``/``rtol`` for float32 comparisons.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from optable_strategies import (_ax, _dim, _expand_target, _narrow_args, _np_chunk, _np_getitem,
    _np_index_select, _np_logsumexp, _np_maxdim, _np_one_hot, _np_roll, _np_scatter, _np_setitem,
    _np_softmax, _np_split, _np_var, _np_view_inplace, _perm, _repeats, _roll_args, _setitem,
    _split_args, _view_inplace, _view_shape, array, away0, binary, boolean, cat_args, einsum_args,
    getitem_args, index_args, ints, mask_args, matmul_args, nonempty, nz_ints, pos, real, red,
    scatter_args, seeds, shape_and, shapes, tensor_scalar, ternary, unary, unit, where_args,
    with_dim)


# ----------------------------------------------------------------------------- the table
@dataclass
class Op:
    name: str
    fn: Callable                      # fn(M, *args), M = labkit or torch
    ref: Optional[Callable]           # NumPy reference on float64 arrays (None: torch only)
    args: st.SearchStrategy           # draws the argument tuple
    torch_fn: Optional[Callable] = None
    grad: bool = True                 # has gradients w.r.t. its float tensor arguments
    gradcheck: bool = True
    atol: float = 1e-5
    rtol: float = 1e-4
    layouts: bool = True              # also try non-contiguous / negative-stride inputs

    def __repr__(self):
        return self.name


def _np_householder(a, tau):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T (LAPACK's orgqr)."""
    m, n = a.shape
    q = np.eye(m)[:, :n]
    for i in reversed(range(len(tau))):
        v = np.concatenate([np.zeros(i), [1.0], a[i + 1:, i]])
        q = q - tau[i] * np.outer(v, v @ q)
    return q


def _cmp(name, npfn):
    return Op(name, lambda M, a, b: getattr(M, name)(a, b), npfn, binary(), grad=False)


OPS = [
    # ---- arithmetic (broadcasting) and reverse operators
    Op("add", lambda M, a, b: a + b, np.add, binary()),
    Op("add_alpha", lambda M, a, b: M.add(a, b, alpha=2.5), lambda a, b: a + 2.5 * b, binary()),
    Op("sub", lambda M, a, b: a - b, np.subtract, binary()),
    Op("mul", lambda M, a, b: a * b, np.multiply, binary()),
    Op("div", lambda M, a, b: a / b, np.divide, binary(real, away0), rtol=1e-3),
    Op("radd", lambda M, x, s: s + x, lambda x, s: s + x, tensor_scalar()),
    Op("rsub", lambda M, x, s: s - x, lambda x, s: s - x, tensor_scalar()),
    Op("rmul", lambda M, x, s: s * x, lambda x, s: s * x, tensor_scalar()),
    Op("rdiv", lambda M, x, s: s / x, lambda x, s: s / x, tensor_scalar(away0), rtol=1e-3),
    Op("pow_tensor", lambda M, a, b: a ** b, np.power, binary(pos, real), rtol=1e-3),
    Op("pow_scalar", lambda M, x, s: x ** s, np.power,
       tensor_scalar(pos, st.sampled_from([2, 3, 0.5, -1.5, 0]))),
    Op("rpow", lambda M, x, s: s ** x, lambda x, s: s ** x,
       tensor_scalar(real, st.sampled_from([2.0, 0.5, 3]))),
    Op("neg", lambda M, x: -x, np.negative, unary()),
    Op("abs", lambda M, x: M.abs(x), np.abs, unary(away0)),
    Op("exp", lambda M, x: M.exp(x), np.exp, unary()),
    Op("log", lambda M, x: M.log(x), np.log, unary(pos)),
    Op("log1p", lambda M, x: M.log1p(x), np.log1p, unary(unit)),
    Op("expm1", lambda M, x: M.expm1(x), np.expm1, unary()),
    Op("sqrt", lambda M, x: M.sqrt(x), np.sqrt, unary(pos)),
    Op("rsqrt", lambda M, x: M.rsqrt(x), lambda x: 1 / np.sqrt(x), unary(pos)),
    Op("sin", lambda M, x: M.sin(x), np.sin, unary()),
    Op("erf", lambda M, x: M.erf(x), np.vectorize(math.erf, otypes=[np.float64]), unary()),
    Op("cos", lambda M, x: M.cos(x), np.cos, unary()),
    Op("tanh", lambda M, x: M.tanh(x), np.tanh, unary()),
    Op("sigmoid", lambda M, x: M.sigmoid(x), lambda x: 1 / (1 + np.exp(-x)), unary()),
    Op("relu", lambda M, x: M.relu(x), lambda x: np.maximum(x, 0), unary(away0)),
    Op("clamp", lambda M, x: M.clamp(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), unary()),
    Op("clamp_min", lambda M, x: x.clamp(min=0.3), lambda x: np.maximum(x, 0.3), unary()),
    Op("clip_max", lambda M, x: M.clip(x, max=0.3), lambda x: np.minimum(x, 0.3), unary()),
    Op("clamp_tensor", lambda M, x, lo: M.clamp(x, min=lo), np.maximum, binary()),
    Op("sign", lambda M, x: M.sign(x), np.sign, unary(away0)),
    Op("floor", lambda M, x: M.floor(x), np.floor, unary()),
    Op("ceil", lambda M, x: M.ceil(x), np.ceil, unary()),
    Op("round", lambda M, x: M.round(x), np.round, unary()),
    Op("maximum", lambda M, a, b: M.maximum(a, b), np.maximum, binary()),
    Op("minimum", lambda M, a, b: M.minimum(a, b), np.minimum, binary()),
    Op("where", lambda M, c, a, b: M.where(c, a, b), np.where, where_args()),
    Op("lerp_scalar", lambda M, a, b: M.lerp(a, b, 0.3), lambda a, b: a + 0.3 * (b - a), binary()),
    Op("lerp_tensor", lambda M, a, b, w: M.lerp(a, b, w), lambda a, b, w: a + w * (b - a),
       ternary()),
    Op("addcmul", lambda M, a, b, c: M.addcmul(a, b, c, value=0.5),
       lambda a, b, c: a + 0.5 * b * c, ternary()),
    Op("square", lambda M, x: M.square(x), np.square, unary()),
    Op("floor_divide", lambda M, a, b: a // b, np.floor_divide, binary(real, away0), grad=False),
    Op("remainder", lambda M, a, b: a % b, np.remainder, binary(real, away0)),
    # ---- comparisons and logic (no gradient)
    _cmp("eq", np.equal), _cmp("ne", np.not_equal), _cmp("lt", np.less),
    _cmp("le", np.less_equal), _cmp("gt", np.greater), _cmp("ge", np.greater_equal),
    Op("logical_and", lambda M, a, b: M.logical_and(a, b), np.logical_and,
       binary(boolean, boolean), grad=False),
    Op("logical_or", lambda M, a, b: a | b, np.logical_or, binary(boolean, boolean), grad=False),
    Op("logical_xor", lambda M, a, b: a ^ b, np.logical_xor, binary(boolean, boolean),
       grad=False),
    Op("logical_not", lambda M, a: ~a, np.logical_not, unary(boolean), grad=False),
    # ---- reductions
    Op("sum_all", lambda M, x: x.sum(), np.sum, unary()),
    Op("sum_dim", lambda M, x, d, k: M.sum(x, d, keepdim=k),
       red(np.sum), with_dim(shape=shapes, multi=True)),
    Op("mean", lambda M, x, d, k: x.mean(dim=d, keepdim=k),
       red(np.mean), with_dim(multi=True, none=True)),
    Op("prod", lambda M, x, d, k: M.prod(x, d, keepdim=k),
       red(np.prod), with_dim(shape=shapes), rtol=1e-3),
    Op("prod_all", lambda M, x: M.prod(x), np.prod, unary(shape=shapes), rtol=1e-3),
    Op("max_all", lambda M, x: x.max(), np.max, unary(shape=nonempty)),
    Op("min_all", lambda M, x: M.min(x), np.min, unary(shape=nonempty)),
    Op("max_dim", lambda M, x, d, k: M.max(x, d, keepdim=k), _np_maxdim, with_dim()),
    Op("min_dim", lambda M, x, d, k: x.min(dim=d, keepdim=k),
       lambda x, d, k: _np_maxdim(x, d, k, np.min, np.argmin), with_dim()),
    Op("amax", lambda M, x, d, k: M.amax(x, d, keepdim=k),
       red(np.max), with_dim(multi=True)),
    Op("amin", lambda M, x, d, k: x.amin(d, k),
       red(np.min), with_dim(multi=True)),
    Op("argmax", lambda M, x, d, k: M.argmax(x, d, keepdim=k),
       red(np.argmax), with_dim(), grad=False),
    Op("argmin", lambda M, x, d, k: x.argmin(dim=d, keepdim=k),
       red(np.argmin), with_dim(), grad=False),
    Op("argmax_all", lambda M, x: x.argmax(), np.argmax, unary(shape=nonempty), grad=False),
    Op("var", lambda M, x, d, k: M.var(x, d, keepdim=k),
       lambda x, d, k: _np_var(x, d, k, 1),
       with_dim(multi=True, shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2,
                                                   max_side=4)), rtol=1e-3),
    Op("var_correction0", lambda M, x, d, k: x.var(dim=d, keepdim=k, correction=0),
       lambda x, d, k: _np_var(x, d, k, 0), with_dim(multi=True), rtol=1e-3),
    Op("std", lambda M, x, d, k: x.std(d, keepdim=k), lambda x, d, k: np.sqrt(_np_var(x, d, k, 1)),
       with_dim(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4)),
       rtol=1e-3),
    Op("norm", lambda M, x: x.norm(), np.linalg.norm, unary(away0, nonempty)),
    Op("norm_dim", lambda M, x, d, k: M.norm(x, dim=d, keepdim=k),
       lambda x, d, k: np.sqrt(np.sum(x * x, axis=d, keepdims=k)), with_dim(away0)),
    Op("norm_p1", lambda M, x, d, k: x.norm(p=1, dim=d, keepdim=k),
       lambda x, d, k: np.sum(np.abs(x), axis=d, keepdims=k), with_dim(away0)),
    Op("norm_inf", lambda M, x: x.norm(p=float("inf")), lambda x: np.max(np.abs(x)),
       unary(away0, nonempty)),
    Op("logsumexp", lambda M, x, d, k: M.logsumexp(x, d, keepdim=k), _np_logsumexp,
       with_dim(multi=True)),
    Op("cumsum", lambda M, x, d: M.cumsum(x, d), lambda x, d: np.cumsum(x, axis=_ax(x, d)).reshape(x.shape),
       with_dim(shape=shapes, keepdim=False)),
    Op("all", lambda M, x, d, k: M.all(x, d, keepdim=k),
       red(np.all), with_dim(boolean, shape=shapes), grad=False),
    Op("any", lambda M, x, d, k: x.any(d, keepdim=k),
       red(np.any), with_dim(boolean, shape=shapes), grad=False),
    Op("softmax", lambda M, x, d: M.softmax(x, d), _np_softmax, with_dim(keepdim=False)),
    Op("log_softmax", lambda M, x, d: x.log_softmax(dim=d),
       lambda x, d: np.log(_np_softmax(x, d)), with_dim(keepdim=False)),
    # ---- matrix products
    Op("matmul", lambda M, a, b: a @ b, np.matmul, matmul_args()),
    Op("mm", lambda M, a, b: M.mm(a, b), np.matmul,
       st.integers(1, 4).flatmap(lambda k: st.tuples(array(st.tuples(st.integers(1, 4),
                                                                    st.just(k))),
                                                      array(st.tuples(st.just(k),
                                                                      st.integers(0, 4)))))),
    Op("bmm", lambda M, a, b: a.bmm(b), np.matmul,
       st.tuples(array((2, 3, 4)), array((2, 4, 5)))),
    Op("as_strided_", lambda M, a: M.as_strided_(a.clone(), (2, 2), (1, 2), 1),
       lambda a: a.reshape(-1)[[1, 3, 2, 4]].reshape(2, 2), st.tuples(array((3, 3))),
       grad=False, layouts=False),
    Op("orgqr", lambda M, a, tau: M.orgqr(a, tau), lambda a, tau: _np_householder(a, tau),
       st.tuples(array((4, 3)), array((2,), salt=1))),
    Op("outer", lambda M, a, b: M.outer(a, b), np.outer,
       st.tuples(array(hnp.array_shapes(min_dims=1, max_dims=1)),
                 array(hnp.array_shapes(min_dims=1, max_dims=1)))),
    Op("einsum", lambda M, eq, *ops: M.einsum(eq, *ops), lambda eq, *ops: np.einsum(eq, *ops),
       einsum_args()),
    # ---- shape
    Op("view", lambda M, x, s: x.view(s), lambda x, s: x.reshape(s), shape_and(_view_shape),
       layouts=False),
    Op("reshape", lambda M, x, s: M.reshape(x, s), lambda x, s: x.reshape(s),
       shape_and(_view_shape)),
    Op("flatten", lambda M, x: M.flatten(x), lambda x: x.reshape(-1), unary()),
    Op("flatten_range", lambda M, x, s: x.flatten(s, -1),
       lambda x, s: x.reshape(x.shape[:s % x.ndim] + (-1,)),
       shape_and(lambda x, d: (_dim(x, d),), shape=hnp.array_shapes(min_dims=1, min_side=1))),
    Op("unflatten", lambda M, x: x.unflatten(0, (2, -1)),
       lambda x: x.reshape((2, x.shape[0] // 2) + x.shape[1:]),
       unary(shape=st.tuples(st.sampled_from([2, 4]), st.integers(0, 3)))),
    Op("permute", lambda M, x, p: x.permute(p), np.transpose, shape_and(_perm, shape=shapes)),
    Op("transpose", lambda M, x: M.transpose(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), unary(
        shape=nonempty)),
    Op("t", lambda M, x: x.t(), lambda x: x.T,
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=2, max_side=4))),
    Op("T", lambda M, x: x.T, lambda x: x.T,
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=2, max_side=4))),
    Op("mT", lambda M, x: x.mT, lambda x: np.swapaxes(x, -1, -2),
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=3, max_side=4))),
    Op("squeeze", lambda M, x: x.squeeze(), np.squeeze,
       unary(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2))),
    Op("squeeze_dim", lambda M, x, d: M.squeeze(x, d),
       lambda x, d: np.squeeze(x, d) if x.ndim and x.shape[d] == 1 else x,
       shape_and(lambda x, dr: (_dim(x, dr),),
                 shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=2))),
    Op("unsqueeze", lambda M, x, d: x.unsqueeze(d), np.expand_dims,
       shape_and(lambda x, dr: (_dim(x, dr, 1),), shape=shapes)),
    Op("expand", lambda M, x, s: x.expand(s), lambda x, s: np.broadcast_to(
        x, tuple(t if t != -1 else x.shape[i - len(s) + x.ndim] for i, t in enumerate(s))),
       shape_and(_expand_target, shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))),
    Op("expand_as", lambda M, x, y: x.expand_as(y), lambda x, y: np.broadcast_to(x, y.shape),
       st.tuples(array((1, 3, 1)), array((2, 3, 4)))),
    Op("repeat", lambda M, x, r: x.repeat(*r),
       lambda x, r: np.tile(x.reshape((1,) * (len(r) - x.ndim) + x.shape), r),
       shape_and(_repeats, shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=3))),
    Op("split", lambda M, x, s, d: M.split(x, s, d), _np_split, shape_and(_split_args)),
    Op("chunk", lambda M, x, c, d: x.chunk(c, d), _np_chunk,
       shape_and(lambda x, dr: (dr(st.integers(1, 4)), dr(st.integers(0, x.ndim - 1))))),
    Op("unbind", lambda M, x, d: M.unbind(x, d), lambda x, d: tuple(np.moveaxis(x, d, 0)),
       shape_and(lambda x, dr: (dr(st.integers(0, x.ndim - 1)),))),
    Op("cat", lambda M, xs, d: M.cat(xs, d), lambda xs, d: np.concatenate(xs, d), cat_args(),
       layouts=False),
    Op("stack", lambda M, xs, d: M.stack(xs, dim=d), lambda xs, d: np.stack(xs, d),
       cat_args(same=True), layouts=False),
    Op("flip", lambda M, x, d: x.flip(d), lambda x, d: np.flip(x, d),
       shape_and(lambda x, dr: ((dr(st.integers(0, x.ndim - 1)),),))),
    Op("roll", lambda M, x, s, d: M.roll(x, s, d), _np_roll, shape_and(_roll_args)),
    Op("tril", lambda M, x, k: M.tril(x, k), lambda x, k: np.tril(x, k),
       shape_and(lambda x, dr: (dr(st.integers(-2, 2)),),
                 shape=hnp.array_shapes(min_dims=2, max_dims=3, max_side=4))),
    Op("triu", lambda M, x, k: x.triu(k), lambda x, k: np.triu(x, k),
       shape_and(lambda x, dr: (dr(st.integers(-2, 2)),),
                 shape=hnp.array_shapes(min_dims=2, max_dims=3, max_side=4))),
    Op("narrow", lambda M, x, d, s, n: x.narrow(d, s, n),
       lambda x, d, s, n: np.take(x, range(s, s + n), axis=d), shape_and(_narrow_args)),
    Op("clone", lambda M, x: x.clone(), lambda x: x.copy(), unary()),
    Op("contiguous", lambda M, x: x.T.contiguous(), lambda x: x.T,
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=2))),
    # ---- indexing
    Op("getitem", lambda M, x, k: x[k], _np_getitem, getitem_args()),
    Op("setitem", _setitem, _np_setitem,
       st.tuples(array((4, 3)), array((3,)), st.sampled_from([0, -1, slice(1, 3)]))),
    Op("setitem_mask", lambda M, x, m: _setitem(M, x, 0.5, m),
       lambda x, m: _np_setitem(x, 0.5, m), st.tuples(array((3, 4)), array((3, 4), boolean))),
    Op("view_inplace", _view_inplace, _np_view_inplace, unary(shape=st.tuples(
        st.integers(2, 4), st.integers(1, 3))), layouts=False),
    Op("gather", lambda M, x, d, i: M.gather(x, d, i),
       lambda x, d, i: np.take_along_axis(x[tuple(slice(0, s) if k != d else slice(None)
                                                  for k, s in enumerate(i.shape))], i, d),
       index_args()),
    Op("take_along_dim", lambda M, x, d, i: M.take_along_dim(x, i, d),
       lambda x, d, i: np.take_along_axis(x, i, d),
       index_args().filter(lambda a: all(s == t or k == a[1] for k, (s, t) in
                                         enumerate(zip(a[0].shape, a[2].shape))))),
    Op("scatter", lambda M, x, d, i, s: M.scatter(x, d, i, s),
       lambda x, d, i, s: _np_scatter(x, d, i, s, False), scatter_args(unique=True)),
    Op("scatter_add", lambda M, x, d, i, s: x.scatter_add(d, i, s),
       lambda x, d, i, s: _np_scatter(x, d, i, s, True), scatter_args()),
    Op("index_select", lambda M, x, d, i: M.index_select(x, d, i), _np_index_select,
       shape_and(lambda x, dr: (lambda d: (d, np.random.default_rng(dr(seeds)).integers(
           0, x.shape[d], dr(st.integers(0, 5))).astype(np.int64)))(
           dr(st.integers(0, x.ndim - 1))))),
    Op("masked_fill", lambda M, x, m, v: x.masked_fill(m, v),
       lambda x, m, v: np.where(m, v, x), mask_args()),
    Op("nonzero", lambda M, x: M.nonzero(x), lambda x: np.argwhere(x),
       unary(boolean, shape=nonempty), grad=False),
    Op("one_hot", lambda M, i: M.nn.functional.one_hot(i, 5) if M.__name__ == "torch"
       else M.one_hot(i, 5), _np_one_hot,
       st.tuples(array(shapes, lambda r, s: r.integers(0, 5, s).astype(np.int64))), grad=False),
]

# ---- dtype promotion (PyTorch's rules: categories bool < int < float; Python scalars and 0-d
# tensors only count when they bring a higher category).  The torch test checks the dtype.
OPS += [
    Op("promote_float_int", lambda M, x, i: x + i, np.add, binary(real, ints)),
    Op("promote_int_true_div", lambda M, i, j: i / j, lambda i, j: np.divide(i, j, dtype=np.float32), binary(ints, nz_ints), grad=False),
    Op("promote_int_floor_div", lambda M, i, j: i // j, np.floor_divide, binary(ints, nz_ints), grad=False),
    Op("promote_int_remainder", lambda M, i, j: i % j, np.remainder, binary(ints, nz_ints), grad=False),
    Op("promote_int_float_scalar", lambda M, i: i * 2.5, lambda i: np.float32(2.5) * i.astype(np.float32), unary(ints), grad=False),
    Op("promote_int_int_scalar", lambda M, i: 3 - i, lambda i: 3 - i, unary(ints), grad=False),
    Op("promote_bool_int", lambda M, b, i: b + i, np.add, binary(boolean, ints), grad=False),
    Op("promote_bool_bool_mul", lambda M, a, b: a * b, np.logical_and, binary(boolean, boolean), grad=False),
    Op("promote_f32_f64", lambda M, a, b: a * b.double(), np.multiply, binary()),
    Op("promote_zero_dim_f64", lambda M, a, s: a + s.double(), np.add,
       st.tuples(array(nonempty), array(()))),
    Op("promote_int_zero_dim_float", lambda M, i, s: i + s, np.add,
       st.tuples(array(nonempty, ints), array(()))),
    Op("promote_float_zero_dim_int", lambda M, x, i: x * i, np.multiply,
       st.tuples(array(nonempty), array((), ints))),
    Op("promote_cmp_int_float", lambda M, i, x: i < x, np.less, binary(ints, real)),
    Op("promote_eq_scalar", lambda M, x: x == 0.5, lambda x: x == 0.5,
       unary(lambda r, s: r.integers(0, 2, s) * 0.5)),
    Op("promote_maximum_int_float", lambda M, i, x: M.maximum(i, x), np.maximum,
       binary(ints, real)),
    Op("promote_where_scalar", lambda M, c, x: M.where(c, x, 0.0),
       lambda c, x: np.where(c, x, 0.0), binary(boolean, real)),
    Op("promote_where_scalar_first", lambda M, c, x: M.where(c, 1.5, x),
       lambda c, x: np.where(c, 1.5, x), binary(boolean, real)),
    Op("promote_where_int_float", lambda M, c, i, x: M.where(c, i, x), np.where,
       ternary(boolean, ints, real)),
    Op("promote_cat_int_float", lambda M, x, i: M.cat([x, i], 0),
       lambda x, i: np.concatenate([x, i], 0),
       st.integers(1, 3).flatmap(lambda n: st.tuples(array((2, n)), array((1, n), ints))),
       layouts=False),
    Op("int_sum", lambda M, i, d: i.sum(d), lambda i, d: i.sum(d), with_dim(ints, keepdim=False), grad=False),
    Op("bool_sum", lambda M, b: b.sum(), np.sum, unary(boolean), grad=False),
    Op("int_cumsum", lambda M, i, d: M.cumsum(i, d), lambda i, d: np.cumsum(i, d),
       with_dim(ints, keepdim=False), grad=False),
    Op("int_prod", lambda M, i: M.prod(i), np.prod, unary(ints, nonempty), grad=False),
    Op("int_max_dim", lambda M, i, d, k: i.max(d, keepdim=k), None, with_dim(ints), grad=False),
    Op("int_abs_neg", lambda M, i: (M.abs(i), -i), lambda i: (np.abs(i), -i), unary(ints), grad=False),
    Op("int_clamp", lambda M, i: M.clamp(i, -1, 2), lambda i: np.clip(i, -1, 2), unary(ints), grad=False),
    Op("int_clamp_float", lambda M, i: M.clamp(i, min=-1.5), lambda i: np.maximum(i, -1.5),
       unary(ints), grad=False),
    Op("int_sign", lambda M, i: M.sign(i), np.sign, unary(ints), grad=False),
    Op("int_sin_sqrt", lambda M, i: (M.sin(i), M.sqrt(M.abs(i))),
       lambda i: (np.sin(i, dtype=np.float32), np.sqrt(np.abs(i), dtype=np.float32)), unary(ints), grad=False),
    Op("int_pow", lambda M, i: i ** 2, lambda i: i ** 2, unary(ints), grad=False),
    Op("int_pow_float", lambda M, i: i ** 0.5, lambda i: np.sqrt(i, dtype=np.float32),
       unary(lambda r, s: r.integers(0, 9, s)), grad=False),
    Op("int_masked_fill", lambda M, i, m: i.masked_fill(m, 7), lambda i, m: np.where(m, 7, i),
       binary(ints, boolean).filter(lambda a: np.broadcast_shapes(a[0].shape, a[1].shape)
                                    == a[0].shape), grad=False),
    Op("int_matmul", lambda M, a, b: a @ b, np.matmul, st.tuples(array((2, 3), ints),
                                                                 array((3, 4), ints)), grad=False),
    Op("logical_and_nonbool", lambda M, x, i: M.logical_and(x, i), np.logical_and,
       binary(real, ints)),
    Op("div_floor", lambda M, a, b: M.div(a, b, rounding_mode="floor"),
       lambda a, b: np.floor(a / b), binary(real, away0), grad=False),
    Op("div_trunc", lambda M, a, b: M.div(a, b, rounding_mode="trunc"),
       lambda a, b: np.trunc(a / b), binary(real, away0), grad=False),
    Op("div_trunc_int", lambda M, a, b: M.div(a, b, rounding_mode="trunc"),
       lambda a, b: np.trunc(a / b).astype(np.int64), binary(ints, nz_ints), grad=False),
    Op("sum_dtype", lambda M, i: M.sum(i, dtype=M.float64), lambda i: np.sum(i, dtype=np.float64),
       unary(ints), grad=False),
    Op("mean_dtype", lambda M, x: x.mean(dtype=M.float64), np.mean, unary(real, nonempty)),
]

# ---- more shape / indexing / reduction variants
OPS += [
    Op("max_binary", lambda M, a, b: M.max(a, b), np.maximum, binary()),
    Op("min_binary", lambda M, a, b: a.min(b), np.minimum, binary()),
    Op("round_decimals", lambda M, x: M.round(x, decimals=2), lambda x: np.round(x, 2), unary()),
    Op("trunc", lambda M, x: M.trunc(x), np.trunc, unary()),
    Op("reciprocal", lambda M, x: M.reciprocal(x), lambda x: 1 / x, unary(away0), rtol=1e-3),
    Op("tan", lambda M, x: M.tan(x), np.tan, unary(unit)),
    Op("log2_log10", lambda M, x: (M.log2(x), M.log10(x)), lambda x: (np.log2(x), np.log10(x)),
       unary(pos)),
    Op("exp2", lambda M, x: M.exp2(x), np.exp2, unary()),
    Op("addcdiv", lambda M, a, b, c: M.addcdiv(a, b, c, value=0.5),
       lambda a, b, c: a + 0.5 * b / c, ternary(real, real, away0), rtol=1e-3),
    Op("fmod", lambda M, a, b: M.fmod(a, b), np.fmod, binary(real, away0)),
    Op("cumprod", lambda M, x, d: M.cumprod(x, d), lambda x, d: np.cumprod(x, axis=_ax(x, d))
       .reshape(x.shape), with_dim(shape=shapes, keepdim=False)),
    Op("nansum", lambda M, x: M.nansum(x), np.nansum,
       unary(lambda r, s: np.where(r.random(s) < 0.3, np.nan, r.uniform(-1, 1, s)))),
    Op("count_nonzero", lambda M, x, d: M.count_nonzero(x, d),
       lambda x, d: np.count_nonzero(x, axis=d), with_dim(boolean, keepdim=False), grad=False),
    Op("var_mean", lambda M, x, d: M.var_mean(x, d),
       lambda x, d: (np.var(x, axis=d, ddof=1), np.mean(x, axis=d)),
       with_dim(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4),
                keepdim=False), rtol=1e-3),
    Op("std_mean_unbiased_false", lambda M, x: M.std_mean(x, unbiased=False),
       lambda x: (np.std(x), np.mean(x)), unary(real, nonempty), rtol=1e-3),
    Op("norm_p3", lambda M, x, d: x.norm(p=3, dim=d),
       lambda x, d: np.sum(np.abs(x) ** 3, axis=d) ** (1 / 3), with_dim(away0, keepdim=False),
       rtol=1e-3),
    Op("norm_p0", lambda M, x: x.norm(p=0), lambda x: np.float64(np.count_nonzero(x)),
       unary(lambda r, s: np.where(r.random(s) < 0.5, 0.0, 1.0), nonempty), grad=False),
    Op("logsumexp_neg_inf", lambda M, x: M.logsumexp(x, -1),
       lambda x: _np_logsumexp_safe(x, -1),
       unary(lambda r, s: np.where(r.random(s) < 0.3, -np.inf, r.uniform(-2, 2, s)), nonempty),
       gradcheck=False),
    Op("argmax_keepdim_none", lambda M, x: M.argmax(x, keepdim=True),
       lambda x: np.argmax(x).reshape((1,) * x.ndim), unary(real, nonempty), grad=False),
    Op("movedim", lambda M, x: M.movedim(x, 0, -1), lambda x: np.moveaxis(x, 0, -1),
       unary(shape=nonempty)),
    Op("squeeze_tuple", lambda M, x: x.squeeze((0, -1)),
       lambda x: np.squeeze(x, tuple(d for d in {0, x.ndim - 1} if x.shape[d] == 1)),
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=2))),
    Op("select", lambda M, x, d: x.select(d, -1), lambda x, d: np.take(x, -1, axis=d),
       with_dim(keepdim=False)),
    Op("split_sizes", lambda M, x: x.split([1, 2], dim=-1),
       lambda x: (x[..., :1], x[..., 1:]), unary(shape=st.tuples(st.integers(0, 3),
                                                                 st.just(3)))),
    Op("narrow_neg_start", lambda M, x: M.narrow(x, -1, -2, 2), lambda x: x[..., -2:],
       unary(shape=st.tuples(st.integers(0, 3), st.integers(2, 4)))),
    Op("roll_multi", lambda M, x: M.roll(x, (1, -2), (0, 1)),
       lambda x: np.roll(x, (1, -2), (0, 1)),
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=3, max_side=4))),
    Op("repeat_interleave", lambda M, x: M.repeat_interleave(x, 2, dim=0),
       lambda x: np.repeat(x, 2, axis=0), unary(shape=nonempty)),
    Op("tile", lambda M, x: M.tile(x, (2, 1)), lambda x: np.tile(x, (2, 1)),
       unary(shape=nonempty)),
    Op("diagonal", lambda M, x, k: M.diagonal(x, k), lambda x, k: np.diagonal(x, k).copy(),
       shape_and(lambda x, dr: (dr(st.integers(-2, 2)),),
                 shape=hnp.array_shapes(min_dims=2, max_dims=2, max_side=4))),
    Op("diag_embed_vector", lambda M, x: M.diag(x), np.diag,
       unary(shape=hnp.array_shapes(min_dims=1, max_dims=1, max_side=4))),
    Op("trace", lambda M, x: M.trace(x), np.trace,
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=2, max_side=4))),
    Op("hstack_vstack", lambda M, a, b: (M.hstack([a, b]), M.vstack([a, b])),
       lambda a, b: (np.hstack([a, b]), np.vstack([a, b])),
       st.tuples(array((2, 3)), array((2, 3), salt=1)), layouts=False),
    Op("flatten_0d", lambda M, x: x.flatten(), lambda x: x.reshape(1), unary(shape=st.just(()))),
    Op("reshape_to_0d", lambda M, x: x.reshape(()), lambda x: x.reshape(()),
       unary(shape=st.just((1, 1)))),
    Op("view_as", lambda M, x, y: x.view_as(y), lambda x, y: x.reshape(y.shape),
       st.tuples(array((2, 6)), array((3, 4))), layouts=False),
    Op("swapaxes", lambda M, x: M.swapaxes(x, 0, 1), lambda x: np.swapaxes(x, 0, 1),
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=3))),
    Op("unsqueeze_neg", lambda M, x: x.unsqueeze(-1), lambda x: x[..., None], unary()),
    Op("masked_select", lambda M, x, m: M.masked_select(x, m), lambda x, m: x[m],
       st.tuples(array((3, 4)), array((3, 4), boolean))),
    Op("index_add", lambda M, x, i, s: x.index_add(0, i, s),
       lambda x, i, s: _np_index_add(x, i, s),
       st.tuples(array((4, 3)), array((5,), lambda r, s: r.integers(0, 4, s)), array((5, 3)))),
    Op("index_put_accumulate", lambda M, x, i, v: x.index_put((i,), v, accumulate=True),
       lambda x, i, v: _np_index_add(x, i, v),
       st.tuples(array((4, 3)), array((5,), lambda r, s: r.integers(0, 4, s)), array((5, 3)))),
    Op("scatter_value", lambda M, x, d, i, s: M.scatter(x, d, i, value=2.5),
       lambda x, d, i, s: _np_scatter(x, d, i, np.full(i.shape, 2.5), False),
       scatter_args(unique=True)),
    Op("gather_negdim", lambda M, x, d, i: M.gather(x, d - x.ndim, i),
       lambda x, d, i: np.take_along_axis(x[tuple(slice(0, s) if k != d else slice(None)
                                                  for k, s in enumerate(i.shape))], i, d),
       index_args()),
    Op("take_along_dim_flat", lambda M, x, i: M.take_along_dim(x, i),
       lambda x, i: x.reshape(-1)[i],
       st.tuples(array(nonempty), array((3,), lambda r, s: r.integers(0, 1, s))), layouts=False),
    Op("nonzero_tuple", lambda M, x: M.nonzero(x, as_tuple=True), np.nonzero,
       unary(boolean, nonempty), grad=False),
    Op("getitem_int_tensor_0d", lambda M, x, i: x[i], lambda x, i: x[i],
       st.tuples(array((4, 2)), array((), lambda r, s: np.asarray(r.integers(0, 4))))),
    Op("getitem_two_lists", lambda M, x: x[[0, 2], [1, 0]], lambda x: x[[0, 2], [1, 0]],
       unary(shape=st.just((3, 2)))),
    Op("getitem_bool_scalar", lambda M, x: x[True], lambda x: x[None],
       unary(shape=st.just((2, 3)))),
    Op("setitem_tensor_index", lambda M, x, i, v: _setitem(M, x, v, i),
       lambda x, i, v: _np_setitem(x, v, i),
       st.tuples(array((5, 2)), array((2,), lambda r, s: r.choice(5, 2, replace=False)),
                 array((2, 2)))),
    Op("setitem_broadcast", lambda M, x, v: _setitem(M, x, v, (slice(None), 1)),
       lambda x, v: _np_setitem(x, v, (slice(None), 1)), st.tuples(array((3, 4)), array(()))),
    Op("einsum_ellipsis", lambda M, a, b: M.einsum("...qd,...kd->...qk", a, b),
       lambda a, b: np.einsum("...qd,...kd->...qk", a, b),
       st.tuples(array((2, 3, 4)), array((2, 5, 4)))),
    Op("einsum_implicit", lambda M, a, b: M.einsum("ij,jk", a, b),
       lambda a, b: np.einsum("ij,jk", a, b), st.tuples(array((2, 3)), array((3, 4)))),
    Op("einsum_list", lambda M, a, b: M.einsum("ij,jk->ik", [a, b]),
       lambda a, b: np.einsum("ij,jk->ik", a, b), st.tuples(array((2, 3)), array((3, 4)))),
    Op("einsum_diag", lambda M, a: M.einsum("ii->i", a), lambda a: np.einsum("ii->i", a).copy(),
       st.tuples(array((3, 3)))),
    Op("softmax_dtype", lambda M, x: M.softmax(x, -1, dtype=M.float64),
       lambda x: _np_softmax(x, -1), unary(shape=nonempty)),
    Op("log_softmax_0d", lambda M, x: x.log_softmax(0), lambda x: x * 0,
       unary(shape=st.just(()))),
    Op("addmm", lambda M, c, a, b: M.addmm(c, a, b, beta=0.5, alpha=2),
       lambda c, a, b: 0.5 * c + 2 * a @ b, st.tuples(array((3,)), array((2, 4)),
                                                      array((4, 3)))),
    Op("mv_dot", lambda M, m, v: (M.mv(m, v), M.dot(v, v)), lambda m, v: (m @ v, v @ v),
       st.tuples(array((2, 3)), array((3,)))),
    Op("pow_zero_base", lambda M, x: x ** 2.0, lambda x: x ** 2,
       unary(lambda r, s: np.where(r.random(s) < 0.3, 0.0, r.uniform(-2, 2, s)))),
    Op("clamp_tensor_both", lambda M, x, lo: M.clamp(x, lo, lo + 1), lambda x, lo:
       np.minimum(np.maximum(x, lo), lo + 1), binary()),
]


# ---- sorting, order statistics and the less common math / shape helpers
OPS += [
    Op("sort", lambda M, x, d: M.sort(x, d), lambda x, d: (np.sort(x, d), np.argsort(x, d)),
       with_dim(keepdim=False)),
    Op("sort_descending", lambda M, x: x.sort(descending=True),
       lambda x: (-np.sort(-x, -1), np.argsort(-x, -1)), unary(shape=nonempty)),
    Op("argsort", lambda M, x: M.argsort(x, 0), lambda x: np.argsort(x, 0),
       unary(shape=nonempty), grad=False),
    Op("topk", lambda M, x, k: M.topk(x, k), lambda x, k: (
        np.take(-np.sort(-x, -1), range(k), -1), np.take(np.argsort(-x, -1), range(k), -1)),
       shape_and(lambda x, dr: (dr(st.integers(0, x.shape[-1])),))),
    Op("topk_smallest_dim0", lambda M, x: x.topk(1, dim=0, largest=False),
       lambda x: (np.sort(x, 0)[:1], np.argsort(x, 0)[:1]), unary(shape=nonempty)),
    Op("kthvalue", lambda M, x: M.kthvalue(x, 1, 0, keepdim=True),
       lambda x: (np.sort(x, 0)[:1], np.argsort(x, 0)[:1]), unary(shape=nonempty)),
    Op("median", lambda M, x: M.median(x), lambda x: np.sort(x.reshape(-1))[(x.size - 1) // 2],
       unary(shape=nonempty)),
    Op("median_dim", lambda M, x: x.median(-1),
       lambda x: (np.sort(x, -1)[..., (x.shape[-1] - 1) // 2],
                  np.argsort(x, -1)[..., (x.shape[-1] - 1) // 2]), unary(shape=nonempty)),
    Op("unique", lambda M, i: M.unique(i, return_inverse=True, return_counts=True),
       lambda i: (lambda u, v, c: (u, v.reshape(i.shape), c))(*np.unique(
           i, return_inverse=True, return_counts=True)), unary(ints), grad=False),
    Op("bincount", lambda M, i: M.bincount(i, minlength=3), lambda i: np.bincount(i, minlength=3),
       unary(lambda r, s: r.integers(0, 6, s), st.tuples(st.integers(0, 6))), grad=False),
    Op("searchsorted", lambda M, s, v: M.searchsorted(s, v), lambda s, v: np.searchsorted(s, v),
       st.tuples(array((5,), lambda r, s: np.sort(r.uniform(-2, 2, s))), array((2, 3))),
       grad=False, layouts=False),
    Op("isin", lambda M, a, b: M.isin(a, b), np.isin, binary(ints, ints), grad=False),
    Op("histc", lambda M, x: M.histc(x, bins=5, min=-2, max=2),
       lambda x: np.histogram(x, 5, (-2, 2))[0].astype(x.dtype), unary(), grad=False),
    Op("histogram", lambda M, x: tuple(M.histogram(x, bins=4, range=(-1.0, 1.0))),
       lambda x: tuple(a.astype(x.dtype) for a in np.histogram(x, 4, (-1.0, 1.0))), unary(),
       grad=False),
    Op("aminmax", lambda M, x: M.aminmax(x, dim=0), lambda x: (x.min(0), x.max(0)),
       unary(shape=nonempty)),
    Op("nanmean", lambda M, x: M.nanmean(x), np.nanmean,
       unary(lambda r, s: np.where(r.random(s) < 0.3, np.nan, r.uniform(-1, 1, s)),
             st.tuples(st.integers(4, 6))), gradcheck=False),
    Op("asin_acos_atan", lambda M, x: (M.asin(x), M.acos(x), M.atan(x)),
       lambda x: (np.arcsin(x), np.arccos(x), np.arctan(x)), unary(unit), rtol=1e-3),
    Op("sinh_cosh", lambda M, x: (M.sinh(x), M.cosh(x)), lambda x: (np.sinh(x), np.cosh(x)),
       unary()),
    Op("atan2", lambda M, y, x: M.atan2(y, x), np.arctan2, binary(real, away0), rtol=1e-3),
    Op("frac", lambda M, x: M.frac(x), lambda x: x - np.trunc(x), unary()),
    Op("logaddexp", lambda M, a, b: M.logaddexp(a, b), np.logaddexp, binary()),
    Op("nan_to_num", lambda M, x: M.nan_to_num(x, nan=0.5, posinf=9.0),
       lambda x: np.nan_to_num(x, nan=0.5, posinf=9.0, neginf=np.finfo(np.float32).min),
       unary(lambda r, s: r.choice([np.nan, np.inf, 1.5, -0.5], s)), gradcheck=False,
       layouts=False),
    Op("logit", lambda M, x: M.logit(x), lambda x: np.log(x / (1 - x)),
       unary(lambda r, s: r.uniform(0.1, 0.9, s)), rtol=1e-3),
    Op("ravel", lambda M, x: x.ravel(), np.ravel, unary()),
    Op("broadcast_tensors", lambda M, a, b: M.broadcast_tensors(a, b), np.broadcast_arrays,
       binary()),
    Op("meshgrid_ij", lambda M, a, b: M.meshgrid(a, b, indexing="ij"),
       lambda a, b: tuple(np.meshgrid(a, b, indexing="ij")),
       st.tuples(array((3,)), array((2,), salt=1))),
    Op("meshgrid_xy", lambda M, a, b: M.meshgrid(a, b, indexing="xy"),
       lambda a, b: tuple(np.meshgrid(a, b, indexing="xy")),
       st.tuples(array((3,)), array((2,), salt=1))),
    Op("diff", lambda M, x: M.diff(x, dim=0), lambda x: np.diff(x, axis=0),
       unary(shape=nonempty)),
    Op("atleast_2d", lambda M, x: M.atleast_2d(x), np.atleast_2d, unary()),
    Op("column_stack", lambda M, a, b: M.column_stack([a, b]),
       lambda a, b: np.column_stack([a, b]), st.tuples(array((3,)), array((3, 2)))),
    Op("rot90", lambda M, x, k: M.rot90(x, k), lambda x, k: np.rot90(x, k).copy(),
       shape_and(lambda x, dr: (dr(st.integers(-1, 3)),),
                 shape=hnp.array_shapes(min_dims=2, max_dims=3, max_side=4))),
    Op("take", lambda M, x, i: M.take(x, i), lambda x, i: np.take(x, i),
       st.tuples(array((3, 4)), array((2, 2), lambda r, s: r.integers(-12, 12, s)))),
    Op("index_fill", lambda M, x, i: x.index_fill(1, i, -1.0),
       lambda x, i: _np_index_fill(x, i), st.tuples(array((3, 4)), array(
           (2,), lambda r, s: r.integers(0, 4, s)))),
    Op("tensordot", lambda M, a, b: M.tensordot(a, b, dims=([1, 0], [0, 2])),
       lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 2])),
       st.tuples(array((2, 3, 4)), array((3, 5, 2)))),
    Op("tensordot_int", lambda M, a, b: M.tensordot(a, b, 1), lambda a, b: np.tensordot(a, b, 1),
       st.tuples(array((2, 3)), array((3, 4)))),
    Op("cross", lambda M, a, b: M.cross(a, b, dim=-1), lambda a, b: np.cross(a, b),
       st.tuples(array((2, 3)), array((2, 3), salt=1))),
    Op("cdist", lambda M, a, b: M.cdist(a, b), lambda a, b: np.sqrt(
        ((a[:, None] - b[None]) ** 2).sum(-1)), st.tuples(array((3, 2)), array((4, 2), salt=1)),
       rtol=1e-3),
    Op("dtype_python_float", lambda M, x: x.to(float) * M.zeros(1, dtype=float),
       lambda x: x * np.zeros(1), unary()),
]


# ---- creation (no tensor inputs: the torch test still checks dtype, shape and values)
OPS += [
    Op("arange", lambda M, a, b, k: M.arange(a, b, k), np.arange,
       st.tuples(st.integers(-5, 5), st.integers(-5, 9), st.sampled_from([1, 2, 3]))
       .filter(lambda a: a[0] <= a[1]), grad=False),
    Op("arange_float_step", lambda M, a, b, k: M.arange(a, b, k),
       lambda a, b, k: np.arange(a, b, k).astype(np.float32),
       st.tuples(st.sampled_from([0, 0.5, -1]), st.sampled_from([1, 2.5, 3]),
                 st.sampled_from([0.1, 0.25, 0.5])), grad=False),
    Op("linspace", lambda M, a, b, n: M.linspace(a, b, n),
       lambda a, b, n: np.linspace(a, b, n).astype(np.float32),
       st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(0, 7)), grad=False),
    Op("full_dtypes", lambda M, v: M.full((2, 3), v), lambda v: np.full((2, 3), v, dtype=
        np.bool_ if isinstance(v, bool) else np.int64 if isinstance(v, int) else np.float32),
       st.tuples(st.sampled_from([1.5, 2, True, -0.25])), grad=False),
    Op("eye", lambda M, n, m: M.eye(n, m), lambda n, m: np.eye(n, m, dtype=np.float32),
       st.tuples(st.integers(0, 4), st.integers(0, 4)), grad=False),
    Op("zeros_ones_dtype", lambda M, s: (M.zeros(s, dtype=M.int64), M.ones(s, dtype=M.bool),
                                         M.empty(s).zero_()),   # empty() may hold NaN: zero it
       lambda s: (np.zeros(s, np.int64), np.ones(s, bool), np.zeros(s)),
       st.tuples(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0)), grad=False),
    Op("tensor_nested", lambda M, d: M.tensor(d),
       lambda d: np.asarray(d, dtype=np.float32 if any(isinstance(v, float) for v in
                                                         np.ravel(d).tolist()) else None),
       st.tuples(st.sampled_from([[[1, 2], [3, 4]], [1.5, 2], [True, False], [[1, 2.5]], 3, 2.0,
                                  [[True, 2]]])), grad=False),
    Op("like_family", lambda M, x: (M.zeros_like(x), M.ones_like(x, dtype=M.int64),
                                    M.full_like(x, 7)),
       lambda x: (np.zeros_like(x), np.ones(x.shape, np.int64), np.full_like(x, 7)), unary(),
       grad=False),
    Op("tril_indices", lambda M, n, m, k: M.tril_indices(n, m, k),
       lambda n, m, k: np.stack(np.tril_indices(n, k, m)),
       st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(-1, 1)), grad=False),
    Op("triu_indices", lambda M, n, m, k: M.triu_indices(n, m, k),
       lambda n, m, k: np.stack(np.triu_indices(n, k, m)),
       st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(-1, 1)), grad=False),
    Op("conversions", lambda M, x: (x.long(), x.int(), x.double(), x.bool(),
                                    x.to(M.int64), x.type_as(M.tensor([1]))),
       lambda x: (np.trunc(x).astype(np.int64), np.trunc(x).astype(np.int32), x,
                  x != 0, np.trunc(x).astype(np.int64),
                  np.trunc(x).astype(np.int64)), unary(lambda r, s: np.round(r.uniform(-3, 3, s), 2)),
       grad=False),
]


# ---- the rest of the registered ops (``test_every_registered_op_has_a_row`` in
# tests/test_architecture.py keeps this list complete)
_BOUNDS = np.array([-1.0, 0.0, 0.5, 1.5])


@st.composite
def same_shape_pair(draw, shape=nonempty, domain=real):
    sh = draw(shape)
    return draw(array(sh, domain)), draw(array(sh, domain, salt=1))


@st.composite
def vector_pair(draw):
    n = draw(st.integers(1, 4))
    return draw(array((n,))), draw(array((n,), salt=1))


def specials(rng, shape):
    """Reals with some NaN and +-inf (isnan / isinf / isfinite)."""
    return np.where(rng.random(shape) < 0.2, rng.choice([np.nan, np.inf, -np.inf], shape),
                    real(rng, shape))


OPS += [
    Op("acos", lambda M, x: M.acos(x), np.arccos, unary(unit)),
    Op("atan", lambda M, x: M.atan(x), np.arctan, unary()),
    Op("cosh", lambda M, x: M.cosh(x), np.cosh, unary()),
    Op("sgn", lambda M, x: M.sgn(x), np.sign, unary(away0),
       torch_fn=lambda M, x: M.sign(x)),       # (torch's sgn grad is a ZeroTensor)
    Op("log10", lambda M, x: M.log10(x), np.log10, unary(pos)),
    Op("clamp_max", lambda M, x: M.clamp_max(x, 0.2), lambda x: np.minimum(x, 0.2), unary()),
    Op("fmax", lambda M, a, b: M.fmax(a, b), np.fmax, binary()),
    Op("fmin", lambda M, a, b: M.fmin(a, b), np.fmin, binary()),
    Op("dot", lambda M, a, b: M.dot(a, b), np.dot, vector_pair()),
    Op("inner", lambda M, a, b: M.inner(a, b), np.inner, vector_pair()),
    Op("broadcast_to", lambda M, x: M.broadcast_to(x, (2,) + tuple(x.shape)),
       lambda x: np.broadcast_to(x, (2,) + x.shape), unary()),
    Op("atleast_1d", lambda M, x: M.atleast_1d(x), np.atleast_1d, unary()),
    Op("vstack", lambda M, a, b: M.vstack([a, b]), lambda a, b: np.vstack([a, b]),
       same_shape_pair(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4))),
    Op("dstack", lambda M, a, b: M.dstack([a, b]), lambda a, b: np.dstack([a, b]),
       same_shape_pair(hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=3))),
    Op("fliplr", lambda M, x: M.fliplr(x), np.fliplr,
       unary(shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4))),
    Op("flipud", lambda M, x: M.flipud(x), np.flipud, unary(shape=nonempty)),
    Op("msort", lambda M, x: M.msort(x), lambda x: np.sort(x, 0), unary(shape=nonempty)),
    Op("argwhere", lambda M, x: M.argwhere(x > 0), lambda x: np.argwhere(x > 0),
       unary(shape=nonempty), grad=False),
    Op("bucketize", lambda M, x: M.bucketize(x, M.tensor(_BOUNDS, dtype=x.dtype)),
       lambda x: np.searchsorted(_BOUNDS, x, side="left"), unary(), grad=False,
       torch_fn=lambda M, x: M.bucketize(x.contiguous(), M.tensor(_BOUNDS, dtype=x.dtype))),
    Op("isnan_isinf_isfinite", lambda M, x: (M.isnan(x), M.isinf(x), M.isfinite(x)),
       lambda x: (np.isnan(x), np.isinf(x), np.isfinite(x)), unary(specials), grad=False),
    Op("isclose", lambda M, a, b: M.isclose(a, b + 1e-9), lambda a, b: np.isclose(a, b + 1e-9),
       binary(), grad=False),
    Op("matrix_power", lambda M, a: M.matrix_power(a, 3), lambda a: np.linalg.matrix_power(a, 3),
       unary(shape=st.integers(1, 3).map(lambda n: (2, n, n))), atol=1e-4, rtol=1e-3),
    Op("det_slogdet_inverse", lambda M, a: (M.det(_spd(M, a)), M.slogdet(_spd(M, a))[1],
                                            M.inverse(_spd(M, a))),
       lambda a: (np.linalg.det(_np_spd(a)), np.linalg.slogdet(_np_spd(a))[1],
                  np.linalg.inv(_np_spd(a))),
       unary(shape=st.integers(1, 3).map(lambda n: (2, n, n))), atol=1e-4, rtol=1e-3),
    Op("bitwise", lambda M, a, b: (M.bitwise_and(a, b), M.bitwise_or(a, b),
                                   M.bitwise_xor(a, b), M.bitwise_not(a)),
       lambda a, b: (a & b, a | b, a ^ b, ~a), binary(ints, ints), grad=False),
]


def _spd(M, a):                         # well conditioned: a a^T + 3 I
    return a @ a.mT + 3 * M.eye(a.shape[-1], dtype=a.dtype)


def _np_spd(a):
    return a @ np.swapaxes(a, -1, -2) + 3 * np.eye(a.shape[-1], dtype=a.dtype)


def _np_index_fill(x, i):
    y = x.copy()
    y[:, i] = -1.0
    return y


def _np_index_add(x, i, s):
    out = x.copy()
    np.add.at(out, i, s)
    return out


def _np_logsumexp_safe(x, d):
    with np.errstate(all="ignore"):
        m = np.max(x, axis=d, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        return np.squeeze(np.log(np.sum(np.exp(x - m), axis=d, keepdims=True)) + m, axis=d)


# ---- special functions (labkit/ops/special.py; found by the OpInfo conformance suite)
OPS += [
    Op("lgamma", lambda M, x: M.lgamma(x), np.vectorize(math.lgamma, otypes=[np.float64]),
       unary(pos)),
    Op("digamma", lambda M, x: M.digamma(x), None, unary(pos)),
    Op("polygamma2", lambda M, x: M.polygamma(2, x), None, unary(pos)),
    Op("erfinv", lambda M, x: M.erfinv(x), None, unary(unit)),
    Op("i0", lambda M, x: M.i0(x), np.i0, unary()),
    Op("i0e", lambda M, x: M.special.i0e(x), lambda x: np.i0(x) * np.exp(-np.abs(x)), unary()),
    Op("i1", lambda M, x: M.special.i1(x), None, unary()),
    Op("i1e", lambda M, x: M.special.i1e(x), None, unary()),
]

BY_NAME = {op.name: op for op in OPS}
assert len(BY_NAME) == len(OPS), "op names in the table must be unique"
