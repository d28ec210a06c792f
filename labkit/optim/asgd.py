"""ASGD: averaged stochastic gradient descent."""
import numpy as np

from .optimizer import (Optimizer, _bump_version, _call_closure, _params_with_grads,
                        _refuse_differentiable, _scalar_tensor, _use_grad_for_differentiable,
                        _zeros)
from ..tensor import Tensor

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), ``torch.optim.ASGD``.

    SGD with a decaying learning rate :math:`\eta_t` that, from step ``t0`` on, also keeps a
    running average ``ax`` of the parameters visited (the averaged iterate is the estimate with the
    good theoretical properties; read it from ``optimizer.state[p]['ax']``).

    .. math::
       \begin{aligned}
            &\theta_t \leftarrow (1 - \lambda \eta_{t-1})\,\theta_{t-1} - \eta_{t-1} g_t       \\
            &\textbf{if}\ \mu_{t-1} \neq 1:\ ax_t \leftarrow ax_{t-1} + \mu_{t-1}(\theta_t - ax_{t-1})
              \quad \textbf{else}\ ax_t \leftarrow \theta_t                                 \\
            &\eta_t \leftarrow \gamma / (1 + \lambda \gamma t)^\alpha,\quad
             \mu_t \leftarrow 1 / \max(1, t - t_0)
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g`` at step ``t`` (``eta`` starts at ``lr``,
    ``mu`` at 1; both are float32 scalars in the state, as in PyTorch)::

        g = -g if maximize else g
        if weight_decay != 0:  g = g + weight_decay * p
        p = p * (1 - lambd * eta)
        p = p - eta * g
        ax = ax + mu * (p - ax)  if mu != 1  else  p
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 1e-2).
        lambd (float, optional): decay term (default: 1e-4).
        alpha (float, optional): power of the learning-rate decay (default: 0.75).
        t0 (float, optional): the step at which averaging starts (default: 1e6).
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0).
        maximize (bool, optional): maximize the objective (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State: ``'step'``, ``'eta'``, ``'mu'`` (scalars), ``'ax'`` (the averaged parameter).
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        if isinstance(lr, Tensor):
            lr = float(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
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
            lr, lambd, alpha = float(group["lr"]), group["lambd"], group["alpha"]
            t0, wd = group["t0"], group["weight_decay"]
            for p, g, state in _params_with_grads(self, group, lambda p: {
                    "eta": _scalar_tensor(lr), "mu": _scalar_tensor(1.0), "ax": _zeros(p)}):
                x, ax = p._np, state["ax"]._np
                eta, mu = state["eta"]._np, state["mu"]._np
                if wd != 0:
                    g = g + wd * x
                eta_value = float(eta)
                x *= 1 - lambd * eta_value
                x += -eta_value * g
                if float(mu) != 1:
                    ax += (x - ax) * float(mu)
                else:
                    ax[...] = x
                t = float(state["step"]._np)
                # PyTorch makes the new values float32 tensors before copying them into the
                # state (which is float64 after loading a state dict into float64 parameters)
                eta[...] = np.float32(lr / ((1 + lambd * lr * t) ** alpha))
                mu[...] = np.float32(1 / max(1, t - t0))
                _bump_version(p)
        return loss
