"""``backward`` and ``grad``: where a backward pass starts (the roots' gradients) and what it
returns.  The walk itself is ``engine.run_backward``."""
import numpy as np

from . import function as _F
from .engine import run_backward, sum_to, unbroadcast


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _root_grads(tensors, grad_tensors, who, keep_graph=False):
    roots = []
    grad_tensors = _as_list(grad_tensors) or [None] * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"{who}: got {len(grad_tensors)} gradients for {len(tensors)} tensors")
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t._rg:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a "
                               f"grad_fn. Did you compute it under no_grad(), call .detach(), or "
                               f"forget requires_grad=True on its inputs?")
        if g is None:
            if t._np.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs (this "
                                   f"output has shape {list(t._np.shape)}); pass gradient= of that "
                                   f"shape, or reduce first, e.g. loss.sum().backward()")
            g = np.empty(t._np.shape, dtype=t._np.dtype)     # ones (np.ones is a slower
            g.fill(1)                                       # Python wrapper of this)
        else:
            gt = g if isinstance(g, _F._Tensor) else None
            g = g._np if gt is not None else np.asarray(g, dtype=t._np.dtype)
            if g.shape != t._np.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{list(g.shape)} and output[{i}] has a shape of "
                                   f"{list(t._np.shape)}.")
            if keep_graph and gt is not None and gt._rg:       # create_graph: d/d(grad_output)
                g = gt if g.dtype == t._np.dtype else gt.type_as(t)
            else:
                g = g.astype(t._np.dtype, copy=False)
        node = t.grad_fn if t.grad_fn is not None else t._accumulator()
        roots.append((node, t._out_nr, g))
    return roots


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves.

    ``create_graph=True`` makes the gradients themselves differentiable (higher-order
    gradients: every built-in op supports it)."""
    tensors = _as_list(tensors)
    roots = _root_grads(tensors, grad_tensors, "backward", keep_graph=create_graph)
    only = None
    if inputs is not None:
        only = set()
        for t in _as_list(inputs):
            if t.grad_fn is not None:
                raise NotImplementedError("backward(inputs=...) supports leaf tensors only in labkit")
            only.add(t._accumulator())
    run_backward(roots, retain_graph=bool(retain_graph), only_inputs=only,
                 create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching any ``.grad``.

    With ``create_graph=True`` the returned gradients are on a graph of their own, so they can be
    differentiated again (Hessian-vector products, gradient penalties)."""
    outputs = _as_list(outputs)
    single = not isinstance(inputs, (list, tuple))
    inputs = _as_list(inputs)
    for i, t in enumerate(inputs):
        if not t._rg:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    roots = _root_grads(outputs, grad_outputs, "grad", keep_graph=create_graph)
    keys = [((t.grad_fn if t.grad_fn is not None else t._accumulator()), t._out_nr) for t in inputs]
    capture = {k: None for k in keys}
    run_backward(roots, retain_graph=bool(retain_graph), capture=capture, accumulate=False,
                 create_graph=create_graph)
    res = []
    for i, (k, t) in enumerate(zip(keys, inputs)):
        g = capture[k]
        if g is None:
            if materialize_grads:
                g = np.zeros_like(t._np)
            elif not allow_unused:
                raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not "
                                   f"have been used in the graph. Set allow_unused=True if this is "
                                   f"the desired behavior.")
        if isinstance(g, _F._Tensor):                    # create_graph: keep it on its graph
            g = sum_to(g, t._np.shape)
        elif g is not None:
            g = _F._make(unbroadcast(np.asarray(g), t._np.shape).astype(t._np.dtype, copy=False))
        res.append(g)
    return tuple(res)
