"""nn.functional vs PyTorch 2.13: forward values and input gradients (float32), plus float64
gradchecks of the core Functions.  One table drives the PyTorch comparisons."""
import math
import warnings

import numpy as np
import pytest

import labkit as lk
import labkit.nn.functional as F
from labkit.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(0)


def rnd(*shape, lo=-2.0, hi=2.0, dtype=np.float32):
    return RNG.uniform(lo, hi, shape).astype(dtype)


def pair(arr, grad=True):
    """Same data as a labkit and a torch tensor (float arrays require grad)."""
    a = np.array(arr)
    req = grad and a.dtype.kind == "f"
    return (lk.tensor(a, requires_grad=req), torch.tensor(a, requires_grad=req))


def compare(lk_fn, t_fn, arrays, atol=1e-5, rtol=1e-4, grad=True):
    """Run both, compare outputs and the gradients of all float inputs for a random upstream."""
    lks, ts = zip(*[pair(a, grad) for a in arrays])
    out_l, out_t = lk_fn(*lks), t_fn(*ts)
    if isinstance(out_t, tuple):
        out_l, out_t = out_l[0], out_t[0]
    np.testing.assert_allclose(out_l.detach().numpy(), out_t.detach().numpy(), atol=atol,
                               rtol=rtol)
    if not grad or not out_t.requires_grad:
        return
    up = RNG.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_l * lk.tensor(up)).sum().backward()
    (out_t * torch.tensor(up)).sum().backward()
    for a, b in zip(lks, ts):
        if b.requires_grad:
            assert a.grad is not None, "labkit produced no gradient"
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol * 10,
                                       rtol=rtol * 10)


ACTIVATIONS = [
    ("relu", {}), ("relu6", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.7}),
    ("selu", {}), ("celu", {"alpha": 1.3}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("silu", {}), ("mish", {}), ("softplus", {"beta": 2.0, "threshold": 3.0}),
    ("hardtanh", {"min_val": -0.5, "max_val": 1.2}), ("hardsigmoid", {}), ("hardswish", {}),
    ("sigmoid", {}), ("tanh", {}), ("logsigmoid", {}), ("softsign", {}), ("tanhshrink", {}),
    ("softmax", {"dim": 1}), ("log_softmax", {"dim": 0}), ("softmin", {"dim": -1}),
    ("glu", {"dim": -1}),
]


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[a[0] + str(a[1]) for a in ACTIVATIONS])
def test_activation(name, kw):
    x = rnd(5, 6, lo=-5, hi=5)
    compare(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(TF, name)(t, **kw), [x])


def test_threshold_and_prelu():
    x = rnd(4, 3, 5)
    compare(lambda t: F.threshold(t, 0.3, -1.0), lambda t: TF.threshold(t, 0.3, -1.0), [x])
    w = rnd(3, lo=0.1, hi=0.5)
    compare(F.prelu, TF.prelu, [x, w])


def test_inplace_activation_without_grad():
    x = lk.tensor([-1.0, 2.0])
    r = F.relu(x, inplace=True)
    assert r is x and x.tolist() == [0.0, 2.0]


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5), (5,)])
def test_linear(shape):
    compare(F.linear, TF.linear, [rnd(*shape), rnd(7, 5), rnd(7)])
    compare(F.linear, TF.linear, [rnd(*shape), rnd(7, 5)])


def test_linear_errors_are_helpful():
    with pytest.raises(RuntimeError, match=r"4x5 and 3x7.*in_features=3"):
        F.linear(lk.zeros(4, 5), lk.zeros(7, 3))
    with pytest.raises(RuntimeError, match="same dtype, but got: double != float.*model.to"):
        F.linear(lk.zeros(4, 3, dtype=lk.float64), lk.zeros(7, 3))
    with pytest.raises(RuntimeError, match="same dtype, but got Double and Float.*model.to"):
        F.linear(lk.zeros(4, 3, dtype=lk.float64), lk.zeros(7, 3), lk.zeros(7))


