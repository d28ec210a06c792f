"""L-BFGS: a quasi-Newton method that needs the loss *function*, not just one gradient.

Each ``step(closure)`` runs up to ``max_iter`` iterations.  An iteration

1. builds a search direction ``d = -H g`` where ``H`` approximates the inverse Hessian from the
   last ``history_size`` pairs ``s = x_new - x_old`` and ``y = g_new - g_old`` (the "two-loop
   recursion"; the first iteration uses ``d = -g``), scaled by ``H_diag = s.y / y.y``;
2. picks a step length ``t``: ``lr`` (the very first iteration: ``min(1, 1/|g|_1) * lr``), or,
   with ``line_search_fn="strong_wolfe"``, a length satisfying the strong Wolfe conditions
   (enough decrease, and a flat enough slope), found by bracketing and cubic interpolation;
3. moves ``x += t d`` and re-evaluates the closure (loss and gradient).

It stops early when the gradient is tiny (``max |g| <= tolerance_grad``), the step or the loss
change is tiny (``tolerance_change``) or ``max_eval`` closure calls are used.  All parameters are
treated as one flat vector, so there is a single parameter group.  The arithmetic follows
PyTorch's ``torch.optim.LBFGS`` operation for operation (in the parameters' dtype), so the
parameters move the same way step for step.

    optimizer = labkit.optim.LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    for _ in range(10):
        optimizer.step(closure)
"""
import numpy as np

from ..tensor import _make
from .optimizer import Optimizer, _call_closure, _use_grad_for_differentiable

