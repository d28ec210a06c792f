"""Adam and AdamW."""
import numpy as np

from .optimizer import (Optimizer, _bump_version, _call_closure, _check_adam_like, _empty,
                        _fused_update, _grad_array, _refuse_differentiable, _scalar_tensor,
                        _use_grad_for_differentiable)
from ..tensor import Tensor, _make

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2014), ``torch.optim.Adam``.

    .. math::
       \begin{aligned}
            &\textbf{input}: \gamma \text{ (lr)}, \beta_1, \beta_2 \text{ (betas)},
                \theta_0 \text{ (params)}, f(\theta) \text{ (objective)},
                \lambda \text{ (weight decay)}, \textit{amsgrad}, \textit{maximize},
                \epsilon \text{ (epsilon)}                                               \\
            &\textbf{initialize}: m_0 \leftarrow 0, v_0 \leftarrow 0,
                v_0^{max} \leftarrow 0                                                  \\
            &\textbf{for} \: t=1 \: \textbf{to} \: \ldots \: \textbf{do}                  \\
            &\hspace{5mm}g_t \leftarrow \nabla_{\theta} f_t (\theta_{t-1})
                \quad (-\nabla \text{ if maximize})                                     \\
            &\hspace{5mm}\textbf{if} \: \lambda \neq 0:\ g_t \leftarrow g_t + \lambda\theta_{t-1} \\
            &\hspace{5mm}m_t \leftarrow \beta_1 m_{t-1} + (1 - \beta_1) g_t                 \\
            &\hspace{5mm}v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2) g^2_t                 \\
            &\hspace{5mm}\widehat{m_t} \leftarrow m_t / (1-\beta_1^t)                        \\
            &\hspace{5mm}\textbf{if} \: \textit{amsgrad}:\
                v_t^{max} \leftarrow \max(v_{t-1}^{max}, v_t),\ 
                \widehat{v_t} \leftarrow v_t^{max} / (1-\beta_2^t)                         \\
            &\hspace{5mm}\textbf{else}:\ \widehat{v_t} \leftarrow v_t / (1-\beta_2^t)       \\
            &\hspace{5mm}\theta_t \leftarrow \theta_{t-1} - \gamma \widehat{m_t} /
                \big(\sqrt{\widehat{v_t}} + \epsilon \big)                              \\
            &\textbf{return} \: \theta_t
       \end{aligned}

    In words, per parameter ``p`` with gradient ``g`` at step ``t`` (as PyTorch computes it)::

        g = -g if maximize else g
        if weight_decay != 0:  g = g + weight_decay * p          (L2 penalty; AdamW differs)
        m = m + (1 - beta1) * (g - m)                            (m.lerp_(g, 1 - beta1))
        v = beta2 * v + (1 - beta2) * g * g
        if amsgrad:  v_max = max(v_max, v);  v_used = v_max  else  v_used = v
        step_size = lr / (1 - beta1 ** t)
        denom = sqrt(v_used) / sqrt(1 - beta2 ** t) + eps
        p = p - step_size * m / denom

    ``m``, ``v`` (and ``v_max``) and ``p`` are updated together in one pass over memory by a fused
    Numba kernel (``labkit/kernels/optim_jit.py``).

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 1e-3).
        betas (Tuple[float, float], optional): coefficients of the running averages of the
            gradient and its square (default: (0.9, 0.999)).
        eps (float, optional): added to the denominator for numerical stability (default: 1e-8).
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0).
        amsgrad (bool, optional): use the AMSGrad variant (default: False).
        maximize (bool, optional): maximize the objective instead of minimizing (default: False).
        decoupled_weight_decay (bool, optional): AdamW's decoupled decay (default: False).
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility.

    State (``optimizer.state[p]``): ``'step'`` (a float32 scalar tensor), ``'exp_avg'`` (m),
    ``'exp_avg_sq'`` (v) and, with amsgrad, ``'max_exp_avg_sq'``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if isinstance(lr, Tensor):
            lr = float(lr)
        _check_adam_like(lr, betas, eps, weight_decay)
        _refuse_differentiable(differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, p, amsgrad):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _scalar_tensor(0.0)
            state["exp_avg"] = _make(np.zeros_like(p._np))
            state["exp_avg_sq"] = _make(np.zeros_like(p._np))
            if amsgrad:
                state["max_exp_avg_sq"] = _make(np.zeros_like(p._np))
        elif amsgrad and "max_exp_avg_sq" not in state:      # amsgrad switched on later
            state["max_exp_avg_sq"] = _make(np.zeros_like(p._np))
        return state

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and returns the loss.
        """
        loss = _call_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = (float(b) for b in group["betas"])
            lr = float(group["lr"])
            wd = group["weight_decay"]
            amsgrad = bool(group["amsgrad"])
            decoupled = bool(group.get("decoupled_weight_decay", False))
            for p in group["params"]:
                g = _grad_array(p)
                if g is None:
                    continue
                state = self._init_state(p, amsgrad)
                state["step"]._np[...] += 1
                t = float(state["step"]._np)
                bias_correction1 = 1 - beta1 ** t
                bias_correction2 = 1 - beta2 ** t
                step_size = lr / bias_correction1
                bc2_sqrt = bias_correction2 ** 0.5
                vmax = state["max_exp_avg_sq"]._np if amsgrad else _empty(p._np.dtype)
                _fused_update("adam",
                              (p._np, g, state["exp_avg"]._np, state["exp_avg_sq"]._np, vmax),
                              (wd, 1 - lr * wd, beta1, beta2, step_size, bc2_sqrt, group["eps"]),
                              (amsgrad, bool(group["maximize"]), decoupled))
                _bump_version(p)
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2017), ``torch.optim.AdamW``.

    Identical to :class:`Adam` except for the weight decay, which shrinks the parameter directly
    instead of being added to the gradient (so it is not rescaled by the adaptive denominator)::

        p = p * (1 - lr * weight_decay)          (instead of g = g + weight_decay * p)
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        (v_max = max(v_max, v) with amsgrad)
        p = p - lr / (1 - beta1 ** t) * m / (sqrt(v) / sqrt(1 - beta2 ** t) + eps)

    .. math::
       \theta_t \leftarrow \theta_{t-1} - \gamma\lambda\theta_{t-1};\quad
       \theta_t \leftarrow \theta_t - \gamma \widehat{m_t} / (\sqrt{\widehat{v_t}} + \epsilon)

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float, optional): learning rate (default: 1e-3).
        betas (Tuple[float, float], optional): running-average coefficients (default: (0.9, 0.999)).
        eps (float, optional): added to the denominator (default: 1e-8).
        weight_decay (float, optional): decoupled weight decay coefficient (default: 1e-2).
        amsgrad (bool, optional): use the AMSGrad variant (default: False).
        maximize (bool, optional): maximize the objective (default: False).

    State: as :class:`Adam`.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
