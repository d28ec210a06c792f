"""labkit.viz.lr_find: the suggestion on synthetic curves, and an exact restore of model,
gradients, optimizer, mode and RNG after a real sweep."""
import math

import numpy as np
import pytest

pytest.importorskip("anywidget")

import labkit as lk  # noqa: E402
from labkit import nn  # noqa: E402
from labkit.utils.data import DataLoader, TensorDataset  # noqa: E402
from labkit.viz._lr_find import lr_find, smooth_centered, suggest_lr  # noqa: E402


def test_suggestion_on_a_synthetic_loss_curve():
    rng = np.random.default_rng(0)
    lrs = 1e-7 * (1e8) ** (np.arange(100) / 99)
    x = np.log10(lrs)
    # falls fastest at lr = 1e-3, bottoms out near 1e-1, then explodes
    loss = 2 - np.tanh((x + 3) * 1.2) + np.where(x > -1, (x + 1) ** 2 * 3, 0)
    noisy = loss + rng.normal(0, 0.03, loss.shape)
    lr, smoothed = suggest_lr(lrs, noisy)
    assert abs(math.log10(lr) - (-3)) < 0.35, lr
    assert smoothed.shape == noisy.shape
    # an exponential moving average would lag: the centred one does not shift the curve
    assert abs(np.argmin(np.gradient(smooth_centered(loss, 11))) - np.argmin(np.gradient(loss))) <= 1


def test_smooth_centered_matches_manual_and_skips_nan():
    y = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    s = smooth_centered(y, 3)
    np.testing.assert_allclose(s, [1.5, 1.5, 3.0, 4.5, 4.5])
    assert suggest_lr([1, 2, 3], [1, 1, 1])[0] is None          # too short


def make(seed=0):
    lk.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((256, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 2))
    loader = DataLoader(TensorDataset(lk.tensor(X), lk.tensor(y)), batch_size=32, shuffle=True)
    return model, loader


def state(model, opt):
    params = [p.detach().numpy().copy() for p in model.parameters()]
    bufs = [b.numpy().copy() for b in model.buffers()]
    grads = [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]
    ost = {k: {kk: (vv.numpy().copy() if hasattr(vv, "numpy") else vv) for kk, vv in v.items()}
           for k, v in opt.state_dict()["state"].items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    return params, bufs, grads, ost, groups


def assert_same(a, b):
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()     # bit-identical
    for x, y in zip(a[2], b[2]):
        assert (x is None and y is None) or x.tobytes() == y.tobytes()
    assert a[3].keys() == b[3].keys()
    for k in a[3]:
        for kk in a[3][k]:
            va, vb = a[3][k][kk], b[3][k][kk]
            assert (va.tobytes() == vb.tobytes()) if isinstance(va, np.ndarray) else va == vb
    assert a[4] == b[4]


def test_lr_find_restores_model_optimizer_and_rng_exactly():
    model, loader = make()
    opt = lk.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    for i, (xb, yb) in enumerate(loader):        # some real training first: Adam has state
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
        if i == 3:
            break
    model.eval()
    before = state(model, opt)
    rng_before = lk.get_rng_state()

    res = lr_find(model, loss_fn, loader, optimizer=opt, start_lr=1e-5, end_lr=10, num_iter=40,
                  show=False)

    assert_same(before, state(model, opt))
    assert not model.training                       # mode restored
    assert np.array_equal(np.asarray(lk.get_rng_state()), np.asarray(rng_before))
    assert 6 <= len(res.lrs) <= 40 and len(res.losses) == len(res.lrs)
    assert np.all(np.diff(res.lrs) > 0) and res.lrs[0] == pytest.approx(1e-5)
    assert res.suggestion is None or 1e-5 <= res.suggestion <= 10
    # the chart: raw + smoothed loss against the learning rate, with the suggestion marked
    mon = res.monitor
    assert mon.log_x and mon.xlabel == "learning rate"
    d = mon.to_dict()
    assert set(d["split"]) == {"train", "smoothed"}
    assert d["step"][:len(res.lrs)] == pytest.approx(list(res.lrs))
    if res.suggestion is not None:
        assert mon.markers[0]["x"] == res.suggestion
        assert float(res) == res.suggestion
    assert "LRFinderResult(suggestion=" in repr(res)


def test_lr_find_default_sgd_and_divergence_stop():
    model, loader = make(1)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    res = lr_find(model, nn.CrossEntropyLoss(), loader, start_lr=1e-3, end_lr=1e6,
                  num_iter=60, show=False)
    assert res.stopped_early and len(res.lrs) < 60
    for p, b in zip(model.parameters(), before):
        assert p.detach().numpy().tobytes() == b.tobytes()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError):
        lr_find(model, nn.CrossEntropyLoss(), loader, start_lr=1.0, end_lr=0.1)
