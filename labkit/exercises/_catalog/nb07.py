"""The exercises of notebook 07_optimizers."""
import numpy as np

from .. import solutions as S
from .base import Exercise, _close, _lk, _rng


def _momentum_call(fn, args):
    lk = _lk()
    p = lk.tensor(args[0].copy(), requires_grad=True)
    v = lk.zeros_like(p)
    outs = []
    for g in args[1]:
        p.grad = lk.tensor(g)
        v = fn(p, v, 0.1, 0.9)
        if v is None or v is Ellipsis:
            return v
        outs.append(p.detach().clone())
    return (lk.stack(outs),)


def _steps_cases():
    def g():
        r = _rng(0)
        return (r.normal(size=(4,)).astype(np.float32),
                [r.normal(size=(4,)).astype(np.float32) for _ in range(3)])
    return [g]


def _momentum_diag(args, got, want, k):
    p, v = args[0].astype(np.float64), np.zeros_like(args[0], dtype=np.float64)
    ascent, no_lr = [], []
    pa, pn = p.copy(), p.copy()
    for g in args[1]:
        v = 0.9 * v + g
        pa = pa + 0.1 * v
        pn = pn - v
        ascent.append(pa.copy())
        no_lr.append(pn.copy())
    if _close(got, np.stack(ascent)):
        return "the parameters moved uphill: check the sign, p -= lr * v"
    if _close(got, np.stack(no_lr)):
        return "you forgot to multiply the velocity by the learning rate"
    return None


def _adam_call(fn, args):
    lk = _lk()
    p = lk.tensor(args[0].copy(), requires_grad=True)
    m, v = lk.zeros_like(p), lk.zeros_like(p)
    outs = []
    for t, g in enumerate(args[1], start=1):
        p.grad = lk.tensor(g)
        r = fn(p, m, v, t, 0.1)
        if r is None or r is Ellipsis:
            return r
        m, v = r
        outs.append(p.detach().clone())
    return (lk.stack(outs),)


def _adam_diag(args, got, want, k):
    p = args[0].astype(np.float64).copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    nobias, nosqrt = [], []
    p2 = p.copy()
    for t, g in enumerate(args[1], start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        p = p - 0.1 * m / (np.sqrt(v) + 1e-8)
        nobias.append(p.copy())
        p2 = p2 - 0.1 * (m / (1 - 0.9 ** t)) / ((v / (1 - 0.999 ** t)) + 1e-8)
        nosqrt.append(p2.copy())
    if _close(got, np.stack(nobias)):
        return ("no bias correction: m and v start at 0, so divide them by (1 - beta1**t) and "
                "(1 - beta2**t) before the step")
    if _close(got, np.stack(nosqrt)):
        return "divide by the square root of v_hat (plus eps), not by v_hat itself"
    return None


EXERCISES = [
    Exercise("momentum_step", "07_optimizers", "SGD with momentum",
             "def momentum_step(p, v, lr, mu): v = mu * v + p.grad; p -= lr * v (no_grad); return v",
             _steps_cases(), S.momentum_step, call=_momentum_call, diagnose=(_momentum_diag,),
             hints=["the velocity remembers past gradients: v = mu * v + p.grad",
                    "then step along it: p -= lr * v, inside lk.no_grad()",
                    "return the new v: the caller passes it back in at the next step"]),
    Exercise("adam_step", "07_optimizers", "One Adam step",
             "def adam_step(p, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8): update the moving "
             "averages m, v of the gradient and its square, bias-correct them, step; return m, v",
             _steps_cases(), S.adam_step, call=_adam_call, diagnose=(_adam_diag,),
             hints=["m = beta1 * m + (1 - beta1) * g and v = beta2 * v + (1 - beta2) * g**2",
                    "bias correction: m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)",
                    "p -= lr * m_hat / (v_hat.sqrt() + eps), inside lk.no_grad(); return m, v"]),
]
