"""nn kernels: Numba (kernels/nn_jit.py) vs NumPy reference (kernels/nn_reference.py), and
hypothesis-generated conv/pool geometries vs PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import labkit as lk
import labkit.nn.functional as F
from labkit import kernels
from labkit.kernels import nn_reference as ref

torch = pytest.importorskip("torch")
jit = pytest.importorskip("labkit.kernels.nn_jit") if kernels.USE_JIT else None
needs_jit = pytest.mark.skipif(not kernels.USE_JIT, reason="LABKIT_JIT=0: reference only")
RNG = np.random.default_rng(2)


def r(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


GEOMS = [  # N, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw
    (2, 3, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1),
    (1, 2, 8, 9, 2, 3, 2, 3, 1, 0, 1, 1),
    (2, 1, 9, 9, 3, 2, 1, 2, 2, 1, 2, 3),
    (3, 4, 5, 5, 5, 5, 1, 1, 2, 2, 1, 1),
    (1, 1, 4, 4, 1, 1, 2, 2, 0, 0, 1, 1),
]


def _out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


@needs_jit
@pytest.mark.parametrize("g", GEOMS)
def test_im2col_col2im_jit_matches_reference(g):
    N, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw = g
    OH, OW = _out(H, KH, sh, ph, dh), _out(W, KW, sw, pw, dw)
    x = r(N, C, H, W)
    a = np.empty((N, C * KH * KW, OH * OW), np.float32)
    b = np.full_like(a, np.nan)
    ref.im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, a)
    jit.im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, b)
    np.testing.assert_array_equal(a, b)
    cols = r(*a.shape)
    ga, gb = np.zeros_like(x), np.zeros_like(x)
    ref.col2im(cols, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, ga)
    jit.col2im(cols, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, gb)
    np.testing.assert_allclose(ga, gb, atol=1e-5)
    # col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>
    np.testing.assert_allclose((a * cols).sum(), (x * ga).sum(), rtol=1e-4)


@needs_jit
@pytest.mark.parametrize("g", GEOMS)
def test_max_pool_jit_matches_reference(g):
    N, C, H, W, KH, KW, sh, sw, ph, pw, dh, dw = g
    ph, pw = min(ph, KH // 2), min(pw, KW // 2)
    OH, OW = _out(H, KH, sh, ph, dh), _out(W, KW, sw, pw, dw)
    x = r(N, C, H, W)
    x[0, 0, 0, :2] = np.nan                         # NaN propagates like in PyTorch
    outs = []
    for mod in (ref, jit):
        out = np.empty((N, C, OH, OW), np.float32)
        idx = np.empty((N, C, OH, OW), np.int64)
        mod.max_pool2d(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, out, idx)
        g_ = r(N, C, OH, OW) if not outs else outs[0][2]
        gx = np.zeros_like(x)
        mod.max_pool2d_backward(g_, idx, gx)
        outs.append((out, idx, g_, gx))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_allclose(outs[0][3], outs[1][3], atol=1e-6)
    if dh == dw == 1:
        t_out, t_idx = torch.nn.functional.max_pool2d(torch.from_numpy(x), (KH, KW), (sh, sw),
                                                      (ph, pw), return_indices=True)
        np.testing.assert_array_equal(outs[1][0], t_out.numpy())
        np.testing.assert_array_equal(outs[1][1], t_idx.numpy())


@needs_jit
@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 7, 9), (3, 1, 2, 2)])
def test_max_pool_2x2_fast_path_matches_reference(shape):
    x = r(*shape)
    x[0, 0, 0, :3] = np.nan                         # NaN wins, the last NaN's index (torch)
    x[-1, -1, :2, :2] = -np.inf                     # an all -inf window still gets an index
    x[0, -1, 0, :2] = 1.5                           # a tie: the first maximum wins
    OH, OW = shape[2] // 2, shape[3] // 2
    outs = []
    for f in (lambda o, i: ref.max_pool2d(x, 2, 2, 2, 2, 0, 0, 1, 1, OH, OW, o, i),
              lambda o, i: jit.max_pool2d_2x2(x, o, i),
              lambda o, i: jit.max_pool2d(x, 2, 2, 2, 2, 0, 0, 1, 1, OH, OW, o, i)):
        out = np.empty(shape[:2] + (OH, OW), np.float32)
        idx = np.empty(out.shape, np.int64)
        f(out, idx)
        outs.append((out, idx))
    for out, idx in outs[1:]:
        np.testing.assert_array_equal(out, outs[0][0])
        np.testing.assert_array_equal(idx, outs[0][1])
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    np.testing.assert_array_equal(outs[1][0], t_out.numpy())
    np.testing.assert_array_equal(outs[1][1], t_idx.numpy())


@needs_jit
def test_layer_norm_jit_matches_reference_and_float64():
    x = r(7, 33) * 3 + 2
    w, b, g = r(33), r(33), r(7, 33)
    res = []
    for mod in (ref, jit):
        y, m, s = np.empty_like(x), np.empty(7, np.float32), np.empty(7, np.float32)
        mod.layer_norm(x, w, b, np.float32(1e-5), y, m, s)
        gx, gw, gb = np.empty_like(x), np.zeros(33, np.float32), np.zeros(33, np.float32)
        mod.layer_norm_backward(g, x, w, m, s, gx, gw, gb)
        res.append((y, gx, gw, gb))
    for a, b_ in zip(*res):
        np.testing.assert_allclose(a, b_, atol=2e-5, rtol=1e-4)
    # float32 kernel vs float64 reference
    y64 = np.empty((7, 33))
    ref.layer_norm(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), 1e-5, y64,
                   np.empty(7), np.empty(7))
    np.testing.assert_allclose(res[1][0], y64, atol=1e-5)


@needs_jit
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_jit_matches_reference(eps):
    z = r(9, 6) * 4
    z[0, 2] = 60.0                                   # large logits stay stable
    y = RNG.integers(0, 6, 9)
    y[3] = -100
    w = RNG.uniform(0.5, 2, 6).astype(np.float32)
    g = r(9)
    res = []
    for mod in (ref, jit):
        loss, lse = np.empty(9, np.float32), np.empty(9, np.float32)
        mod.cross_entropy(z, y, w, np.float32(eps), -100, loss, lse)
        out = np.empty_like(z)
        mod.cross_entropy_backward(z, y, w, np.float32(eps), -100, lse, g, out)
        res.append((loss, lse, out))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert res[1][0][3] == 0 and np.all(res[1][2][3] == 0)


def test_reference_path_is_used_for_float64():
    from labkit.kernels import nn as _kernels
    assert _kernels._mod(np.zeros(2)) is ref
    assert _kernels._mod(np.zeros((2, 2), np.float32).T) is ref


# ---------------------------------------------------------------- hypothesis vs PyTorch
@st.composite
def conv_case(draw):
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, C]))
    OC = groups * draw(st.integers(1, 2))
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H = draw(st.integers(max(1, dh * (KH - 1) + 1 - 2 * ph), 8))
    W = draw(st.integers(max(1, dw * (KW - 1) + 1 - 2 * pw), 8))
    return dict(N=N, C=C, OC=OC, groups=groups, k=(KH, KW), s=(sh, sw), p=(ph, pw), d=(dh, dw),
                H=H, W=W, bias=draw(st.booleans()))


@settings(max_examples=25, deadline=None)
@given(conv_case())
def test_conv2d_hypothesis(c):
    x = r(c["N"], c["C"], c["H"], c["W"])
    w = r(c["OC"], c["C"] // c["groups"], *c["k"])
    b = r(c["OC"]) if c["bias"] else None
    kw = dict(stride=c["s"], padding=c["p"], dilation=c["d"], groups=c["groups"])
    xl, wl = lk.tensor(x, requires_grad=True), lk.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ol = F.conv2d(xl, wl, None if b is None else lk.tensor(b), **kw)
    ot = torch.nn.functional.conv2d(xt, wt, None if b is None else torch.tensor(b), **kw)
    np.testing.assert_allclose(ol.detach().numpy(), ot.detach().numpy(), atol=1e-4)
    up = r(*ot.shape)
    (ol * lk.tensor(up)).sum().backward()
    (ot * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(wl.grad.numpy(), wt.grad.numpy(), atol=1e-4)


@st.composite
def pool_case(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    H, W = draw(st.integers(k[0], 9)), draw(st.integers(k[1], 9))
    return dict(k=k, s=s, p=p, H=H, W=W, ceil=draw(st.booleans()),
                cip=draw(st.booleans()))


@settings(max_examples=25, deadline=None)
@given(pool_case())
def test_pool2d_hypothesis(c):
    x = r(2, 2, c["H"], c["W"])
    for name, extra in (("max_pool2d", {}), ("avg_pool2d", {"count_include_pad": c["cip"]})):
        xl, xt = lk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ol = getattr(F, name)(xl, c["k"], c["s"], c["p"], ceil_mode=c["ceil"], **extra)
        ot = getattr(torch.nn.functional, name)(xt, c["k"], c["s"], c["p"], ceil_mode=c["ceil"],
                                                **extra)
        np.testing.assert_allclose(ol.detach().numpy(), ot.detach().numpy(), atol=1e-5)
        up = r(*ot.shape)
        (ol * lk.tensor(up)).sum().backward()
        (ot * torch.tensor(up)).sum().backward()
        np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), atol=1e-5)


@needs_jit
def test_lstm_cell_jit_matches_reference():
    N, H = 3, 5
    xg, hg = r(N, 4 * H) * 2, r(N, 4 * H)
    c_prev, dh, dh_out, dc0 = r(N, H), r(N, H), r(N, H), r(N, H)
    res = []
    for mod in (ref, jit):
        acts, c, h = np.empty((N, 4 * H), np.float32), np.empty((N, H), np.float32), \
            np.empty((N, H), np.float32)
        mod.lstm_cell(xg, hg, c_prev, acts, c, h)
        dc, dg = dc0.copy(), np.empty((N, 4 * H), np.float32)
        mod.lstm_cell_backward(acts, c_prev, c, dh, dh_out, dc, dg)
        res.append((acts, c, h, dc, dg))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(jit is None, reason="LABKIT_JIT=0")
def test_attn_softmax_jit_matches_reference():
    x, g = r(70, 9) * 3, r(70, 9)
    m, mrow = r(7, 9), np.arange(70) % 7
    m[2, 3:] = -np.inf
    m[5] = -np.inf                          # rows that attend to nothing: zeros
    res = []
    for mod in (ref, jit):
        for mm, mr in ((m, mrow), (np.zeros((0, 9), np.float32), mrow)):
            y = np.empty_like(x)
            mod.attn_softmax(x, mm, mr, np.float32(0.7), y)
            d = np.empty_like(x)
            mod.attn_softmax_backward(g, y, np.float32(0.7), d)
            res.append((y, d))
    for a, b in zip(res[:2], res[2:]):
        for u, w in zip(a, b):
            np.testing.assert_allclose(u, w, rtol=1e-5, atol=1e-6)
    assert (res[0][0][mrow == 5] == 0).all() and np.isfinite(res[0][1]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(), dict(bidirectional=True, batch_first=True),
                                dict(num_layers=2, bias=False), dict(hidden_size=21),
                                dict(num_layers=2, bidirectional=True, batch_first=True,
                                     hidden_size=21)])
def test_lstm_layer_gradients_vs_torch(kw, dtype):
    """Loss on output, h_n and c_n with a given initial state: every gradient as torch's.
    (hidden_size=21: float32's fused time loop in several blocks of units, the last shorter.)"""
    kw = dict(kw)
    Hd = kw.pop("hidden_size", 6)
    lm = lk.nn.LSTM(4, Hd, **kw).to(getattr(lk, np.dtype(dtype).name))
    tm = torch.nn.LSTM(4, Hd, **kw).to(getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        for (n, p), (tn, tp) in zip(lm.named_parameters(), tm.named_parameters()):
            assert n == tn
            tp.copy_(torch.from_numpy(p.detach().numpy()))
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    x = (r(3, 7, 4) if kw.get("batch_first") else r(7, 3, 4)).astype(dtype)
    h0, c0 = r(D * L, 3, Hd).astype(dtype), r(D * L, 3, Hd).astype(dtype)
    wo, wh, wc = r(*((3, 7) if kw.get("batch_first") else (7, 3)), D * Hd), r(D * L, 3, Hd), \
        r(D * L, 3, Hd)
    grads = []
    for lib, m in ((lk, lm), (torch, tm)):
        xs = [lib.tensor(a).requires_grad_() for a in (x, h0, c0)]
        out, (h, c) = m(xs[0], (xs[1], xs[2]))
        loss = (out * lib.tensor(wo.astype(dtype))).sum() + (h * lib.tensor(wh.astype(dtype))).sum() \
            + (c * lib.tensor(wc.astype(dtype))).sum()
        loss.backward()
        grads.append([out.detach().numpy(), h.detach().numpy(), c.detach().numpy()]
                     + [t.grad.numpy() for t in xs] + [p.grad.numpy() for p in m.parameters()])
    tol = 1e-5 if dtype == np.float32 else 1e-10
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol)
