"""The less common ``nn.functional`` ops vs PyTorch 2.13, continued from
test_nn_functional_more.py (whose helpers and random generator it shares): the modules' values,
repr and state_dict keys, fixes found by OpInfo samples, multi-head attention, and second
derivatives."""
import numpy as np
import pytest

import labkit as lk
import labkit.nn as lnn
import labkit.nn.functional as F
from test_nn_functional_more import REDUCTIONS, RNG, TF, compare, rnd

torch = pytest.importorskip("torch")


# ================================================================ modules
MODULES = [
    ("Hardshrink", (), {"lambd": 0.7}, [(3, 4)]), ("Softshrink", (), {}, [(3, 4)]),
    ("RReLU", (0.1, 0.2), {}, [(3, 4)]), ("Softmax2d", (), {}, [(2, 3, 4, 4)]),
    ("AlphaDropout", (0.3,), {}, [(3, 4)]), ("FeatureAlphaDropout", (), {}, [(2, 3, 4)]),
    ("Dropout3d", (0.2,), {}, [(2, 3, 2, 2, 2)]), ("PixelShuffle", (2,), {}, [(1, 8, 3, 3)]),
    ("PixelUnshuffle", (2,), {}, [(1, 2, 4, 6)]), ("ChannelShuffle", (2,), {}, [(1, 4, 3, 3)]),
    ("RMSNorm", ([3, 4],), {"eps": 1e-5}, [(2, 3, 4)]), ("RMSNorm", (4,), {}, [(2, 4)]),
    ("RMSNorm", (4,), {"elementwise_affine": False}, [(2, 4)]),
    ("LocalResponseNorm", (3,), {"alpha": 0.01}, [(2, 5, 3, 3)]),
    ("PairwiseDistance", (), {"p": 1.0}, [(3, 4), (3, 4)]),
    ("CosineSimilarity", (), {"dim": 0}, [(3, 4), (3, 4)]),
    ("Fold", ((4, 5), 2), {}, [(1, 12, 12)]), ("Unfold", (2,), {"padding": 1}, [(1, 3, 4, 4)]),
    ("ZeroPad1d", (2,), {}, [(1, 2, 5)]), ("ZeroPad2d", ((1, 0, 2, 1),), {}, [(1, 2, 3, 3)]),
    ("ZeroPad3d", (1,), {}, [(1, 1, 2, 2, 2)]), ("ConstantPad1d", (2, 3.5), {}, [(2, 4)]),
    ("ConstantPad2d", ((1, 2, 0, 1), -1.0), {}, [(1, 3, 3)]),
    ("ConstantPad3d", (1, 0.5), {}, [(1, 1, 2, 2, 2)]),
    ("ReflectionPad1d", (2,), {}, [(1, 2, 5)]), ("ReflectionPad2d", ((1, 2, 2, 0),), {},
                                                 [(1, 2, 4, 4)]),
    ("ReflectionPad3d", (1,), {}, [(1, 1, 3, 3, 3)]), ("ReplicationPad1d", ((3, 1),), {},
                                                        [(1, 2, 4)]),
    ("ReplicationPad2d", (2,), {}, [(1, 1, 3, 3)]), ("ReplicationPad3d", (1,), {},
                                                     [(1, 1, 2, 3, 2)]),
    ("CircularPad1d", (2,), {}, [(1, 2, 4)]), ("CircularPad2d", (1,), {}, [(1, 1, 3, 3)]),
    ("CircularPad3d", (1,), {}, [(1, 1, 2, 3, 2)]),
    ("AdaptiveMaxPool1d", (3,), {}, [(2, 3, 7)]), ("AdaptiveMaxPool2d", ((2, 3),), {},
                                                   [(2, 3, 5, 7)]),
    ("AdaptiveMaxPool3d", (2,), {"return_indices": True}, [(1, 2, 4, 5, 3)]),
    ("AdaptiveAvgPool3d", ((2, None, 3),), {}, [(1, 2, 4, 5, 6)]),
    ("MaxPool3d", (2,), {"stride": 1, "padding": 1}, [(1, 2, 3, 4, 3)]),
    ("AvgPool3d", (2,), {"ceil_mode": True, "count_include_pad": False}, [(1, 2, 3, 5, 3)]),
    ("LPPool1d", (2, 3), {"stride": 2}, [(2, 3, 8)]), ("LPPool2d", (1.5, 2), {}, [(1, 2, 4, 6)]),
    ("LPPool3d", (2, 2), {}, [(1, 1, 4, 4, 4)]),
    ("MarginRankingLoss", (), {"margin": 0.2}, [(5,), (5,), (5,)]),
    ("HingeEmbeddingLoss", (), {"margin": 0.5, "reduction": "sum"}, [(5,), (5,)]),
    ("SoftMarginLoss", (), {}, [(5,), (5,)]),
    ("MultiLabelSoftMarginLoss", (), {"weight": (3,)}, [(4, 3), (4, 3)]),
    ("CosineEmbeddingLoss", (), {"margin": 0.1}, [(4, 3), (4, 3), (4,)]),
    ("TripletMarginLoss", (), {"margin": 2.0, "swap": True}, [(4, 3), (4, 3), (4, 3)]),
    ("TripletMarginWithDistanceLoss", (), {"margin": 0.5}, [(4, 3), (4, 3), (4, 3)]),
    ("GaussianNLLLoss", (), {"full": True}, [(4, 3), (4, 3), (4, 3)]),
    ("PoissonNLLLoss", (), {"log_input": True}, [(4, 3), (4, 3)]),
    ("MultiMarginLoss", (), {"p": 2, "weight": (5,)}, [(4, 5), "cls5"]),
    ("MultiLabelMarginLoss", (), {}, [(2, 4), "labels4"]),
    ("BatchNorm3d", (2,), {}, [(3, 2, 2, 3, 2)]), ("InstanceNorm1d", (3,), {}, [(2, 3, 5)]),
    ("InstanceNorm1d", (3,), {"affine": True}, [(3, 5)]),
    ("InstanceNorm3d", (2,), {"affine": True}, [(2, 2, 3, 2, 3)]),
    ("InstanceNorm3d", (2,), {}, [(2, 3, 2, 3)]),
]


