"""Every layer vs PyTorch 2.13 with the weights copied across: outputs, input gradients and
parameter gradients (float32), plus BatchNorm running statistics and train/eval behaviour."""
import numpy as np
import pytest

import labkit as lk
from labkit import nn

torch = pytest.importorskip("torch")
tnn = torch.nn
RNG = np.random.default_rng(1)


def copy_weights(lk_mod, t_mod):
    """Load torch's state_dict into the labkit module (same keys, same order)."""
    sd = t_mod.state_dict()
    assert list(lk_mod.state_dict()) == list(sd), "state_dict keys differ from PyTorch"
    lk_mod.load_state_dict({k: lk.tensor(v.detach().numpy()) for k, v in sd.items()})


def _as_np(x):
    return x.detach().numpy()


def check_layer(lk_mod, t_mod, *inputs, atol=1e-5, rtol=1e-4, int_inputs=(), out_index=None,
                train=True):
    copy_weights(lk_mod, t_mod)
    lk_mod.train(train)
    t_mod.train(train)
    lin, tin = [], []
    for i, a in enumerate(inputs):
        req = i not in int_inputs and a.dtype.kind == "f"
        lin.append(lk.tensor(a, requires_grad=req))
        tin.append(torch.tensor(a, requires_grad=req))
    ol, ot = lk_mod(*lin), t_mod(*tin)
    if out_index is not None:
        ol, ot = ol[out_index], ot[out_index]
    np.testing.assert_allclose(_as_np(ol), _as_np(ot), atol=atol, rtol=rtol)
    up = RNG.standard_normal(tuple(ot.shape)).astype(np.float32)
    (ol * lk.tensor(up)).sum().backward()
    (ot * torch.tensor(up)).sum().backward()
    for a, b in zip(lin, tin):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol * 10,
                                       rtol=rtol * 10)
    tparams = dict(t_mod.named_parameters())
    for name, p in lk_mod.named_parameters():
        tp = tparams[name]
        if tp.grad is None:
            assert p.grad is None or np.abs(p.grad.numpy()).max() == 0, name
        else:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=atol * 10,
                                       rtol=rtol * 10, err_msg=name)
    return ol, ot


