"""The less common ``nn.functional`` ops vs PyTorch 2.13: values (float32 and float64), input
gradients for a random upstream gradient, float64 gradcheck and errors (activations, shuffles,
norms, losses, pooling, 3-D convolution, embedding_bag, interpolate, grid_sample).  Their modules,
second derivatives and the fixes found by OpInfo samples are in test_nn_functional_more_modules.py;
the helpers here (``compare``, ``rnd``, ``RNG``) serve both."""
import math

import numpy as np
import pytest

import labkit as lk
import labkit.nn.functional as F
from labkit.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(0)


def rnd(*shape, lo=-2.0, hi=2.0, dtype=np.float64):
    return RNG.uniform(lo, hi, shape).astype(dtype)


def both(a, grad=True):
    a = np.asarray(a)
    req = grad and a.dtype.kind == "f"
    return lk.tensor(a, requires_grad=req), torch.tensor(a, requires_grad=req)


def compare(name, arrays, kw=None, lk_fn=None, t_fn=None, atol=1e-6, rtol=1e-5, grad=True,
            nondiff=()):
    """Call ``F.name`` and ``torch.nn.functional.name`` on the same arrays; compare every output
    and the gradients of the float inputs (not those listed in ``nondiff``)."""
    kw = kw or {}
    lk_fn = lk_fn or getattr(F, name)
    t_fn = t_fn or getattr(TF, name)
    pairs = [both(a, grad and i not in nondiff) for i, a in enumerate(arrays)]
    out_l = lk_fn(*[p[0] for p in pairs], **kw)
    out_t = t_fn(*[p[1] for p in pairs], **kw)
    outs_l = out_l if isinstance(out_l, tuple) else (out_l,)
    outs_t = out_t if isinstance(out_t, tuple) else (out_t,)
    assert len(outs_l) == len(outs_t)
    for a, b in zip(outs_l, outs_t):
        assert tuple(a.shape) == tuple(b.shape), (name, a.shape, b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], (a.dtype, b.dtype)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=rtol)
    if not grad or not outs_t[0].requires_grad:
        return out_l
    if outs_t[0].numel() == 0:                  # (torch's backward fails on some empty shapes)
        outs_l[0].sum().backward()
        for (a, b) in pairs:
            if b.requires_grad:
                assert a.grad is not None and tuple(a.grad.shape) == tuple(b.shape)
        return out_l
    up = RNG.standard_normal(tuple(outs_t[0].shape))
    up = up.astype(np.asarray(outs_l[0].detach().numpy()).dtype)
    (outs_l[0] * lk.tensor(up)).sum().backward()
    (outs_t[0] * torch.tensor(up)).sum().backward()
    for (a, b) in pairs:
        if b.requires_grad and b.grad is None:          # an unused input
            assert a.grad is None or not a.grad.numpy().any()
        elif b.requires_grad:
            assert a.grad is not None, f"{name}: labkit produced no gradient"
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol * 10,
                                       rtol=rtol * 10)
    return out_l


def check_grad(fn, *arrays, nondiff=()):
    ts = [lk.tensor(np.asarray(a), requires_grad=(i not in nondiff and
                                                   np.asarray(a).dtype.kind == "f"))
          for i, a in enumerate(arrays)]
    assert gradcheck(fn, tuple(ts))


# ================================================================ activations / shuffles / norms
@pytest.mark.parametrize("name,kw", [("hardshrink", {}), ("hardshrink", {"lambd": 1.1}),
                                     ("softshrink", {}), ("softshrink", {"lambd": 0.3})])
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 2)])
def test_shrink(name, kw, shape):
    compare(name, [rnd(*shape)], kw)
    compare(name, [rnd(*shape, dtype=np.float32)], kw)


def test_shrink_gradcheck_and_errors():
    x = rnd(5)
    x[np.abs(np.abs(x) - 0.5) < 1e-3] = 1.0
    check_grad(F.softshrink, x)
    check_grad(F.hardshrink, x)
    with pytest.raises(RuntimeError):
        F.softshrink(lk.tensor(rnd(3)), -1.0)
    with pytest.raises(RuntimeError):
        TF.softshrink(torch.tensor(rnd(3)), -1.0)


