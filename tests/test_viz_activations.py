"""lk.viz.activations and lk.viz.embeddings without a kernel: statistics vs manual NumPy, plain
words for dead and saturated units, sampling while training, feature maps, PCA vs torch's SVD,
sign alignment between updates, hooks and throttling."""
import base64

import numpy as np
import pytest
import torch

import labkit as lk
import labkit.nn as nn
from labkit.viz._activations import activations, unit_axis_stats
from labkit.viz._embeddings import embeddings, pca2


def test_unit_stats_by_hand():
    a = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 3.0, 0.0, 0.0], [0.0, 0.5, 0.0, 1.0]])
    st = unit_axis_stats(a, "ReLU")
    assert st["never fire"] == 0.5                     # units 0 and 2 are 0 on every example
    np.testing.assert_allclose([st["p5"], st["p50"], st["p95"]],
                               np.percentile(a, [5, 50, 95], method="lower"))
    r = np.random.default_rng(0).standard_normal((64, 37))
    st = unit_axis_stats(r, "GELU")
    np.testing.assert_allclose([st["p5"], st["p50"], st["p95"]],
                               np.percentile(r, [5, 50, 95], method="lower"))
    conv = np.zeros((2, 3, 4, 4))
    conv[1, 2, 3, 3] = 1.0                             # channel 2 fires once, somewhere
    assert unit_axis_stats(conv, "ReLU")["never fire"] == pytest.approx(2 / 3)
    t = np.tanh(np.array([[-5.0, 0.0, 5.0, 0.1]]))
    assert unit_axis_stats(t, "Tanh")["saturated"] == 0.5
    assert "never fire" not in unit_axis_stats(t, "Tanh")


def test_dead_relus_are_said_in_plain_words():
    lk.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 10), nn.Tanh(),
                          nn.Linear(10, 1))
    with lk.no_grad():
        model[0].bias[:4] = -100.0                    # 4 of 10 units can never fire
        model[2].weight.mul_(50.0)                    # tanh saturates
    x = lk.randn(64, 2)
    acts = activations(model, x)
    assert acts.run_names == ["1 (ReLU)", "3 (Tanh)"]
    h = lk.relu(model[0](x)).detach().numpy()
    assert acts.history["share of units that never fire"] == [
        1 - (h > 0).any(axis=0).mean()] == [0.4]
    assert not [a for a in acts.alerts if "never fire" in a]        # 40% is not above 40%
    acts2 = activations(model, x, dead=0.3)
    assert any(a.startswith("layer 1 (ReLU): 40% of units never fire") for a in acts2.alerts)
    assert any(a.startswith("layer 3 (Tanh):") and "saturated" in a for a in acts2.alerts)
    assert model.training                              # look() restored train mode
    with pytest.raises(ValueError, match="no activation or convolution"):
        activations(nn.Linear(2, 2))


def test_sampled_every_n_training_steps_and_hooks_removed():
    lk.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    acts = activations(model, every=5)
    opt = lk.optim.SGD(model.parameters(), lr=0.1)
    x, y = lk.randn(16, 3), lk.randn(16, 1)
    for _ in range(20):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert acts.samples == 4 and acts.steps["median"] == [5, 10, 15, 20]
    model.eval()
    model(x)                                           # eval mode: not a training step
    assert acts.step == 20
    model.train()
    acts.remove()
    model(x)
    assert acts.samples == 4


def test_conv_feature_maps_as_images():
    lk.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
    x = lk.randn(2, 1, 8, 8)
    acts = activations(model, x)
    v = acts.maps["0 (Conv2d)"]
    assert v.meta["grid"] == {"axis": 0, "size": 4, "shown": 4}
    np.testing.assert_allclose(np.frombuffer(v.values, "<f4").reshape(4, 6, 6),
                               model[0](x)[0].detach().numpy(), rtol=1e-6)


# ------------------------------------------------------------------------------ embeddings
def test_pca_matches_torch_svd_and_explained_variance():
    W = np.random.default_rng(0).standard_normal((30, 6)) @ np.diag([5, 3, 1, 0.5, 0.2, 0.1])
    P, axes, ex = pca2(W)
    Xc = torch.tensor(W - W.mean(0))
    _U, S, V = torch.linalg.svd(Xc, full_matrices=False)
    ref = (Xc @ V[:2].T).numpy()
    for i in range(2):                                 # equal up to the sign of each axis
        s = np.sign(np.dot(P[:, i], ref[:, i]))
        np.testing.assert_allclose(P[:, i], s * ref[:, i], atol=1e-10)
    cov = np.cov(W.T, bias=True)
    ev = np.sort(np.linalg.eigvalsh(cov))[::-1]
    np.testing.assert_allclose(ex, ev[:2] / ev.sum(), rtol=1e-10)
    # signs follow the previous axes: a flipped basis is flipped back
    P2, axes2, _ = pca2(W, prev=-axes)
    np.testing.assert_allclose(P2, -P, atol=1e-12)
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        pca2(np.zeros(3))


def test_embedding_view_follows_training_with_hover_labels():
    lk.manual_seed(0)
    vocab = ["cat", "dog", "car", "bus", "red"]
    emb = nn.Embedding(5, 4)
    view = embeddings(emb, vocab, groups=["animal", "animal", "vehicle", "vehicle", "colour"],
                      every=1, max_rate=1e6)
    assert view.labels == vocab and view.groups == [0, 0, 1, 1, 2]
    assert view.meta["group_names"] == ["animal", "vehicle", "colour"]
    P0 = np.frombuffer(view.points, "<f4").reshape(5, 2)
    np.testing.assert_allclose(P0, pca2(emb.weight.detach().numpy())[0], rtol=1e-5, atol=1e-6)
    opt = lk.optim.SGD(emb.parameters(), lr=0.1)
    idx = lk.tensor([0, 1])
    for _ in range(3):
        loss = (emb(idx)[0] - emb(idx)[1]).pow(2).sum()   # pull cat and dog together
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert view.calls == 6 and view.updates == 7
    emb(idx)
    P = np.frombuffer(view.points, "<f4").reshape(5, 2)
    assert np.linalg.norm(P[0] - P[1]) < np.linalg.norm(P0[0] - P0[1])
    view.max_rate = 1e-3                                  # throttled from now on
    emb(idx)
    assert view.updates == 8
    view._on_cell_end()
    assert view.updates == 9
    view._on_cell_end()                                   # nothing changed: nothing sent
    assert view.updates == 9
    view.max_rate = 1e6
    emb(idx)                                              # shown, then a step changes the table
    with lk.no_grad():
        emb.weight[2] += 1.0
    view._on_cell_end()                                   # the cell ends with today's table
    assert view.updates == 11
    np.testing.assert_array_equal(np.frombuffer(view.points, "<f4").reshape(5, 2),
                                  view._coords.astype("<f4"))
    np.testing.assert_array_equal(view._shown, emb.weight.detach().numpy())
    png = base64.b64decode(view.fallback_bundle()["image/png"])
    assert png[:4] == b"\x89PNG"
    view.remove()
    emb(idx)
    assert view.calls == 9
    t = embeddings(lk.randn(7, 3))                         # a plain table, default labels
    assert t.labels == [str(i) for i in range(7)]
    with pytest.raises(ValueError, match="2 labels for 7 rows"):
        embeddings(lk.randn(7, 3), ["a", "b"])