def r(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


LAYERS = {
    "Linear": (lambda M: M.Linear(5, 3), [(4, 5)]),
    "Linear-nobias-3d": (lambda M: M.Linear(5, 3, bias=False), [(2, 4, 5)]),
    "Bilinear": (lambda M: M.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    "Identity": (lambda M: M.Sequential(M.Identity(), M.Linear(2, 2)), [(3, 2)]),
    "Flatten": (lambda M: M.Sequential(M.Flatten(), M.Linear(12, 2)), [(2, 3, 4)]),
    "Unflatten": (lambda M: M.Sequential(M.Linear(6, 6), M.Unflatten(1, (2, 3))), [(4, 6)]),
    "Conv1d": (lambda M: M.Conv1d(3, 4, 3, stride=2, padding=1), [(2, 3, 9)]),
    "Conv2d": (lambda M: M.Conv2d(3, 4, 3, padding="same", dilation=2), [(2, 3, 7, 6)]),
    "Conv2d-groups": (lambda M: M.Conv2d(4, 6, (3, 2), stride=(2, 1), groups=2), [(2, 4, 7, 6)]),
    "Conv2d-reflect": (lambda M: M.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
                       [(2, 2, 5, 5)]),
    "Conv2d-circular": (lambda M: M.Conv2d(2, 3, 3, padding=1, padding_mode="circular"),
                        [(1, 2, 4, 5)]),
    "ConvTranspose2d": (lambda M: M.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                    output_padding=1), [(2, 3, 4, 4)]),
    "ConvTranspose1d": (lambda M: M.ConvTranspose1d(3, 2, 3, stride=2), [(2, 3, 5)]),
    "MaxPool2d": (lambda M: M.Sequential(M.Conv2d(2, 2, 1), M.MaxPool2d(3, 2, 1)),
                  [(2, 2, 7, 7)]),
    "MaxPool1d": (lambda M: M.MaxPool1d(2), [(2, 3, 8)]),
    "AvgPool2d": (lambda M: M.AvgPool2d(2, ceil_mode=True), [(2, 2, 5, 5)]),
    "AvgPool1d": (lambda M: M.AvgPool1d(3, 2, 1), [(2, 3, 8)]),
    "AdaptiveAvgPool2d": (lambda M: M.AdaptiveAvgPool2d((2, 3)), [(2, 3, 5, 7)]),
    "LayerNorm": (lambda M: M.LayerNorm([3, 4]), [(2, 3, 4)]),
    "LayerNorm-nobias": (lambda M: M.LayerNorm(4, bias=False), [(2, 3, 4)]),
    "GroupNorm": (lambda M: M.GroupNorm(2, 4), [(3, 4, 5)]),
    "ReLU": (lambda M: M.ReLU(), [(3, 4)]),
    "LeakyReLU": (lambda M: M.LeakyReLU(0.1), [(3, 4)]),
    "ELU": (lambda M: M.ELU(), [(3, 4)]),
    "GELU": (lambda M: M.GELU(), [(3, 4)]),
    "GELU-tanh": (lambda M: M.GELU("tanh"), [(3, 4)]),
    "SiLU": (lambda M: M.SiLU(), [(3, 4)]),
    "Mish": (lambda M: M.Mish(), [(3, 4)]),
    "Tanh": (lambda M: M.Tanh(), [(3, 4)]),
    "Sigmoid": (lambda M: M.Sigmoid(), [(3, 4)]),
    "Softplus": (lambda M: M.Softplus(beta=2), [(3, 4)]),
    "Softmax": (lambda M: M.Softmax(dim=1), [(3, 4)]),
    "LogSoftmax": (lambda M: M.LogSoftmax(dim=-1), [(3, 4)]),
    "Hardtanh": (lambda M: M.Hardtanh(-0.5, 0.5), [(3, 4)]),
    "PReLU": (lambda M: M.PReLU(3), [(2, 3, 4)]),
    "Upsample": (lambda M: M.Upsample(scale_factor=2, mode="bilinear"), [(1, 2, 3, 3)]),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_torch(name):
    build, shapes = LAYERS[name]
    check_layer(build(nn), build(tnn), *[r(*s) for s in shapes], atol=2e-5)


def test_embedding_layer():
    idx = RNG.integers(0, 6, (3, 4))
    check_layer(nn.Embedding(6, 3, padding_idx=2), tnn.Embedding(6, 3, padding_idx=2), idx)
    e = nn.Embedding(6, 3, padding_idx=2)
    assert np.all(e.weight.detach().numpy()[2] == 0)
    pre = nn.Embedding.from_pretrained(lk.ones(4, 2))
    assert not pre.weight.requires_grad and pre(lk.tensor([1])).shape == (1, 2)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 2, 2))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_and_eval(cls, shape, momentum):
    lm, tm = getattr(nn, cls)(3, momentum=momentum), getattr(tnn, cls)(3, momentum=momentum)
    copy_weights(lm, tm)
    check_layer(lm, tm, r(*shape) * 2, atol=1e-4)          # step 1, with gradients
    for step in (1, 2):
        x = r(*shape) * 2 + step
        lm(lk.tensor(x))
        tm(torch.tensor(x))
    for k in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(lm, k).numpy(), getattr(tm, k).numpy(), atol=1e-5)
    assert lm.num_batches_tracked.item() == tm.num_batches_tracked.item() == 3
    # eval: uses running statistics and leaves them unchanged
    lm.eval()
    tm.eval()
    before = lm.running_mean.numpy().copy()
    x = r(*shape)
    np.testing.assert_allclose(_as_np(lm(lk.tensor(x))), _as_np(tm(torch.tensor(x))), atol=1e-5)
    np.testing.assert_array_equal(lm.running_mean.numpy(), before)
    with pytest.raises(ValueError, match="expected"):
        lm(lk.zeros(2, 3, 4, 5, 6))


def test_batchnorm_no_tracking_and_no_affine():
    for kw in (dict(track_running_stats=False), dict(affine=False)):
        lm, tm = nn.BatchNorm2d(3, **kw), tnn.BatchNorm2d(3, **kw)
        assert list(lm.state_dict()) == list(tm.state_dict())
        x = r(4, 3, 2, 2)
        lm.eval()
        tm.eval()
        np.testing.assert_allclose(_as_np(lm(lk.tensor(x))), _as_np(tm(torch.tensor(x))),
                                   atol=1e-5)


def test_dropout_layers_train_eval():
    d = nn.Dropout(0.5)
    x = lk.ones(100, 100)
    assert (d(x).numpy() == 0).mean() > 0.4
    d.eval()
    assert d(x) is x
    d2 = nn.Dropout2d(0.5)
    y = d2(lk.ones(8, 16, 3, 3)).numpy().reshape(8, 16, 9)
    assert np.all(y.min(-1) == y.max(-1))
    assert repr(nn.Dropout(0.2)) == repr(tnn.Dropout(0.2))


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, batch_first=True),
                                dict(bidirectional=True, bias=False),
                                dict(num_layers=2, bidirectional=True, batch_first=True)],
                         ids=["plain", "2layer-bf", "bidir-nobias", "2layer-bidir-bf"])
