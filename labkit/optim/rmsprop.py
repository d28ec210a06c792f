"""RMSprop."""
import numpy as np

from .optimizer import (Optimizer, _bump_version, _call_closure, _empty, _fused_update,
                        _grad_array, _refuse_differentiable, _scalar_tensor,
                        _use_grad_for_differentiable)
from ..tensor import _make

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes; centered version from Graves, 2013), ``torch.optim.RMSprop``.

    .. math::
       \begin{aligned}
            &\textbf{input}: \alpha \text{ (alpha)}, \gamma \text{ (lr)}, \theta_0 \text{ (params)},
                \lambda \text{ (weight decay)}, \mu \text{ (momentum)}, \textit{centered}     \\
            &\textbf{initialize}: v_0 \leftarrow 0, \textbf{b}_0 \leftarrow 0,
                g^{ave}_0 \leftarrow 0                                                     \\
            &\textbf{for} \: t=1 \: \textbf{to} \: \ldots \: \textbf{do}                    \\
            &\hspace{5mm}g_t \leftarrow \nabla_{\theta} f_t (\theta_{t-1})
                \quad (-\nabla \text{ if maximize})                                       \\
            &\hspace{5mm}\textbf{if} \: \lambda \neq 0:\ g_t \leftarrow g_t + \lambda\theta_{t-1} \\
            &\hspace{5mm}v_t \leftarrow \alpha v_{t-1} + (1 - \alpha) g^2_t                  \\
            &\hspace{5mm}\tilde{v_t} \leftarrow v_t                                          \\
            &\hspace{5mm}\textbf{if} \: \textit{centered}:\
                g^{ave}_t \leftarrow \alpha g^{ave}_{t-1} + (1-\alpha) g_t,\
                \tilde{v_t} \leftarrow \tilde{v_t} - \big(g^{ave}_{t}\big)^2                 \\
            &\hspace{5mm}\textbf{if} \: \mu > 0:\
                \textbf{b}_t \leftarrow \mu \textbf{b}_{t-1} + g_t / \big(\sqrt{\tilde{v_t}} +
                \epsilon\big),\ \theta_t \leftarrow \theta_{t-1} - \gamma \textbf{b}_t       \\
            &\hspace{5mm}\textbf{else}:\ \theta_t \leftarrow \theta_{t-1} -
                \gamma g_t / \big(\sqrt{\tilde{v_t}} + \epsilon\big)                        \\
            &\textbf{return} \: \theta_t
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g``::

        g = -g if maximize else g
        if weight_decay != 0:  g = g + weight_decay * p
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        if centered:
            grad_avg = grad_avg + (1 - alpha) * (g - grad_avg)
            avg = sqrt(square_avg - grad_avg ** 2) + eps
        else:
            avg = sqrt(square_avg) + eps
        if momentum > 0:  buf = momentum * buf + g / avg;  p = p - lr * buf
        else:             p = p - lr * g / avg

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 1e-2).
        alpha (float, optional): smoothing constant (default: 0.99).
        eps (float, optional): added to the denominator (default: 1e-8).
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0).
        momentum (float, optional): momentum factor (default: 0).
        centered (bool, optional): normalise by an estimate of the gradient's variance
            (default: False).
        maximize (bool, optional): maximize the objective (default: False).
        capturable, foreach, differentiable: accepted for PyTorch compatibility.

    State: ``'step'``, ``'square_avg'``, ``'momentum_buffer'`` (momentum > 0), ``'grad_avg'``
    (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and returns the loss.
        """
        loss = _call_closure(closure)
        for group in self.param_groups:
            momentum, centered = group["momentum"], bool(group["centered"])
            for p in group["params"]:
                g = _grad_array(p)
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_tensor(0.0)
                    state["square_avg"] = _make(np.zeros_like(p._np))
                    if momentum > 0:
                        state["momentum_buffer"] = _make(np.zeros_like(p._np))
                    if centered:
                        state["grad_avg"] = _make(np.zeros_like(p._np))
                state["step"]._np[...] += 1
                empty = _empty(p._np.dtype)
                grad_avg = state["grad_avg"]._np if centered else empty
                buf = state["momentum_buffer"]._np if momentum > 0 else empty
                _fused_update("rmsprop", (p._np, g, state["square_avg"]._np, grad_avg, buf),
                              (group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                               momentum),
                              (centered, bool(group["maximize"])))
                _bump_version(p)
        return loss
