"""labkit.optim.lr_scheduler vs torch.optim.lr_scheduler: identical lr sequences (exact floats).

The loop is the warning-free PyTorch order: optimizer.step() then scheduler.step().  Two param
groups with different lrs make sure every group is scheduled.
"""
import math
import warnings

import numpy as np
import pytest
import torch

import labkit
from labkit.optim import lr_scheduler as LS

STEPS = 50


def _optimizers(name="SGD", **kw):
    lk = [labkit.zeros(2, requires_grad=True), labkit.zeros(3, requires_grad=True)]
    th = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    kw.setdefault("lr", 0.1)
    lopt = getattr(labkit.optim, name)([{"params": lk[:1]}, {"params": lk[1:], "lr": 0.05}], **kw)
    topt = getattr(torch.optim, name)([{"params": th[:1]}, {"params": th[1:], "lr": 0.05}], **kw)
    for p in lk:
        p.grad = labkit.zeros_like(p)
    for p in th:
        p.grad = torch.zeros_like(p)
    return lopt, topt


def _lam(epoch):
    return 0.9 ** epoch + 0.01 * epoch


def _mult(epoch):
    return 0.97


CASES = {
    "StepLR": lambda M, o: M.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda M, o: M.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ExponentialLR": lambda M, o: M.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda M, o: M.CosineAnnealingLR(o, T_max=20, eta_min=0.001),
    "CosineAnnealingLR-T_max=STEPS": lambda M, o: M.CosineAnnealingLR(o, T_max=STEPS),
    "LambdaLR": lambda M, o: M.LambdaLR(o, lr_lambda=_lam),
    "LambdaLR-per-group": lambda M, o: M.LambdaLR(o, lr_lambda=[_lam, lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda M, o: M.MultiplicativeLR(o, lr_lambda=_mult),
    "LinearLR": lambda M, o: M.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=10),
    "ConstantLR": lambda M, o: M.ConstantLR(o, factor=0.25, total_iters=6),
    "PolynomialLR": lambda M, o: M.PolynomialLR(o, total_iters=30, power=2.0),
    "OneCycleLR": lambda M, o: M.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS),
    "OneCycleLR-linear-3phase": lambda M, o: M.OneCycleLR(o, max_lr=0.8, epochs=5,
                                                          steps_per_epoch=10,
                                                          anneal_strategy="linear",
                                                          three_phase=True, pct_start=0.25),
    "CosineAnnealingWarmRestarts": lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                              eta_min=0.01),
    "CyclicLR": lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                        step_size_down=6, mode="triangular2"),
    "CyclicLR-exp_range": lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                                  mode="exp_range", gamma=0.97),
    "SequentialLR": lambda M, o: M.SequentialLR(
        o, [M.LinearLR(o, start_factor=0.1, total_iters=5), M.ExponentialLR(o, gamma=0.9),
            M.CosineAnnealingLR(o, T_max=10)], milestones=[5, 20]),
    "ChainedScheduler": lambda M, o: M.ChainedScheduler(
        [M.StepLR(o, step_size=4, gamma=0.8), M.ExponentialLR(o, gamma=0.99)]),
}