def test_recurrent_layers(cls, kw):
    lm, tm = getattr(nn, cls)(4, 5, **kw), getattr(tnn, cls)(4, 5, **kw)
    x = r(3, 6, 4) if kw.get("batch_first") else r(6, 3, 4)
    check_layer(lm, tm, x, out_index=0, atol=2e-5)
    copy_weights(lm, tm)
    ol, ot = lm(lk.tensor(x)), tm(torch.tensor(x))
    if cls == "LSTM":
        np.testing.assert_allclose(_as_np(ol[1][0]), _as_np(ot[1][0]), atol=1e-5)
        np.testing.assert_allclose(_as_np(ol[1][1]), _as_np(ot[1][1]), atol=1e-5)
    else:
        np.testing.assert_allclose(_as_np(ol[1]), _as_np(ot[1]), atol=1e-5)


def test_recurrent_initial_state_unbatched_and_errors():
    lm, tm = nn.LSTM(3, 4), tnn.LSTM(3, 4)
    copy_weights(lm, tm)
    x, h, c = r(5, 3), r(1, 4), r(1, 4)
    ol, (hl, cl) = lm(lk.tensor(x), (lk.tensor(h), lk.tensor(c)))
    ot, (ht, ct) = tm(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
    np.testing.assert_allclose(_as_np(ol), _as_np(ot), atol=1e-5)
    np.testing.assert_allclose(_as_np(cl), _as_np(ct), atol=1e-5)
    g, tg = nn.GRU(3, 4), tnn.GRU(3, 4)
    copy_weights(g, tg)
    h0 = r(1, 2, 4)
    np.testing.assert_allclose(_as_np(g(lk.tensor(r(5, 2, 3) * 0 + x[:, None]),
                                        lk.tensor(h0))[0]),
                               _as_np(tg(torch.tensor(r(5, 2, 3) * 0 + x[:, None]),
                                         torch.tensor(h0))[0]), atol=1e-5)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        g(lk.zeros(5, 2, 7))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        g(lk.zeros(5, 2, 3), lk.zeros(2, 2, 4))
    assert repr(nn.GRU(3, 4, 2, batch_first=True)) == repr(tnn.GRU(3, 4, 2, batch_first=True))


@pytest.mark.parametrize("cls", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cells(cls):
    lm, tm = getattr(nn, cls)(3, 4), getattr(tnn, cls)(3, 4)
    out_index = 0 if cls == "LSTMCell" else None
    check_layer(lm, tm, r(2, 3), out_index=out_index)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "attn_bool", "attn_float", "padding", "both",
                                   "causal"])
def test_multihead_attention(batch_first, masks):
    E, H, L, N = 8, 2, 5, 3
    lm, tm = nn.MultiheadAttention(E, H, batch_first=batch_first), \
        tnn.MultiheadAttention(E, H, batch_first=batch_first)
    shape = (N, L, E) if batch_first else (L, N, E)
    q = r(*shape)
    kwl, kwt = {}, {}
    if masks in ("attn_bool", "both"):
        m = RNG.random((L, L)) > 0.7
        np.fill_diagonal(m, False)
        kwl["attn_mask"], kwt["attn_mask"] = lk.tensor(m), torch.tensor(m)
    if masks == "attn_float":
        m = r(L, L)
        kwl["attn_mask"], kwt["attn_mask"] = lk.tensor(m), torch.tensor(m)
    if masks in ("padding", "both"):
        p = np.zeros((N, L), bool)
        p[0, -2:] = True
        kwl["key_padding_mask"], kwt["key_padding_mask"] = lk.tensor(p), torch.tensor(p)
    if masks == "causal":
        m = np.triu(np.ones((L, L), bool), 1)
        kwl["attn_mask"], kwt["attn_mask"] = lk.tensor(m), torch.tensor(m)
        kwl["is_causal"] = kwt["is_causal"] = True
    copy_weights(lm, tm)
    lq, tq = lk.tensor(q, requires_grad=True), torch.tensor(q, requires_grad=True)
    ol, wl = lm(lq, lq, lq, **kwl)
    ot, wt = tm(tq, tq, tq, **kwt)
    np.testing.assert_allclose(_as_np(ol), _as_np(ot), atol=1e-5)
    np.testing.assert_allclose(_as_np(wl), _as_np(wt), atol=1e-5)
    up = r(*ot.shape)
    (ol * lk.tensor(up)).sum().backward()
    (ot * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(lq.grad.numpy(), tq.grad.numpy(), atol=1e-4)
    tp = dict(tm.named_parameters())
    for n, p in lm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[n].grad.numpy(), atol=1e-4, err_msg=n)


