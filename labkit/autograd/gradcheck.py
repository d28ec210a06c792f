"""Numerical gradient checking with float64 central differences (``labkit.autograd.gradcheck``)."""
import numpy as np

from . import function as _F
from .api import grad as autograd_grad
from .grad_mode import enable_grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "numerical_jacobian", "analytical_jacobian"]


class GradcheckError(RuntimeError):
    pass


def _inputs_needing_grad(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, _F._Tensor) and t._rg]


def _flat_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, _F._Tensor) and o._np.dtype.kind == "f"]


def numerical_jacobian(fn, inputs, eps=1e-6):
    """J[k][i] = d(output i flattened) / d(input k flattened) by central differences."""
    jac = []
    with no_grad():
        base = _flat_outputs(fn(*inputs))
        for k in _inputs_needing_grad(inputs):
            x = inputs[k]._np
            n_in = x.size
            cols = [np.zeros((o._np.size, n_in)) for o in base]
            flat = x.reshape(-1) if x.flags.c_contiguous else None
            for j in range(n_in):
                idx = np.unravel_index(j, x.shape)
                orig = x[idx].copy()
                x[idx] = orig + eps
                plus = [o._np.astype(np.float64).ravel().copy() for o in _flat_outputs(fn(*inputs))]
                x[idx] = orig - eps
                minus = [o._np.astype(np.float64).ravel().copy() for o in _flat_outputs(fn(*inputs))]
                x[idx] = orig
                for c, p, m in zip(cols, plus, minus):
                    c[:, j] = (p - m) / (2 * eps)
            del flat
            jac.append(cols)
    return jac


def analytical_jacobian(fn, inputs):
    idx = _inputs_needing_grad(inputs)
    outs = _flat_outputs(fn(*inputs))
    jac = [[np.zeros((o._np.size, inputs[k]._np.size)) for o in outs] for k in idx]
    for oi, o in enumerate(outs):
        if not o._rg:
            continue
        for r in range(o._np.size):
            g = np.zeros(o._np.shape, dtype=o._np.dtype)
            g.reshape(-1)[r] = 1
            grads = autograd_grad([o], [inputs[k] for k in idx], grad_outputs=[_F._make(g)],
                                  retain_graph=True, allow_unused=True)
            for kk, gk in enumerate(grads):
                if gk is not None:
                    jac[kk][oi][r, :] = gk._np.astype(np.float64).ravel()
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              check_undefined_grad=True, **unused):
    """Compare backward's gradients with float64 central differences, element by element.

    Inputs that require grad should be float64 (a warning in the message otherwise).  Returns True
    or raises ``GradcheckError`` naming the input, the output and the worst element.
    """
    if not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    inputs = tuple(inputs)
    idx = _inputs_needing_grad(inputs)
    if not idx:
        raise ValueError("gradcheck expects at least one input tensor with requires_grad=True")
    for k in idx:
        if inputs[k]._np.dtype != np.float64:
            msg = (f"gradcheck input {k} has dtype {inputs[k].dtype}; use float64 inputs "
                   f"(x.double()) or central differences are too inaccurate to be meaningful")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    num = numerical_jacobian(func, inputs, eps)
    ana = analytical_jacobian(func, inputs)
    for kk, k in enumerate(idx):
        for oi, (a, n) in enumerate(zip(ana[kk], num[kk])):
            if not np.allclose(a, n, atol=atol, rtol=rtol):
                err = np.abs(a - n)
                r, c = np.unravel_index(np.argmax(err), err.shape)
                msg = (f"Jacobian mismatch for output {oi} with respect to input {k}:\n"
                       f"numerical:{n}\nanalytical:{a}\n"
                       f"worst element: output index {r}, input index {c}: numerical {n[r, c]:.6g} vs "
                       f"analytical {a[r, c]:.6g}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, gen_non_contig_grad_outputs=False, **unused):
    """Check second derivatives: gradcheck of ``v -> autograd.grad(func(x), x, v,
    create_graph=True)`` (the first-order gradients as a function of the inputs and of the
    output weights ``v``), as ``torch.autograd.gradgradcheck`` does.  ``grad_outputs`` default to
    random float64 tensors (seeded) that require grad."""
    if not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    inputs = tuple(inputs)
    idx = _inputs_needing_grad(inputs)
    outs = _flat_outputs(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [_F._make(rng.standard_normal(o._np.shape), True, None, 0) for o in outs]
    elif not isinstance(grad_outputs, (tuple, list)):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    n = len(inputs)

    def first_order(*args):
        xs, vs = args[:n], args[n:]
        with enable_grad():                  # (numerical_jacobian calls this under no_grad)
            ys = _flat_outputs(func(*xs))
            gs = autograd_grad(ys, [xs[k] for k in idx], grad_outputs=list(vs)[:len(ys)],
                               create_graph=True, allow_unused=True, materialize_grads=True)
        return tuple(gs)

    return gradcheck(first_order, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