def _run(factory, module, opt, steps=STEPS):
    sched = factory(module, opt)
    lrs = [sched.get_last_lr()]
    momenta = [[g.get("momentum", g.get("betas")) for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        momenta.append([g.get("momentum", g.get("betas")) for g in opt.param_groups])
    return sched, lrs, momenta


@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_torch_exactly(name):
    lopt, topt = _optimizers(momentum=0.9) if "OneCycle" in name or "Cyclic" in name else \
        _optimizers()
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # the documented call order warns about nothing
        lsched, llrs, lmom = _run(CASES[name], LS, lopt)
    tsched, tlrs, tmom = _run(CASES[name], torch.optim.lr_scheduler, topt)
    assert llrs == tlrs                         # exact float equality, all 51 values
    assert lmom == tmom
    assert getattr(lsched, "last_epoch", None) == getattr(tsched, "last_epoch", None)
    assert [g["lr"] for g in lopt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert len(set(map(tuple, llrs))) >= 2      # the schedule really changes the lr


def test_one_cycle_cycles_adam_beta1_like_torch():
    lopt, topt = _optimizers("Adam")
    f = CASES["OneCycleLR"]
    _, llrs, lmom = _run(f, LS, lopt)
    _, tlrs, tmom = _run(f, torch.optim.lr_scheduler, topt)
    assert llrs == tlrs and lmom == tmom
    assert lopt.param_groups[0]["betas"][0] == pytest.approx(0.95, abs=1e-3)
    assert min(m[0][0] for m in lmom) == pytest.approx(0.85)   # beta1 dips at the lr peak


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.9, 0.91, 0.95, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.79, 0.8, 0.8,
               0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    for kw in [dict(patience=2), dict(mode="max", factor=0.5, patience=1, cooldown=2),
               dict(patience=1, threshold=0.05, threshold_mode="abs", min_lr=[0.02, 0.001])]:
        lopt, topt = _optimizers()
        ls = LS.ReduceLROnPlateau(lopt, **kw)
        ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
        seq_l, seq_t = [], []
        for m in metrics:
            lopt.step()
            topt.step()
            ls.step(labkit.tensor(m))
            ts.step(m)
            seq_l.append(ls.get_last_lr())
            seq_t.append(ts.get_last_lr())
        assert seq_l == seq_t, kw
        assert seq_l[-1] != seq_l[0]


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "SequentialLR",
                                  "MultiStepLR", "LambdaLR", "CyclicLR"])
def test_state_dict_round_trip_resumes_the_sequence(name):
    lopt, _ = _optimizers(momentum=0.9)
    sched, lrs, _ = _run(CASES[name], LS, lopt, steps=30)

    lopt2, _ = _optimizers(momentum=0.9)
    s2, _, _ = _run(CASES[name], LS, lopt2, steps=12)
    sd = s2.state_dict()
    opt_sd = lopt2.state_dict()
    lopt3, _ = _optimizers(momentum=0.9)       # the usual resume: build everything, then load
    s3 = CASES[name](LS, lopt3)
    lopt3.load_state_dict(opt_sd)
    s3.load_state_dict(sd)
    assert "optimizer" not in sd
    rest = []
    for _ in range(18):
        lopt3.step()
        s3.step()
        rest.append(s3.get_last_lr())
    assert rest == lrs[13:]


def test_resume_with_last_epoch_matches_torch():
    lopt, topt = _optimizers()
    for o in (lopt, topt):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    ls = LS.StepLR(lopt, step_size=3, gamma=0.5, last_epoch=9)
    ts = torch.optim.lr_scheduler.StepLR(topt, step_size=3, gamma=0.5, last_epoch=9)
    assert ls.get_last_lr() == ts.get_last_lr() and ls.last_epoch == ts.last_epoch == 10
    lc = LS.CosineAnnealingLR(lopt, T_max=20, last_epoch=4)
    tc = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=20, last_epoch=4)
    assert lc.get_last_lr() == tc.get_last_lr()


def test_resume_without_initial_lr_raises_key_error():
    lopt, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        LS.StepLR(lopt, step_size=3, last_epoch=5)


def test_wrong_call_order_warns_like_torch():
    lopt, _ = _optimizers()
    sched = LS.StepLR(lopt, step_size=3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_epoch_argument_uses_closed_form_with_deprecation_warning():
    lopt, topt = _optimizers()
    ls = LS.ExponentialLR(lopt, gamma=0.5)
    ts = torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.5)
    lopt.step()
    topt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        ls.step(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts.step(4)
    assert ls.get_last_lr() == ts.get_last_lr() == [0.1 * 0.5 ** 4, 0.05 * 0.5 ** 4]


def test_scheduled_lr_is_used_by_the_optimizer():
    w = labkit.tensor([0.0], requires_grad=True)
    opt = labkit.optim.SGD([w], lr=1.0)
    sched = LS.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad = labkit.tensor([-1.0])
        opt.step()
        sched.step()
    assert w.tolist() == [1.0 + 0.5 + 0.25]


def test_constructor_errors():
    lopt, _ = _optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        LS.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="total_steps OR"):
        LS.OneCycleLR(lopt, max_lr=1.0)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        LS.ReduceLROnPlateau(lopt, factor=1.5)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        LS.SequentialLR(lopt, [LS.StepLR(lopt, 2)], milestones=[3])
    lsched = LS.OneCycleLR(lopt, max_lr=1.0, total_steps=2)
    lopt.step(); lsched.step(); lopt.step(); lsched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        lopt.step(); lsched.step()
    assert math.isfinite(lopt.param_groups[0]["lr"])
    assert np.isfinite(lopt.param_groups[1]["lr"])