__all__ = ["LBFGS"]


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped to
    ``bounds`` (default: the interval between x1 and x2); the midpoint if the cubic has none."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Find a step ``t`` along ``d`` with ``f(t) <= f + c1 t gtd`` (sufficient decrease) and
    ``|f'(t)| <= -c2 gtd`` (curvature).  ``evaluate(t) -> (loss, flat_grad)``.

    Returns ``(loss, flat_grad, t, number of evaluations)``.
    """
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    it = 0
    # phase 1: grow the step until an interval [lo, hi] brackets an acceptable one
    while it < max_ls:
        if f_new > (f + c1 * t * gtd) or (it > 1 and f_new >= f_prev):
            br, br_f, br_g, br_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], \
                [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            br, br_f, br_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            br, br_f, br_g, br_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], \
                [gtd_prev, gtd_new]
            break
        # extrapolate: a cubic step between 1.01 t and 10 t
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        it += 1
    if it == max_ls:
        br, br_f, br_g = [0, t], [f, f_new], [g, g_new]

    # phase 2: shrink the bracket (cubic interpolation, kept away from its ends)
    insufficient = False
    low, high = (0, 1) if br_f[0] <= br_f[-1] else (1, 0)
    while not done and it < max_ls:
        if abs(br[1] - br[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(br[0], br_f[0], br_gtd[0], br[1], br_f[1], br_gtd[1])
        eps = 0.1 * (max(br) - min(br))
        if min(max(br) - t, t - min(br)) < eps:
            if insufficient or t >= max(br) or t <= min(br):
                t = max(br) - eps if abs(t - max(br)) < abs(t - min(br)) else min(br) + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        it += 1
        if f_new > (f + c1 * t * gtd) or f_new >= br_f[low]:
            br[high], br_f[high], br_g[high], br_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if br_f[0] <= br_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br[high] - br[low]) >= 0:
                br[high], br_f[high], br_g[high], br_gtd[high] = \
                    br[low], br_f[low], br_g[low], br_gtd[low]
            br[low], br_f[low], br_g[low], br_gtd[low] = t, f_new, g_new, gtd_new
    return br_f[low], br_g[low], br[low], evals


def _arr(t):
    """A saved flat vector (load_state_dict may have reshaped it like the first parameter)."""
    return None if t is None else t._np.reshape(-1)


class LBFGS(Optimizer):
    """L-BFGS (see the module docstring for the algorithm).

    Args:
        params (iterable): parameters to optimize (one group only)
        lr (float): step length (with a line search: the first trial step). Default: 1
        max_iter (int): iterations per ``step()``. Default: 20
        max_eval (int, optional): closure calls per ``step()``. Default: ``max_iter * 5 // 4``
        tolerance_grad (float): stop when ``max |grad| <= tolerance_grad``. Default: 1e-7
        tolerance_change (float): stop when the step or the loss change is smaller.
            Default: 1e-9
        history_size (int): (s, y) pairs kept for the Hessian estimate. Default: 100
        line_search_fn (str, optional): ``None`` (fixed step ``lr``) or ``"strong_wolfe"``.

    ``step(closure)`` requires the closure: it must zero the gradients, compute the loss, call
    ``backward()`` and return the loss.  It returns the loss of the first closure call.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat vector ------------------------------------------------------
    def _flat_grad(self):
        parts = [np.zeros(p._np.size, p._np.dtype) if p.grad is None else
                 p.grad._np.reshape(-1) for p in self._params]
        return np.concatenate(parts)

    def _add(self, step, direction):
        """x += step * direction (in each parameter's dtype)."""
        offset = 0
        for p in self._params:
            n = p._np.size
            a = p._np
            a[...] = a + a.dtype.type(step) * direction[offset:offset + n].reshape(a.shape)
            p._vc[0] += 1
            offset += n

    def _set(self, arrays):
        for p, a in zip(self._params, arrays):
            p._np[...] = a
            p._vc[0] += 1

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; ``closure`` (required) re-evaluates the loss
        and its gradients.  Returns the loss of the first evaluation."""
        if closure is None:
            raise TypeError("LBFGS.step() requires a closure: a function that zeroes the "
                            "gradients, computes the loss, calls loss.backward() and returns the "
                            "loss (optimizer.step(closure))")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # as silent as torch
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = _call_closure(closure)
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return orig_loss

        d, t = _arr(state.get("d")), state.get("t")
        old_dirs = [_arr(v) for v in state.get("old_dirs", [])]
        old_stps = [_arr(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        H_diag = state.get("H_diag")
        prev_g, prev_loss = _arr(state.get("prev_flat_grad")), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # the direction
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_stps, ro, H_diag = [], [], [], 1
            else:
                y = g - prev_g
                s = d * d.dtype.type(t)
                ys = y.dot(s)
                if ys > 1e-10:                       # keep the pair only if curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                k = len(old_dirs)
                al = [None] * k
                q = -g
                for i in range(k - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q = q + (-al[i]) * old_dirs[i]
                r = q * q.dtype.type(H_diag)
                for i in range(k):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r
            prev_g = g.copy()
            prev_loss = loss
            # the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(g).sum()) * lr
            else:
                t = lr
            gtd = g.dot(d)
            if gtd > -tol_change:                   # not a descent direction
                break
            ls_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = [p._np.copy() for p in self._params]

                def evaluate(step):
                    self._add(step, d)
                    f = float(_call_closure(closure))
                    grad = self._flat_grad()
                    self._set(x0)
                    return f, grad

                loss, g, t, ls_evals = _strong_wolfe(evaluate, t, d, loss, g, gtd,
                                                     max_ls=max_eval - evals)
                self._add(t, d)
                opt_cond = np.abs(g).max() <= tol_grad
            else:
                self._add(t, d)
                opt_cond = False
                if n_iter != max_iter:              # re-evaluate, except after the last one
                    loss = float(_call_closure(closure))
                    g = self._flat_grad()
                    opt_cond = np.abs(g).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if np.abs(d * d.dtype.type(t)).max() <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

        state["d"] = _make(d)
        state["t"] = float(t)
        state["old_dirs"] = [_make(v) for v in old_dirs]
        state["old_stps"] = [_make(v) for v in old_stps]
        state["ro"] = [float(v) for v in ro]
        state["H_diag"] = float(H_diag)
        state["prev_flat_grad"] = _make(prev_g)
        state["prev_loss"] = prev_loss
        return orig_loss
