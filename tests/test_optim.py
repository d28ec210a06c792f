"""labkit.optim vs torch.optim, step for step, for every optimizer and option combination.

Both libraries start from the same parameters and are fed the same gradients for 25 steps; the
parameters and every state buffer must agree after each step.  Every configuration also runs with
the Numba kernels switched off (the NumPy reference path), and the kernels are compared with the
reference directly.
"""
import itertools

import numpy as np
import pytest
import torch

import labkit
from labkit import kernels
from labkit.kernels import optim_jit, optim_reference

STEPS = 25
SHAPES = [(5, 3), (4,), (2, 3, 2)]


def _combos(**axes):
    keys = list(axes)
    return [dict(zip(keys, vals)) for vals in itertools.product(*axes.values())]


def _sgd_cases():
    out = []
    for c in _combos(momentum=[0, 0.9], dampening=[0, 0.3], nesterov=[False, True],
                     weight_decay=[0, 0.05], maximize=[False, True]):
        if c["nesterov"] and (c["momentum"] == 0 or c["dampening"] != 0):
            continue
        out.append(("SGD", dict(lr=0.05, **c)))
    return out


CASES = (
    _sgd_cases()
    + [("Adam", dict(lr=0.01, **c)) for c in _combos(amsgrad=[False, True],
                                                     weight_decay=[0, 0.1],
                                                     maximize=[False, True])]
    + [("Adam", dict(lr=0.02, betas=(0.6, 0.9), eps=1e-6))]          # beta1 < 0.5 lerp branch
    + [("Adam", dict(lr=0.02, betas=(0.3, 0.9)))]
    + [("AdamW", dict(lr=0.01, **c)) for c in _combos(amsgrad=[False, True],
                                                      weight_decay=[0, 0.1],
                                                      maximize=[False, True])]
    + [("AdamW", dict())]                                               # all defaults
    + [("RMSprop", dict(lr=0.01, **c)) for c in _combos(momentum=[0, 0.9],
                                                        centered=[False, True],
                                                        weight_decay=[0, 0.05],
                                                        maximize=[False, True])]
    + [("RMSprop", dict(lr=0.01, alpha=0.3, centered=True))]
    + [("Adagrad", dict(lr=0.1, **c)) for c in _combos(lr_decay=[0, 0.1],
                                                       initial_accumulator_value=[0, 0.5],
                                                       weight_decay=[0, 0.05],
                                                       maximize=[False, True])]
    + [("Adadelta", dict(**c)) for c in _combos(rho=[0.9, 0.5], weight_decay=[0, 0.05],
                                                maximize=[False, True])]
    + [("Adadelta", dict(lr=0.5, eps=1e-4))]
)


