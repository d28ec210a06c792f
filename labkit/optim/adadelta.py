"""Adadelta."""
import numpy as np

from .optimizer import (Optimizer, _bump_version, _call_closure, _fused_update, _grad_array,
                        _refuse_differentiable, _scalar_tensor, _use_grad_for_differentiable)
from ..tensor import _make

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), ``torch.optim.Adadelta``.

    .. math::
       \begin{aligned}
            &\textbf{input}: \gamma \text{ (lr)}, \theta_0 \text{ (params)},
                \rho \text{ (decay)}, \lambda \text{ (weight decay)}                         \\
            &\textbf{initialize}: v_0 \leftarrow 0 \text{ (square avg)},
                u_0 \leftarrow 0 \text{ (accumulate variables)}                              \\
            &\textbf{for} \: t=1 \: \textbf{to} \: \ldots \: \textbf{do}                      \\
            &\hspace{5mm}g_t \leftarrow \nabla_{\theta} f_t (\theta_{t-1})
                \quad (-\nabla \text{ if maximize})                                         \\
            &\hspace{5mm}\textbf{if} \: \lambda \neq 0:\ g_t \leftarrow g_t + \lambda\theta_{t-1} \\
            &\hspace{5mm} v_t \leftarrow v_{t-1} \rho + g^2_t (1 - \rho)                        \\
            &\hspace{5mm}\Delta x_t \leftarrow \frac{\sqrt{u_{t-1} + \epsilon }}
                {\sqrt{v_t + \epsilon}  }g_t                                                \\
            &\hspace{5mm} u_t \leftarrow u_{t-1} \rho + \Delta x^2_t (1 - \rho)                 \\
            &\hspace{5mm}\theta_t \leftarrow \theta_{t-1} - \gamma \Delta x_t                  \\
            &\textbf{return} \: \theta_t
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g``::

        g = -g if maximize else g
        if weight_decay != 0:  g = g + weight_decay * p
        square_avg = rho * square_avg + (1 - rho) * g * g
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta * delta
        p = p - lr * delta

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): coefficient that scales delta before it is applied (default: 1.0).
        rho (float, optional): coefficient of the running averages (default: 0.9).
        eps (float, optional): added inside the square roots (default: 1e-6).
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0).
        maximize (bool, optional): maximize the objective (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State: ``'step'``, ``'square_avg'``, ``'acc_delta'``.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and returns the loss.
        """
        loss = _call_closure(closure)
        for group in self.param_groups:
            for p in group["params"]:
                g = _grad_array(p)
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_tensor(0.0)
                    state["square_avg"] = _make(np.zeros_like(p._np))
                    state["acc_delta"] = _make(np.zeros_like(p._np))
                state["step"]._np[...] += 1
                _fused_update("adadelta",
                              (p._np, g, state["square_avg"]._np, state["acc_delta"]._np),
                              (group["lr"], group["rho"], group["eps"], group["weight_decay"]),
                              (bool(group["maximize"]),))
                _bump_version(p)
        return loss