def _arg(spec, rng):
    if spec == "cls5":
        return rng.integers(0, 5, (4,))
    if spec == "labels4":
        return np.array([[1, 3, -1, 0], [2, -1, 1, 1]])
    return rng.uniform(0.1, 2.0, spec)


@pytest.mark.parametrize("name,args,kw,inputs", MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(name, args, kw, inputs):
    rng = np.random.default_rng(5)
    kw_l, kw_t = dict(kw), dict(kw)
    if "weight" in kw:
        w = rng.uniform(0.5, 1.5, kw["weight"])
        kw_l["weight"], kw_t["weight"] = lk.tensor(w), torch.tensor(w)
    ml = getattr(lnn, name)(*args, **kw_l)
    mt = getattr(torch.nn, name)(*args, **kw_t)
    assert repr(ml) == repr(mt)
    assert list(ml.state_dict()) == list(mt.state_dict())
    for k, v in mt.state_dict().items():
        np.testing.assert_array_equal(ml.state_dict()[k].numpy(), v.numpy())
    random = name in ("RReLU", "AlphaDropout", "FeatureAlphaDropout", "Dropout3d")
    if random:
        ml.eval()
        mt.eval()
    arrays = [_arg(s, rng) for s in inputs]
    tol = 1e-6
    if any(v.dtype == torch.float32 for v in mt.state_dict().values()):     # float32 layers
        arrays, tol = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays], 1e-5
    outl, outt = ml(*[lk.tensor(a) for a in arrays]), mt(*[torch.tensor(a) for a in arrays])
    outl = outl if isinstance(outl, tuple) else (outl,)
    outt = outt if isinstance(outt, tuple) else (outt,)
    for a, b in zip(outl, outt):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_conv3d_modules_and_embedding_bag_module():
    for cls, args, kw in [("Conv3d", (4, 6, 3), {"padding": 1, "groups": 2}),
                          ("Conv3d", (2, 3, (2, 3, 1)), {"padding_mode": "reflect", "padding": 1,
                                                         "bias": False}),
                          ("ConvTranspose3d", (4, 2, 2), {"stride": 2}),
                          ("EmbeddingBag", (10, 3), {"mode": "sum", "padding_idx": 0}),
                          ("EmbeddingBag", (10, 3), {"max_norm": 1.0})]:
        ml, mt = getattr(lnn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
        assert repr(ml) == repr(mt)
        assert list(ml.state_dict()) == list(mt.state_dict())
        assert [tuple(v.shape) for v in ml.state_dict().values()] == \
            [tuple(v.shape) for v in mt.state_dict().values()]
        ml.load_state_dict({k: lk.tensor(v.numpy()) for k, v in mt.state_dict().items()})
        if cls == "EmbeddingBag":
            idx = np.array([[1, 0, 3], [4, 5, 9]])
            a, b = ml(lk.tensor(idx)), mt(torch.tensor(idx))
        else:
            x = rnd(1, args[0], 3, 4, 3)
            a, b = ml(lk.tensor(x.astype(np.float32))), mt(torch.tensor(x).float())
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
    bag = lnn.EmbeddingBag(10, 3, padding_idx=2)
    assert float(bag.weight[2].abs().sum()) == 0.0
    frozen = lnn.EmbeddingBag.from_pretrained(lk.ones(4, 2), mode="max")
    assert not frozen.weight.requires_grad


def test_ctc_and_unpool_modules():
    ctc_l, ctc_t = lnn.CTCLoss(blank=0, zero_infinity=True), torch.nn.CTCLoss(zero_infinity=True)
    assert repr(ctc_l) == repr(ctc_t)
    lp = rnd(6, 2, 4)
    tg, il, tl = np.array([[1, 2], [3, 3]]), np.array([6, 5]), np.array([2, 2])
    a = ctc_l(lk.tensor(lp).log_softmax(2), lk.tensor(tg), lk.tensor(il), lk.tensor(tl))
    b = ctc_t(torch.tensor(lp).log_softmax(2), torch.tensor(tg), torch.tensor(il),
              torch.tensor(tl))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7)
    pool_l, pool_t = lnn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2,
                                                                                return_indices=True)
    un_l, un_t = lnn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    assert repr(un_l) == repr(un_t)
    x = rnd(1, 2, 4, 6)
    np.testing.assert_allclose(un_l(*pool_l(lk.tensor(x))).numpy(),
                               un_t(*pool_t(torch.tensor(x))).numpy())