def test_multihead_attention_cross_kdim_and_unaveraged_weights():
    lm, tm = nn.MultiheadAttention(8, 4, kdim=5, vdim=6), tnn.MultiheadAttention(8, 4, kdim=5,
                                                                                vdim=6)
    copy_weights(lm, tm)
    q, k, v = r(4, 2, 8), r(3, 2, 5), r(3, 2, 6)
    ol, wl = lm(lk.tensor(q), lk.tensor(k), lk.tensor(v), average_attn_weights=False)
    ot, wt = tm(torch.tensor(q), torch.tensor(k), torch.tensor(v), average_attn_weights=False)
    np.testing.assert_allclose(_as_np(ol), _as_np(ot), atol=1e-5)
    np.testing.assert_allclose(_as_np(wl), _as_np(wt), atol=1e-5)
    o2, w2 = lm(lk.tensor(q), lk.tensor(k), lk.tensor(v), need_weights=False)
    assert w2 is None
    un, _ = lm(lk.tensor(q[:, 0]), lk.tensor(k[:, 0]), lk.tensor(v[:, 0]))
    np.testing.assert_allclose(_as_np(un), _as_np(ol[:, 0]), atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer(norm_first, activation):
    kw = dict(dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first,
              activation=activation)
    lm, tm = nn.TransformerEncoderLayer(8, 2, **kw), tnn.TransformerEncoderLayer(8, 2, **kw)
    check_layer(lm, tm, r(3, 5, 8), atol=2e-5)
    mask = np.triu(np.ones((5, 5), bool), 1)
    pad = np.zeros((3, 5), bool)
    pad[1, -1] = True
    copy_weights(lm, tm)
    tm.eval()      # the padded fast path in torch needs eval; labkit computes the same math
    lm.eval()
    ol = lm(lk.tensor(r(3, 5, 8) * 0 + 1), src_mask=lk.tensor(mask),
            src_key_padding_mask=lk.tensor(pad))
    ot = tm(torch.ones(3, 5, 8), src_mask=torch.tensor(mask),
            src_key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(_as_np(ol), _as_np(ot), atol=2e-5)


def test_transformer_encoder_stack():
    layer_l = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    layer_t = tnn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    lm = nn.TransformerEncoder(layer_l, 2, norm=nn.LayerNorm(8))
    tm = tnn.TransformerEncoder(layer_t, 2, norm=tnn.LayerNorm(8), enable_nested_tensor=False)
    check_layer(lm, tm, r(5, 3, 8), atol=2e-5)
    assert lm.layers[0].linear1.weight.data_ptr() != lm.layers[1].linear1.weight.data_ptr()


LOSSES = {
    "MSELoss": (lambda M: M.MSELoss(), "float"),
    "L1Loss": (lambda M: M.L1Loss(reduction="sum"), "float"),
    "SmoothL1Loss": (lambda M: M.SmoothL1Loss(beta=0.5), "float"),
    "HuberLoss": (lambda M: M.HuberLoss(delta=0.5, reduction="none"), "float"),
    "CrossEntropyLoss": (lambda M: M.CrossEntropyLoss(label_smoothing=0.1), "class"),
    "CrossEntropyLoss-w": (lambda M: M.CrossEntropyLoss(
        weight=(lk if M is nn else torch).tensor([1.0, 2.0, 0.5, 1.0]), ignore_index=1),
        "class"),
    "NLLLoss": (lambda M: M.NLLLoss(), "class"),
    "BCELoss": (lambda M: M.BCELoss(), "prob"),
    "BCEWithLogitsLoss": (lambda M: M.BCEWithLogitsLoss(
        pos_weight=(lk if M is nn else torch).tensor([1.0, 2.0, 0.5, 3.0])), "binary"),
    "KLDivLoss": (lambda M: M.KLDivLoss(reduction="batchmean"), "kl"),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_modules(name):
    build, kind = LOSSES[name]
    x = r(5, 4)
    if kind == "float":
        t = r(5, 4)
    elif kind == "class":
        t = RNG.integers(0, 4, 5)
    elif kind == "prob":
        x = RNG.uniform(0.05, 0.95, (5, 4)).astype(np.float32)
        t = RNG.random((5, 4)).astype(np.float32)
    elif kind == "binary":
        t = (RNG.random((5, 4)) > 0.5).astype(np.float32)
    else:
        x = np.log(RNG.dirichlet(np.ones(4), 5)).astype(np.float32)
        t = RNG.dirichlet(np.ones(4), 5).astype(np.float32)
    lm, tm = build(nn), build(tnn)
    assert list(lm.state_dict()) == list(tm.state_dict())
    xl, xt = lk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ll, lt = lm(xl, lk.tensor(t)), tm(xt, torch.tensor(t))
    np.testing.assert_allclose(_as_np(ll), _as_np(lt), atol=1e-5, rtol=1e-5)
    ll.sum().backward()
    lt.sum().backward()
    np.testing.assert_allclose(xl.grad.numpy(), xt.grad.numpy(), atol=1e-5, rtol=1e-4)
