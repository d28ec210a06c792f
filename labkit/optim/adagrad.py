"""Adagrad."""
import numpy as np

from .optimizer import (Optimizer, _bump_version, _call_closure, _fused_update, _grad_array,
                        _refuse_differentiable, _scalar_tensor, _use_grad_for_differentiable)
from ..tensor import _make

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), ``torch.optim.Adagrad``.

    .. math::
       \begin{aligned}
            &\textbf{input}: \gamma \text{ (lr)}, \theta_0 \text{ (params)},
                \lambda \text{ (weight decay)}, \tau \text{ (initial accumulator value)},
                \eta \text{ (lr decay)}                                                     \\
            &\textbf{initialize}: state\_sum_0 \leftarrow \tau                                \\
            &\textbf{for} \: t=1 \: \textbf{to} \: \ldots \: \textbf{do}                      \\
            &\hspace{5mm}g_t \leftarrow \nabla_{\theta} f_t (\theta_{t-1})
                \quad (-\nabla \text{ if maximize})                                         \\
            &\hspace{5mm}\tilde{\gamma} \leftarrow \gamma / (1 +(t-1) \eta)                    \\
            &\hspace{5mm}\textbf{if} \: \lambda \neq 0:\ g_t \leftarrow g_t + \lambda\theta_{t-1} \\
            &\hspace{5mm}state\_sum_t \leftarrow state\_sum_{t-1} + g^2_t                      \\
            &\hspace{5mm}\theta_t \leftarrow \theta_{t-1} - \tilde{\gamma}
                \frac{g_t}{\sqrt{state\_sum_t}+\epsilon}                                    \\
            &\textbf{return} \: \theta_t
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g`` at step ``t``::

        g = -g if maximize else g
        if weight_decay != 0:  g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        p = p - clr * g / (sqrt(sum) + eps)

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 1e-2).
        lr_decay (float, optional): learning rate decay (default: 0).
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0).
        initial_accumulator_value (float, optional): starting value of the sum of squares
            (default: 0).
        eps (float, optional): added to the denominator (default: 1e-10).
        maximize (bool, optional): maximize the objective (default: False).
        foreach, differentiable, fused: accepted for PyTorch compatibility.

    State (created in the constructor, as in PyTorch): ``'step'`` and ``'sum'``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _scalar_tensor(0.0)
            state["sum"] = _make(np.full_like(p._np, group["initial_accumulator_value"]))
        return state

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        if hasattr(self, "state"):
            for p in self.param_groups[-1]["params"]:
                self._init_state(p, self.param_groups[-1])

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
                state = self._init_state(p, group)
                state["step"]._np[...] += 1
                t = float(state["step"]._np)
                clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
                _fused_update("adagrad", (p._np, g, state["sum"]._np),
                              (clr, group["eps"], group["weight_decay"]),
                              (bool(group["maximize"]),))
                _bump_version(p)
        return loss
