"""Higher-order gradients: create_graph=True, gradgradcheck, Hessian-vector products vs PyTorch."""
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import labkit as lk

torch = pytest.importorskip("torch")          # imported after labkit (safe order, see conftest)

F64 = lk.float64


def _x(*shape, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return lk.tensor(a, dtype=F64, requires_grad=True)


# every op with a differentiable rule, as (name, function of the inputs, input makers)
def _normal_of(a):
    """normal(a, a): on the graph with zero gradients (PyTorch's rule), from a fixed seed."""
    M = lk if isinstance(a, lk.Tensor) else torch
    return M.normal(a, a, generator=M.Generator().manual_seed(0))


OPS = [
    ("add", lambda a, b: a + b, (lambda: _x(3, 4), lambda: _x(4, seed=1))),
    ("sub", lambda a, b: a - b, (lambda: _x(3, 4), lambda: _x(3, 1, seed=1))),
    ("mul", lambda a, b: a * b, (lambda: _x(3, 4), lambda: _x(4, seed=1))),
    ("div", lambda a, b: a / b, (lambda: _x(3, 4), lambda: _x(4, seed=1, positive=True))),
    ("pow_scalar", lambda a: a ** 3, (lambda: _x(5),)),
    ("pow_tensor", lambda a, b: a ** b, (lambda: _x(5, positive=True), lambda: _x(5, seed=1))),
    ("neg", lambda a: -a, (lambda: _x(5),)),
    ("exp", lambda a: a.exp(), (lambda: _x(5),)),
    ("log", lambda a: a.log(), (lambda: _x(5, positive=True),)),
    ("log1p", lambda a: a.log1p(), (lambda: _x(5, positive=True),)),
    ("expm1", lambda a: a.expm1(), (lambda: _x(5),)),
    ("sqrt", lambda a: a.sqrt(), (lambda: _x(5, positive=True),)),
    ("rsqrt", lambda a: a.rsqrt(), (lambda: _x(5, positive=True),)),
    ("sin", lambda a: a.sin(), (lambda: _x(5),)),
    ("cos", lambda a: a.cos(), (lambda: _x(5),)),
    ("tanh", lambda a: a.tanh(), (lambda: _x(5),)),
    ("sigmoid", lambda a: a.sigmoid(), (lambda: _x(5),)),
    ("relu_square", lambda a: a.relu() ** 2, (lambda: _x(6),)),
    ("abs_cube", lambda a: a.abs() ** 3, (lambda: _x(6),)),
    ("where", lambda a, b: lk.where(a > 0, a * b, b ** 2), (lambda: _x(6), lambda: _x(6, seed=1))),
    ("sum_dim", lambda a: (a ** 2).sum(1), (lambda: _x(3, 4),)),
    ("mean_keepdim", lambda a: (a ** 2).mean(0, keepdim=True), (lambda: _x(3, 4),)),
    ("reshape_permute", lambda a: (a.reshape(2, 6).permute(1, 0) ** 2), (lambda: _x(3, 4),)),
    ("diagonal", lambda a: a.diagonal(1) ** 3, (lambda: _x(3, 4),)),
    ("normal_sample", lambda a: a ** 2 + _normal_of(a) * 0, (lambda: _x(5, positive=True),)),
    ("expand_clone", lambda a: a.expand(3, 4).clone() ** 2, (lambda: _x(1, 4),)),
    ("matmul_2d", lambda a, b: (a @ b) ** 2, (lambda: _x(3, 4), lambda: _x(4, 2, seed=1))),
    ("matmul_batched", lambda a, b: (a @ b).tanh(), (lambda: _x(2, 3, 4), lambda: _x(4, 2, seed=1))),
    ("matmul_vec", lambda a, b: (a @ b) ** 2, (lambda: _x(4), lambda: _x(4, 3, seed=1))),
    ("matvec", lambda a, b: (a @ b) ** 2, (lambda: _x(3, 4), lambda: _x(4, seed=1))),
    ("dot", lambda a, b: (a @ b) ** 2, (lambda: _x(4), lambda: _x(4, seed=1))),
    ("linear", lambda x, w, b: lk.nn.functional.linear(x, w, b).tanh(),
     (lambda: _x(2, 3, 4), lambda: _x(5, 4, seed=1), lambda: _x(5, seed=2))),
    ("index_basic", lambda a: a[1:, ::2] ** 2, (lambda: _x(3, 4),)),
    ("index_advanced", lambda a: a[[0, 2, 0]] ** 2, (lambda: _x(3, 4),)),
    ("setitem", lambda a: _setitem(a), (lambda: _x(3, 4),)),
    ("softmax", lambda a: a.softmax(1), (lambda: _x(3, 4),)),
    ("log_softmax", lambda a: a.log_softmax(0), (lambda: _x(3, 4),)),
    ("layer_norm", lambda a, w, b: lk.nn.functional.layer_norm(a, (4,), w, b).tanh(),
     (lambda: _x(3, 4), lambda: _x(4, seed=1), lambda: _x(4, seed=2))),
    ("layer_norm_plain", lambda a: lk.nn.functional.layer_norm(a, (2, 3)) ** 2,
     (lambda: _x(2, 2, 3),)),
    ("dropout", lambda a: _dropout(lk, a), (lambda: _x(4, 5),)),
    ("conv2d", lambda x, w, b: lk.nn.functional.conv2d(x, w, b, stride=2, padding=1).tanh(),
     (lambda: _x(2, 2, 5, 5), lambda: _x(3, 2, 3, 3, seed=1), lambda: _x(3, seed=2))),
    ("conv2d_dilated", lambda x, w: lk.nn.functional.conv2d(x, w, dilation=2, padding=2) ** 2,
     (lambda: _x(1, 2, 5, 4), lambda: _x(2, 2, 2, 3, seed=1))),
    ("max_pool2d", lambda x: lk.nn.functional.max_pool2d(x, 2) ** 2, (lambda: _x(2, 2, 4, 5),)),
    ("mse_loss", lambda a, b: lk.nn.functional.mse_loss(a.tanh(), b) * 3,
     (lambda: _x(3, 4), lambda: _x(3, 4, seed=1))),
    ("mse_loss_none", lambda a: lk.nn.functional.mse_loss(a.tanh(), _T(3, 4), reduction="none"),
     (lambda: _x(3, 4),)),
    ("bce_logits", lambda a: lk.nn.functional.binary_cross_entropy_with_logits(
        a, _T(3, 4, prob=True), weight=_T(4, prob=True), pos_weight=_T(4, prob=True) + 1),
     (lambda: _x(3, 4),)),
    ("bce_logits_sum", lambda a: lk.nn.functional.binary_cross_entropy_with_logits(
        a, _T(3, 4, prob=True), reduction="sum"), (lambda: _x(3, 4),)),
    ("cat", lambda a, b: lk.cat([a, b ** 2], 1).tanh(), (lambda: _x(2, 3), lambda: _x(2, 2, seed=1))),
    ("stack", lambda a, b: lk.stack([a, b * a], 1) ** 2, (lambda: _x(2, 3), lambda: _x(2, 3, seed=1))),
    ("flip_cumsum", lambda a: a.flip(1).cumsum(1) ** 2, (lambda: _x(2, 4),)),
    ("masked_fill", lambda a: a.masked_fill(_T(2, 4) > 0, 0.5) ** 2, (lambda: _x(2, 4),)),
    ("maximum", lambda a, b: lk.maximum(a, b) ** 2, (lambda: _x(2, 4), lambda: _x(2, 4, seed=1))),
    ("clamp", lambda a: a.clamp(-0.5, 0.7) ** 2, (lambda: _x(2, 4),)),
    ("amax", lambda a: a.amax(1) ** 2, (lambda: _x(3, 4),)),
    ("max_dim", lambda a: a.max(1).values ** 2, (lambda: _x(3, 4),)),
    ("max_all", lambda a: a.max() ** 2, (lambda: _x(3, 4),)),
    ("logsumexp", lambda a: a.logsumexp(1), (lambda: _x(3, 4),)),
    ("norm", lambda a: a.norm(dim=1), (lambda: _x(3, 4),)),
    ("norm_all", lambda a: a.norm(), (lambda: _x(3, 4),)),
    ("var", lambda a: a.var(1) * a.sum(), (lambda: _x(3, 4),)),
    ("std_all", lambda a: a.std(correction=0) ** 3, (lambda: _x(3, 4),)),
    ("std_dim", lambda a: a.std(0), (lambda: _x(3, 4),)),
    ("gather", lambda a: a.gather(1, lk.tensor([[0, 0], [3, 1], [2, 2]])) ** 2, (lambda: _x(3, 4),)),
    ("repeat", lambda a: a.repeat(2, 3) ** 2, (lambda: _x(2, 2),)),
    ("chunk", lambda a: a.chunk(2, 1)[0] * a.chunk(2, 1)[1].exp(), (lambda: _x(3, 4),)),
    ("unbind", lambda a: a.unbind(0)[0] ** 2, (lambda: _x(3, 4),)),
    ("embedding", lambda w: lk.nn.functional.embedding(lk.tensor([[0, 2], [2, 3]]), w,
                                                       padding_idx=3).tanh(),
     (lambda: _x(4, 3),)),
    ("batch_norm_train", lambda x, w, b: _bn(lk, x, w, b, True).tanh(),
     (lambda: _x(4, 3, 2), lambda: _x(3, seed=1), lambda: _x(3, seed=2))),
    ("batch_norm_eval", lambda x, w: _bn(lk, x, w, None, False) ** 2,
     (lambda: _x(4, 3), lambda: _x(3, seed=1))),
    ("erf", lambda a: a.erf(), (lambda: _x(6),)),
    ("gelu", lambda a: lk.nn.functional.gelu(a), (lambda: _x(6),)),
    ("gelu_tanh", lambda a: lk.nn.functional.gelu(a, approximate="tanh"), (lambda: _x(6),)),
    ("leaky_relu", lambda a: lk.nn.functional.leaky_relu(a, 0.2) ** 2, (lambda: _x(6),)),
    ("silu", lambda a: lk.nn.functional.silu(a), (lambda: _x(6),)),
    ("softplus", lambda a: lk.nn.functional.softplus(a, beta=2.0, threshold=3.0),
     (lambda: _x(6) * 2,)),
    ("elu", lambda a: lk.nn.functional.elu(a, 0.7) ** 2, (lambda: _x(6),)),
    ("selu_like", lambda a: lk.nn.functional.selu(a) ** 2 if hasattr(lk.nn.functional, "selu")
     else a ** 2, (lambda: _x(6),)),
]

def _u(*shape, seed=0):
    """A float64 leaf with values in (-0.9, 0.9) (asin, acos)."""
    a = np.random.default_rng(seed).uniform(-0.9, 0.9, shape)
    return lk.tensor(a, dtype=F64, requires_grad=True)


def _spd(n, seed=0):
    """A well-conditioned float64 matrix leaf (inverses, determinants, solves)."""
    a = np.random.default_rng(seed).standard_normal((n, n)) * 0.3 + 2 * np.eye(n)
    return lk.tensor(a, dtype=F64, requires_grad=True)


def _with_zero(*shape):
    a = np.random.default_rng(0).standard_normal(shape)
    a[0, 1] = 0.0
    return lk.tensor(a, dtype=F64, requires_grad=True)


def _inplace_view(M, a):
    b = a * 1
    v = b[:, 1:3]
    v.mul_(a[:, :2])                                   # CopySlices (base), AsStrided (view)
    return (b ** 2).sum(1, keepdim=True) + v ** 3


def _hooked(M, a):
    m = M.nn.Tanh()
    m.register_full_backward_hook(lambda mod, gi, go: None)   # BackwardHookFunction nodes
    return m(a) ** 2


def _lstm_ref(M, xw, h0, c0, w, b, reverse):
    """One LSTM layer step by step (gates i, f, g, o), written here independently of labkit."""
    L, outs, h, c = xw.shape[0], {}, h0, c0
    for s in range(L):
        t = L - 1 - s if reverse else s
        i, f, g, o = (xw[t] + h @ w.T + b).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        outs[t] = h
    return M.stack([outs[t] for t in range(L)], 0), h, c


def _lstm(M, xw, h0, c0, w, b, reverse=False, bf=False):
    if M is lk:   # (reversed: the bias passed as b_ih, the input projection's)
        bh, bi = (None, b) if reverse else (b, None)
        out, h, c = lk.nn.functional.lstm_layer(xw, h0, c0, w, bh, reverse, b_ih=bi, batch_first=bf)
        out = out.transpose(0, 1) if bf else out
    else:
        out, h, c = _lstm_ref(M, xw, h0, c0, w, b, reverse)
    return out.sum(0) * h + c ** 2


def _hardsigmoid(M, a):
    if M is lk:
        return lk.nn.functional.hardsigmoid(a)
    return (a / 6 + 0.5).clamp(0, 1)      # torch has no second derivative of its hardsigmoid


_I = np.array([[0, 2], [1, 0], [2, 1]])
_Y3 = np.array([1, 0, 2, 2])

# the same function of (M, *inputs) for labkit and torch
OPS_M = [
    ("asin", lambda M, a: a.asin(), (lambda: _u(5),)),
    ("acos", lambda M, a: a.acos(), (lambda: _u(5),)),
    ("atan", lambda M, a: a.atan(), (lambda: _x(5),)),
    ("sinh", lambda M, a: a.sinh(), (lambda: _x(5),)),
    ("cosh", lambda M, a: a.cosh(), (lambda: _x(5),)),
    ("atan2", lambda M, a, b: M.atan2(a, b), (lambda: _x(5), lambda: _x(5, seed=1))),
    ("minimum", lambda M, a, b: M.minimum(a, b) ** 2, (lambda: _x(2, 4), lambda: _x(2, 4, seed=1))),
    ("remainder", lambda M, a, b: M.remainder(a, b) ** 2,
     (lambda: _x(5), lambda: _x(5, seed=1, positive=True))),
    ("fmod", lambda M, a, b: M.fmod(a, b) ** 2, (lambda: _x(5), lambda: _x(5, seed=1, positive=True))),
    ("rounding", lambda M, a: a.floor() * a + a.ceil() * a + a.trunc() * a + a.round() * a +
     a.sign() * a, (lambda: _x(6) * 3,)),
    ("lerp", lambda M, a, b, w: M.lerp(a, b, w).tanh(),
     (lambda: _x(4), lambda: _x(4, seed=1), lambda: _x(4, seed=2))),
    ("lerp_scalar", lambda M, a, b: M.lerp(a, b, 0.3) ** 2, (lambda: _x(4), lambda: _x(4, seed=1))),
    ("addcmul", lambda M, a, b, c: M.addcmul(a, b, c, value=0.5).tanh(),
     (lambda: _x(3, 4), lambda: _x(4, seed=1), lambda: _x(3, 1, seed=2))),
    ("to_float32", lambda M, a: (a.float() ** 2).double(), (lambda: _x(4),)),
    ("prod", lambda M, a: a.prod(1) ** 2, (lambda: _x(3, 4),)),
    ("prod_all_with_zero", lambda M, a: a.prod(), (lambda: _with_zero(2, 3),)),
    ("roll", lambda M, a: a.roll(1, 1) ** 2 * a, (lambda: _x(3, 4),)),
    ("tril_triu", lambda M, a: a.tril() ** 2 + a.triu(1) ** 3, (lambda: _x(3, 3),)),
    ("einsum", lambda M, a, b: M.einsum("ij,jk->ik", a, b).tanh(),
     (lambda: _x(2, 3), lambda: _x(3, 4, seed=1))),
    ("einsum_diagonal", lambda M, a: M.einsum("ii->i", a) ** 2 + M.einsum("ij->", a * a),
     (lambda: _x(3, 3),)),
    ("scatter", lambda M, a, b: a.scatter(1, M.tensor(_I), b) ** 2,
     (lambda: _x(3, 4), lambda: _x(3, 2, seed=1))),
    ("scatter_add", lambda M, a, b: a.scatter_add(1, M.tensor(_I), b) ** 2,
     (lambda: _x(3, 4), lambda: _x(3, 2, seed=1))),
    ("inplace_on_a_view", _inplace_view, (lambda: _x(3, 4),)),
    ("inv", lambda M, a: M.linalg.inv(a) ** 2, (lambda: _spd(3),)),
    ("det", lambda M, a: M.linalg.det(a), (lambda: _spd(3),)),
    ("slogdet", lambda M, a: M.linalg.slogdet(a).logabsdet, (lambda: _spd(3),)),
    ("solve", lambda M, a, b: M.linalg.solve(a, b) ** 2, (lambda: _spd(3), lambda: _x(3, 2, seed=1))),
    ("solve_vector", lambda M, a, b: M.linalg.solve(a, b) ** 2, (lambda: _spd(3), lambda: _x(3, seed=1))),
    ("cholesky", lambda M, a: M.linalg.cholesky(a @ a.mT), (lambda: _spd(3),)),
    ("eigvalsh", lambda M, a: M.linalg.eigvalsh(a + a.mT) ** 2, (lambda: _spd(3),)),
    ("svdvals", lambda M, a: M.linalg.svdvals(a) ** 2, (lambda: _x(4, 3),)),
    ("svdvals_wide", lambda M, a: M.linalg.svdvals(a).sum(), (lambda: _x(2, 3),)),
    ("eigh", lambda M, a: (lambda r: r[0] ** 2 + (r[1] ** 2 * a).sum(0))(M.linalg.eigh(a + a.mT)),
     (lambda: _x(3, 3),)),
    ("svd_tall", lambda M, a: (lambda r: (r[0] ** 2 * a).sum(0) + (r[2] ** 3 * r[2]).sum(0) *
                               r[1].sum())(M.linalg.svd(a, full_matrices=False)),
     (lambda: _x(4, 3),)),
    ("svd_wide", lambda M, a: (lambda r: (r[0] * r[0] * r[1]).sum(0) + (r[2] ** 2).sum(0)[:2])(
        M.linalg.svd(a, full_matrices=False)), (lambda: _x(2, 3),)),
    ("qr", lambda M, a: (lambda r: r[0] * r[1][:, :1].T + r[1].sum())(M.linalg.qr(a)),
     (lambda: _x(4, 3),)),
    ("qr_wide", lambda M, a: (lambda r: r[0].sum(0) * r[1].sum())(M.linalg.qr(a)),
     (lambda: _x(2, 3),)),
    ("vector_norm_p", lambda M, a: M.linalg.vector_norm(a, 3, dim=1) ** 2, (lambda: _x(3, 4),)),
    ("pinv", lambda M, a: M.linalg.pinv(a) ** 2, (lambda: _x(4, 3),)),
    ("pinv_wide_hermitian", lambda M, a, b: (M.linalg.pinv(a) ** 2).sum(1) + M.linalg.pinv(
        b @ b.mT, hermitian=True)[:, 0], (lambda: _x(2, 3), lambda: _spd(3, seed=1))),
    ("as_strided", lambda M, a: M.as_strided(a, (2, 2), (1, 2), 1) ** 3, (lambda: _x(3, 3),)),
    ("lu", lambda M, a: (lambda r: r[1] ** 2 + r[2])(M.linalg.lu(a)), (lambda: _spd(3),)),
    ("lu_wide", lambda M, a: M.linalg.lu_factor(a).LU ** 2, (lambda: _x(2, 3),)),
    ("lu_tall", lambda M, a: (lambda r: r[1].sum(1) * r[2].sum())(M.linalg.lu(a)),
     (lambda: _x(4, 2),)),
    ("avg_pool2d", lambda M, x: M.nn.functional.avg_pool2d(x, 2, padding=1) ** 2,
     (lambda: _x(1, 2, 4, 5),)),
    ("conv_transpose2d", lambda M, x, w, b: M.nn.functional.conv_transpose2d(
        x, w, b, stride=2, padding=1).tanh(),
     (lambda: _x(2, 2, 3, 3), lambda: _x(2, 3, 3, 3, seed=1), lambda: _x(3, seed=2))),
    ("conv_transpose2d_groups", lambda M, x, w: M.nn.functional.conv_transpose2d(
        x, w, groups=2) ** 2, (lambda: _x(1, 4, 3, 3), lambda: _x(4, 1, 2, 2, seed=1))),
    ("conv2d_groups", lambda M, x, w: M.nn.functional.conv2d(x, w, groups=2, padding=1) ** 2,
     (lambda: _x(1, 4, 4, 4), lambda: _x(6, 2, 3, 3, seed=1))),
    ("unfold", lambda M, x: M.nn.functional.unfold(x, 2, padding=1) ** 2, (lambda: _x(1, 2, 3, 3),)),
    ("fold", lambda M, c: M.nn.functional.fold(c, (3, 3), 2) ** 2, (lambda: _x(1, 8, 4),)),
    ("group_norm", lambda M, x, w, b: M.nn.functional.group_norm(x, 2, w, b).tanh(),
     (lambda: _x(2, 4, 3), lambda: _x(4, seed=1), lambda: _x(4, seed=2))),
    ("pad_constant", lambda M, a: M.nn.functional.pad(a, (1, 2, -1, 1), value=0.5) ** 2,
     (lambda: _x(3, 4),)),
    ("pad_reflect", lambda M, a: M.nn.functional.pad(a, (1, 2, 2, 0), mode="reflect") ** 2,
     (lambda: _x(1, 3, 4),)),
    ("hard_activations", lambda M, a: (M.nn.functional.hardtanh(a) ** 2 +
                                       _hardsigmoid(M, a) ** 2 +
                                       M.nn.functional.hardswish(a) ** 2 +
                                       M.nn.functional.threshold(a, 0.1, 2.0) ** 2),
     (lambda: _x(8) * 3,)),
    ("logsigmoid", lambda M, a: M.nn.functional.logsigmoid(a), (lambda: _x(6),)),
    ("mish", lambda M, a: M.nn.functional.mish(a), (lambda: _x(6),)),
    ("huber", lambda M, a, t: M.nn.functional.huber_loss(a, t, delta=0.5),
     (lambda: _x(3, 4), lambda: _x(3, 4, seed=1))),
    ("smooth_l1", lambda M, a, t: M.nn.functional.smooth_l1_loss(a, t, beta=0.5, reduction="sum"),
     (lambda: _x(3, 4), lambda: _x(3, 4, seed=1))),
    ("bce", lambda M, a, t: M.nn.functional.binary_cross_entropy(a.sigmoid(), t.sigmoid()),
     (lambda: _x(3, 4), lambda: _x(3, 4, seed=1))),
    ("bce_weight_none", lambda M, a: M.nn.functional.binary_cross_entropy(
        a.sigmoid(), _T(3, 4, prob=True, M=M), weight=_T(4, prob=True, M=M), reduction="none"),
     (lambda: _x(3, 4),)),
    ("nll", lambda M, a: M.nn.functional.nll_loss(a.log_softmax(1), M.tensor(_Y3)) * 3,
     (lambda: _x(4, 3),)),
    ("nll_weight_ignore_none", lambda M, a: M.nn.functional.nll_loss(
        (a * 2).log_softmax(1), M.tensor(_Y3), weight=_T(3, prob=True, M=M), ignore_index=0,
        reduction="none"), (lambda: _x(4, 3),)),
    ("lstm", lambda M, *t: _lstm(M, *t),
     (lambda: _x(3, 2, 8), lambda: _x(2, 2, seed=1), lambda: _x(2, 2, seed=2),
      lambda: _x(8, 2, seed=3), lambda: _x(8, seed=4))),
    ("lstm_reverse", lambda M, *t: _lstm(M, *t, reverse=True),
     (lambda: _x(3, 1, 4), lambda: _x(1, 1, seed=1), lambda: _x(1, 1, seed=2),
      lambda: _x(4, 1, seed=3), lambda: _x(4, seed=4))),
    ("lstm_batch_first_out", lambda M, *t: _lstm(M, *t, bf=True),
     (lambda: _x(3, 2, 8), lambda: _x(2, 2, seed=1), lambda: _x(2, 2, seed=2),
      lambda: _x(8, 2, seed=3), lambda: _x(8, seed=4))),
    ("module_backward_hook", _hooked, (lambda: _x(5),)),
    ("sdpa_mask", lambda M, q, k, v, m: M.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=m, scale=0.7), (lambda: _x(2, 3, 4), lambda: _x(2, 5, 4, seed=1),
                                           lambda: _x(2, 5, 2, seed=2), lambda: _x(3, 5, seed=3))),
]
# ---- special functions (labkit/ops/special.py; added by the OpInfo conformance work)
OPS_M += [
    ("lgamma", lambda M, a: M.lgamma(a), (lambda: _x(6, positive=True),)),
    ("digamma", lambda M, a: M.digamma(a), (lambda: _x(6, positive=True),)),
    ("polygamma", lambda M, a: M.polygamma(2, a), (lambda: _x(6, positive=True),)),
    ("erfinv", lambda M, a: M.erfinv(a.tanh() * 0.9), (lambda: _x(6),)),
    ("i0", lambda M, a: M.i0(a), (lambda: _x(6),)),
    ("i1e", lambda M, a: M.special.i1e(a), (lambda: _x(6),)),
    ("erfcx", lambda M, a: M.special.erfcx(a), (lambda: _x(6),)),
]
OPS += [(name, (lambda *a, f=f: f(lk, *a)), makers) for name, f, makers in OPS_M]
TORCH_FNS = {name: (lambda *a, f=f: f(torch, *a)) for name, f, _ in OPS_M}
GRADGRAD_TOL = {"to_float32": dict(eps=1e-3, atol=1e-3, rtol=1e-3)}   # float32 in the middle
TORCH_TOL = {"to_float32": dict(rtol=1e-6, atol=1e-7)}
# PyTorch's polygamma(1, .) (the trigamma behind these derivatives) is good to ~5e-10 relative:
# polygamma(1, 1) = pi^2/6 = 1.6449340668482264, torch gives 1.6449340676383375, labkit ...266
TORCH_TOL.update({n: dict(rtol=1e-8, atol=1e-10) for n in ("lgamma", "digamma", "polygamma")})


