"""NAdam, RAdam, Adamax, Rprop and ASGD against torch.optim, step for step.

Both libraries start from the same float64 parameters (two tensors, one of them in a second param
group with its own lr) and minimise the same non-quadratic loss, so every gradient after the first
depends on the optimizer's earlier updates; parameters and every state entry must agree.
"""
import numpy as np
import pytest
import torch

import labkit

STEPS = 8
RNG = np.random.RandomState(0)
W0 = RNG.randn(4, 3)
B0 = RNG.randn(3)
TARGET = np.arange(12.0).reshape(4, 3) / 4 - 1.5


def _run(lib, name, kwargs, steps=STEPS, dtype="float64"):
    dt = getattr(lib, dtype)
    w = lib.tensor(W0.copy(), dtype=dt, requires_grad=True)
    b = lib.tensor(B0.copy(), dtype=dt, requires_grad=True)
    opt = getattr(lib.optim, name)([{"params": [w]}, {"params": [b], "lr": 0.03}], **kwargs)
    target = lib.tensor(TARGET, dtype=dt)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((w * w * w).sum() * 0.1 + (w * target).sum() + ((b - 0.5) ** 4).sum()
                + (w.sum(0) * b).sum())
        loss.backward()
        opt.step()
    return (w, b), opt


def _np(x):
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _compare(name, kwargs, dtype="float64", tol=1e-10):
    (lw, lb), lopt = _run(labkit, name, kwargs, dtype=dtype)
    (tw, tb), topt = _run(torch, name, kwargs, dtype=dtype)
    np.testing.assert_allclose(_np(lw), _np(tw), rtol=0, atol=tol)
    np.testing.assert_allclose(_np(lb), _np(tb), rtol=0, atol=tol)
    ls, ts = lopt.state_dict(), topt.state_dict()
    assert ls["param_groups"] == ts["param_groups"]
    assert sorted(ls["state"]) == sorted(ts["state"]) == [0, 1]
    for i in ts["state"]:
        assert list(ls["state"][i]) == list(ts["state"][i])
        for k, tv in ts["state"][i].items():
            lv = ls["state"][i][k]
            assert str(lv.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], k
            np.testing.assert_allclose(_np(lv).astype(np.float64), _np(tv).astype(np.float64),
                                       rtol=0, atol=tol, err_msg=k)
    return lopt


def _resumed(lib, name, kwargs):
    """Three steps, then the state dict loaded into a fresh optimizer over copied parameters,
    and two more steps with a fixed gradient there."""
    (w, b), opt = _run(lib, name, kwargs, steps=3)
    sd = opt.state_dict()
    ps = [lib.tensor(_np(p).copy(), dtype=lib.float64, requires_grad=True) for p in (w, b)]
    opt2 = getattr(lib.optim, name)([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.5}],
                                    **kwargs)
    opt2.load_state_dict(sd)
    for k in range(2):
        for p in ps:
            p.grad = lib.ones_like(p) * (0.7 - k)
        opt2.step()
    return ps, opt2


def _roundtrip(name, kwargs):
    """Resuming from a state dict continues as PyTorch's resumed optimizer does (the loaded
    state, including the saved group lr, and its dtypes)."""
    lps, lopt = _resumed(labkit, name, kwargs)
    tps, topt = _resumed(torch, name, kwargs)
    for lp, tp in zip(lps, tps):
        np.testing.assert_allclose(_np(lp), _np(tp), rtol=0, atol=1e-10)
    ls, ts = lopt.state_dict(), topt.state_dict()
    assert ls["param_groups"] == ts["param_groups"]
    for i in ts["state"]:
        assert list(ls["state"][i]) == list(ts["state"][i])
        for k, tv in ts["state"][i].items():
            lv = ls["state"][i][k]
            assert str(lv.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], k
            np.testing.assert_allclose(_np(lv), _np(tv), rtol=0, atol=1e-10, err_msg=k)