# ================================================================ fixes found by OpInfo samples
@pytest.mark.parametrize("name,args", [
    ("conv1d", ((1, 3, 4), (3, 3, 3))), ("conv2d", ((1, 2, 4, 4), (3, 2, 2, 2))),
    ("conv3d", ((1, 2, 3, 3, 3), (2, 2, 2, 2, 2))), ("conv_transpose1d", ((1, 2, 4), (2, 3, 3))),
    ("conv_transpose2d", ((1, 2, 3, 3), (2, 1, 2, 2))),
    ("conv_transpose3d", ((1, 2, 2, 3, 2), (2, 1, 2, 2, 2)))])
def test_integer_convolutions_as_pytorch(name, args):
    arrays = [RNG.integers(-5, 6, s) for s in args]
    compare(name, arrays, {"padding": 1}, grad=False)


@pytest.mark.parametrize("name,shape,kw", [
    ("max_pool1d", (2, 3, 9), {"kernel_size": 3, "return_indices": True}),
    ("max_pool2d", (1, 2, 5, 6), {"kernel_size": 2, "ceil_mode": True}),
    ("max_pool3d", (1, 2, 3, 4, 4), {"kernel_size": 2, "return_indices": True}),
    ("avg_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("avg_pool2d", (1, 3, 5, 5), {"kernel_size": 3, "padding": 1, "count_include_pad": False}),
    ("avg_pool3d", (1, 2, 3, 4, 4), {"kernel_size": 2})])
def test_integer_pooling_truncates_as_pytorch(name, shape, kw):
    compare(name, [RNG.integers(-20, 21, shape)], kw, grad=False)


def test_normalisation_and_padding_edge_cases():
    compare("cosine_similarity", [rnd(1, 2, 3), rnd(2, 1, 3)], {"dim": -2})
    compare("pad", [rnd(1, 3, 4, 4)], {"pad": (-1, 1, -2, 1), "mode": "circular"})
    compare("pad", [rnd(2, 5)], {"pad": (2, -3), "mode": "circular"})
    compare("prelu", [rnd(), rnd(1)])
    compare("batch_norm", [np.zeros(0), np.zeros(0), np.zeros(0)], {"training": True},
            nondiff=(1, 2))
    compare("group_norm", [np.zeros((0, 2)), np.ones(2), np.ones(2)],
            lk_fn=lambda x, w, b: F.group_norm(x, 1, w, b),
            t_fn=lambda x, w, b: TF.group_norm(x, 1, w, b))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("k_dim", [False, True])
def test_linear_cross_entropy(reduction, k_dim):
    w = rnd(5, 3, 4) if k_dim else rnd(5, 4)
    b = rnd(5, 3) if k_dim else rnd(5)
    y = RNG.integers(0, 5, (6, 3) if k_dim else (6,))
    kw = {"reduction": reduction, "label_smoothing": 0.1}
    compare("linear_cross_entropy", [rnd(6, 4), w, y, b], kw,
            lk_fn=lambda x, ww, t, bb, **k: F.linear_cross_entropy(x, ww, t, linear_bias=bb, **k),
            t_fn=lambda x, ww, t, bb, **k: TF.linear_cross_entropy(x, ww, t, linear_bias=bb, **k))
    if not k_dim:
        compare("linear_cross_entropy", [rnd(4), w, np.array(2)], {"ignore_index": 2})


def test_conv_tbc():
    compare("conv_tbc", [rnd(7, 2, 3), rnd(3, 3, 4), rnd(4)], {"pad": 1})
    with pytest.raises(RuntimeError):
        F.conv_tbc(lk.zeros(7, 2, 3), lk.zeros(3, 2, 4), lk.zeros(4))


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("separate", [False, True])
@pytest.mark.parametrize("mask", [None, "2d", "3d", "bool"])
@pytest.mark.parametrize("extras", [{}, {"zero": True, "kpm": True}, {"avg": False}])
def test_multi_head_attention_forward(batched, separate, mask, extras):
    E, h, L, S, N = 4, 2, 3, 5, 2
    lead = (N,) if batched else ()

    def seq(n):
        return rnd(n, *lead, E)
    masks = {None: None, "2d": rnd(L, S), "3d": rnd((N if batched else 1) * h, L, S),
             "bool": RNG.random((L, S)) < 0.3}
    m = masks[mask]
    bias = rnd(E) if not extras else None
    arrays = [seq(L), seq(S), seq(S), rnd(3 * E, E), rnd(3 * E), rnd(E, E), rnd(E)]
    arrays += [rnd(E, E), rnd(E, E), rnd(E, E)] if separate else []
    kpm = RNG.random((N, S) if batched else (S,)) < 0.3 if extras.get("kpm") else None
    if kpm is not None:
        kpm[..., 0] = False

    def call(mod, lib, q, k, v, w_in, b_in, w_out, b_out, *sep):
        bk = lib.tensor(bias) if bias is not None else None
        return mod.multi_head_attention_forward(
            q, k, v, E, h, None if separate else w_in, b_in, bk, bk, extras.get("zero", False),
            0.0, w_out, b_out, training=False,
            key_padding_mask=None if kpm is None else lib.tensor(kpm),
            attn_mask=None if m is None else lib.tensor(m), use_separate_proj_weight=separate,
            q_proj_weight=sep[0] if sep else None, k_proj_weight=sep[1] if sep else None,
            v_proj_weight=sep[2] if sep else None,
            average_attn_weights=extras.get("avg", True))
    compare("multi_head_attention_forward", arrays,
            lk_fn=lambda *t: call(F, lk, *t), t_fn=lambda *t: call(TF, torch, *t))


# ================================================================ second derivatives
SECOND_ORDER = [
    ("rms_norm", lambda x, w: F.rms_norm(x, [4], w), lambda x, w: TF.rms_norm(x, [4], w),
     [(3, 4), (4,)]),
    ("softshrink", lambda x: F.softshrink(x) ** 3, lambda x: TF.softshrink(x) ** 3, [(5,)]),
    ("triplet", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=3.0),
     lambda a, p, n: TF.triplet_margin_loss(a, p, n, margin=3.0), [(4, 3)] * 3),
    ("gaussian_nll", lambda x, y, v: F.gaussian_nll_loss(x, y, v),
     lambda x, y, v: TF.gaussian_nll_loss(x, y, v), [(4, 3), (4, 3), "var"]),
    ("bicubic", lambda x: F.interpolate(x, size=(5, 4), mode="bicubic") ** 2,
     lambda x: TF.interpolate(x, size=(5, 4), mode="bicubic") ** 2, [(1, 1, 3, 3)]),
    ("grid_sample", lambda x, g: F.grid_sample(x, g, align_corners=False) ** 2,
     lambda x, g: TF.grid_sample(x, g, align_corners=False) ** 2, [(1, 2, 3, 3), "grid"]),
    ("conv3d", lambda x, w: F.conv3d(x, w).tanh(), lambda x, w: TF.conv3d(x, w).tanh(),
     [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)]),
    ("poisson_nll", lambda x, y: F.poisson_nll_loss(x, y), lambda x, y: TF.poisson_nll_loss(x, y),
     [(3, 4), (3, 4)]),
]