def _T(*shape, prob=False, M=None):
    """A constant float64 tensor (of labkit, or of ``M``) with fixed values."""
    a = np.random.default_rng(7).random(shape) if prob else \
        np.random.default_rng(7).standard_normal(shape)
    return (M or lk).tensor(a, dtype=(M or lk).float64)


_Y = np.array([2, 0, 1, 3, 1])
CE_CASES = {
    "cross_entropy": {},
    "cross_entropy_options": {"weight": True, "label_smoothing": 0.2, "ignore_index": 1},
    "cross_entropy_sum": {"reduction": "sum"},
    "cross_entropy_none": {"reduction": "none", "weight": True},
    "cross_entropy_3d": {"spatial": True},
}
OPS += [(name, (lambda a, kw=kw: _ce(lk, a, **kw)),
         ((lambda: _x(2, 4, 3)) if kw.get("spatial") else (lambda: _x(5, 4)),))
        for name, kw in CE_CASES.items()]


def _ce(M, a, weight=False, spatial=False, **kw):
    y = M.tensor(np.array([[0, 3, 1], [2, 2, 0]]) if spatial else _Y)
    w = M.tensor(np.array([0.5, 1.0, 2.0, 1.5]), dtype=M.float64) if weight else None
    return M.nn.functional.cross_entropy(a.tanh() * 2, y, weight=w, **kw) * 3