def test_inplace_variants_and_rrelu_eval():
    for name, args in [("elu_", ()), ("celu_", (1.5,)), ("selu_", ()), ("threshold_", (0.1, 2.0)),
                       ("rrelu_", ())]:
        a = rnd(4, 3)
        x, t = lk.tensor(a.copy()), torch.tensor(a.copy())
        r = getattr(F, name)(x, *args)
        getattr(TF, name)(t, *args)
        assert r is x
        np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)
    compare("rrelu", [rnd(3, 4)], {"lower": 0.1, "upper": 0.4})


def test_rrelu_training_slopes_in_range():
    x = lk.tensor(rnd(1000), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    neg = x.detach().numpy() < 0
    ratio = y.detach().numpy()[neg] / x.detach().numpy()[neg]
    assert ratio.min() >= 0.1 and ratio.max() <= 0.3 and ratio.std() > 0.01
    np.testing.assert_array_equal(y.detach().numpy()[~neg], x.detach().numpy()[~neg])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[neg], ratio)


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_alpha_dropout_keeps_selu_statistics(p):
    lk.manual_seed(0)
    x = lk.randn(200000)
    y = F.alpha_dropout(x, p, training=True)
    assert abs(float(y.mean())) < 0.02 and abs(float(y.std()) - 1) < 0.02
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * p + 1) * (1 - p))
    dropped = np.isclose(y.numpy(), -1.7580993408473766 * a * (1 - p)).mean()
    assert abs(dropped - p) < 0.01
    assert F.alpha_dropout(x, p) is x                   # training=False by default
    f = F.feature_alpha_dropout(lk.randn(4, 8, 5), 0.5, training=True).numpy()
    assert all(len(np.unique(np.round(f[i, j] - f[i, j].mean(), 5))) for i in range(4)
               for j in range(8))
    with pytest.raises(ValueError):
        F.alpha_dropout(x, 1.5, training=True)


def test_dropout3d_zeroes_whole_channels():
    lk.manual_seed(1)
    y = F.dropout3d(lk.ones(2, 16, 2, 2, 2), 0.5).numpy()
    per = y.reshape(2, 16, -1)
    assert np.all((per == 0).all(-1) | (per == 2).all(-1))


@pytest.mark.parametrize("shape,r", [((1, 8, 3, 2), 2), ((2, 3, 9, 1, 2), 3), ((4, 2, 3), 1),
                                     ((0, 4, 2, 2), 2)])
def test_pixel_shuffle(shape, r):
    compare("pixel_shuffle", [rnd(*shape)], {"upscale_factor": r})
    out = tuple(F.pixel_shuffle(lk.tensor(rnd(*shape)), r).shape)
    if 0 in shape:      # torch returns an empty input unchanged; its docs give (0, C r^2, H, W)
        assert tuple(F.pixel_unshuffle(lk.zeros(out), r).shape) == shape
        return
    compare("pixel_unshuffle", [rnd(*out)], {"downscale_factor": r})
    check_grad(lambda x: F.pixel_unshuffle(x, r), rnd(*out))


def test_shuffle_errors():
    for fn, args in [("pixel_shuffle", (rnd(2, 5, 2, 2), 2)), ("pixel_shuffle", (rnd(4, 4), 2)),
                     ("pixel_unshuffle", (rnd(2, 1, 3, 2), 2)),
                     ("channel_shuffle", (rnd(2, 5, 2), 2)), ("channel_shuffle", (rnd(2, 4), 2))]:
        with pytest.raises(RuntimeError):
            getattr(TF, fn)(torch.tensor(args[0]), args[1])
        with pytest.raises(RuntimeError):
            getattr(F, fn)(lk.tensor(args[0]), args[1])


@pytest.mark.parametrize("shape,g", [((2, 6, 3), 3), ((1, 4, 2, 2), 2), ((3, 6, 1, 1, 2), 6)])
def test_channel_shuffle(shape, g):
    compare("channel_shuffle", [rnd(*shape)], {"groups": g}, grad=False)
    x = rnd(*shape)
    np.testing.assert_array_equal(F.channel_shuffle(lk.tensor(x), g).numpy(),
                                  torch.nn.ChannelShuffle(g)(torch.tensor(x)).numpy())


@pytest.mark.parametrize("shape,ns,w,eps", [((3, 4), [4], True, None), ((2, 3, 4), (3, 4), False,
                                                                      1e-3),
                                            ((5,), [5], True, 0.1), ((0, 3), [3], True, None)])
