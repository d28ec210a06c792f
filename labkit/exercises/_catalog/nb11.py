"""The exercises of notebook 11_debugging."""
import math

import numpy as np

from .. import solutions as S
from .base import (Exercise, _backward_local_only, _close, _function_call, _function_cases,
                   _function_gradcheck, _lk, _np, _rng, _t)


def _log_softmax_cases():
    return [lambda: (_t(_rng(0).normal(size=(3, 5))),),
            lambda: (_t(_rng(1).normal(size=(2, 4)) * 40 + [[0, 0, 0, 200]]),)]  # far-apart logits


def _log_softmax_diag(args, got, want, k):
    g = _np(got)
    if np.isinf(g).any() or np.isnan(g).any():
        return ("softmax rounded a tiny probability to 0 and log(0) = -inf: compute it in one "
                "step, x - x.logsumexp(dim=-1, keepdim=True), which never leaves log space")
    return None


def _init_cases():
    return [lambda: (64,), lambda: (784,), lambda: (3,)]


def _init_diag(args, got, want, k):
    n, g = args[0], float(_np(got))
    if abs(g - math.sqrt(1 / n)) < 1e-6:
        return ("1/sqrt(fan_in) keeps the variance for linear or tanh layers, but a ReLU zeroes "
                "half its inputs: use sqrt(2 / fan_in) (He / Kaiming)")
    if abs(g - 2 / n) < 1e-6:
        return "2 / fan_in is the variance: the standard deviation is its square root"
    return None


def _dead_cases():
    def f(seed, dead):
        def g():
            r = _rng(seed)
            a = np.maximum(r.normal(size=(16, 8)), 0).astype(np.float32)
            a[:, :dead] = 0
            return (_t(a),)
        return g
    return [f(0, 3), f(1, 6)]


def _dead_diag(args, got, want, k):
    a = _np(args[0])
    if abs(float(_np(got)) - float((a == 0).mean())) < 1e-6:
        return ("that is the share of zero *values*: a unit (column) is dead when it is zero for "
                "every example in the batch, (acts == 0).all(dim=0)")
    return None


def _cube_wrong_rule(args, got, want, k):
    if k == 1:
        x, grad = args
        if _close(got, 3 * x * grad) or _close(got, 2 * x * grad):
            return "d(x^3)/dx = 3 x^2"
    return None


def _flatten_cases():
    lk = _lk()
    return [lambda: (lk.arange(2 * 3 * 4 * 4.).reshape(2, 3, 4, 4),),
            lambda: (lk.arange(5 * 1 * 2 * 3.).reshape(5, 1, 2, 3),)]


def _flatten_diag(args, got, want, k):
    x, g = args[0], _np(got)
    if g.ndim == 1:
        return ("keep the batch dimension: nn.Linear wants (N, features), so flatten from dim 1 "
                "on: x.flatten(1) or x.reshape(x.shape[0], -1)")
    if g.shape == want.shape[::-1]:
        return f"the batch dimension (N = {x.shape[0]}) comes first: (N, C*H*W)"
    return None


def _train_call(fn, args):
    lk = _lk()
    nn = lk.nn
    seed, X, y = args
    lk.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = lk.optim.SGD(model.parameters(), lr=0.5)
    losses = [fn(model, opt, X, y) for _ in range(3)]
    if any(l is Ellipsis for l in losses):
        return Ellipsis
    if any(l is None for l in losses):
        return None
    return (lk.tensor(losses, dtype=lk.float32), model[0].weight.detach())


def _train_cases():
    def f(seed):
        def g():
            r = _rng(seed)
            lk = _lk()
            return (seed, _t(r.normal(size=(16, 3))), lk.tensor(r.integers(0, 3, size=16)))
        return g
    return [f(0), f(1)]


def _train_diag(args, got, want, k):
    lk = _lk()

    def no_zero(model, opt, X, y):
        loss = lk.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()

    def zero_late(model, opt, X, y):
        loss = lk.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.zero_grad()
        opt.step()
        return loss.item()
    if _close(got, _train_call(no_zero, args)[k]):
        return ("gradients accumulate across calls (backward() adds into .grad): call "
                "opt.zero_grad() before loss.backward()")
    if _close(got, _train_call(zero_late, args)[k]):
        return ("zero_grad() ran between backward() and step(), so step() saw zero "
                "gradients: zero them before backward()")
    return None