def test_bilinear():
    compare(F.bilinear, TF.bilinear, [rnd(4, 3), rnd(4, 5), rnd(2, 3, 5), rnd(2)])


CONV2D = [
    dict(), dict(stride=2), dict(padding=1), dict(padding=(2, 1), stride=(1, 2)),
    dict(dilation=2, padding=2), dict(groups=2), dict(padding="same"), dict(padding="valid"),
    dict(padding="same", dilation=2),
]


@pytest.mark.parametrize("kw", CONV2D, ids=[str(k) for k in CONV2D])
def test_conv2d(kw):
    g = kw.get("groups", 1)
    compare(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
            [rnd(2, 4, 7, 6), rnd(6, 4 // g, 3, 2 if kw.get("padding") != "same" else 4),
             rnd(6)], atol=2e-5)


def test_conv2d_unbatched_no_bias_and_depthwise():
    compare(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
            [rnd(3, 5, 5), rnd(2, 3, 3, 3)], atol=2e-5)
    compare(lambda x, w: F.conv2d(x, w, groups=4), lambda x, w: TF.conv2d(x, w, groups=4),
            [rnd(2, 4, 5, 5), rnd(8, 1, 3, 3)], atol=2e-5)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, groups=2),
                                dict(padding="same")])
def test_conv1d(kw):
    g = kw.get("groups", 1)
    compare(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: TF.conv1d(x, w, b, **kw),
            [rnd(2, 4, 11), rnd(6, 4 // g, 3), rnd(6)], atol=2e-5)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2), dict(stride=2, padding=1,
                                                             output_padding=1),
                                dict(groups=2, dilation=2), dict(stride=(2, 3), padding=(1, 0))])