def test_rms_norm(shape, ns, w, eps):
    wshape = (ns,) if isinstance(ns, int) else tuple(ns)
    arrays = [rnd(*shape)] + ([rnd(*wshape)] if w else [])
    lx = [both(a) for a in arrays]
    a = F.rms_norm(lx[0][0], ns, lx[1][0] if w else None, eps)
    b = TF.rms_norm(lx[0][1], ns, lx[1][1] if w else None, eps)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)
    if a.numel():
        a.sum().backward()
        b.sum().backward()
        for p in lx:
            np.testing.assert_allclose(p[0].grad.numpy(), p[1].grad.numpy(), rtol=1e-6,
                                       atol=1e-7)
    a32 = F.rms_norm(lk.tensor(arrays[0].astype(np.float32)), ns)
    b32 = TF.rms_norm(torch.tensor(arrays[0].astype(np.float32)), ns)
    np.testing.assert_allclose(a32.numpy(), b32.numpy(), rtol=1e-5, atol=1e-6)
    if a.numel():
        check_grad(lambda *t: F.rms_norm(t[0], ns, *t[1:], eps=eps), *arrays)


def test_rms_norm_shape_error():
    with pytest.raises(RuntimeError):
        TF.rms_norm(torch.zeros(3, 4), [5])
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.rms_norm(lk.zeros(3, 4), [5])


@pytest.mark.parametrize("shape,size", [((2, 5, 3), 3), ((1, 6, 2, 3), 2), ((2, 4, 2, 1, 2), 5)])
def test_local_response_norm(shape, size):
    compare("local_response_norm", [rnd(*shape)], {"size": size, "alpha": 0.3, "beta": 0.7,
                                                   "k": 1.5})
    check_grad(lambda x: F.local_response_norm(x, size, 0.3, 0.7, 1.5), rnd(*shape))


@pytest.mark.parametrize("p", [2, 1, 3.5, float("inf")])
def test_pdist(p):
    compare("pdist", [rnd(5, 3)], {"p": p})
    check_grad(lambda x: F.pdist(x, p), rnd(4, 3))