def _case_id(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


def _make_params(seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(rng, dtype=np.float32):
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _run_pair(name, kw, dtype=np.float32, steps=STEPS, groups=False):
    """Step a labkit and a torch optimizer side by side; yield both after every step."""
    init = _make_params(1, dtype)
    lk = [labkit.tensor(a, requires_grad=True) for a in init]
    th = [torch.tensor(a, requires_grad=True) for a in init]
    if groups:        # two groups: the second with its own lr
        lk_arg = [{"params": lk[:1]}, {"params": lk[1:], "lr": 0.003}]
        th_arg = [{"params": th[:1]}, {"params": th[1:], "lr": 0.003}]
    else:
        lk_arg, th_arg = lk, th
    lopt = getattr(labkit.optim, name)(lk_arg, **kw)
    topt = getattr(torch.optim, name)(th_arg, **kw)
    rng = np.random.default_rng(2)
    for _ in range(steps):
        gs = _grads(rng, dtype)
        for p, g in zip(lk, gs):
            p.grad = labkit.tensor(g)
        for p, g in zip(th, gs):
            p.grad = torch.tensor(g)
        lopt.step()
        topt.step()
        yield lk, th, lopt, topt


def _assert_state_equal(lopt, topt, lk, th, rtol, atol):
    for lp, tp in zip(lk, th):
        ls, ts = lopt.state[lp], topt.state[tp]
        assert set(ls) == set(ts), (set(ls), set(ts))
        for key in ts:
            lv, tv = ls[key], ts[key]
            np.testing.assert_allclose(np.asarray(lv._np), tv.detach().numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"state[{key!r}]")


@pytest.mark.parametrize("use_jit", [True, False], ids=["jit", "numpy"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_torch_step_for_step(case, use_jit, monkeypatch):
    monkeypatch.setattr(kernels, "USE_JIT", use_jit)
    name, kw = case
    for lk, th, lopt, topt in _run_pair(name, kw):
        for lp, tp in zip(lk, th):
            np.testing.assert_allclose(lp._np, tp.detach().numpy(), rtol=2e-5, atol=2e-6)
    _assert_state_equal(lopt, topt, lk, th, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
                                     ("RMSprop", dict(momentum=0.5, centered=True)),
                                     ("Adagrad", dict(lr_decay=0.01)),
                                     ("Adadelta", dict(weight_decay=0.1))])
def test_float64_params_match_torch(name, kw):
    """Float64 parameters take the NumPy path and keep float64 precision."""
    for lk, th, lopt, topt in _run_pair(name, kw, dtype=np.float64, steps=10):
        pass
    for lp, tp in zip(lk, th):
        assert lp.dtype is labkit.float64
        np.testing.assert_allclose(lp._np, tp.detach().numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("Adam", dict(lr=0.01)),
                                     ("RMSprop", dict(lr=0.01))])
def test_param_groups_with_own_lr_match_torch(name, kw):
    for lk, th, lopt, topt in _run_pair(name, kw, groups=True, steps=10):
        pass
    assert lopt.param_groups[1]["lr"] == 0.003 and lopt.param_groups[0]["lr"] == kw["lr"]
    for lp, tp in zip(lk, th):
        np.testing.assert_allclose(lp._np, tp.detach().numpy(), rtol=2e-5, atol=2e-6)


# ---- the kernels against their NumPy reference ---------------------------------------------------
def _arrays(n, k, seed, positive=()):
    rng = np.random.default_rng(seed)
    out = [rng.standard_normal(n).astype(np.float32) for _ in range(k)]
    for i in positive:
        out[i] = np.abs(out[i]) + np.float32(0.1)
    return out


KERNEL_CASES = (
    [("sgd", 3, (), (0.1, wd, m, d), (nest, mx, init))
     for wd, m, d, nest, mx, init in itertools.product([0, 0.1], [0, 0.9], [0, 0.2],
                                                       [False, True], [False, True],
                                                       [False, True])]
    + [("adam", 5, (3, 4), (wd, 1 - 0.01 * wd, b1, 0.999, 0.05, 0.3, 1e-8), (ams, mx, dec))
       for wd, b1, ams, mx, dec in itertools.product([0, 0.1], [0.9, 0.3], [False, True],
                                                     [False, True], [False, True])]
    + [("rmsprop", 5, (2,), (0.01, 0.9, 1e-8, wd, m), (c, mx))
       for wd, m, c, mx in itertools.product([0, 0.1], [0, 0.9], [False, True], [False, True])]
    + [("adagrad", 3, (2,), (0.1, 1e-10, wd), (mx,))
       for wd, mx in itertools.product([0, 0.1], [False, True])]
    + [("adadelta", 4, (2, 3), (1.0, 0.9, 1e-6, wd), (mx,))
       for wd, mx in itertools.product([0, 0.1], [False, True])]
)


@pytest.mark.parametrize("name,k,positive,scalars,flags", KERNEL_CASES)
def test_kernel_matches_numpy_reference(name, k, positive, scalars, flags):
    n = 1037                                     # not a multiple of any vector width
    a = _arrays(n, k, 0, positive)
    if name == "rmsprop":                        # centered: square_avg >= grad_avg**2
        a[3] = a[3] * np.float32(0.1)
    b = [x.copy() for x in a]
    s32 = [np.float32(s) for s in scalars]
    getattr(optim_jit, name)(*a, *s32, *flags)
    getattr(optim_reference, name)(*b, *s32, *flags)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(a[0], _arrays(n, k, 0, positive)[0])   # p was updated in place


# ---- the Optimizer base class ------------------------------------------------------------------
def _params():
    return [labkit.randn(3, 2, requires_grad=True), labkit.randn(2, requires_grad=True)]


def test_state_dict_layout_matches_torch():
    lk = _params()
    th = [torch.tensor(p.detach().numpy(), requires_grad=True) for p in lk]
    lopt = labkit.optim.Adam([{"params": lk[:1]}, {"params": lk[1:], "lr": 0.1}], amsgrad=True)
    topt = torch.optim.Adam([{"params": th[:1]}, {"params": th[1:], "lr": 0.1}], amsgrad=True)
    for p in lk:
        p.grad = labkit.ones_like(p)
    for p in th:
        p.grad = torch.ones_like(p)
    lopt.step()
    topt.step()
    ls, ts = lopt.state_dict(), topt.state_dict()
    assert list(ls) == ["state", "param_groups"]
    assert ls["param_groups"] == ts["param_groups"]           # same keys, values, index lists
    assert sorted(ls["state"]) == sorted(ts["state"]) == [0, 1]
    for i in ts["state"]:
        assert list(ls["state"][i]) == list(ts["state"][i])
        assert ls["state"][i]["step"].dtype is labkit.float32
        assert float(ls["state"][i]["step"]) == float(ts["state"][i]["step"]) == 1.0
    assert repr(lopt).replace("labkit", "torch") == repr(topt)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", {}),
                                     ("AdamW", dict(amsgrad=True)), ("RMSprop", dict(centered=True,
                                                                                   momentum=0.5)),
                                     ("Adagrad", {}), ("Adadelta", {})])