CASES = {
    "NAdam": [dict(),
              dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01),
              dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True,
                   betas=(0.3, 0.8), eps=1e-6)],
    "RAdam": [dict(),
              dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.9)),       # rho_t > 5 from step 6
              dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True,
                   betas=(0.3, 0.5), eps=1e-6)],              # never rectified (rho_inf = 3)
    "Adamax": [dict(),
               dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.9)),
               dict(lr=0.05, weight_decay=0.1, maximize=True, betas=(0.3, 0.5), eps=1e-3)],
    "Rprop": [dict(),
              dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(0.05, 0.25)),        # both clips hit
              dict(lr=0.2, etas=(0.6, 1.1), step_sizes=(1e-3, 1.0), maximize=True)],
    "ASGD": [dict(),
             dict(lr=0.05, lambd=0.1, alpha=0.5, t0=3, weight_decay=0.1),     # mu < 1 from step 6
             dict(lr=0.02, lambd=0.01, alpha=1.0, t0=0.5, maximize=True)],
}

INVALID = {
    "NAdam": [(dict(lr=-1.0), "Invalid learning rate: -1.0"),
              (dict(eps=-1e-3), "Invalid epsilon value: -0.001"),
              (dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
              (dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
              (dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
              (dict(momentum_decay=-0.1), "Invalid momentum_decay value: -0.1")],
    "RAdam": [(dict(lr=-1.0), "Invalid learning rate: -1.0"),
              (dict(eps=-1e-3), "Invalid epsilon value: -0.001"),
              (dict(betas=(-0.1, 0.9)), "Invalid beta parameter at index 0: -0.1"),
              (dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
              (dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5")],
    "Adamax": [(dict(lr=-1.0), "Invalid learning rate: -1.0"),
               (dict(eps=-1e-3), "Invalid epsilon value: -0.001"),
               (dict(betas=(1.5, 0.9)), "Invalid beta parameter at index 0: 1.5"),
               (dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
               (dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5")],
    "Rprop": [(dict(lr=-1.0), "Invalid learning rate: -1.0"),
              (dict(etas=(0.0, 1.2)), "Invalid eta values: 0.0, 1.2"),
              (dict(etas=(0.5, 1.0)), "Invalid eta values: 0.5, 1.0"),
              (dict(etas=(1.1, 1.2)), "Invalid eta values: 1.1, 1.2")],
    "ASGD": [(dict(lr=-1.0), "Invalid learning rate: -1.0"),
             (dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5")],
}


@pytest.mark.parametrize("name,kwargs", [(n, kw) for n, cs in CASES.items() for kw in cs])
def test_matches_torch(name, kwargs):
    _compare(name, kwargs)


@pytest.mark.parametrize("name", list(CASES))
def test_float32_close_to_torch(name):
    _compare(name, CASES[name][1], dtype="float32", tol=1e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_roundtrip(name):
    _roundtrip(name, CASES[name][-1])


@pytest.mark.parametrize("name,kwargs,msg", [(n, kw, m) for n, cs in INVALID.items()
                                             for kw, m in cs])
def test_invalid_hyperparameters(name, kwargs, msg):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError) as te:
        getattr(torch.optim, name)([p], **kwargs)
    assert str(te.value) == msg                           # the message is PyTorch's
    with pytest.raises(ValueError, match="^" + msg.replace(".", r"\.").replace("(", r"\(")):
        getattr(labkit.optim, name)([labkit.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name", list(CASES))
def test_differentiable_refused(name):
    with pytest.raises(NotImplementedError, match="differentiable"):
        getattr(labkit.optim, name)([labkit.zeros(2, requires_grad=True)], differentiable=True)


@pytest.mark.parametrize("name", list(CASES))
def test_params_without_grad_are_skipped(name):
    w = labkit.ones(3, requires_grad=True)
    opt = getattr(labkit.optim, name)([w])
    opt.step()
    np.testing.assert_array_equal(_np(w), np.ones(3))
    assert len(opt.state) == 0


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_and_closure(name):
    """step() leaves .grad as it was and returns the closure's loss."""
    w = labkit.tensor([0.5, -1.0, 2.0], requires_grad=True)
    kwargs = dict(CASES[name][-1])
    opt = getattr(labkit.optim, name)([w], **kwargs)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == pytest.approx(5.25)
    np.testing.assert_array_equal(_np(w.grad), [1.0, -2.0, 4.0])
    assert not np.array_equal(_np(w), [0.5, -1.0, 2.0])