def test_gumbel_softmax_soft_and_hard():
    lk.manual_seed(0)
    logits = lk.tensor(np.log(np.array([0.7, 0.2, 0.1])), requires_grad=True)
    samples = np.stack([F.gumbel_softmax(logits.detach(), tau=0.1, hard=True).numpy()
                        for _ in range(3000)])
    assert set(np.unique(samples)) == {0.0, 1.0} and (samples.sum(1) == 1).all()
    np.testing.assert_allclose(samples.mean(0), [0.7, 0.2, 0.1], atol=0.03)
    y = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(float(y.sum()), 1.0, rtol=1e-6)
    (F.gumbel_softmax(logits, hard=True) * lk.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0


# ================================================================ losses
def pm1(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0)


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_and_hinge_losses(reduction):
    kw = {"reduction": reduction}
    for shape in [(5,), (3, 4), ()]:
        compare("margin_ranking_loss", [rnd(*shape), rnd(*shape), pm1(*shape)],
                dict(kw, margin=0.3), nondiff=(2,))
        compare("hinge_embedding_loss", [rnd(*shape), pm1(*shape)], dict(kw, margin=0.7),
                nondiff=(1,))
        compare("soft_margin_loss", [rnd(*shape), pm1(*shape)], kw, nondiff=(1,))
    compare("multilabel_soft_margin_loss", [rnd(4, 3), (RNG.random((4, 3)) < .5) * 1.0], kw)
    compare("multilabel_soft_margin_loss", [rnd(4, 3), RNG.random((4, 3)), rnd(3)], kw,
            lk_fn=lambda x, y, w, **k: F.multilabel_soft_margin_loss(x, y, w, **k),
            t_fn=lambda x, y, w, **k: TF.multilabel_soft_margin_loss(x, y, w, **k))
    compare("cosine_embedding_loss", [rnd(4, 3), rnd(4, 3), pm1(4)], dict(kw, margin=0.2),
            nondiff=(2,))
    compare("cosine_embedding_loss", [rnd(3), rnd(3), np.array(-1.0)], kw, nondiff=(2,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,weighted", [(1, False), (2, True)])
def test_multi_margin_loss(reduction, p, weighted):
    for shape in [(4, 5), (5,)]:
        y = RNG.integers(0, 5, shape[:-1])
        arrays = [rnd(*shape), y] + ([RNG.random(5)] if weighted else [])
        compare("multi_margin_loss", arrays, {"reduction": reduction, "margin": 0.8},
                lk_fn=lambda x, t, *w, **k: F.multi_margin_loss(x, t, p, weight=w[0] if w else
                                                                None, **k),
                t_fn=lambda x, t, *w, **k: TF.multi_margin_loss(x, t, p, weight=w[0] if w else
                                                                None, **k), nondiff=(2,))
    check_grad(lambda x: F.multi_margin_loss(x, lk.tensor(np.array([1, 0, 3])), p), rnd(3, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss(reduction):
    x = rnd(3, 5)
    y = np.array([[3, 0, -1, 1, 2], [4, 4, 1, -1, -1], [0, 1, 2, 3, 4]])
    compare("multilabel_margin_loss", [x, y], {"reduction": reduction})
    compare("multilabel_margin_loss", [rnd(4), np.array([2, -1, 0, 1])], {"reduction": reduction})
    check_grad(lambda x: F.multilabel_margin_loss(x, lk.tensor(y)), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_losses(reduction, swap):
    a, p, n = rnd(4, 3), rnd(4, 3), rnd(4, 3)
    compare("triplet_margin_loss", [a, p, n], {"reduction": reduction, "swap": swap,
                                               "margin": 1.5, "p": 1.5})
    compare("triplet_margin_loss", [rnd(3), rnd(3), rnd(3)], {"reduction": reduction,
                                                             "swap": swap})
    compare("triplet_margin_with_distance_loss", [a, p, n],
            {"reduction": reduction, "swap": swap, "margin": 2.0})
    cos = (lambda x, y: 1 - F.cosine_similarity(x, y), lambda x, y: 1 - TF.cosine_similarity(x, y))
    compare("triplet_margin_with_distance_loss", [a, p, n], {"reduction": reduction, "swap": swap},
            lk_fn=lambda *t, **k: F.triplet_margin_with_distance_loss(
                *t, distance_function=cos[0], **k),
            t_fn=lambda *t, **k: TF.triplet_margin_with_distance_loss(
                *t, distance_function=cos[1], **k))
    check_grad(lambda *t: F.triplet_margin_loss(*t, swap=swap), a, p, n)
    with pytest.raises(ValueError):
        F.triplet_margin_with_distance_loss(lk.tensor(a), lk.tensor(p), lk.tensor(n), margin=0)
    with pytest.raises(RuntimeError):
        F.triplet_margin_loss(lk.tensor(a), lk.tensor(p), lk.tensor(rnd(4)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss(reduction, full):
    kw = {"reduction": reduction, "full": full}
    var = RNG.uniform(0, 2, (4, 3))
    var[0, 0] = 1e-8                                      # clamped to eps (value only)
    compare("gaussian_nll_loss", [rnd(4, 3), rnd(4, 3), var], kw)
    compare("gaussian_nll_loss", [rnd(4, 3), rnd(4, 3), RNG.uniform(0.5, 2, (4,))], kw)
    compare("gaussian_nll_loss", [rnd(4, 3), rnd(4, 3), RNG.uniform(0.5, 2, (4, 1))], kw)
    check_grad(lambda *t: F.gaussian_nll_loss(*t, full=full, reduction=reduction), rnd(4, 3),
               rnd(4, 3), RNG.uniform(0.5, 2, (4, 3)))
    x = lk.tensor(rnd(2, 3))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -lk.ones(2, 3))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(x, x, lk.ones(3, 3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, True), (True, True)])
def test_poisson_nll_loss(reduction, log_input, full):
    x = rnd(3, 4) if log_input else RNG.uniform(0.1, 3, (3, 4))
    y = RNG.integers(0, 6, (3, 4)).astype(np.float64) + 0.5
    compare("poisson_nll_loss", [x, y], {"reduction": reduction, "log_input": log_input,
                                         "full": full})
    check_grad(lambda *t: F.poisson_nll_loss(*t, log_input=log_input, full=full), x, y)


def test_loss_reduction_errors():
    x = lk.tensor(rnd(3))
    for name, args in [("margin_ranking_loss", (x, x, x)), ("soft_margin_loss", (x, x)),
                       ("hinge_embedding_loss", (x, x)), ("poisson_nll_loss", (x, x))]:
        with pytest.raises(ValueError):
            getattr(F, name)(*args, reduction="avg")
    with pytest.raises(ValueError):
        F.multi_margin_loss(lk.tensor(rnd(2, 3)), lk.tensor([0, 1]), p=3)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("concat", [False, True])
def test_ctc_loss(reduction, zero_infinity, concat):
    T, N, C, S = 12, 4, 5, 4
    logits = rnd(T, N, C)
    tl = np.array([4, 2, 0, 4])
    il = np.array([12, 9, 3, 4])                # the last sample cannot fit "aabb"-like labels
    targets = RNG.integers(1, C, (N, S))
    targets[3] = [2, 2, 3, 3]
    if concat:
        targets = np.concatenate([targets[b, :tl[b]] for b in range(N)])
    kw = {"reduction": reduction, "zero_infinity": zero_infinity}

    def run(mod, lib, lg):
        lp = lib.log_softmax(lg, dim=2)
        return mod.ctc_loss(lp, lib.tensor(targets), lib.tensor(il), lib.tensor(tl), **kw)
    a, b = both(logits)
    la, lb = run(F, lk, a), run(TF, torch, b)
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=1e-6)
    if zero_infinity or reduction == "none":
        up = RNG.standard_normal(tuple(lb.shape))
        (la * lk.tensor(up)).sum().backward()
        (lb * torch.tensor(up)).sum().backward()
        ok = ~np.isnan(b.grad.numpy())     # PyTorch's gradient of an impossible sample is NaN
        assert ok[:, :3].all()
        np.testing.assert_allclose(a.grad.numpy()[ok], b.grad.numpy()[ok], rtol=1e-6, atol=1e-9)


def test_ctc_loss_gradient_direct_and_unbatched():
    """PyTorch's CTC gradient with respect to log_probs is exp(log_probs) - posterior (which is
    right after log_softmax); labkit returns the same numbers."""
    T, C = 7, 4
    lp = torch.randn(T, 2, C, dtype=torch.float64).log_softmax(2).detach().requires_grad_()
    lq = lk.tensor(lp.detach().numpy(), requires_grad=True)
    tg, il, tl = [[1, 2, 2], [3, 1, 0]], [7, 6], [3, 2]
    TF.ctc_loss(lp, torch.tensor(tg), torch.tensor(il), torch.tensor(tl)).backward()
    F.ctc_loss(lq, lk.tensor(tg), lk.tensor(il), lk.tensor(tl)).backward()
    np.testing.assert_allclose(lq.grad.numpy(), lp.grad.numpy(), rtol=1e-7, atol=1e-10)
    check_grad(lambda z: F.ctc_loss(z.log_softmax(2), lk.tensor(tg), il, tl), rnd(T, 2, C))
    x = rnd(T, C)
    compare("ctc_loss", [x], lk_fn=lambda z: F.ctc_loss(z.log_softmax(1), lk.tensor([1, 2]), 7, 2),
            t_fn=lambda z: TF.ctc_loss(z.log_softmax(1), torch.tensor([1, 2]), torch.tensor(7),
                                       torch.tensor(2)))
    with pytest.raises(RuntimeError, match="at most"):
        F.ctc_loss(lq, lk.tensor(tg), [8, 6], tl)


# ================================================================ pooling / 3-D convolution
@pytest.mark.parametrize("name,shape,out", [
    ("adaptive_max_pool1d", (2, 3, 7), 3), ("adaptive_max_pool1d", (3, 5), 5),
    ("adaptive_max_pool2d", (2, 3, 7, 5), (3, 2)), ("adaptive_max_pool2d", (2, 5, 4), (None, 3)),
    ("adaptive_max_pool2d", (1, 2, 4, 4), 6), ("adaptive_max_pool3d", (1, 2, 5, 4, 3), (2, 3, 2)),
    ("adaptive_max_pool3d", (2, 3, 3, 4), 2)])
def test_adaptive_max_pool(name, shape, out):
    compare(name, [rnd(*shape)], {"output_size": out})
    compare(name, [rnd(*shape)], {"output_size": out, "return_indices": True})
    check_grad(lambda x: getattr(F, name)(x, out), rnd(*shape))


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3, 2), "stride": 1},
                                {"kernel_size": 3, "stride": 2, "padding": 1},
                                {"kernel_size": 2, "stride": 2, "ceil_mode": True},
                                {"kernel_size": 2, "dilation": 2, "stride": 1}])
def test_max_pool3d(kw):
    for shape in [(2, 2, 5, 6, 5), (2, 5, 5, 5)]:
        compare("max_pool3d", [rnd(*shape)], kw)
        compare("max_pool3d", [rnd(*shape)], dict(kw, return_indices=True))
    check_grad(lambda x: F.max_pool3d(x, **kw), rnd(1, 1, 5, 4, 5))


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3, 2), "stride": 1},
                                {"kernel_size": 3, "stride": 2, "padding": 1},
                                {"kernel_size": 3, "stride": 2, "padding": 1,
                                 "count_include_pad": False, "ceil_mode": True},
                                {"kernel_size": 2, "divisor_override": 3}])
