"""Stochastic gradient descent (optionally with momentum / Nesterov momentum)."""
import numpy as np

from .optimizer import (Optimizer, required, _bump_version, _call_closure, _empty, _fused_update,
                        _grad_array, _refuse_differentiable, _use_grad_for_differentiable)
from ..tensor import _make

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (``torch.optim.SGD``).

    .. math::
       \begin{aligned}
            &\textbf{input}: \gamma \text{ (lr)}, \theta_0 \text{ (params)}, f(\theta)
                \text{ (objective)}, \lambda \text{ (weight decay)}, \mu \text{ (momentum)},
                \tau \text{ (dampening)}, \textit{nesterov}, \textit{maximize}            \\
            &\textbf{for} \: t=1 \: \textbf{to} \: \ldots \: \textbf{do}                  \\
            &\hspace{5mm}g_t \leftarrow \nabla_{\theta} f_t (\theta_{t-1})
                \quad (-\nabla \text{ if maximize})                                     \\
            &\hspace{5mm}\textbf{if} \: \lambda \neq 0:\ g_t \leftarrow g_t + \lambda \theta_{t-1} \\
            &\hspace{5mm}\textbf{if} \: \mu \neq 0                                        \\
            &\hspace{10mm}\textbf{if} \: t > 1:\
                \textbf{b}_t \leftarrow \mu \textbf{b}_{t-1} + (1-\tau) g_t               \\
            &\hspace{10mm}\textbf{else}:\ \textbf{b}_t \leftarrow g_t                     \\
            &\hspace{10mm}\textbf{if} \: \textit{nesterov}:\ g_t \leftarrow g_t + \mu \textbf{b}_t \\
            &\hspace{10mm}\textbf{else}:\ g_t \leftarrow \textbf{b}_t                      \\
            &\hspace{5mm}\theta_t \leftarrow \theta_{t-1} - \gamma g_t                     \\
            &\textbf{return} \: \theta_t
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g``::

        g = -g if maximize else g
        if weight_decay != 0:  g = g + weight_decay * p
        if momentum != 0:
            buf = g                                       (first step)
            buf = momentum * buf + (1 - dampening) * g    (later steps)
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g

    All of this runs as one fused loop over the parameter (``labkit/kernels/optim_jit.py``).

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 1e-3).
        momentum (float, optional): momentum factor (default: 0).
        dampening (float, optional): dampening for momentum (default: 0).
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0).
        nesterov (bool, optional): enables Nesterov momentum (default: False); needs
            ``momentum > 0`` and ``dampening == 0``.
        maximize (bool, optional): maximize the objective instead of minimizing (default: False).
        foreach, differentiable, fused: accepted for PyTorch compatibility; labkit always uses
            its own fused kernel and is never differentiable.

    State (``optimizer.state[p]``): ``'momentum_buffer'`` (only when ``momentum != 0``).

    Example:
        >>> optimizer = labkit.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> optimizer.zero_grad()
        >>> loss_fn(model(input), target).backward()
        >>> optimizer.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and returns the loss.
        """
        loss = _call_closure(closure)
        for group in self.param_groups:
            momentum = group["momentum"]
            for p in group["params"]:
                g = _grad_array(p)
                if g is None:
                    continue
                init_buf = False
                buf = _empty(p._np.dtype)
                if momentum != 0:
                    state = self.state[p]
                    b = state.get("momentum_buffer")
                    if b is None:
                        b = state["momentum_buffer"] = _make(np.empty_like(p._np))
                        init_buf = True
                    buf = b._np
                _fused_update("sgd", (p._np, g, buf),
                              (group["lr"], group["weight_decay"], momentum, group["dampening"]),
                              (bool(group["nesterov"]), bool(group["maximize"]), init_buf))
                _bump_version(p)
        return loss
