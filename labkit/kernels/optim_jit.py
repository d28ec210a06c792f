"""Fused Numba kernels for the optimizers: one pass over memory per parameter.

Each kernel reads the gradient and updates the parameter and its state buffers together, element
by element (Adam: ``m``, ``v`` and ``p`` in one loop instead of the ~8 full-array passes of the
unfused form).  Arrays are 1-D contiguous float32 (``labkit.optim`` flattens them); scalars are
float32, flags bools, so each kernel compiles exactly once and is cached on disk.  The NumPy
reference with the same signatures (and the meaning of every argument) is ``optim_reference.py``.

Kernels are serial; for parameters of ``threads.PAR_MIN`` elements and more, ``par_jit.sgd`` /
``par_jit.adam`` run them on fixed chunks on labkit's thread pool (same numbers at any count).
Strict IEEE semantics are kept except contraction into FMAs (``contract``), so results match
PyTorch's float32 update to within an ulp or two per step.
"""
import numpy as np
from numba import njit

_opts = dict(cache=True, fastmath={"contract", "nsz", "arcp"}, error_model="numpy", nogil=True)
f32 = np.float32


@njit(inline="always", **_opts)
def _lerp(start, end, weight):
    # PyTorch's lerp: exact at both ends, whichever side the weight is on
    if weight < f32(0.5):
        return start + weight * (end - start)
    return end - (end - start) * (f32(1.0) - weight)


@njit(**_opts)
def sgd(p, g, buf, lr, weight_decay, momentum, dampening, nesterov, maximize, init_buf):
    one_minus_damp = f32(1.0) - dampening
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if weight_decay != f32(0.0):
            d = d + weight_decay * p[i]
        if momentum != f32(0.0):
            if init_buf:
                b = d
            else:
                b = buf[i] * momentum + one_minus_damp * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] + (-lr) * d


@njit(**_opts)
def adam(p, g, m, v, vmax, weight_decay, decay_factor, beta1, beta2, step_size, bc2_sqrt, eps,
         amsgrad, maximize, decoupled):
    w1 = f32(1.0) - beta1
    w2 = f32(1.0) - beta2
    neg_step = -step_size
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        pi = p[i]
        if weight_decay != f32(0.0):
            if decoupled:
                pi = pi * decay_factor
            else:
                d = d + weight_decay * pi
        mi = _lerp(m[i], d, w1)
        vi = v[i] * beta2 + w2 * d * d
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = max(vmax[i], vi)
            vmax[i] = vi
        denom = np.sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + neg_step * (mi / denom)


@njit(**_opts)
def rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay, momentum, centered,
            maximize):
    w = f32(1.0) - alpha
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if weight_decay != f32(0.0):
            d = d + weight_decay * p[i]
        sq = square_avg[i] * alpha + w * d * d
        square_avg[i] = sq
        if centered:
            ga = _lerp(grad_avg[i], d, w)
            grad_avg[i] = ga
            avg = np.sqrt(sq + f32(-1.0) * ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum > f32(0.0):
            b = buf[i] * momentum + d / avg
            buf[i] = b
            p[i] = p[i] + (-lr) * b
        else:
            p[i] = p[i] + (-lr) * (d / avg)


@njit(**_opts)
def adagrad(p, g, state_sum, clr, eps, weight_decay, maximize):
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if weight_decay != f32(0.0):
            d = d + weight_decay * p[i]
        s = state_sum[i] + d * d
        state_sum[i] = s
        p[i] = p[i] + (-clr) * (d / (np.sqrt(s) + eps))


@njit(**_opts)
def adadelta(p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    w = f32(1.0) - rho
    for i in range(p.size):
        d = -g[i] if maximize else g[i]
        if weight_decay != f32(0.0):
            d = d + weight_decay * p[i]
        sq = square_avg[i] * rho + w * d * d
        square_avg[i] = sq
        delta = np.sqrt(acc_delta[i] + eps) / np.sqrt(sq + eps) * d
        acc_delta[i] = acc_delta[i] * rho + w * delta * delta
        p[i] = p[i] + (-lr) * delta


def _a(n):
    return np.zeros(n, np.float32)


# labkit.warmup(): tiny arguments with the run-time types of labkit/optim/optimizer.py's
# _fused_update (1-D float32 arrays, float32 scalars, bool flags; unused state buffers are empty)
WARMUP = {
    "sgd": lambda: (_a(4), _a(4), _a(4), f32(0.1), f32(0), f32(0.9), f32(0), False, False, True),
    "adam": lambda: (_a(4), _a(4), _a(4), _a(4), _a(0), f32(0), f32(1), f32(0.9), f32(0.999),
                     f32(1e-3), f32(1), f32(1e-8), False, False, False),
    "rmsprop": lambda: (_a(4), _a(4), _a(4), _a(0), _a(0), f32(0.01), f32(0.99), f32(1e-8),
                        f32(0), f32(0), False, False),
    "adagrad": lambda: (_a(4), _a(4), _a(4), f32(0.01), f32(1e-10), f32(0), False),
    "adadelta": lambda: (_a(4), _a(4), _a(4), _a(4), f32(1.0), f32(0.9), f32(1e-6), f32(0),
                         False),
}