def _bn(M, x, w, b, training):
    rm = M.tensor(np.array([0.1, -0.2, 0.3]), dtype=M.float64)
    rv = M.tensor(np.array([1.5, 0.5, 2.0]), dtype=M.float64)
    return M.nn.functional.batch_norm(x, rm, rv, w, b, training=training)


def _dropout(M, a):
    M.manual_seed(0)                       # the same mask in every call of gradgradcheck
    return M.nn.functional.dropout(a, 0.4) ** 2


def _setitem(a):
    b = a * 1
    b[0] = a[1] ** 2
    return b ** 2


@pytest.mark.parametrize("name,fn,makers", OPS, ids=[o[0] for o in OPS])
def test_gradgradcheck_every_supported_op(name, fn, makers):
    inputs = tuple(m() for m in makers)
    assert lk.autograd.gradgradcheck(fn, inputs, **GRADGRAD_TOL.get(name, {}))


@pytest.mark.parametrize("name,fn,makers", OPS, ids=[o[0] for o in OPS])
def test_second_order_matches_torch(name, fn, makers):
    # d/dx <v, d/dx <w, f(x)>>: both orders vs PyTorch, float64
    inputs = [m() for m in makers]
    out = fn(*inputs)
    rng = np.random.default_rng(5)
    w = rng.standard_normal(tuple(out.shape))
    gs = lk.autograd.grad((out * lk.tensor(w, dtype=F64)).sum(), inputs, create_graph=True)
    vs = [rng.standard_normal(tuple(x.shape)) for x in inputs]
    s = sum((g * lk.tensor(v, dtype=F64)).sum() for g, v in zip(gs, vs))

    tin = [torch.tensor(x.detach().numpy(), requires_grad=True) for x in inputs]
    if name == "dropout":
        return                             # torch draws another mask: gradgradcheck covers it
    tfn = {"setitem": _setitem_torch,
           "gelu_tanh": lambda a: torch.nn.functional.gelu(a, approximate="tanh"),
           "gelu": torch.nn.functional.gelu,
           "batch_norm_train": lambda x, w, b: _bn(torch, x, w, b, True).tanh(),
           "batch_norm_eval": lambda x, w: _bn(torch, x, w, None, False) ** 2,
           "gather": lambda a: a.gather(1, torch.tensor([[0, 0], [3, 1], [2, 2]])) ** 2,
           "embedding": lambda w: torch.nn.functional.embedding(
               torch.tensor([[0, 2], [2, 3]]), w, padding_idx=3).tanh(),
           "masked_fill": lambda a: a.masked_fill(_T(2, 4, M=torch) > 0, 0.5) ** 2,
           "cat": lambda a, b: torch.cat([a, b ** 2], 1).tanh(),
           "stack": lambda a, b: torch.stack([a, b * a], 1) ** 2,
           "maximum": lambda a, b: torch.maximum(a, b) ** 2,
           "mse_loss": lambda a, b: torch.nn.functional.mse_loss(a.tanh(), b) * 3,
           "mse_loss_none": lambda a: torch.nn.functional.mse_loss(a.tanh(), _T(3, 4, M=torch),
                                                                   reduction="none"),
           "bce_logits": lambda a: torch.nn.functional.binary_cross_entropy_with_logits(
               a, _T(3, 4, prob=True, M=torch), weight=_T(4, prob=True, M=torch),
               pos_weight=_T(4, prob=True, M=torch) + 1),
           "bce_logits_sum": lambda a: torch.nn.functional.binary_cross_entropy_with_logits(
               a, _T(3, 4, prob=True, M=torch), reduction="sum"),
           "conv2d": lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=2, padding=1).tanh(),
           "conv2d_dilated": lambda x, w: torch.nn.functional.conv2d(x, w, dilation=2,
                                                                     padding=2) ** 2,
           "max_pool2d": lambda x: torch.nn.functional.max_pool2d(x, 2) ** 2,
           "leaky_relu": lambda a: torch.nn.functional.leaky_relu(a, 0.2) ** 2,
           "silu": torch.nn.functional.silu,
           "softplus": lambda a: torch.nn.functional.softplus(a, beta=2.0, threshold=3.0),
           "elu": lambda a: torch.nn.functional.elu(a, 0.7) ** 2,
           "selu_like": lambda a: torch.nn.functional.selu(a) ** 2,
           "layer_norm": lambda a, w, b: torch.nn.functional.layer_norm(a, (4,), w, b).tanh(),
           "layer_norm_plain": lambda a: torch.nn.functional.layer_norm(a, (2, 3)) ** 2,
           "linear": lambda x, w, b: torch.nn.functional.linear(x, w, b).tanh(),
           "where": lambda a, b: torch.where(a > 0, a * b, b ** 2)}.get(name, fn)
    if name in CE_CASES:
        tfn = lambda a: _ce(torch, a, **CE_CASES[name])                    # noqa: E731
    tfn = TORCH_FNS.get(name, tfn)
    tol = TORCH_TOL.get(name, dict(rtol=1e-10, atol=1e-12))
    tout = tfn(*tin)
    tgs = torch.autograd.grad((tout * torch.tensor(w)).sum(), tin, create_graph=True)
    ts = sum((g * torch.tensor(v)).sum() for g, v in zip(tgs, vs))
    for g, tg in zip(gs, tgs):
        np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), **tol)
    assert s.requires_grad == ts.requires_grad      # linear ops: the gradient is a constant
    if not ts.requires_grad:
        return
    hv = lk.autograd.grad(s, inputs, allow_unused=True)
    thv = torch.autograd.grad(ts, tin, allow_unused=True)
    for h, th in zip(hv, thv):
        if th is None:
            assert h is None or np.all(h.numpy() == 0)
        else:
            np.testing.assert_allclose(h.numpy(), th.numpy(), **{**dict(rtol=1e-9, atol=1e-12),
                                                                 **TORCH_TOL.get(name, {})})


