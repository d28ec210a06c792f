"""Gradient clipping (in place on ``p.grad``, no autograd history)."""
import math
import warnings

import numpy as np

from ...tensor import Tensor, _make

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "get_total_norm"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` together (as if concatenated)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _make(np.asarray(0.0, np.float32))
    dt = tensors[0]._np.dtype
    if math.isinf(norm_type):
        total = max(float(np.abs(t._np).max()) if t._np.size else 0.0 for t in tensors)
    else:
        total = sum(float(np.sum(np.abs(t._np.astype(np.float64)) ** norm_type))
                    for t in tensors) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           f"`parameters` is non-finite, so it cannot be clipped. To disable "
                           f"this error and scale the gradients by the non-finite norm anyway, "
                           f"set `error_if_nonfinite=False`")
    return _make(np.asarray(total, dt))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Rescale the gradients of ``parameters`` so their total norm is at most ``max_norm``.

    Args:
        parameters (iterable of Tensors or a Tensor): whose ``.grad`` to clip
        max_norm (float): the maximal total norm
        norm_type (float): 2 by default; ``inf`` for the max-norm

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Examples::

        >>> loss.backward()
        >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    coef = float(max_norm) / (float(total._np) + 1e-6)
    if coef < 1.0:                       # clamped at 1: never scales gradients up
        for g in grads:
            g._np *= g._np.dtype.type(coef)
            g._vc[0] += 1
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    warnings.warn("`nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to ``[-clip_value, clip_value]`` (in place)."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._np, -clip_value, clip_value, out=g._np)
        g._vc[0] += 1
