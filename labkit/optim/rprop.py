"""Rprop: resilient backpropagation."""
import numpy as np

from .optimizer import (Optimizer, _bump_version, _call_closure, _params_with_grads,
                        _refuse_differentiable, _use_grad_for_differentiable, _zeros)
from ..tensor import Tensor, _make

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun, 1993), ``torch.optim.Rprop``.

    Only the *sign* of the gradient is used. Every weight has its own step size, which grows by
    ``etaplus`` while the gradient keeps its sign and shrinks by ``etaminus`` when the sign flips
    (the last step overshot a minimum); after a flip the weight rests for one step.

    .. math::
       \begin{aligned}
            &\eta_t \leftarrow \begin{cases}
                \min(\eta_{t-1}\eta_+, \Gamma_{max}) & g_t g_{t-1} > 0 \\
                \max(\eta_{t-1}\eta_-, \Gamma_{min}) & g_t g_{t-1} < 0,\ \text{then}\ g_t \leftarrow 0 \\
                \eta_{t-1} & \text{otherwise}
              \end{cases}                                                               \\
            &\theta_t \leftarrow \theta_{t-1} - \eta_t \operatorname{sign}(g_t)
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g`` (``prev`` is the previous step's ``g``)::

        g = -g if maximize else g
        s = sign(g * prev)
        factor = etaplus where s > 0, etaminus where s < 0, 1 where s == 0
        step_size = clip(step_size * factor, step_size_min, step_size_max)
        g = where(s < 0, 0, g)                 (no move right after a sign change)
        p = p - sign(g) * step_size
        prev = g

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): the initial step size of every weight (default: 1e-2).
        etas (Tuple[float, float], optional): (etaminus, etaplus), the factors that shrink and
            grow the step sizes (default: (0.5, 1.2)).
        step_sizes (Tuple[float, float], optional): the smallest and largest step size
            (default: (1e-6, 50)).
        maximize (bool, optional): maximize the objective (default: False).
        capturable, foreach, differentiable: accepted for PyTorch compatibility.

    State: ``'step'``, ``'prev'`` (the last gradient used), ``'step_size'`` (per weight).
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if isinstance(lr, Tensor):
            lr = float(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and returns the loss.
        """
        loss = _call_closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            lr = float(group["lr"])
            for p, g, state in _params_with_grads(self, group, lambda p: {
                    "prev": _zeros(p), "step_size": _make(np.full_like(p._np, lr))}):
                prev, step_size = state["prev"]._np, state["step_size"]._np
                s = np.sign(g * prev)
                factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1)).astype(g.dtype)
                step_size *= factor
                np.clip(step_size, step_size_min, step_size_max, out=step_size)
                g = np.where(s < 0, 0, g).astype(g.dtype)
                p._np -= np.sign(g) * step_size
                prev[...] = g
                _bump_version(p)
        return loss