def _setitem_torch(a):
    b = a * 1
    b[0] = a[1] ** 2
    return b ** 2


def test_hessian_vector_product_of_an_mlp_matches_torch():
    lk.manual_seed(0)
    model = lk.nn.Sequential(lk.nn.Linear(4, 8), lk.nn.Tanh(), lk.nn.Linear(8, 3)).double()
    x = lk.randn(6, 4, dtype=F64)
    y = lk.tensor([0, 2, 1, 1, 0, 2])
    tmodel = lk.interop.to_torch(model)
    params, tparams = list(model.parameters()), list(tmodel.parameters())
    loss = lk.nn.functional.log_softmax(model(x), 1)[lk.arange(6), y].mean().neg()
    tloss = -torch.log_softmax(tmodel(torch.from_numpy(x.numpy())), 1)[torch.arange(6),
                                                                        torch.from_numpy(y.numpy())].mean()
    vs = [lk.randn(*p.shape, dtype=F64) for p in params]
    gs = lk.autograd.grad(loss, params, create_graph=True)
    hv = lk.autograd.grad(sum((g * v).sum() for g, v in zip(gs, vs)), params)
    tgs = torch.autograd.grad(tloss, tparams, create_graph=True)
    thv = torch.autograd.grad(sum((g * torch.from_numpy(v.numpy())).sum()
                                  for g, v in zip(tgs, vs)), tparams)
    for a, b in zip(hv, thv):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12)