def test_avg_pool3d(kw):
    for shape in [(2, 2, 5, 6, 5), (2, 5, 5, 5)]:
        compare("avg_pool3d", [rnd(*shape)], kw)
    check_grad(lambda x: F.avg_pool3d(x, **kw), rnd(1, 1, 5, 4, 5))


@pytest.mark.parametrize("shape,out", [((2, 3, 5, 6, 7), (2, 3, 4)), ((2, 4, 4, 4), 3),
                                       ((1, 1, 3, 4, 5), (None, 2, 7))])
def test_adaptive_avg_pool3d(shape, out):
    compare("adaptive_avg_pool3d", [rnd(*shape)], {"output_size": out})


@pytest.mark.parametrize("name,shape,k,kw", [
    ("lp_pool1d", (2, 3, 8), 3, {"stride": 2}), ("lp_pool1d", (3, 7), 2, {"ceil_mode": True}),
    ("lp_pool2d", (2, 2, 6, 5), (2, 3), {}), ("lp_pool2d", (2, 6, 5), 2, {"stride": 1}),
    ("lp_pool3d", (1, 2, 4, 5, 4), 2, {})])
@pytest.mark.parametrize("p", [2, 1.5, float("inf")])
def test_lp_pool(name, shape, k, kw, p):
    x = RNG.uniform(0.2, 2.0, shape)
    compare(name, [x], dict(kw, norm_type=p, kernel_size=k))
    if p != float("inf"):
        check_grad(lambda t: getattr(F, name)(t, p, k, **kw), x)


