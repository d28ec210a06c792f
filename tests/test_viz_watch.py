"""labkit.viz.watch: statistics vs manual computation, warnings, hook removal, overhead."""
import time

import numpy as np
import pytest

pytest.importorskip("anywidget")

import labkit as lk  # noqa: E402
from labkit import nn  # noqa: E402
from labkit.viz._watch import watch  # noqa: E402


def setup(seed=0):
    lk.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = lk.tensor(rng.standard_normal((64, 4)).astype(np.float32))
    y = lk.tensor(rng.integers(0, 3, 64))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    return model, X, y


def series(w, layer, stat):
    d = w.to_dict()
    return [(s, v) for r, m, s, v in zip(d["run"], d["metric"], d["step"], d["value"])
            if r == layer and m == stat]


def test_stats_match_manual_computation():
    model, X, y = setup()
    lr = 0.1
    opt = lk.optim.SGD(model.parameters(), lr=lr)
    w = watch(model, every=2)
    assert [l for l, *_ in w.layers] == ["0", "2"]
    grads, dead, weights = {}, {}, {}
    for step in range(1, 7):
        opt.zero_grad()
        W0, b0 = model[0].weight.detach().numpy(), model[0].bias.detach().numpy()
        hidden = np.maximum(X.numpy() @ W0.T + b0, 0)          # manual reference
        out = model(X)
        nn.functional.cross_entropy(out, y).backward()
        if step % 2 == 0:
            grads[step] = [model[0].weight.grad.numpy().copy(), model[2].weight.grad.numpy().copy()]
            dead[step] = float((hidden == 0).mean())
            weights[step] = [model[0].weight.detach().numpy().copy()]
        opt.step()
        if step % 2 == 0:
            new = model[0].weight.detach().numpy()
            weights[step].append(np.linalg.norm(new - weights[step][0]) / np.linalg.norm(new))
    model(X)                                          # the next forward closes the last ratio
    assert w.step == 7 and w.samples == 3
    gn = series(w, "0", "grad norm")
    assert [s for s, _ in gn] == [2, 4, 6]
    for s, v in gn:
        assert v == pytest.approx(np.linalg.norm(grads[s][0]), rel=1e-5)
    for s, v in series(w, "2", "grad std"):
        assert v == pytest.approx(grads[s][1].std(), rel=1e-4)
    for s, v in series(w, "0", "grad mean |g|"):
        assert v == pytest.approx(np.abs(grads[s][0]).mean(), rel=1e-4)
    for s, v in series(w, "0", "dead fraction"):
        assert v == pytest.approx(dead[s])
    ur = series(w, "0", "update / weight")
    assert [s for s, _ in ur] == [2, 4, 6]
    for s, v in ur:
        assert v == pytest.approx(weights[s][1], rel=1e-4)
    assert series(w, "2", "dead fraction") == []     # no activation after the last layer
    assert w.alerts == []
    # eval / no_grad forwards are not training steps
    with lk.no_grad():
        model(X)
    assert w.step == 7
    w.remove()
    model(X)
    assert w.step == 7


def test_warnings_name_the_layer():
    model, X, y = setup(1)
    w = watch(model, every=1, explode=1e-4, dead=0.0)
    nn.functional.cross_entropy(model(X), y).backward()
    text = " | ".join(w.alerts)
    assert "exploding gradient in layer '0'" in text and "layer '2'" in text
    assert "activations after layer '0'" in text
    n = len(w.alerts)
    model.zero_grad()
    nn.functional.cross_entropy(model(X), y).backward()
    assert len(w.alerts) == n                        # each warning once
    bad = X.clone()
    bad[0, 0] = float("nan")
    w2 = watch(model, every=1)
    model.zero_grad()
    nn.functional.cross_entropy(model(bad), y).backward()
    assert any("non-finite gradient in layer '0'" in a for a in w2.alerts)
    w.remove()
    w2.remove()
    with pytest.raises(ValueError):
        watch(nn.ReLU())


def test_overhead_is_small():
    """Hook cost per training step (sampling every 10 steps) vs the step itself: < 10%.
    Both are timed as the best of several repeats: this machine is shared and noisy."""
    lk.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    X = lk.randn(128, 64)
    y = lk.randint(0, 10, (128,))
    opt = lk.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()

    step()
    t_step = []
    for _ in range(30):
        t0 = time.perf_counter()
        step()
        t_step.append(time.perf_counter() - t0)
    t_step = float(np.percentile(t_step, 25))

    w = watch(model, every=10)
    step()                                   # real hooks run once: the statistics work
    assert w.samples == 0 and w.step == 1
    grads = [lk.randn(*p.shape) for _, _, p, _ in w.layers]
    grad_hooks = [w._grad_hook(layer) for layer, *_ in w.layers]
    acts = [(w._act_hook(layer), m, model[1](model[0](X)).detach())
            for layer, _, _, m in w.layers if m is not None]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(100):                 # what the hooks do during 100 training steps
            w._on_forward(model, (X,))
            for h, g in zip(grad_hooks, grads):
                h(g)
            for h, m, out in acts:
                h(m, (X,), out)
        best = min(best, (time.perf_counter() - t0) / 100)
    w.remove()
    assert w.samples == 30
    print(f"watch(every=10): hooks {best * 1e6:.0f} us per step, step {t_step * 1e3:.2f} ms, "
          f"overhead {100 * best / t_step:.1f}%")
    assert best / t_step < 0.10
