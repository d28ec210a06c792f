"""``labkit.autograd.functional``: Jacobians, Hessians and vector products of whole functions
(same names, signatures and output layouts as ``torch.autograd.functional``).

Everything is built from ``autograd.grad``: a Jacobian is one backward pass per output element
(reverse mode), a Hessian the Jacobian of the gradient (``create_graph=True``), and
``jvp``/``hvp`` use the double-backward trick.  Meant for the sizes of a
lesson (a few hundred elements), not for large models.
"""
import numpy as np

from . import function as _F
from .api import grad as _grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tuple(x):
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def _prepare(inputs, create_graph):
    """Fresh leaves for the inputs (so the caller's tensors keep their .grad untouched)."""
    out = []
    for t in inputs:
        if not isinstance(t, _F._Tensor):
            raise TypeError(f"the inputs must be Tensors, got {type(t).__name__}")
        x = t if (create_graph and t._rg) else t.detach()
        out.append(x.requires_grad_(True) if not x._rg else x)
    return tuple(out)


def _zeros_for(g, t):
    return g if g is not None else _F._make(np.zeros(t._np.shape, t._np.dtype), False, None, 0)


def _grads(outputs, inputs, grad_outputs, create_graph, strict):
    gs = _grad(outputs, inputs, grad_outputs=grad_outputs, create_graph=create_graph,
               retain_graph=True, allow_unused=True)
    if strict and any(g is None for g in gs):
        i = next(k for k, g in enumerate(gs) if g is None)
        raise RuntimeError(f"The output of the user-provided function is independent of input {i}."
                           f" This is not allowed in strict mode.")
    res = tuple(_zeros_for(g, t) for g, t in zip(gs, inputs))
    return res if create_graph else tuple(g.detach() for g in res)


def _outputs(func, inputs):
    with enable_grad():
        out = func(*inputs)
    outs, is_tuple = _tuple(out)
    for o in outs:
        if not isinstance(o, _F._Tensor):
            raise TypeError(f"the function must return Tensors, got {type(o).__name__}")
    return outs, is_tuple


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product (one backward pass)."""
    inputs, in_tuple = _tuple(inputs)
    inputs = _prepare(inputs, create_graph)
    outs, out_tuple = _outputs(func, inputs)
    if v is None:
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns "
                               "a single Tensor with a single element.")
        v = (None,)
    else:
        v, _ = _tuple(v)
    diff = [o for o in outs if o._rg]
    if not diff:
        gs = tuple(_zeros_for(None, t) for t in inputs)
    else:
        vv = [vi for o, vi in zip(outs, v) if o._rg]
        gs = _grads(diff, list(inputs), vv, create_graph, strict)
    res_out = tuple(o if create_graph else o.detach() for o in outs)
    return (res_out if out_tuple else res_out[0]), (gs if in_tuple else gs[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``: the Jacobian-vector product, by the double-backward trick
    (``J v = d/du (u^T J) v`` with a dummy ``u``)."""
    inputs, in_tuple = _tuple(inputs)
    inputs = _prepare(inputs, True)
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        v = (_F._make(np.ones(inputs[0]._np.shape, inputs[0]._np.dtype)),)
    else:
        v, _ = _tuple(v)
    outs, out_tuple = _outputs(func, inputs)
    us = [_F._make(np.zeros(o._np.shape, o._np.dtype), True, None, 0) for o in outs]
    diff = [(o, u) for o, u in zip(outs, us) if o._rg]
    with enable_grad():
        if diff:
            gs = _grad([o for o, _ in diff], list(inputs), grad_outputs=[u for _, u in diff],
                       create_graph=True, allow_unused=True)
        else:
            gs = [None] * len(inputs)
        pairs = [(g, vi) for g, vi in zip(gs, v) if g is not None]
        if pairs and any(g._rg for g, _ in pairs):
            s = sum((g * vi).sum() for g, vi in pairs)
            jv = _grad(s, us, create_graph=create_graph, allow_unused=True)
        else:
            jv = [None] * len(us)
    if strict and any(j is None for j in jv):
        raise RuntimeError("The output of the user-provided function is independent of the input."
                           " This is not allowed in strict mode.")
    jv = tuple(_zeros_for(j, o) for j, o in zip(jv, outs))
    if not create_graph:
        jv = tuple(j.detach() for j in jv)
    res_out = tuple(o if create_graph else o.detach() for o in outs)
    return (res_out if out_tuple else res_out[0]), (jv if out_tuple else jv[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``J[out_index + in_index]`` for one input and one
    output; tuples of them (per output, then per input) otherwise -- as in PyTorch."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    inputs, in_tuple = _tuple(inputs)
    inputs = _prepare(inputs, create_graph)
    outs, out_tuple = _outputs(func, inputs)
    table = []
    for o in outs:
        rows = []                      # one backward pass per output element
        for r in range(o.numel()):
            if o._rg:
                e = np.zeros(o._np.shape, o._np.dtype)
                e.reshape(-1)[r] = 1
                gs = _grads([o], list(inputs), [_F._make(e)], create_graph, strict)
            else:
                if strict:
                    raise RuntimeError("Output of the user-provided function does not require "
                                       "gradients. This is not allowed in strict mode.")
                gs = tuple(_zeros_for(None, t) for t in inputs)
            rows.append(gs)
        per_input = []
        for k, t in enumerate(inputs):
            if rows:
                xp = t.__array_namespace__()          # Tensor functions, no import upward
                J = xp.stack([row[k] for row in rows]).reshape(tuple(o.shape) + tuple(t.shape))
            else:
                J = _F._make(np.zeros(tuple(o.shape) + tuple(t.shape), dtype=t._np.dtype))
            per_input.append(J)
        table.append(tuple(per_input) if in_tuple else per_input[0])
    return tuple(table) if out_tuple else table[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func``: ``H[in_index + in_index]`` (tuples of tuples for several
    inputs), computed as the Jacobian of the gradient."""
    inputs_t, in_tuple = _tuple(inputs)

    def grad_fn(*xs):
        out = func(*xs)
        if not isinstance(out, _F._Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "containing a single element.")
        gs = _grad([out], list(xs), create_graph=True, allow_unused=True)
        return tuple(_zeros_for(g, x) for g, x in zip(gs, xs))

    H = jacobian(grad_fn, tuple(inputs_t), create_graph=create_graph, strict=strict)
    return H if in_tuple else H[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)``."""
    inputs_t, in_tuple = _tuple(inputs)
    xs = _prepare(inputs_t, True)
    with enable_grad():
        out = func(*xs)
        gs = _grad([out], list(xs), create_graph=True, allow_unused=True)
        v_t, _ = _tuple(v)
        pairs = [(g, vi) for g, vi in zip(gs, v_t) if g is not None and g._rg]
        if pairs:
            s = sum((g * vi).sum() for g, vi in pairs)
            hv = _grad(s, list(xs), create_graph=create_graph, allow_unused=True)
        else:
            hv = [None] * len(xs)
    hv = tuple(_zeros_for(h, x) for h, x in zip(hv, xs))
    if not create_graph:
        hv = tuple(h.detach() for h in hv)
        out = out.detach()
    return out, (hv if in_tuple else hv[0])


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` (equal to ``vhp`` because a Hessian is symmetric)."""
    return vhp(func, inputs, v, create_graph=create_graph, strict=strict)