def test_conv_transpose2d(kw):
    g = kw.get("groups", 1)
    compare(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
            lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
            [rnd(2, 4, 5, 4), rnd(4, 6 // g, 3, 3), rnd(6)], atol=2e-5)


def test_conv_transpose1d():
    compare(lambda x, w: F.conv_transpose1d(x, w, stride=2),
            lambda x, w: TF.conv_transpose1d(x, w, stride=2), [rnd(2, 3, 5), rnd(3, 2, 4)])


def test_unfold_fold():
    compare(lambda x: F.unfold(x, 3, padding=1, stride=2),
            lambda x: TF.unfold(x, 3, padding=1, stride=2), [rnd(2, 3, 6, 5)])
    compare(lambda x: F.fold(x, (5, 4), 2), lambda x: TF.fold(x, (5, 4), 2), [rnd(2, 12, 12)])


def test_conv_errors():
    with pytest.raises(RuntimeError, match="expected input.*to have 4 channels, but got 3"):
        F.conv2d(lk.zeros(1, 3, 5, 5), lk.zeros(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D"):
        F.conv2d(lk.zeros(5, 5), lk.zeros(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        F.conv2d(lk.zeros(1, 1, 2, 2), lk.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(lk.zeros(1, 1, 5, 5), lk.zeros(1, 1, 3, 3), stride=2, padding="same")


POOL = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=(2, 3), stride=1),
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]


@pytest.mark.parametrize("kw", POOL, ids=[str(k) for k in POOL])
def test_max_and_avg_pool2d(kw):
    x = rnd(2, 3, 7, 8)
    compare(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), [x])
    compare(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), [x])
    compare(lambda t: F.avg_pool2d(t, count_include_pad=False, **kw),
            lambda t: TF.avg_pool2d(t, count_include_pad=False, **kw), [x])


def test_max_pool2d_dilation_indices_and_1d():
    x = rnd(2, 3, 9, 9)
    compare(lambda t: F.max_pool2d(t, 3, 1, 1, dilation=2), lambda t: TF.max_pool2d(t, 3, 1, 1,
                                                                                    dilation=2),
            [x])
    _, il = F.max_pool2d(lk.tensor(x), 2, return_indices=True)
    _, it = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert il.dtype == lk.int64
    np.testing.assert_array_equal(il.numpy(), it.numpy())
    y = rnd(2, 3, 10)
    compare(lambda t: F.max_pool1d(t, 3, 2, 1), lambda t: TF.max_pool1d(t, 3, 2, 1), [y])
    compare(lambda t: F.avg_pool1d(t, 4, 3), lambda t: TF.avg_pool1d(t, 4, 3), [y])
    compare(lambda t: F.avg_pool2d(t, 3, divisor_override=2),
            lambda t: TF.avg_pool2d(t, 3, divisor_override=2), [x])


def test_max_pool_errors():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(lk.zeros(1, 1, 4, 4), 2, padding=2)


@pytest.mark.parametrize("size", [1, (3, 2), (5, 7), (None, 3)])
def test_adaptive_avg_pool2d(size):
    compare(lambda t: F.adaptive_avg_pool2d(t, size), lambda t: TF.adaptive_avg_pool2d(t, size),
            [rnd(2, 3, 7, 5)])
    compare(lambda t: F.adaptive_avg_pool1d(t, 3), lambda t: TF.adaptive_avg_pool1d(t, 3),
            [rnd(2, 3, 7)])


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(shape, training):
    C = shape[1]
    rm_l, rv_l = lk.tensor(rnd(C)), lk.tensor(rnd(C, lo=0.5, hi=2))
    rm_t, rv_t = torch.tensor(rm_l.numpy().copy()), torch.tensor(rv_l.numpy().copy())
    compare(lambda x, w, b: F.batch_norm(x, rm_l, rv_l, w, b, training, 0.3, 1e-3),
            lambda x, w, b: TF.batch_norm(x, rm_t, rv_t, w, b, training, 0.3, 1e-3),
            [rnd(*shape), rnd(C), rnd(C)], atol=1e-4)
    np.testing.assert_allclose(rm_l.numpy(), rm_t.numpy(), atol=1e-5)
    np.testing.assert_allclose(rv_l.numpy(), rv_t.numpy(), atol=1e-5)


def test_batch_norm_no_affine_and_error():
    compare(lambda x: F.batch_norm(x, None, None, training=True),
            lambda x: TF.batch_norm(x, None, None, training=True), [rnd(5, 3, 4)], atol=1e-4)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(lk.zeros(1, 3), None, None, training=True)


@pytest.mark.parametrize("nshape", [(5,), (3, 5)])
def test_layer_norm(nshape):
    compare(lambda x, w, b: F.layer_norm(x, nshape, w, b),
            lambda x, w, b: TF.layer_norm(x, nshape, w, b),
            [rnd(4, 3, 5) * 3 + 1, rnd(*nshape), rnd(*nshape)], atol=1e-4)
    compare(lambda x: F.layer_norm(x, nshape), lambda x: TF.layer_norm(x, nshape),
            [rnd(2, 3, 5)], atol=1e-4)
    with pytest.raises(RuntimeError, match=r"expected input with shape \[\*, 4\]"):
        F.layer_norm(lk.zeros(3, 5), (4,))


def test_group_and_instance_norm():
    compare(lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: TF.group_norm(x, 2, w, b),
            [rnd(3, 4, 5, 2), rnd(4), rnd(4)], atol=1e-4)
    compare(lambda x: F.instance_norm(x), lambda x: TF.instance_norm(x), [rnd(2, 3, 4, 4)],
            atol=1e-4)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(lk.zeros(2, 5, 3), 2)


def test_dropout_statistics_and_grad():
    x = lk.ones(200, 100, requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = (y.detach().numpy() != 0).mean()
    assert abs(kept - 0.7) < 0.02
    np.testing.assert_allclose(np.unique(y.detach().numpy()), [0, 1 / 0.7], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())
    assert F.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)
    z = F.dropout2d(lk.ones(4, 50, 3, 3), 0.5)
    per_channel = z.numpy().reshape(4, 50, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))     # whole channels dropped
    assert 0 < (per_channel[..., 0] == 0).mean() < 1


def test_embedding():
    idx = np.array([[1, 3, 0], [3, 3, 2]])
    w = rnd(5, 4)
    for kw in (dict(), dict(padding_idx=3), dict(scale_grad_by_freq=True)):
        compare(lambda i, ww: F.embedding(i, ww, **kw), lambda i, ww: TF.embedding(i, ww, **kw),
                [idx, w])
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(lk.tensor([5]), lk.zeros(5, 2))
    wl, wt = lk.tensor(w * 3), torch.tensor(w * 3)
    F.embedding(lk.tensor(idx), wl, max_norm=1.0)
    TF.embedding(torch.tensor(idx), wt, max_norm=1.0)
    np.testing.assert_allclose(wl.numpy(), wt.numpy(), atol=1e-5)


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(lk.tensor([0, 2]), 4).numpy(),
                                  TF.one_hot(torch.tensor([0, 2]), 4).numpy())


@pytest.mark.parametrize("mode,p", [("constant", (1, 2)), ("constant", (1, 0, -1, 2)),
                                    ("reflect", (2, 1)), ("reflect", (1, 2, 2, 0)),
                                    ("replicate", (3, 1, 0, 2)), ("circular", (2, 1, 1, 1))])
def test_pad(mode, p):
    x = rnd(2, 3, 4, 5) if len(p) == 4 or mode == "constant" else rnd(3, 4, 5)
    kw = {"value": 0.5} if mode == "constant" else {}
    compare(lambda t: F.pad(t, p, mode=mode, **kw), lambda t: TF.pad(t, p, mode=mode, **kw), [x])


@pytest.mark.parametrize("kw", [dict(scale_factor=2, mode="nearest"),
                                dict(size=(5, 3), mode="nearest"),
                                dict(size=(7, 4), mode="nearest-exact"),
                                dict(scale_factor=2, mode="bilinear", align_corners=False),
                                dict(size=(3, 7), mode="bilinear", align_corners=True),
                                dict(scale_factor=1.5, mode="bilinear")])
def test_interpolate_2d(kw):
    compare(lambda t: F.interpolate(t, **kw), lambda t: TF.interpolate(t, **kw),
            [rnd(2, 3, 4, 5)])


def test_interpolate_1d_and_errors():
    compare(lambda t: F.interpolate(t, size=9, mode="linear"),
            lambda t: TF.interpolate(t, size=9, mode="linear"), [rnd(2, 3, 4)])
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(lk.zeros(1, 1, 2, 2), scale_factor=2, align_corners=True)


@pytest.mark.parametrize("kind", ["none", "causal", "bool", "float", "scale"])
def test_scaled_dot_product_attention(kind):
    q, k, v = rnd(2, 3, 4, 8), rnd(2, 3, 6, 8), rnd(2, 3, 6, 5)
    kw = {}
    if kind == "causal":
        q, k = rnd(2, 3, 6, 8), rnd(2, 3, 6, 8)
        kw = dict(is_causal=True)
    elif kind == "scale":
        kw = dict(scale=0.3)
    mask_np = None
    if kind == "bool":
        mask_np = RNG.random((4, 6)) > 0.3
        mask_np[:, 0] = True
    elif kind == "float":
        mask_np = rnd(4, 6)

    def run(lib, fn):
        def f(a, b, c):
            m = None if mask_np is None else lib.tensor(mask_np)
            return fn(a, b, c, attn_mask=m, **kw)
        return f
    compare(run(lk, F.scaled_dot_product_attention), run(torch, TF.scaled_dot_product_attention),
            [q, k, v], atol=2e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mshape", [None, (4, 6), (2, 1, 1, 6), (2, 3, 4, 6), (1, 6)])
def test_attention_one_node_masks_and_their_gradients_vs_torch(mshape, dtype):
    """The fused attention node (scale, additive mask and softmax in one pass): masks of every
    broadcast shape, a mask that requires grad, float32 (the Numba kernels) and float64."""
    q, k, v = (RNG.standard_normal(s).astype(dtype) for s in ((2, 3, 4, 8), (2, 3, 6, 8),
                                                              (2, 3, 6, 5)))
    m = None if mshape is None else RNG.standard_normal(mshape).astype(dtype)
    w = RNG.standard_normal((2, 3, 4, 5)).astype(dtype)
    got = []
    for lib, fn in ((lk, F.scaled_dot_product_attention), (torch, TF.scaled_dot_product_attention)):
        ts = [lib.tensor(a).requires_grad_() for a in (q, k, v) + (() if m is None else (m,))]
        out = fn(*ts[:3], attn_mask=ts[3] if m is not None else None, scale=0.4)
        (out * lib.tensor(w)).sum().backward()
        got.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    if m is not None:
        assert got[0][0].shape == got[1][0].shape
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_attention_one_node_second_derivatives_and_masked_rows():
    q, k, v, m = (lk.tensor(RNG.standard_normal(s)).requires_grad_()
                  for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5)))
    f = lambda *a: F.scaled_dot_product_attention(a[0], a[1], a[2], attn_mask=a[3])  # noqa: E731
    assert lk.autograd.gradcheck(f, (q, k, v, m))
    assert lk.autograd.gradgradcheck(f, (q, k, v, m))
    mask = np.zeros((4, 5), np.float32)
    mask[1] = -np.inf                                         # a row that attends to nothing
    a = [lk.tensor(RNG.standard_normal(s).astype(np.float32)) for s in ((4, 8), (5, 8), (5, 2))]
    out = F.scaled_dot_product_attention(*a, attn_mask=lk.tensor(mask)).numpy()
    ref = TF.scaled_dot_product_attention(*(torch.tensor(t.numpy()) for t in a),
                                          attn_mask=torch.tensor(mask)).numpy()
    assert (out[1] == 0).all() and (ref[1] == 0).all()          # PyTorch's "safe softmax"
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    t = [lk.tensor(x.numpy().astype(np.float64)).requires_grad_() for x in a]
    f = lambda *x: F.scaled_dot_product_attention(*x, attn_mask=lk.tensor(mask))  # noqa: E731
    assert lk.autograd.gradcheck(f, tuple(t)) and lk.autograd.gradgradcheck(f, tuple(t))


def test_normalize_cosine_pairwise():
    compare(lambda x: F.normalize(x, dim=1), lambda x: TF.normalize(x, dim=1), [rnd(4, 5)])
    compare(lambda x: F.normalize(x, p=1, dim=0), lambda x: TF.normalize(x, p=1, dim=0),
            [rnd(4, 5)])
    compare(F.cosine_similarity, TF.cosine_similarity, [rnd(4, 5), rnd(4, 5)])
    compare(F.pairwise_distance, TF.pairwise_distance, [rnd(4, 5), rnd(4, 5)])


# ---------------------------------------------------------------- losses
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}),
                                     ("smooth_l1_loss", {"beta": 0.5}),
                                     ("smooth_l1_loss", {"beta": 0.0}),
                                     ("huber_loss", {"delta": 0.7})])
