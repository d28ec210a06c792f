"""Plain NumPy reference implementations of the fused optimizer kernels (``optim_jit.py``).

Each function updates its arrays **in place**, in exactly the order of operations PyTorch's
single-tensor optimizers use (so float32 results agree to rounding).  ``labkit.optim`` calls these
for anything that is not float32 + contiguous, and for everything when ``LABKIT_JIT=0``; the test
suite compares them with the Numba kernels.

Scalars arrive already converted to the arrays' dtype; flags are Python bools.  State arrays that an
option does not use (e.g. the momentum buffer when ``momentum == 0``) are passed as empty arrays.
"""
import numpy as np


def _lerp(start, end, weight):
    """``start.lerp_(end, weight)`` in place, with PyTorch's two-sided formula."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def sgd(p, g, buf, lr, weight_decay, momentum, dampening, nesterov, maximize, init_buf):
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * p
    if momentum != 0:
        if init_buf:
            buf[...] = d
        else:
            buf *= momentum
            buf += (1 - dampening) * d
        d = d + momentum * buf if nesterov else buf
    p += -lr * d


def adam(p, g, m, v, vmax, weight_decay, decay_factor, beta1, beta2, step_size, bc2_sqrt, eps,
         amsgrad, maximize, decoupled):
    d = -g if maximize else g
    if weight_decay != 0:
        if decoupled:
            p *= decay_factor
        else:
            d = d + weight_decay * p
    _lerp(m, d, 1 - beta1)
    v *= beta2
    v += (1 - beta2) * d * d
    if amsgrad:
        np.maximum(vmax, v, out=vmax)
        denom = np.sqrt(vmax) / bc2_sqrt + eps
    else:
        denom = np.sqrt(v) / bc2_sqrt + eps
    p += -step_size * (m / denom)


def rmsprop(p, g, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay, momentum, centered,
            maximize):
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * p
    square_avg *= alpha
    square_avg += (1 - alpha) * d * d
    if centered:
        _lerp(grad_avg, d, 1 - alpha)
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if momentum > 0:
        buf *= momentum
        buf += d / avg
        p += -lr * buf
    else:
        p += -lr * (d / avg)


def adagrad(p, g, state_sum, clr, eps, weight_decay, maximize):
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * p
    state_sum += d * d
    std = np.sqrt(state_sum) + eps
    p += -clr * (d / std)


def adadelta(p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * p
    square_avg *= rho
    square_avg += (1 - rho) * d * d
    std = np.sqrt(square_avg + eps)
    delta = np.sqrt(acc_delta + eps) / std * d
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    p += -lr * delta
