"""The exercises of notebook 04_training_loop."""
import numpy as np

from .. import solutions as S
from .base import Exercise, _lk, _np, _rng, _t


def _sgd_call(fn, args):
    lk = _lk()
    params = [lk.tensor(a.copy(), requires_grad=True) for a in args[0]]
    for p, g in zip(params, args[1]):
        p.grad = lk.tensor(g.copy())
    fn(params, args[2])
    return tuple(p.detach() for p in params)


def _sgd_cases():
    def f(seed):
        def g():
            r = _rng(seed)
            ps = [r.normal(size=(3, 2)).astype(np.float32), r.normal(size=(2,)).astype(np.float32)]
            gs = [r.normal(size=p.shape).astype(np.float32) for p in ps]
            return (ps, gs, 0.1)
        return g
    return [f(0), f(1)]


def _sgd_direction(args, got, want, k):
    p0, g, lr = _np(args[0][k]), _np(args[1][k]), args[2]
    moved = _np(got) - p0
    if np.allclose(moved, lr * g, atol=1e-5):
        return "the parameters moved *along* the gradient (uphill): subtract lr * grad"
    if np.allclose(moved, 0, atol=1e-7):
        return "the parameters did not change: update them in place (p -= ...), not a new variable"
    if np.allclose(moved, -g, atol=1e-5):
        return "you forgot to multiply the gradient by the learning rate"
    return None


def _mse_cases():
    def f(seed, n):
        def g():
            r = _rng(seed)
            return (_t(r.normal(size=(n, 1))), _t(r.normal(size=(n, 1))))
        return g
    return [f(2, 8), f(3, 5)]


def _mse_diag(args, got, want, k):
    pred, target = _np(args[0]), _np(args[1])
    d = pred - target
    g = float(_np(got).reshape(-1)[0]) if _np(got).size == 1 else None
    if g is None:
        return "the loss is one number: average over all elements with .mean()"
    if abs(g - (d ** 2).sum()) < 1e-4:
        return "you returned the sum of squared errors: MSE is their *mean*"
    if abs(g - np.abs(d).mean()) < 1e-4:
        return "that is the mean *absolute* error: square the differences instead"
    if abs(g - d.mean()) < 1e-4:
        return "square the differences before averaging: positive and negative errors cancel out"
    return None


EXERCISES = [
    Exercise("sgd_step", "04_training_loop", "One SGD step",
             "def sgd_step(params, lr): update each p in place: p -= lr * p.grad (inside lk.no_grad())",
             _sgd_cases(), S.sgd_step, call=_sgd_call, diagnose=(_sgd_direction,),
             hints=["for each p in params, move against its gradient p.grad",
                    "update in place (p -= ...) so the model sees the new values",
                    "in-place updates of parameters go inside `with lk.no_grad():`"],
             exception_hints={RuntimeError: "in-place updates of parameters must run inside "
                                            "`with lk.no_grad():`"}),
    Exercise("mse_loss", "04_training_loop", "Mean squared error",
             "def mse_loss(pred, target): the mean over all elements of (pred - target)**2",
             _mse_cases(), S.mse_loss, diagnose=(_mse_diag,),
             hints=["the error of each prediction is pred - target",
                    "square each error, then average them all with .mean()"]),
]
