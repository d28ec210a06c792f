"""The exercises of notebook 06_gradients."""
import math

import numpy as np

from .. import solutions as S
from .base import Exercise, _lk, _np, _rng


def _grad_params(args):
    lk = _lk()
    params = [lk.tensor(a.copy(), requires_grad=True) for a in args[0]]
    for p, g in zip(params, args[1]):
        p.grad = lk.tensor(g.copy())
    return params


def _grad_cases(scale):
    def f(seed):
        def g():
            r = _rng(seed)
            ps = [r.normal(size=(4, 3)).astype(np.float32), r.normal(size=(3,)).astype(np.float32)]
            gs = [(r.normal(size=p.shape) * scale).astype(np.float32) for p in ps]
            return (ps, gs)
        return g
    return [f(0), f(1)]


def _grad_norm_call(fn, args):
    return fn(_grad_params(args))


def _grad_norm_diag(args, got, want, k):
    gs = args[1]
    g = float(_np(got))
    if abs(g - sum(np.sqrt((x.astype(np.float64) ** 2).sum()) for x in gs)) < 1e-3:
        return ("you added the norms of the tensors: the total norm is the square root of the sum "
                "of *squares* of all entries (as if all gradients were one long vector)")
    if abs(g - sum((x.astype(np.float64) ** 2).sum() for x in gs)) < 1e-3:
        return "that is the squared norm: take the square root (math.sqrt) at the end"
    return None


def _clip_call(fn, args):
    params = _grad_params(args)
    total = fn(params, 1.0)
    return (total, *[p.grad for p in params])


def _clip_cases():
    big = _grad_cases(2.0)           # total norm above max_norm=1: clipped
    small = _grad_cases(0.05)        # below: left alone
    return [big[0], small[1], big[1]]


def _clip_diag(args, got, want, k):
    if k == 0:
        return "return the total norm from *before* clipping (what clip_grad_norm_ returns)"
    gs = args[1]
    total = math.sqrt(sum((x.astype(np.float64) ** 2).sum() for x in gs))
    g = _np(got)
    x = gs[k - 1].astype(np.float64)
    if total <= 1.0 and not np.allclose(g, x, atol=1e-5):
        return "the total norm is already below max_norm here: leave the gradients unchanged"
    if np.allclose(g, x / np.sqrt((x ** 2).sum()), atol=1e-5):
        return ("each gradient was scaled by its own norm: scale *all* of them by the same factor "
                "max_norm / total_norm, so the update keeps its direction")
    if np.allclose(g, x, atol=1e-5):
        return "the gradients did not change: scale them in place (p.grad *= scale)"
    return None


EXERCISES = [
    Exercise("grad_norm", "06_gradients", "The total gradient norm",
             "def grad_norm(params): the L2 norm of all gradients together, as one Python float",
             _grad_cases(1.0), S.grad_norm, call=_grad_norm_call, diagnose=(_grad_norm_diag,),
             hints=["think of all gradients as one long vector",
                    "add up (p.grad ** 2).sum().item() over the parameters",
                    "then take math.sqrt of the total"]),
    Exercise("clip_grad_norm", "06_gradients", "Clip gradients by their total norm",
             "def clip_grad_norm(params, max_norm): if the total norm is above max_norm, scale every "
             "gradient in place by max_norm / total; return the total norm (before clipping)",
             _clip_cases(), S.clip_grad_norm, call=_clip_call, diagnose=(_clip_diag,),
             hints=["first the total norm over all gradients (as in grad_norm)",
                    "one scale factor for all: max_norm / total, only when total > max_norm",
                    "p.grad *= scale inside lk.no_grad(); return the total"]),
]
