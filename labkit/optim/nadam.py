"""NAdam: Adam with Nesterov momentum."""
import numpy as np

from ..kernels.optim_reference import _lerp
from .optimizer import (Optimizer, _bump_version, _call_closure, _check_adam_like,
                        _params_with_grads, _refuse_differentiable, _scalar_tensor,
                        _use_grad_for_differentiable, _zeros)
from ..tensor import Tensor

__all__ = ["NAdam"]



def _new_state(p):
    return {"mu_product": _scalar_tensor(1.0), "exp_avg": _zeros(p), "exp_avg_sq": _zeros(p)}

class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016): Adam whose momentum looks one step ahead, ``torch.optim.NAdam``.

    .. math::
       \begin{aligned}
            &\mu_t \leftarrow \beta_1 \big(1 - \tfrac12\, 0.96^{t\psi}\big),\quad
             \mu_{t+1} \leftarrow \beta_1 \big(1 - \tfrac12\, 0.96^{(t+1)\psi}\big)        \\
            &m_t \leftarrow \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
             v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2) g_t^2                              \\
            &\theta_t \leftarrow \theta_{t-1}
                - \gamma \frac{(1-\mu_t)}{1 - \prod_{i\le t}\mu_i}
                  \frac{g_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}
                - \gamma \frac{\mu_{t+1}}{1 - \prod_{i\le t+1}\mu_i}
                  \frac{m_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g`` at step ``t`` (as PyTorch computes it)::

        g = -g if maximize else g
        if weight_decay != 0:
            if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)      (NAdamW)
            else:                       g = g + weight_decay * p
        mu      = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = mu_product * mu                    (a float32 scalar in the state)
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2 ** t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_product) * g / denom
        p = p - lr * mu_next / (1 - mu_product * mu_next) * m / denom

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 2e-3).
        betas (Tuple[float, float], optional): running-average coefficients (default: (0.9, 0.999)).
        eps (float, optional): added to the denominator (default: 1e-8).
        weight_decay (float, optional): weight decay (default: 0).
        momentum_decay (float, optional): the momentum schedule's decay :math:`\psi`
            (default: 4e-3).
        decoupled_weight_decay (bool, optional): shrink the parameter directly, as AdamW does
            (default: False).
        maximize (bool, optional): maximize the objective (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State: ``'step'``, ``'mu_product'`` (float32 scalars), ``'exp_avg'`` (m), ``'exp_avg_sq'`` (v).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        if isinstance(lr, Tensor):
            lr = float(lr)
        _check_adam_like(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
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
            psi = group["momentum_decay"]
            for p, g, state in _params_with_grads(self, group, _new_state):
                t = float(state["step"]._np)
                x, m, v = p._np, state["exp_avg"]._np, state["exp_avg_sq"]._np
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        x *= 1 - lr * wd
                    else:
                        g = g + wd * x
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                mp = state["mu_product"]._np
                mp[...] = mp * mp.dtype.type(mu)      # in the scalar's own dtype, as PyTorch
                mu_product = float(mp)
                _lerp(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                denom = np.sqrt(v / (1 - beta2 ** t)) + eps
                x += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
                x += (-lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom
                _bump_version(p)
        return loss