@pytest.mark.parametrize("nd,shape,kw", [(1, (2, 3, 8), {"kernel_size": 2}),
                                         (2, (2, 3, 6, 4), {"kernel_size": 2, "stride": 2}),
                                         (2, (3, 6, 6), {"kernel_size": 2, "stride": 2,
                                                         "padding": 1}),
                                         (3, (1, 2, 4, 4, 6), {"kernel_size": 2})])
def test_max_unpool(nd, shape, kw):
    x = torch.tensor(rnd(*shape))
    out, idx = getattr(TF, f"max_pool{nd}d")(x, return_indices=True, **kw)
    vals, ids = out.numpy(), idx.numpy()
    compare(f"max_unpool{nd}d", [vals, ids], kw)
    compare(f"max_unpool{nd}d", [vals, ids], dict(kw, output_size=x.shape[-nd:]))
    lo, li = F.__dict__[f"max_pool{nd}d"](lk.tensor(x.numpy()), return_indices=True, **kw)
    np.testing.assert_array_equal(li.numpy(), ids)
    check_grad(lambda t: getattr(F, f"max_unpool{nd}d")(t, lk.tensor(ids), **kw), vals)
    with pytest.raises(ValueError):
        getattr(F, f"max_unpool{nd}d")(lk.tensor(vals), lk.tensor(ids), output_size=[1] * nd,
                                       **kw)


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"dilation": (1, 2, 1)},
                                {"groups": 2, "padding": "same"}, {"padding": "valid"},
                                {"stride": (1, 2, 3), "padding": (0, 1, 2)}])
