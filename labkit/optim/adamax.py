"""Adamax: Adam with the infinity norm."""
import numpy as np

from ..kernels.optim_reference import _lerp
from .optimizer import (Optimizer, _bump_version, _call_closure, _check_adam_like,
                        _params_with_grads, _refuse_differentiable, _use_grad_for_differentiable,
                        _zeros)
from ..tensor import Tensor

__all__ = ["Adamax"]



def _new_state(p):
    return {"exp_avg": _zeros(p), "exp_inf": _zeros(p)}

class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2014, section 7), ``torch.optim.Adamax``.

    Adam's running average of squared gradients is replaced by an exponentially weighted infinity
    norm :math:`u_t`, which needs no bias correction.

    .. math::
       m_t \leftarrow \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
       u_t \leftarrow \max(\beta_2 u_{t-1}, |g_t| + \epsilon),\quad
       \theta_t \leftarrow \theta_{t-1} - \frac{\gamma}{1-\beta_1^t} \frac{m_t}{u_t}

    In words, per parameter ``p`` with gradient ``g`` at step ``t``::

        g = -g if maximize else g
        if weight_decay != 0:  g = g + weight_decay * p
        m = m + (1 - beta1) * (g - m)
        u = maximum(beta2 * u, abs(g) + eps)
        p = p - lr / (1 - beta1 ** t) * m / u

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 2e-3).
        betas (Tuple[float, float], optional): coefficients of the running average and of the
            infinity norm's decay (default: (0.9, 0.999)).
        eps (float, optional): added to ``|g|`` (default: 1e-8).
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0).
        maximize (bool, optional): maximize the objective (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State: ``'step'``, ``'exp_avg'`` (m), ``'exp_inf'`` (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        if isinstance(lr, Tensor):
            lr = float(lr)
        _check_adam_like(lr, betas, eps, weight_decay)
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and returns the loss.
        """
        loss = _call_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = (float(b) for b in group["betas"])
            lr, wd, eps = float(group["lr"]), group["weight_decay"], group["eps"]
            for p, g, state in _params_with_grads(self, group, _new_state):
                t = float(state["step"]._np)
                x, m, u = p._np, state["exp_avg"]._np, state["exp_inf"]._np
                if wd != 0:
                    g = g + wd * x
                _lerp(m, g, 1 - beta1)
                u *= beta2
                np.maximum(u, np.abs(g) + eps, out=u)
                x += (-lr / (1 - beta1 ** t)) * m / u
                _bump_version(p)
        return loss