def test_load_state_dict_resumes_exactly(name, kw):
    """Train 5 steps, checkpoint, continue in a fresh optimizer: same as never stopping."""
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal(s).astype(np.float32) for s in [(3, 2), (2,)]]
             for _ in range(10)]
    init = [p.detach().clone() for p in _params()]

    def run(steps, params, opt):
        for gs in steps:
            for p, g in zip(params, gs):
                p.grad = labkit.tensor(g)
            opt.step()

    a = [p.clone().requires_grad_() for p in init]
    oa = getattr(labkit.optim, name)(a, **kw)
    run(grads, a, oa)

    b = [p.clone().requires_grad_() for p in init]
    ob = getattr(labkit.optim, name)(b, **kw)
    run(grads[:5], b, ob)
    sd = ob.state_dict()
    c = [p.detach().clone().requires_grad_() for p in b]
    oc = getattr(labkit.optim, name)(c, **kw)
    oc.load_state_dict(sd)
    for pb, pc in zip(b, c):                      # the loaded state is a copy, not shared
        assert set(oc.state[pc]) == set(ob.state[pb]) != set()
        for key, v in oc.state[pc].items():
            assert v is not ob.state[pb][key] and v._np is not ob.state[pb][key]._np
    run(grads[5:], c, oc)
    for x, y in zip(a, c):
        np.testing.assert_array_equal(x._np, y._np)


def test_load_torch_state_dict_and_continue_like_torch():
    """A state dict produced by torch (converted tensor by tensor) resumes identically."""
    th = [torch.randn(4, 3, requires_grad=True)]
    topt = torch.optim.Adam(th, lr=0.05, amsgrad=True)
    for _ in range(3):
        th[0].grad = torch.randn(4, 3)
        topt.step()
    sd = topt.state_dict()
    lsd = {"state": {k: {n: labkit.tensor(v.numpy()) for n, v in st.items()}
                     for k, st in sd["state"].items()},
           "param_groups": sd["param_groups"]}
    lk = [labkit.tensor(th[0].detach().numpy(), requires_grad=True)]
    lopt = labkit.optim.Adam(lk, lr=0.001)
    lopt.load_state_dict(lsd)
    assert lopt.param_groups[0]["lr"] == 0.05 and lopt.param_groups[0]["amsgrad"]
    g = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    th[0].grad = torch.tensor(g)
    lk[0].grad = labkit.tensor(g)
    topt.step()
    lopt.step()
    np.testing.assert_allclose(lk[0]._np, th[0].detach().numpy(), rtol=1e-6, atol=1e-7)


