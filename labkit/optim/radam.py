"""RAdam: Adam with a rectified adaptive learning rate."""
import numpy as np

from ..kernels.optim_reference import _lerp
from .optimizer import (Optimizer, _bump_version, _call_closure, _check_adam_like,
                        _params_with_grads, _refuse_differentiable, _use_grad_for_differentiable,
                        _zeros)
from ..tensor import Tensor

__all__ = ["RAdam"]



def _new_state(p):
    return {"exp_avg": _zeros(p), "exp_avg_sq": _zeros(p)}

class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2019), ``torch.optim.RAdam``.

    Early on, when few squared gradients have been averaged, Adam's denominator is a noisy
    estimate; RAdam then takes plain momentum steps and switches the adaptive denominator in
    gradually, scaled by a rectification term :math:`r_t`, once the estimate's variance is
    tractable (:math:`\rho_t > 5`).

    .. math::
       \begin{aligned}
            &\rho_\infty \leftarrow 2/(1-\beta_2) - 1,\quad
             \rho_t \leftarrow \rho_\infty - 2 t \beta_2^t / (1-\beta_2^t)                  \\
            &\textbf{if}\ \rho_t > 5:\
              r_t \leftarrow \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}
                                        {(\rho_\infty-4)(\rho_\infty-2)\rho_t}},\
              \theta_t \leftarrow \theta_{t-1} - \gamma \widehat{m_t} r_t
                  \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon}                           \\
            &\textbf{else}:\ \theta_t \leftarrow \theta_{t-1} - \gamma \widehat{m_t}
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g`` at step ``t``::

        g = -g if maximize else g
        if weight_decay != 0:
            if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
            else:                       g = g + weight_decay * p
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
        if rho_t > 5:
            rect = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - m_hat * lr * sqrt(1 - beta2 ** t) / (sqrt(v) + eps) * rect
        else:
            p = p - m_hat * lr

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 1e-3).
        betas (Tuple[float, float], optional): running-average coefficients (default: (0.9, 0.999)).
        eps (float, optional): added to the denominator (default: 1e-8).
        weight_decay (float, optional): weight decay (default: 0).
        decoupled_weight_decay (bool, optional): shrink the parameter directly, as AdamW does
            (default: False).
        maximize (bool, optional): maximize the objective (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State: ``'step'``, ``'exp_avg'`` (m), ``'exp_avg_sq'`` (v).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        if isinstance(lr, Tensor):
            lr = float(lr)
        _check_adam_like(lr, betas, eps, weight_decay)
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
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
                x, m, v = p._np, state["exp_avg"]._np, state["exp_avg_sq"]._np
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        x *= 1 - lr * wd
                    else:
                        g = g + wd * x
                _lerp(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                bias_correction2 = 1 - beta2 ** t
                m_hat = m / (1 - beta1 ** t)
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * t * (beta2 ** t) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    adaptive_lr = bias_correction2 ** 0.5 / (np.sqrt(v) + eps)
                    x -= m_hat * lr * adaptive_lr * rect
                else:
                    x -= m_hat * lr
                _bump_version(p)
        return loss