def test_regression_losses(name, kw, reduction):
    compare(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw),
            lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kw),
            [rnd(4, 5), rnd(4, 5)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [dict(), dict(weight=True), dict(ignore_index=2),
                                  dict(label_smoothing=0.2),
                                  dict(weight=True, ignore_index=1, label_smoothing=0.1)],
                         ids=["plain", "weight", "ignore", "smooth", "all"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 4, 2)])
def test_cross_entropy(shape, opts, reduction):
    C = shape[1]
    x = rnd(*shape, lo=-4, hi=4)
    y = RNG.integers(0, C, (shape[0],) + shape[2:])
    w = rnd(C, lo=0.2, hi=2.0) if opts.get("weight") else None
    kw = {k: v for k, v in opts.items() if k != "weight"}

    def run(lib, fn):
        return lambda a, t: fn(a, t, weight=None if w is None else lib.tensor(w),
                               reduction=reduction, **kw)
    compare(run(lk, F.cross_entropy), run(torch, TF.cross_entropy), [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities_and_unbatched(reduction):
    x = rnd(4, 5)
    p = RNG.dirichlet(np.ones(5), 4).astype(np.float32)
    for kw in (dict(), dict(label_smoothing=0.3)):
        compare(lambda a, t: F.cross_entropy(a, t, reduction=reduction, **kw),
                lambda a, t: TF.cross_entropy(a, t, reduction=reduction, **kw), [x, p])
    w = rnd(5, lo=0.5, hi=1.5)
    compare(lambda a, t: F.cross_entropy(a, t, weight=lk.tensor(w), reduction=reduction),
            lambda a, t: TF.cross_entropy(a, t, weight=torch.tensor(w), reduction=reduction),
            [x, p])
    compare(lambda a, t: F.cross_entropy(a, t, reduction=reduction),
            lambda a, t: TF.cross_entropy(a, t, reduction=reduction), [rnd(5), np.array(3)])


def test_cross_entropy_errors():
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(lk.zeros(2, 5), lk.tensor([1, 7]))
    with pytest.raises(ValueError, match="Expected input batch_size \\(2\\) to match target "
                                         "batch_size \\(3\\)"):
        F.cross_entropy(lk.zeros(2, 5), lk.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(lk.zeros(2, 5), lk.tensor([1, 2]), reduction="avg")


def test_cross_entropy_all_ignored_is_nan_like_torch():
    a = F.cross_entropy(lk.zeros(2, 3), lk.tensor([-100, -100])).item()
    b = TF.cross_entropy(torch.zeros(2, 3), torch.tensor([-100, -100])).item()
    assert math.isnan(a) and math.isnan(b)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    x = rnd(6, 4)
    y = RNG.integers(0, 4, 6)
    y[1] = 0
    w = rnd(4, lo=0.5, hi=2)
    compare(lambda a, t: F.nll_loss(a, t, reduction=reduction),
            lambda a, t: TF.nll_loss(a, t, reduction=reduction), [x, y])
    compare(lambda a, t: F.nll_loss(a, t, weight=lk.tensor(w), ignore_index=0,
                                    reduction=reduction),
            lambda a, t: TF.nll_loss(a, t, weight=torch.tensor(w), ignore_index=0,
                                     reduction=reduction), [x, y])
    compare(lambda a, t: F.nll_loss(a, t, reduction=reduction),
            lambda a, t: TF.nll_loss(a, t, reduction=reduction),
            [rnd(2, 4, 3), RNG.integers(0, 4, (2, 3))])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    x = rnd(4, 3, lo=0.02, hi=0.98)
    t = RNG.random((4, 3)).astype(np.float32)
    w = rnd(3, lo=0.5, hi=2)
    compare(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
            lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), [x, t])
    compare(lambda a, b: F.binary_cross_entropy(a, b, weight=lk.tensor(w), reduction=reduction),
            lambda a, b: TF.binary_cross_entropy(a, b, weight=torch.tensor(w),
                                                 reduction=reduction), [x, t])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(lk.tensor([1.5]), lk.tensor([1.0]))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(lk.tensor([0.5]), lk.tensor([[1.0]]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    x = rnd(4, 3, lo=-30, hi=30)
    t = RNG.random((4, 3)).astype(np.float32)
    pw, w = rnd(3, lo=0.5, hi=3), rnd(4, 3, lo=0.5, hi=1.5)
    compare(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
            lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction), [x, t])
    compare(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, weight=lk.tensor(w), pos_weight=lk.tensor(pw), reduction=reduction),
        lambda a, b: TF.binary_cross_entropy_with_logits(
            a, b, weight=torch.tensor(w), pos_weight=torch.tensor(pw), reduction=reduction),
        [x, t])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(RNG.dirichlet(np.ones(5), 3)).astype(np.float32)
    t = RNG.dirichlet(np.ones(5), 3).astype(np.float32)
    t[0, 1] = 0.0
    if log_target:
        t = np.log(t + 1e-3).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the target is data here (torch's gradient w.r.t. a zero target is nan)
        compare(lambda a: F.kl_div(a, lk.tensor(t), reduction=reduction, log_target=log_target),
                lambda a: TF.kl_div(a, torch.tensor(t), reduction=reduction,
                                    log_target=log_target), [x])


def test_mse_shape_mismatch_warns():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(lk.zeros(3, 1), lk.zeros(3))


def test_legacy_size_average_reduce():
    with pytest.warns(UserWarning):
        v = F.mse_loss(lk.ones(2, 2), lk.zeros(2, 2), size_average=False)
    assert v.item() == 4.0


# ---------------------------------------------------------------- gradcheck (float64)
def d64(*shape, lo=-1.0, hi=1.0):
    return lk.tensor(RNG.uniform(lo, hi, shape), dtype=lk.float64, requires_grad=True)


GRADCHECKS = {
    "linear": lambda: (F.linear, (d64(3, 4), d64(2, 4), d64(2))),
    "conv2d": lambda: (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
                       (d64(1, 4, 5, 4), d64(2, 2, 3, 3), d64(2))),
    "conv_transpose2d": lambda: (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1),
                                 (d64(1, 2, 3, 3), d64(2, 2, 3, 3))),
    "max_pool2d": lambda: (lambda x: F.max_pool2d(x, 2, 1), (d64(1, 2, 4, 4),)),
    "avg_pool2d": lambda: (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                           (d64(1, 2, 5, 5),)),
    "batch_norm": lambda: (lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
                           (d64(4, 3, 2), d64(3), d64(3))),
    "layer_norm": lambda: (lambda x, w, b: F.layer_norm(x, (4,), w, b),
                           (d64(3, 4), d64(4), d64(4))),
    "group_norm": lambda: (lambda x, w, b: F.group_norm(x, 2, w, b),
                           (d64(2, 4, 3), d64(4), d64(4))),
    "cross_entropy": lambda: (lambda x: F.cross_entropy(x, lk.tensor([0, 2, 1]),
                                                        weight=lk.tensor([1., 2., .5],
                                                                         dtype=lk.float64),
                                                        label_smoothing=0.1),
                              (d64(3, 3),)),
    "nll_loss": lambda: (lambda x: F.nll_loss(x, lk.tensor([0, 2, 1])), (d64(3, 3),)),
    "bce_logits": lambda: (lambda x, t: F.binary_cross_entropy_with_logits(
        x, t, pos_weight=lk.tensor([2.0, 0.5], dtype=lk.float64)),
        (d64(3, 2), d64(3, 2, lo=0.1, hi=0.9))),
    "bce": lambda: (F.binary_cross_entropy, (d64(3, 2, lo=0.1, hi=0.9),
                                             d64(3, 2, lo=0.1, hi=0.9))),
    "embedding": lambda: (lambda w: F.embedding(lk.tensor([[0, 2], [2, 2]]), w),
                          (d64(3, 2),)),
    "pad_reflect": lambda: (lambda x: F.pad(x, (2, 1, 1, 1), mode="reflect"), (d64(1, 1, 3, 4),)),
    "interpolate": lambda: (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
                            (d64(1, 1, 2, 3),)),
    "gelu": lambda: (F.gelu, (d64(5),)),
    "mish_softplus": lambda: (lambda x: F.mish(x) + F.softplus(x, 2.0, 1.0), (d64(6),)),
    "sdpa": lambda: (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                     (d64(1, 3, 2), d64(1, 3, 2), d64(1, 3, 2))),
    "unfold": lambda: (lambda x: F.unfold(x, 2, stride=1), (d64(1, 2, 3, 3),)),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_gradcheck(name):
    fn, inputs = GRADCHECKS[name]()
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_nodes_are_named_like_torch(reduction):
    # the autograd tutorial prints loss.grad_fn: one node per loss, reduction included
    x = np.random.default_rng(0).random((3, 4))
    t = np.random.default_rng(1).random((3, 4))
    for name in ("mse_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits"):
        names = []
        for M in (lk, torch):
            xi = M.tensor(x, requires_grad=True)
            out = getattr(M.nn.functional, name)(xi, M.tensor(t), reduction=reduction)
            names.append(type(out.grad_fn).__name__)
        assert names[0] == names[1], (name, names)