def test_load_state_dict_checks_group_sizes():
    opt = labkit.optim.SGD(_params(), lr=0.1)
    other = labkit.optim.SGD(_params()[:1], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(other.state_dict())
    two = labkit.optim.SGD([{"params": _params()}, {"params": _params()}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two.state_dict())


def test_state_is_lazy_and_params_without_grad_are_skipped():
    a, b = _params()
    opt = labkit.optim.Adam([a, b], lr=0.1)
    assert len(opt.state) == 0
    a.grad = labkit.ones_like(a)
    before_b = b.detach().clone()
    opt.step()
    assert a in opt.state and b not in opt.state
    assert labkit.equal(b, before_b)


def test_zero_grad_set_to_none_and_zero_fill():
    a, b = _params()
    opt = labkit.optim.SGD([a, b], lr=0.1)
    (a.sum() + b.sum()).backward()
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and float(a.grad.abs().sum()) == 0.0
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_is_an_in_place_update_that_bumps_the_version():
    w = labkit.tensor([1.0, 2.0], requires_grad=True)
    storage = w._np
    opt = labkit.optim.SGD([w], lr=0.5)
    w.grad = labkit.tensor([1.0, -1.0])
    v0 = w._version
    opt.step()
    assert w._np is storage
    assert w._version == v0 + 1
    assert w.tolist() == [0.5, 2.5]
    assert w.grad_fn is None and w.requires_grad


def test_closure_runs_with_grad_enabled_and_returns_loss():
    w = labkit.tensor([3.0], requires_grad=True)
    opt = labkit.optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with labkit.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 9.0
    assert w.tolist() == pytest.approx([3.0 - 0.1 * 6.0])


def test_a_short_training_run_reduces_the_loss():
    labkit.manual_seed(0)
    x = labkit.randn(64, 3)
    y = x @ labkit.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    w = labkit.zeros(3, 1, requires_grad=True)
    b = labkit.zeros(1, requires_grad=True)
    opt = labkit.optim.Adam([w, b], lr=0.1)
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = float(loss) if first is None else first
    assert float(loss) < 1e-2 * first


def test_step_hooks_run_and_can_be_removed():
    w = labkit.tensor([1.0], requires_grad=True)
    opt = labkit.optim.SGD([w], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    w.grad = labkit.tensor([1.0])
    opt.step()
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]


def test_add_param_group_fills_defaults():
    a, b = _params()
    opt = labkit.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_constructor_errors_are_pytorch_like():
    a, b = _params()
    with pytest.raises(ValueError, match="empty parameter list"):
        labkit.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        labkit.optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        labkit.optim.SGD([a, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        labkit.optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        labkit.optim.Adam([a], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        labkit.optim.Adam([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        labkit.optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid momentum"):
        labkit.optim.RMSprop([a], momentum=-0.1)


def test_defaults_match_torch():
    p = [labkit.randn(2, requires_grad=True)]
    tp = [torch.randn(2, requires_grad=True)]
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"]:
        assert getattr(labkit.optim, name)(p).defaults == getattr(torch.optim, name)(tp).defaults


def test_fused_kernel_is_faster_than_unfused_numpy():
    """One pass over memory (fused Adam) vs the NumPy reference (~10 full-array passes)."""
    import time
    n = 1 << 20
    arrs = _arrays(n, 5, 0, (3, 4))
    args = ((np.float32(0), np.float32(1), np.float32(0.9), np.float32(0.999), np.float32(1e-3),
             np.float32(0.5), np.float32(1e-8)), (False, False, False))

    def best(fn):
        fn(*arrs, *args[0], *args[1])
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn(*arrs, *args[0], *args[1])
            ts.append(time.perf_counter() - t0)
        return min(ts)

    t_jit, t_ref = best(optim_jit.adam), best(optim_reference.adam)
    assert t_jit < t_ref, (t_jit, t_ref)