def _lr_cases():
    def f(lo, hi, n, centre, width):
        def g():
            lrs = np.logspace(lo, hi, n)
            x = np.log10(lrs)
            losses = 2.3 - 1.5 / (1 + np.exp(-(x - centre) / width)) + np.exp(3 * (x - hi))
            return (lrs, losses)
        return g
    return [f(-5, 1, 60, -2.5, 0.4), f(-4, 0, 40, -1.0, 0.3)]


def _lr_diag(args, got, want, k):
    lrs, losses = args
    if abs(float(got) - lrs[np.argmin(losses)]) < 1e-12:
        return ("that is the lr of the lowest loss, right before the loss blows up: pick where the "
                "loss falls *fastest* (most negative slope against log10(lr))")
    return None


EXERCISES = [
    Exercise("log_softmax", "11_debugging", "A log-softmax that never makes NaN",
             "def log_softmax(x): x (N, C) -> log(softmax(x)) along the last dim, finite for any x",
             _log_softmax_cases(), S.log_softmax, diagnose=(_log_softmax_diag,),
             hints=["log(exp(x_i) / sum_j exp(x_j)) = x_i - log(sum_j exp(x_j))",
                    "x.logsumexp(dim=-1, keepdim=True) computes log(sum(exp(x))) stably"]),
    Exercise("relu_init_std", "11_debugging", "Initialise for ReLU",
             "def relu_init_std(fan_in): the standard deviation of the initial weights that keeps "
             "the activations' scale through a ReLU layer with fan_in inputs",
             _init_cases(), S.relu_init_std, diagnose=(_init_diag,),
             hints=["a layer's output variance is fan_in * Var(w) * E[x^2]",
                    "a ReLU keeps half of its input's second moment: the factor 2",
                    "std = sqrt(2 / fan_in) (He / Kaiming)"]),
    Exercise("dead_fraction", "11_debugging", "How many ReLUs are dead?",
             "def dead_fraction(acts): acts (N, units) after a ReLU -> the fraction of units that "
             "are zero for every example, as a Python float",
             _dead_cases(), S.dead_fraction, diagnose=(_dead_diag,),
             hints=["a unit is a column of acts",
                    "(acts == 0).all(dim=0) marks the units that never fire",
                    "turn it into floats, .mean().item()"]),
    Exercise("cube_function", "11_debugging", "Fix a custom backward",
             "class Cube(lk.autograd.Function): forward x**3, backward its derivative times grad",
             _function_cases(), S.Cube, call=_function_call,
             hints=["gradcheck compares your backward with finite differences",
                    "d(x^3)/dx = 3 x^2, times the incoming grad"],
             diagnose=(_backward_local_only, _cube_wrong_rule), post=_function_gradcheck),
    Exercise("flatten_batch", "11_debugging", "Shapes: from images to a Linear layer",
             "def flatten_batch(x): x (N, C, H, W) -> (N, C*H*W), keeping each example's numbers "
             "in order",
             _flatten_cases(), S.flatten_batch, diagnose=(_flatten_diag,),
             hints=["nn.Linear wants (N, features): the batch dimension stays",
                    "x.flatten(1) or x.reshape(x.shape[0], -1)"]),
    Exercise("train_step", "11_debugging", "A training step without the doubled-gradient bug",
             "def train_step(model, opt, X, y): one step of cross-entropy training; return the loss "
             "as a float. Called several times in a row.",
             _train_cases(), S.train_step, call=_train_call, diagnose=(_train_diag,),
             hints=["forward, loss, backward, step",
                    "backward() *adds* into .grad: gradients from the last call are still there",
                    "opt.zero_grad() before loss.backward()"]),
    Exercise("steepest_lr", "11_debugging", "Read a learning rate off an LR range test",
             "def steepest_lr(lrs, losses): NumPy arrays from an LR sweep -> the lr where the loss "
             "falls fastest per decade of lr",
             _lr_cases(), S.steepest_lr, diagnose=(_lr_diag,),
             hints=["the slope of the loss against log10(lr): np.gradient(losses, np.log10(lrs))",
                    "the steepest descent is the most negative slope: np.argmin"]),
]