def test_conv3d(kw):
    g = kw.get("groups", 1)
    x, w, b = rnd(2, 4, 5, 6, 5), rnd(6, 4 // g, 3, 2, 3), rnd(6)
    compare("conv3d", [x, w, b], kw, atol=1e-5)
    compare("conv3d", [rnd(4, 4, 5, 3), w], kw, atol=1e-5)
    compare("conv3d", [x.astype(np.float32), w.astype(np.float32)], kw, atol=1e-4, rtol=1e-4)
    check_grad(lambda *t: F.conv3d(*t, **kw), rnd(1, 2, 3, 3, 3), rnd(2, 2 // g, 2, 2, 3), rnd(2))


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"stride": (2, 1, 3),
                                                                  "output_padding": (1, 0, 2)},
                                {"groups": 2, "dilation": 2}, {"padding": (1, 0, 1)}])
def test_conv_transpose3d(kw):
    g = kw.get("groups", 1)
    x, w, b = rnd(2, 4, 3, 4, 3), rnd(4, 6 // g, 3, 2, 3), rnd(6)
    compare("conv_transpose3d", [x, w, b], kw, atol=1e-5)
    compare("conv_transpose3d", [rnd(4, 2, 3, 2), w], kw, atol=1e-5)
    check_grad(lambda *t: F.conv_transpose3d(*t, **kw), rnd(1, 2, 2, 2, 2), rnd(2, 2 // g, 2, 2, 3),
               rnd(2))
    with pytest.raises(RuntimeError, match="too small"):
        F.conv_transpose3d(lk.tensor(rnd(4, 2, 3, 2)), lk.tensor(w), padding=(1, 0, 2))


# ================================================================ embedding_bag
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag(mode, padding_idx):
    w = rnd(10, 3)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9, 2])
    kw = {"mode": mode, "padding_idx": padding_idx}
    offsets = np.array([0, 4, 4, 7])                     # an empty bag in the middle
    compare("embedding_bag", [idx, w, offsets], kw,
            lk_fn=lambda i, ww, o, **k: F.embedding_bag(i, ww, o, **k),
            t_fn=lambda i, ww, o, **k: TF.embedding_bag(i, ww, o, **k))
    compare("embedding_bag", [idx[:8].reshape(2, 4), w], kw)
    compare("embedding_bag", [idx, w, np.array([0, 3, 9])], dict(kw, include_last_offset=True),
            lk_fn=lambda i, ww, o, **k: F.embedding_bag(i, ww, o, **k),
            t_fn=lambda i, ww, o, **k: TF.embedding_bag(i, ww, o, **k))
    if mode == "sum":
        psw = rnd(9)
        compare("embedding_bag", [idx, w, offsets, psw], kw,
                lk_fn=lambda i, ww, o, p, **k: F.embedding_bag(i, ww, o, per_sample_weights=p,
                                                                **k),
                t_fn=lambda i, ww, o, p, **k: TF.embedding_bag(i, ww, o, per_sample_weights=p,
                                                                **k))
    check_grad(lambda ww: F.embedding_bag(lk.tensor(idx), ww, lk.tensor(offsets), **kw), w)


def test_embedding_bag_errors_and_max_norm():
    w = lk.tensor(rnd(10, 3))
    idx = lk.tensor([1, 2, 3])
    with pytest.raises(ValueError, match="offsets"):
        F.embedding_bag(idx, w)
    with pytest.raises(ValueError, match="2D"):
        F.embedding_bag(idx.reshape(1, 3), w, lk.tensor([0]))
    with pytest.raises(NotImplementedError):
        F.embedding_bag(idx, w, lk.tensor([0]), per_sample_weights=lk.ones(3))
    with pytest.raises(ValueError, match="mode"):
        F.embedding_bag(idx, w, lk.tensor([0]), mode="min")
    wl, wt = lk.tensor(rnd(10, 3) * 3), None
    wt = torch.tensor(wl.numpy().copy())
    a = F.embedding_bag(idx, wl, lk.tensor([0, 1]), max_norm=1.0)
    b = TF.embedding_bag(torch.tensor([1, 2, 3]), wt, torch.tensor([0, 1]), max_norm=1.0)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    np.testing.assert_allclose(wl.numpy(), wt.numpy(), rtol=1e-6)


