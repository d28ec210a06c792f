"""labkit.viz.boundary without a kernel: grid values vs a manual computation, binary encoding,
neuron thumbnails, throttling and the forward-hook refresh."""
import numpy as np
import pytest

pytest.importorskip("anywidget")

import labkit as lk  # noqa: E402
from labkit import nn  # noqa: E402
from labkit.viz._boundary import Boundary, boundary, first_hidden_layer  # noqa: E402


def moons(n=60):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.float32)
    return X, y


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_binary_grid_matches_manual_computation():
    X, y = moons()
    model = nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 1))
    b = boundary(model, lk.tensor(X), lk.tensor(y), resolution=20)
    c = b.compute()
    x0, x1, y0, y1 = b.extent
    # manual: pixel (i, j) centre, row 0 at the top
    i, j = 3, 17
    px = x0 + (j + 0.5) * (x1 - x0) / 20
    py = y1 - (i + 0.5) * (y1 - y0) / 20
    with lk.no_grad():
        z = model(lk.tensor([[px, py]])).numpy()[0, 0]
    assert c["kind"] == "binary" and c["probs"].shape == (20, 20)
    assert c["probs"][i, j] == pytest.approx(sigmoid(z), rel=1e-5)
    W, bias = model[0].weight.detach().numpy(), model[0].bias.detach().numpy()
    h = np.tanh(np.array([px, py]) @ W.T + bias)
    r = b.neuron_resolution                     # neurons use a coarser grid
    gp = b.grid_points(r)
    k = 5 * r + 7
    assert c["neurons"].shape == (6, r, r)
    np.testing.assert_allclose(c["neurons"][:, 5, 7], np.tanh(gp[k] @ W.T + bias), rtol=1e-5)
    assert h.shape == (6,)
    with lk.no_grad():
        pd = sigmoid(model(lk.tensor(X)).numpy()[:, 0])
    assert c["accuracy"] == pytest.approx(np.mean((pd > 0.5) == (y > 0.5)))
    # what is sent: uint8 buffers, not JSON lists
    assert isinstance(b.grid, bytes) and len(b.grid) == 400
    q = np.frombuffer(b.grid, np.uint8).reshape(20, 20)
    assert abs(int(q[i, j]) - round(sigmoid(z) * 255)) <= 1
    hn = np.frombuffer(b.neurons, np.uint8).reshape(6, r, r)
    scale = np.abs(c["neurons"]).reshape(6, -1).max(axis=1)
    np.testing.assert_allclose(hn[:, 5, 7], np.round((c["neurons"][:, 5, 7] / scale + 1) * 127.5),
                               atol=1)
    assert np.frombuffer(b.points, "<f4").reshape(-1, 2).tolist() == X.tolist()
    state = b.get_state()
    assert state["meta"]["kind"] == "binary" and state["meta"]["n_neurons"] == 6
    assert state["meta"]["layer"] == "0"


def test_multiclass_and_probability_outputs():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 2))
    y = rng.integers(0, 3, 30)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3), nn.Softmax(dim=1))
    b = Boundary(model, X, y, resolution=10)
    c = b.compute()
    assert c["kind"] == "multiclass" and c["probs"].shape == (10, 10, 3)
    gp = b.grid_points(10)
    with lk.no_grad():
        direct = model(lk.tensor(gp, dtype=lk.float32)).numpy()
    np.testing.assert_allclose(c["probs"].reshape(100, 3), direct, rtol=1e-5)  # no 2nd softmax
    grid = np.frombuffer(b.grid, np.uint8)
    assert grid.size == 200
    np.testing.assert_array_equal(grid[:100], direct.argmax(axis=1))
    assert b.meta["n_classes"] == 3


def test_first_hidden_layer_and_errors():
    m = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.1), nn.LeakyReLU(), nn.Linear(3, 1))
    name, lin, act = first_hidden_layer(m)
    assert name == "0" and lin is m[0] and act is m[2]
    m2 = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    assert first_hidden_layer(m2)[2] is None
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        boundary(m, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="y must"):
        boundary(m, np.zeros((4, 2)), np.zeros(5))


def test_update_is_throttled_and_restores_training_mode():
    X, y = moons(20)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    model.train()
    b = boundary(model, X, y, resolution=8, max_rate=2)
    assert b.updates == 1 and model.training
    sent = [b.update() for _ in range(50)]
    assert sum(sent) == 0 and b._pending            # throttled, remembered for the cell end
    b._on_cell_end()
    assert b.updates == 2 and not b._pending
    assert b.update(force=True) and b.updates == 3


def test_every_n_forward_calls_via_hook():
    X, y = moons(32)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = lk.optim.SGD(model.parameters(), lr=0.5)
    b = boundary(model, X, y, every=5, resolution=8, max_rate=1e9)
    Xt, yt = lk.tensor(X), lk.tensor(y)[:, None]
    first = bytes(b.grid)
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(Xt), yt)
        loss.backward()
        opt.step()
    assert b.forward_calls == 20                    # the widget's own forwards are not counted
    assert b.updates == 1 + 4
    assert bytes(b.grid) != first                   # the picture moved with training
    assert b.meta["step"] == 20
    b.detach()
    model(Xt)
    assert b.forward_calls == 20