@pytest.mark.parametrize("name,lf,tf_,shapes", SECOND_ORDER, ids=[s[0] for s in SECOND_ORDER])
def test_second_derivatives_match_torch(name, lf, tf_, shapes):
    rng = np.random.default_rng(7)
    arrays = [rng.uniform(0.5, 2, (4, 3)) if s == "var" else
              rng.uniform(-0.9, 0.9, (1, 2, 2, 2)) if s == "grid" else rng.standard_normal(s)
              for s in shapes]
    ls = [lk.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    gl = lk.autograd.grad(lf(*ls).sum(), ls, create_graph=True)
    gt = torch.autograd.grad(tf_(*ts).sum(), ts, create_graph=True)
    hl = lk.autograd.grad(sum((g * g).sum() for g in gl), ls, allow_unused=True)
    ht = torch.autograd.grad(sum((g * g).sum() for g in gt), ts, allow_unused=True)
    for a, b in zip(hl, ht):
        if b is None:
            assert a is None or not a.numpy().any()
        else:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-9)
    assert lk.autograd.gradgradcheck(lf, tuple(lk.tensor(a, requires_grad=True) for a in arrays))


def test_ctc_loss_is_twice_differentiable():
    """(PyTorch has no second derivative for CTC; labkit's composite has one.)"""
    tg = lk.tensor([[1, 2], [2, 2]])
    assert lk.autograd.gradgradcheck(
        lambda z: F.ctc_loss(z.log_softmax(2), tg, [5, 5], [2, 2]), (lk.tensor(
            rnd(5, 2, 3), requires_grad=True),))