# ================================================================ interpolate / grid_sample
@pytest.mark.parametrize("mode,shape", [("area", (2, 3, 7)), ("area", (1, 2, 5, 7)),
                                        ("area", (1, 2, 4, 5, 3)), ("bicubic", (2, 2, 5, 4)),
                                        ("trilinear", (1, 2, 3, 4, 5)),
                                        ("nearest", (1, 2, 3, 4, 5)),
                                        ("nearest-exact", (1, 1, 3, 5, 4)),
                                        ("linear", (2, 3, 6)), ("bilinear", (1, 2, 4, 5))])
@pytest.mark.parametrize("how", [{"size": 7}, {"scale_factor": 1.7}, {"scale_factor": 0.6},
                                 {"scale_factor": 2.3, "recompute_scale_factor": True},
                                 {"align_corners": True, "scale_factor": 1.5}])
def test_interpolate_modes(mode, shape, how):
    kw = dict(how, mode=mode)
    if "align_corners" in kw and mode in ("area", "nearest", "nearest-exact"):
        with pytest.raises(ValueError):
            F.interpolate(lk.tensor(rnd(*shape)), **kw)
        return
    compare("interpolate", [rnd(*shape)], kw, atol=1e-6)
    compare("interpolate", [rnd(*shape, dtype=np.float32)], kw, atol=1e-5, rtol=1e-4)


def test_interpolate_sizes_gradcheck_and_errors():
    compare("interpolate", [rnd(1, 2, 4, 5)], {"size": (7, 3), "mode": "bicubic"})
    compare("interpolate", [rnd(1, 2, 3, 4, 5)], {"size": (2, 6, 3), "mode": "trilinear",
                                                  "align_corners": True})
    compare("interpolate", [rnd(1, 2, 3, 4, 5)], {"scale_factor": (2, 0.5, 1.5), "mode": "area"})
    for mode in ("bicubic", "area"):
        check_grad(lambda x: F.interpolate(x, size=(5, 3), mode=mode), rnd(1, 1, 3, 4))
    with pytest.raises(NotImplementedError):
        F.interpolate(lk.zeros(1, 1, 4), size=3, mode="bicubic")
    with pytest.raises(ValueError):
        F.interpolate(lk.zeros(1, 1, 4, 4), size=(3, 3, 3))
    with pytest.raises(ValueError):
        F.interpolate(lk.zeros(1, 1, 4, 4), size=3, scale_factor=2.0)
    with pytest.raises(ValueError, match="Anti-alias"):
        F.interpolate(lk.zeros(1, 1, 4, 4), size=3, mode="nearest", antialias=True)
    with pytest.warns(UserWarning):
        y = F.upsample_bilinear(lk.tensor(rnd(1, 1, 3, 3)), scale_factor=2)
    assert tuple(y.shape) == (1, 1, 6, 6)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_2d(mode, padding_mode, align_corners):
    x = rnd(2, 3, 5, 6)
    grid = rnd(2, 4, 3, 2, lo=-1.4, hi=1.4)
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    compare("grid_sample", [x, grid], kw, atol=1e-6, nondiff=(1,) if mode == "nearest" else ())
    if mode != "nearest":
        g = rnd(1, 3, 2, 2, lo=-1.2, hi=1.2)
        check_grad(lambda *t: F.grid_sample(*t, **kw), rnd(1, 2, 4, 3), g)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_3d(mode, padding_mode):
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": False}
    compare("grid_sample", [rnd(2, 2, 3, 4, 5), rnd(2, 2, 3, 2, 3, lo=-1.3, hi=1.3)], kw,
            nondiff=(1,) if mode == "nearest" else ())


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(align_corners):
    theta = rnd(2, 2, 3)
    compare("affine_grid", [theta], {"size": (2, 3, 4, 5), "align_corners": align_corners})
    compare("affine_grid", [rnd(2, 3, 4)], {"size": (2, 1, 3, 4, 2),
                                             "align_corners": align_corners})
    check_grad(lambda t: F.affine_grid(t, (2, 1, 3, 2), align_corners=align_corners), theta)
    with pytest.raises(ValueError):
        F.affine_grid(lk.tensor(rnd(2, 3, 3)), (2, 1, 3, 2), align_corners=align_corners)
    with pytest.warns(UserWarning):
        F.affine_grid(lk.tensor(theta), (2, 1, 3, 2))