def test_gradient_penalty_trains_the_weights():
    # WGAN-GP style: the norm of d(critic)/d(input) is part of the loss of the critic's weights
    lk.manual_seed(0)
    critic = lk.nn.Sequential(lk.nn.Linear(3, 5), lk.nn.Tanh(), lk.nn.Linear(5, 1)).double()
    t = lk.interop.to_torch(critic)
    x = lk.randn(4, 3, dtype=F64, requires_grad=True)
    (gx,) = lk.autograd.grad(critic(x).sum(), x, create_graph=True)
    penalty = ((gx.norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    tx = torch.from_numpy(x.detach().numpy()).requires_grad_()
    (tgx,) = torch.autograd.grad(t(tx).sum(), tx, create_graph=True)
    ((tgx.norm(2, dim=1) - 1) ** 2).mean().backward()
    for (name, p), tp in zip(critic.named_parameters(), t.parameters()):
        if tp.grad is None:                          # the last bias does not reach d/dx
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert critic[0].weight.grad is not None and critic[2].weight.grad is not None


def test_gradient_penalty_of_a_cnn_critic_matches_torch():
    lk.manual_seed(0)
    critic = lk.nn.Sequential(lk.nn.Conv2d(1, 4, 3, padding=1), lk.nn.LeakyReLU(0.2),
                              lk.nn.MaxPool2d(2), lk.nn.Flatten(), lk.nn.Linear(4 * 4 * 4, 1)).double()
    t = lk.interop.to_torch(critic)
    x = lk.randn(3, 1, 8, 8, dtype=F64, requires_grad=True)
    (gx,) = lk.autograd.grad(critic(x).sum(), x, create_graph=True)
    ((gx.reshape(3, -1).norm(2, dim=1) - 1) ** 2).mean().backward()
    tx = torch.from_numpy(x.detach().numpy()).requires_grad_()
    (tgx,) = torch.autograd.grad(t(tx).sum(), tx, create_graph=True)
    ((tgx.reshape(3, -1).norm(2, dim=1) - 1) ** 2).mean().backward()
    for (name, p), tp in zip(critic.named_parameters(), t.parameters()):
        if p.grad is None or tp.grad is None:       # (torch may keep an all-zero gradient)
            other = p.grad if tp.grad is None else tp.grad
            assert other is None or not np.any(other.detach().numpy()), name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-8, atol=1e-12)
    assert critic[0].weight.grad is not None and np.any(critic[0].weight.grad.numpy())


def test_backward_create_graph_leaves_a_differentiable_grad():
    x = lk.tensor(2.0, dtype=F64, requires_grad=True)
    (x ** 3).backward(create_graph=True)
    assert x.grad.item() == pytest.approx(12.0) and x.grad.grad_fn is not None
    g = x.grad
    x.grad = None
    g.backward()                                   # d(3x^2)/dx = 6x
    assert x.grad.item() == pytest.approx(12.0)
    y = lk.tensor([0.5, 1.0], dtype=F64, requires_grad=True)
    (d1,) = lk.autograd.grad(y.sin().sum(), y, create_graph=True)
    (d2,) = lk.autograd.grad(d1.sum(), y, create_graph=True)
    (d3,) = lk.autograd.grad(d2.sum(), y)          # third derivative of sin: -cos
    np.testing.assert_allclose(d3.numpy(), -np.cos([0.5, 1.0]), rtol=1e-12)


def test_custom_function_with_tensor_backward_is_twice_differentiable():
    class Cube(lk.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * 3 * a ** 2

    x = _x(4)
    assert lk.autograd.gradgradcheck(Cube.apply, (x,))

    class Wrong(Cube):
        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * 3 * a.detach() ** 2         # right first derivative, no second

    assert lk.autograd.gradcheck(Wrong.apply, (x,))
    with pytest.raises(lk.autograd.gradcheck.__globals__["GradcheckError"]):
        lk.autograd.gradgradcheck(Wrong.apply, (x,))


def test_ordinary_backward_is_unchanged_and_graph_free():
    x = _x(3)
    (x.tanh() * 2).sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad


# ------------------------------------------------------------------ autograd.functional vs torch
def _f(M, x, w):
    return (w @ x).tanh() * x.sum()


def _s(M, x, w):
    return ((w @ x).tanh() ** 2).sum() + (x ** 3).sum()


def test_functional_jacobian_hessian_and_products_match_torch():
    fn = lk.autograd.functional
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(3), rng.standard_normal((2, 3))
    L = lambda arr: lk.tensor(arr, dtype=F64)                      # noqa: E731
    T = torch.tensor
    J = fn.jacobian(lambda x, w: _f(lk, x, w), (L(a), L(b)))
    TJ = torch.autograd.functional.jacobian(lambda x, w: _f(torch, x, w), (T(a), T(b)))
    assert [tuple(j.shape) for j in J] == [(2, 3), (2, 2, 3)]
    for j, tj in zip(J, TJ):
        np.testing.assert_allclose(j.numpy(), tj.numpy(), rtol=1e-12, atol=1e-14)
    H = fn.hessian(lambda x, w: _s(lk, x, w), (L(a), L(b)))
    TH = torch.autograd.functional.hessian(lambda x, w: _s(torch, x, w), (T(a), T(b)))
    for i in range(2):
        for k in range(2):
            np.testing.assert_allclose(H[i][k].numpy(), TH[i][k].numpy(), rtol=1e-12, atol=1e-14)
    H1 = fn.hessian(lambda x: _s(lk, x, L(b)), L(a))
    assert tuple(H1.shape) == (3, 3)
    np.testing.assert_allclose(H1.numpy(), H1.numpy().T, atol=1e-14)          # symmetric
    for name, f, n in (("vjp", _f, 2), ("jvp", _f, 3), ("hvp", _s, 3), ("vhp", _s, 3)):
        v = rng.standard_normal(n)
        out, r = getattr(fn, name)(lambda x: f(lk, x, L(b)), L(a), L(v))
        tout, tr = getattr(torch.autograd.functional, name)(lambda x: f(torch, x, T(b)), T(a), T(v))
        np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(r.numpy(), tr.numpy(), rtol=1e-12, atol=1e-14)
        assert not r.requires_grad


def test_functional_leaves_the_callers_tensors_alone_and_checks_arguments():
    x = lk.tensor([1.0, 2.0], dtype=F64, requires_grad=True)
    J = lk.autograd.functional.jacobian(lambda t: t ** 2, x)
    np.testing.assert_allclose(J.numpy(), np.diag([2.0, 4.0]))
    assert x.grad is None
    with pytest.raises(RuntimeError, match="single Tensor containing a single element"):
        lk.autograd.functional.hessian(lambda t: t ** 2, x)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        lk.autograd.functional.jacobian(lambda t, u: t * 2, (x, x.detach()), strict=True)


def test_newtons_method_on_logistic_regression_matches_torch():
    # the Hessian of the logistic loss, the classic second-order lesson
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), (rng.random(20) > 0.5).astype(float)
    w = np.zeros(3)
    for M in (lk, torch):
        Xm, ym = M.tensor(X), M.tensor(y)

        def loss(w):
            return M.nn.functional.binary_cross_entropy_with_logits(Xm @ w, ym)
        wm = M.tensor(w)
        for _ in range(3):                              # Newton steps
            g = M.autograd.functional.jacobian(loss, wm)
            H = M.autograd.functional.hessian(loss, wm)
            wm = wm - M.tensor(np.linalg.solve(H.numpy(), g.numpy()))
        if M is lk:
            ours = wm.numpy()
        else:
            np.testing.assert_allclose(ours, wm.numpy(), rtol=1e-10)


def test_pinn_style_derivatives_through_cat_match_torch():
    # physics-informed nets: u(x, t) = net(cat([x, t])), then u_x, u_xx with create_graph
    lk.manual_seed(0)
    net = lk.nn.Sequential(lk.nn.Linear(2, 8), lk.nn.Tanh(), lk.nn.Linear(8, 1)).double()
    tnet = lk.interop.to_torch(net)
    res = []
    for M, model in ((lk, net), (torch, tnet)):
        x = M.tensor(np.linspace(-1, 1, 5)[:, None], requires_grad=True)
        t = M.tensor(np.linspace(0, 1, 5)[:, None], requires_grad=True)
        u = model(M.cat([x, t], 1))
        (u_x,) = M.autograd.grad(u.sum(), x, create_graph=True)
        (u_xx,) = M.autograd.grad(u_x.sum(), x, create_graph=True)
        (u_t,) = M.autograd.grad(u.sum(), t, create_graph=True)
        loss = ((u_t - 0.1 * u_xx) ** 2).mean()
        loss.backward()
        res.append([u_xx.detach().numpy(), model[0].weight.grad.numpy()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ one rule per primitive
def _primitives():
    """Every built-in Function that the engine can meet: its variants (``Index.variant(...)``)
    count as the Function itself, abstract bases (``_PointwiseLoss``) not at all."""
    import labkit.nn  # noqa: F401  (defines Functions too)
    out, stack = set(), list(lk.autograd.Function.__subclasses__())
    while stack:
        c = stack.pop()
        stack.extend(c.__subclasses__())
        if c.raw and c.__module__.startswith("labkit."):
            out.add(_base(c))
    return {c for c in out if not any(s.__name__ != c.__name__ for s in c.__subclasses__())}


def _base(c):
    """The Function a variant was made from (same name, one level down)."""
    while c.__bases__[0] is not lk.autograd.Function and c.__bases__[0].__name__ == c.__name__:
        c = c.__bases__[0]
    return c


def _functions_in(*tensors):
    seen, found = set(), set()
    stack = [t.grad_fn for t in tensors if t is not None]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        if n.op is not None:
            found.add(_base(n.op))
        stack.extend(f for f, _ in n.next_functions)
    return found


def test_every_primitive_has_its_derivative_in_words():
    missing = sorted(c.__name__ for c in _primitives()
                     if not (isinstance(c.derivative, str) and len(c.derivative) > 10))
    assert not missing, f"Functions without `derivative = \"...\"` words: {missing}"


def test_every_differentiable_primitive_is_in_the_second_order_table():
    # the forward graph of every row, and the graph of its gradient (adjoint Functions such as
    # fold or IndexPut appear only there), must reach every primitive: so each one is checked by
    # gradgradcheck and against PyTorch above
    covered = set()
    cases = [(fn, [m() for m in makers]) for _, fn, makers in OPS]
    for op in GRAD_ROWS:                            # (the op table's rows count too)
        template, arrays = _split_leaves(list(_draw(op.args, 0)))
        xs = [lk.tensor(a, dtype=F64, requires_grad=True) for a in arrays]
        cases.append((_row_fn(op, lk, template), xs))
    for fn, inputs in cases:
        outs = fn(*inputs)
        outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o.requires_grad]
        if not outs:
            continue
        gs = lk.autograd.grad(sum(o.sum() for o in outs), inputs, create_graph=True,
                              allow_unused=True)
        covered |= _functions_in(*outs, *gs)
    missing = sorted(c.__name__ for c in _primitives() - covered)
    assert not missing, f"no row of tests/optable.py (or OPS here) uses {missing}"


@pytest.mark.parametrize("name,fn,makers", OPS, ids=[o[0] for o in OPS])
def test_fused_backward_overrides_agree_with_the_rule(name, fn, makers):
    # an ordinary backward runs each Function's `fused_backward` (where it has one); with
    # create_graph=True the engine runs the general `backward` rule: same first-order numbers
    inputs = [m() for m in makers]
    out = fn(*inputs)
    w = lk.tensor(np.random.default_rng(3).standard_normal(tuple(out.shape)), dtype=F64)
    fused = lk.autograd.grad((out * w).sum(), inputs, retain_graph=True, allow_unused=True)
    rule = lk.autograd.grad((out * w).sum(), inputs, create_graph=True, allow_unused=True)
    for a, b in zip(fused, rule):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_the_fused_overrides_are_all_exercised():
    fused = {c.__name__ for c in _primitives() if c.fused_backward is not None}
    assert {"Tanh", "Sigmoid", "Relu", "MatMul", "Softmax", "LogSoftmax", "GELU", "SiLU",
            "Conv2d", "MaxPool2d", "BatchNorm", "LayerNorm", "GroupNorm", "LSTMLayer",
            "ScaledDotProductAttention",
            "CrossEntropy", "BCEWithLogits"} <= fused


# ------------------------------------------------------------------ every row of the op table
# A new op needs one row in tests/optable.py: besides its forward / gradcheck / PyTorch checks
# (test_ops_table.py), the row gets gradgradcheck and PyTorch's second derivatives here.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from optable import OPS as TABLE  # noqa: E402
from test_ops_table import _build, _split_leaves  # noqa: E402

GRAD_ROWS = [op for op in TABLE if op.grad and op.gradcheck]


def _draw(strategy, seed):
    """One example of ``strategy``, the same on every run."""
    found = []

    @settings(max_examples=1, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def grab(v):
        found.append(v)
    grab()
    return found[0]


def _row_fn(op, M, template):
    def f(*xs):
        outs = op.fn(M, *_build(M, template, list(xs)))
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        return tuple(o for o in outs if isinstance(o, M.Tensor) and o.dtype.is_floating_point)
    return f


@pytest.mark.parametrize("op", GRAD_ROWS, ids=repr)
def test_second_order_of_every_op_table_row(op):
    args = _draw(op.args, 0)
    template, arrays = _split_leaves(list(args))
    if not arrays or not any(a.size for a in arrays):
        return                                      # (no float input drawn: nothing to check)
    xs = [lk.tensor(a, dtype=F64, requires_grad=True) for a in arrays]
    f = _row_fn(op, lk, template)
    outs = f(*xs)
    if not any(o.requires_grad for o in outs):
        return                                      # (comparisons: no float output)
    assert lk.autograd.gradgradcheck(f, xs, atol=1e-5, rtol=1e-3)
    # and the Hessian-vector product against PyTorch's (where PyTorch differentiates twice)
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal(tuple(o.shape)) for o in outs]
    vs = [rng.standard_normal(a.shape) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tf = _row_fn(op, torch, template) if op.torch_fn is None else \
        _row_fn(type(op)(op.name, op.torch_fn, None, op.args), torch, template)
    try:
        touts = tf(*ts)
        tgs = torch.autograd.grad(sum((o * torch.tensor(w)).sum() for o, w in zip(touts, ws)),
                                  ts, create_graph=True, allow_unused=True)
        tpairs = [(g, v) for g, v in zip(tgs, vs) if g is not None and g.requires_grad]
        thv = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in tpairs), ts,
                                  allow_unused=True) if tpairs else [None] * len(ts)
    except RuntimeError as e:                       # e.g. "derivative for ... not implemented"
        assert "not implemented" in str(e) or "does not require grad" in str(e), e
        return
    gs = lk.autograd.grad(sum((o * lk.tensor(w, dtype=F64)).sum() for o, w in zip(outs, ws)),
                          xs, create_graph=True, allow_unused=True)
    pairs = [(g, v) for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    hv = lk.autograd.grad(sum((g * lk.tensor(v, dtype=F64)).sum() for g, v in pairs), xs,
                          allow_unused=True) if pairs else [None] * len(xs)
    for h, th, x in zip(hv, thv, xs):
        a = np.zeros(x.shape) if h is None else h.numpy()
        b = np.zeros(x.shape) if th is None else th.numpy(force=True)    # (ZeroTensors too)
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