def test_linear_cross_entropy_nllloss2d_and_lazy_3d_modules():
    for kw in [{}, {"out_features": (2,), "bias": True, "label_smoothing": 0.1}]:
        ml, mt = lnn.LinearCrossEntropyLoss(4, 3, **kw), torch.nn.LinearCrossEntropyLoss(4, 3, **kw)
        assert repr(ml) == repr(mt)
        assert list(ml.state_dict()) == list(mt.state_dict())
        ml.load_state_dict({k: lk.tensor(v.numpy()) for k, v in mt.state_dict().items()})
        x = rnd(5, 4, dtype=np.float32)
        y = RNG.integers(0, 3, (5,) + kw.get("out_features", ()))
        np.testing.assert_allclose(ml(lk.tensor(x), lk.tensor(y)).detach().numpy(),
                                   mt(torch.tensor(x), torch.tensor(y)).detach().numpy(),
                                   rtol=1e-5)
    assert isinstance(lnn.NLLLoss2d(), lnn.NLLLoss)
    opts_l = lnn.LinearCrossEntropyOptions(batch_chunk_size=2)
    opts_t = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
    assert repr(opts_l) == repr(opts_t)
    assert repr(lnn.LinearCrossEntropyLoss(3, 2, options=opts_l)) == \
        repr(torch.nn.LinearCrossEntropyLoss(3, 2, options=opts_t))
    for cls, args, shape in [("LazyConv3d", (4, 2), (2, 3, 3, 4, 3)),
                             ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)),
                             ("LazyConvTranspose1d", (4, 3), (2, 2, 5)),
                             ("LazyConvTranspose2d", (4, 3), (3, 3, 2)),
                             ("LazyConvTranspose3d", (4, 2), (1, 3, 2, 2, 2))]:
        m = getattr(lnn, cls)(*args)
        y = m(lk.randn(*shape))
        t = getattr(torch.nn, cls)(*args)
        t_out = t(torch.randn(*shape))
        assert type(m).__name__ == type(t).__name__ and repr(m) == repr(t)
        assert [tuple(v.shape) for v in m.state_dict().values()] == \
            [tuple(v.shape) for v in t.state_dict().values()]
        assert tuple(y.shape) == tuple(t_out.shape)
    ct = lnn.ConvTranspose3d(2, 3, 3, stride=2)
    tt = torch.nn.ConvTranspose3d(2, 3, 3, stride=2)
    ct.load_state_dict({k: lk.tensor(v.numpy()) for k, v in tt.state_dict().items()})
    x = rnd(1, 2, 3, 3, 3, dtype=np.float32)
    a, b = ct(lk.tensor(x), output_size=[8, 7, 8]), tt(torch.tensor(x), output_size=[8, 7, 8])
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_with_loss(head_bias):
    args = (16, 20, [4, 10, 15])
    ml = lnn.AdaptiveLogSoftmaxWithLoss(*args, div_value=2.0, head_bias=head_bias)
    mt = torch.nn.AdaptiveLogSoftmaxWithLoss(*args, div_value=2.0, head_bias=head_bias)
    assert repr(ml) == repr(mt)
    assert list(ml.state_dict()) == list(mt.state_dict())
    ml.load_state_dict({k: lk.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    x = rnd(9, 16, dtype=np.float32)
    y = np.array([0, 3, 4, 9, 10, 14, 15, 19, 2])
    xl, xt = lk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ol, ot = ml(xl, lk.tensor(y)), mt(xt, torch.tensor(y))
    for a, b in zip(ol, ot):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    ol.loss.backward()
    ot.loss.backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ml.log_prob(lk.tensor(x)).detach().numpy(),
                               mt.log_prob(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(ml.predict(lk.tensor(x)).numpy(),
                                  mt.predict(torch.tensor(x)).numpy())
    one = ml(lk.tensor(x[0]), lk.tensor(y[0]))
    assert tuple(one.output.shape) == ()
    with pytest.raises(RuntimeError, match="Target values"):
        ml(lk.tensor(x), lk.tensor(y + 5))
    with pytest.raises(ValueError):
        lnn.AdaptiveLogSoftmaxWithLoss(16, 20, [10, 4])


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("how", [{"size": (5, 7)}, {"size": (20, 9)}, {"scale_factor": 0.3},
                                 {"scale_factor": (1.5, 0.45), "align_corners": True}])
def test_interpolate_antialias(mode, how):
    kw = dict(how, mode=mode, antialias=True)
    compare("interpolate", [rnd(2, 2, 13, 17)], kw)
    compare("interpolate", [rnd(1, 3, 13, 17, dtype=np.float32)], kw, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("nd,kw", [(1, {"stride": 2, "padding": 1}), (2, {"groups": 2}),
                                   (3, {"dilation": 2, "padding": 1})])
def test_nn_grad_conv_input_and_weight(nd, kw):
    import labkit.nn.grad as lgrad
    x, w = rnd(2, 4, *[7] * nd), rnd(6, 4 // kw.get("groups", 1), *[3] * nd)
    go = getattr(TF, f"conv{nd}d")(torch.tensor(x), torch.tensor(w), **kw).numpy()
    go = RNG.standard_normal(go.shape)
    a = getattr(lgrad, f"conv{nd}d_input")(x.shape, lk.tensor(w), lk.tensor(go), **kw)
    b = getattr(torch.nn.grad, f"conv{nd}d_input")(x.shape, torch.tensor(w), torch.tensor(go),
                                                   **kw)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-9)
    a = getattr(F.grad, f"conv{nd}d_weight")(lk.tensor(x), w.shape, lk.tensor(go), **kw)
    b = getattr(torch.nn.grad, f"conv{nd}d_weight")(torch.tensor(x), w.shape, torch.tensor(go),
                                                    **kw)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-9)
    assert F.GRID_SAMPLE_PADDING_MODES == TF.GRID_SAMPLE_PADDING_MODES
    assert F.GRID_SAMPLE_INTERPOLATION_MODES == TF.GRID_SAMPLE_INTERPOLATION_MODES


@pytest.mark.parametrize("name,arrays,kw", [
    ("pdist", [np.zeros((0, 3))], {}), ("pdist", [rnd(1, 3)], {}),
    ("adaptive_avg_pool3d", [np.zeros((0, 2, 4, 4, 4))], {"output_size": 2}),
    ("max_pool3d", [np.zeros((0, 2, 4, 4, 4))], {"kernel_size": 2}),
    ("conv3d", [np.zeros((0, 2, 4, 4, 4)), rnd(3, 2, 2, 2, 2)], {}),
    ("conv_transpose3d", [np.zeros((0, 2, 4, 4, 4)), rnd(2, 3, 2, 2, 2)], {}),
    ("interpolate", [np.zeros((0, 2, 4, 4))], {"size": 3, "mode": "bicubic"}),
    ("grid_sample", [np.zeros((0, 2, 4, 4)), np.zeros((0, 3, 3, 2))], {"align_corners": False}),
    ("grid_sample", [rnd(1, 2, 4, 4), np.zeros((1, 0, 3, 2))], {"align_corners": False}),
    ("max_unpool2d", [np.zeros((0, 2, 2, 2)), np.zeros((0, 2, 2, 2), np.int64)],
     {"kernel_size": 2}),
    ("embedding_bag", [np.zeros(0, np.int64), rnd(5, 3), np.zeros(1, np.int64)], {}),
    ("triplet_margin_loss", [np.zeros((0, 3))] * 3, {"reduction": "sum"}),
    ("hardshrink", [np.array([np.nan, np.inf, -0.2])], {}),
])
def test_empty_and_special_inputs(name, arrays, kw):
    compare(name, arrays, kw, nondiff=tuple(range(1, len(arrays))))


def test_interpolate_to_an_empty_size_raises():
    with pytest.raises(RuntimeError, match="greater than 0"):
        F.interpolate(lk.tensor(rnd(1, 2, 4, 4)), scale_factor=0.1, mode="bilinear")
