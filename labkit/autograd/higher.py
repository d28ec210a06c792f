"""Differentiable backward rules: what ``backward``/``grad`` run with ``create_graph=True``.

The built-in ops' ``backward`` methods work on NumPy arrays (fast, and what every ordinary
backward uses).  For higher-order gradients -- a Hessian-vector product, a gradient penalty, the
second derivative of ``sin`` -- the gradient itself must be a graph.  This module holds, in one
place, the same rules written with Tensor ops, so that the engine can build that graph:

    @rule(Mul)
    def _(node, g):
        a, b = node._saved
        A, B = saved_input(node, 0, a), saved_input(node, 1, b)
        return g * B, g * A

``saved_input(node, i, arr)`` turns an array the op saved into the Tensor it came from (attached to
the graph through the op's ``next_functions``), ``saved_output(node, arr)`` the op's own output
(attached to ``node``).  User-defined Functions (``raw = False``) need nothing here: their
``backward`` already uses Tensor ops.  An op without a rule raises ``NotImplementedError`` naming
it; ``supported()`` lists the ops that have one.  (Layers above the engine register their own
rules where they define their Functions, e.g. ``nn.functional.Linear``.)
"""
import numpy as np

from . import function as F
from .function import AccumulateGrad

RULES = {}


def rule(*classes):
    """Register ``fn(node, *grad_outputs) -> tuple of Tensor | None`` for these Functions."""
    def deco(fn):
        for c in classes:
            RULES[c] = fn
        return fn
    return deco


def saved_input(node, i, arr):
    """The forward input ``i`` of ``node`` as a Tensor on the graph (its value: ``arr``)."""
    fn, nr = node.next_functions[i]
    if fn is None:                                  # a constant: needs no gradient
        return F._make(np.asarray(arr), False, None, 0)
    if type(fn) is AccumulateGrad:
        leaf = fn.variable
        if leaf is not None and leaf._np is arr:
            return leaf
        t = F._make(arr, True, None, 0)
        t._accum = fn                               # gradients reach the same leaf
        return t
    return F._make(arr, True, fn, nr)


def saved_output(node, arr, k=0):
    """Output ``k`` of ``node`` as a Tensor on the graph."""
    return F._make(arr, True, node, k)


def supported():
    """Names of the built-in ops that support ``create_graph=True``."""
    return sorted(c.__name__ for c in RULES)


def call(node, grads):
    """Run ``node``'s backward differentiably (grad mode on); returns a tuple of Tensor | None."""
    from . import grad_mode
    fn = node._fn
    if node._freed:
        node.saved_tensors                          # raises the "backward a second time" error
    with grad_mode.enable_grad():
        if not fn.raw:
            out = fn.backward(node, *grads)
        else:
            r = next((RULES[c] for c in fn.__mro__ if c in RULES), None)    # (variants too)
            if r is None:
                raise NotImplementedError(
                    f"create_graph=True: {node.name()} has no differentiable backward rule yet, so "
                    f"gradients of its gradient cannot be computed. Ops that support it: "
                    f"{', '.join(supported())}. (A custom labkit.autograd.Function whose backward "
                    f"uses Tensor ops also works.)")
            if len(grads) == 1 and grads[0] is None:
                return (None,) * len(node.next_functions)
            out = r(node, *grads)
    return out if isinstance(out, tuple) else (out,)


def sum_to(g, shape):
    """Tensor version of ``engine.unbroadcast``: sum ``g`` down to ``shape``."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    nd = g.ndim - len(shape)
    if nd < 0:
        return g.expand(shape)
    axes = tuple(range(nd)) + tuple(i + nd for i, s in enumerate(shape)
                                    if s == 1 and g.shape[i + nd] != 1)
    if axes:
        g = g.sum(dim=axes, keepdim=True)
    return g.reshape(shape) if nd else g


# ------------------------------------------------------------------------------ the rules
def _register_all():
    from ..ops import elementwise as E, reduction as R, shape as S, linalg as L, indexing as I
    import labkit as lk

    def ins(node, *arrs):
        return [saved_input(node, i, a) for i, a in enumerate(arrs)]

    rule(E.Add)(lambda node, g: (g, g))
    rule(E.Sub)(lambda node, g: (g, -g))
    rule(E.Neg)(lambda node, g: -g)
    rule(S.Clone)(lambda node, g: g)
    rule(S.Expand)(lambda node, g: (g, None))       # the engine sums g back to the input's shape

    @rule(E.Mul)
    def _mul(node, g):
        A, B = ins(node, *node._saved)
        na, nb = node.needs_input_grad
        return (g * B if na else None), (g * A if nb else None)

    @rule(E.Div)
    def _div(node, g):
        A, B = ins(node, *node._saved)
        na, nb = node.needs_input_grad
        return (g / B if na else None), (-g * A / (B * B) if nb else None)

    @rule(E.Pow)
    def _pow(node, g):
        a, b, y = node._saved
        A, B = ins(node, a, b)
        na, nb = node.needs_input_grad
        ga = gb = None
        if na:
            ga = g * B * A ** (B - 1)
            ga = lk.where(B == 0, lk.zeros_like(ga), ga)
        if nb:
            logA = lk.where(A > 0, A.clamp_min(np.finfo(np.float64).tiny).log(),
                            lk.zeros_like(A))
            gb = g * saved_output(node, y) * logA
        return ga, gb

    def _unary(cls, f, uses="input"):
        @rule(cls)
        def _r(node, g):
            (s,) = node._saved
            t = saved_input(node, 0, s) if uses == "input" else saved_output(node, s)
            return f(g, t)

    _unary(E.Exp, lambda g, y: g * y, "output")
    _unary(E.Log, lambda g, x: g / x)
    _unary(E.Log1p, lambda g, x: g / (1 + x))
    _unary(E.Expm1, lambda g, y: g * (y + 1), "output")
    _unary(E.Sqrt, lambda g, y: g / (2 * y), "output")
    _unary(E.Rsqrt, lambda g, y: -0.5 * g * y * y * y, "output")
    _unary(E.Sin, lambda g, x: g * x.cos())
    _unary(E.Erf, lambda g, x: g * (2 / np.sqrt(np.pi)) * (-(x * x)).exp())
    _unary(E.Cos, lambda g, x: -g * x.sin())
    _unary(E.Tanh, lambda g, y: g * (1 - y * y), "output")
    _unary(E.Sigmoid, lambda g, y: g * y * (1 - y), "output")
    _unary(E.Relu, lambda g, y: g * (y.detach() > 0), "output")
    _unary(E.Abs, lambda g, x: g * x.detach().sign())

    @rule(E.Where)
    def _where(node, g):
        (cond,) = node._saved
        c = F._make(cond, False, None, 0)
        z = lk.zeros_like(g)
        return None, lk.where(c, g, z), lk.where(c, z, g)

    def _expand_back(node, g):
        shape, axes, keepdim = node.shape, node.axes, node.keepdim
        if axes is None:
            axes = tuple(range(len(shape)))
        if not keepdim:
            kept = [1 if i in axes else s for i, s in enumerate(shape)]
            g = g.reshape(kept)
        return g.expand(shape)

    rule(R.Sum)(lambda node, g: (_expand_back(node, g), None, None, None))
    rule(R.Mean)(lambda node, g: (_expand_back(node, g / node.n), None, None))
    rule(S.Reshape)(lambda node, g: (g.reshape(node.in_shape), None, None))
    rule(S.Permute)(lambda node, g: (g.permute(node.inv), None))

    @rule(S.Diagonal)
    def _diagonal(node, g):                 # g written onto the diagonal of zeros
        z = lk.zeros(node.shape, dtype=g.dtype)
        z.diagonal(*node.dims).copy_(g)
        return z, None, None, None

    @rule(L.MatMul)
    def _matmul(node, g):
        a, b = node._saved
        A, B = ins(node, a, b)
        na, nb = node.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (g * B if na else None), (g * A if nb else None)
        A2 = A.unsqueeze(0) if a.ndim == 1 else A
        B2 = B.unsqueeze(-1) if b.ndim == 1 else B
        G2 = g.unsqueeze(-2) if a.ndim == 1 else g
        G2 = G2.unsqueeze(-1) if b.ndim == 1 else G2
        ga = G2 @ B2.mT if na else None
        gb = A2.mT @ G2 if nb else None
        if ga is not None and a.ndim == 1:
            ga = ga.squeeze(-2)
        if gb is not None and b.ndim == 1:
            gb = gb.squeeze(-1)
        return ga, gb

    @rule(I.Index)
    def _index(node, g):
        z = lk.zeros(node.shape, dtype=g.dtype)
        return I.IndexPut.apply(z, g, node.idx, not node.basic), None, None

    @rule(I.IndexPut)
    def _index_put(node, g):
        idx = node.idx
        parts = idx if isinstance(idx, tuple) else (idx,)
        basic = not any(isinstance(p, (np.ndarray, list)) for p in parts)
        gx = g
        if not node.accumulate:
            keep = np.ones(g.shape, dtype=g._np.dtype)
            keep[idx] = 0
            gx = g * F._make(keep, False, None, 0)
        gv = I.Index.apply(g, idx, basic)
        return gx, gv, None, None

    def const(a):
        return F._make(np.asarray(a), False, None, 0)

    def expand_back(node, g, shape):
        """Tensor version of reduction._expand_back (``node.axes``/``node.keepdim``)."""
        axes = tuple(range(len(shape))) if node.axes is None else node.axes
        if not node.keepdim:
            g = g.reshape([1 if i in axes else s for i, s in enumerate(shape)])
        return g.expand(shape)

    @rule(S.Cat)
    def _cat(node, g):
        parts, start = [], 0
        for size, skip in zip(node.sizes, node.skip):
            parts.append(lk.zeros(0, dtype=g.dtype) if skip else g.narrow(node.dim, start, size))
            start += size
        return (None, *parts)

    rule(S.Stack)(lambda node, g: (None, *[g.select(node.dim, i) for i in range(node.n)]))
    rule(S.Flip)(lambda node, g: (g.flip(node.dims), None))
    rule(R.Cumsum)(lambda node, g: (g.flip(node.dim).cumsum(node.dim).flip(node.dim), None))

    @rule(I.MaskedFill)
    def _masked_fill(node, g):
        m = node.mask
        gv = (g * const(m.astype(g._np.dtype))).sum() if node.needs_input_grad[2] else None
        return g * const((~m).astype(g._np.dtype)), None, gv

    def _max_min(is_max):
        def r(node, g):
            a, b = node._saved
            win = a > b if is_max else a < b
            w = np.where(win, 1.0, np.where(a == b, 0.5, 0.0)).astype(g._np.dtype)
            return g * const(w), g * const(1 - w)
        return r
    rule(E.Maximum)(_max_min(True))
    rule(E.Minimum)(_max_min(False))

    @rule(E.Clamp)
    def _clamp(node, g):
        x, lo, hi = node._saved
        keep = np.ones(x.shape, dtype=bool)
        if lo is not None:
            keep &= x >= lo
        if hi is not None:
            keep &= x <= hi
        na = node.needs_input_grad
        dt = g._np.dtype
        return (g * const(keep.astype(dt)) if na[0] else None,
                g * const((x < lo).astype(dt)) if na[1] and lo is not None else None,
                g * const((x > hi).astype(dt)) if na[2] and hi is not None else None)

    @rule(R.AMaxMin)
    def _amax(node, g):
        x, y = node._saved
        yb = R._expand_back(y, x.shape, node.axes, node.keepdim)
        mask = (x == yb).astype(g._np.dtype)
        share = mask / mask.sum(axis=node.axes, keepdims=True)     # ties split evenly
        return expand_back(node, g, x.shape) * const(share), None, None, None

    @rule(R.MaxMinDim)
    def _max_dim(node, g, g_idx=None):
        (idx_k,) = node._saved
        gk = g if node.keepdim else g.unsqueeze(node.dim)
        z = lk.zeros(node.shape, dtype=g.dtype)
        return z.scatter(node.dim, const(idx_k.astype(np.int64)), gk), None, None, None

    @rule(R.Logsumexp)
    def _logsumexp(node, g):
        x, _ = node._saved
        X = saved_input(node, 0, x)
        axes = node.axes
        P = (X - X.logsumexp(axes, keepdim=True)).exp()                 # softmax over the axes
        return expand_back(node, g, x.shape) * P, None, None

    @rule(R.Norm2)
    def _norm2(node, g):
        x, y = node._saved
        X = saved_input(node, 0, x)
        axes = node.axes if node.axes is not None else tuple(range(x.ndim))
        Y = X.norm(2, dim=axes, keepdim=True)
        safe = const((y == 0).astype(x.dtype))                          # d|x| at 0: 0
        return expand_back(node, g, x.shape) * X / (Y + safe) * (1 - safe), None, None

    @rule(R.Var)
    def _var(node, g):
        x, _ = node._saved
        X = saved_input(node, 0, x)
        axes = node.axes if node.axes is not None else tuple(range(x.ndim))
        Xc = X - X.mean(axes, keepdim=True)
        return expand_back(node, g, x.shape) * 2 * Xc / node.denom, None, None, None

    @rule(R.Std)
    def _std(node, g):
        x, _, y = node._saved
        X = saved_input(node, 0, x)
        axes = node.axes if node.axes is not None else tuple(range(x.ndim))
        Xc = X - X.mean(axes, keepdim=True)
        Y = ((Xc * Xc).sum(axes, keepdim=True) / node.denom).sqrt()
        zero = const((R._expand_back(y, x.shape, node.axes, node.keepdim) == 0).astype(x.dtype))
        return (expand_back(node, g, x.shape) * Xc / (Y * node.denom + zero) * (1 - zero),
                None, None, None)

    @rule(I.Gather)
    def _gather(node, g):
        where = list(np.indices(node.index.shape, sparse=True))
        where[node.dim] = node.index
        z = lk.zeros(node.shape, dtype=g.dtype)
        return I.IndexPut.apply(z, g, tuple(where), True), None, None

    @rule(S.Repeat)
    def _repeat(node, g):
        inter = []
        for r, s in zip(node.reps, node.xshape):
            inter += [r, s]
        return g.reshape(inter).sum(tuple(range(0, len(inter), 2))), None

    @rule(S.Split)
    def _split(node, *grads):
        d, parts = node.dim, []
        for g, n in zip(grads, node.sizes):
            if g is None:
                shape = list(node.shape)
                if node.squeeze:
                    del shape[d]
                else:
                    shape[d] = n
                g = lk.zeros(shape, dtype=lk.tensor(np.zeros((), node.dtype)).dtype)
            parts.append(g)
        return (lk.stack(parts, d) if node.squeeze else lk.cat(parts, d)), None, None, None

    @rule(L.Softmax)
    def _softmax(node, g):
        Y = saved_output(node, node._saved[0])
        return Y * (g - (g * Y).sum(node.dim, keepdim=True)), None

    @rule(L.LogSoftmax)
    def _log_softmax(node, g):
        Y = saved_output(node, node._saved[0])
        return g - Y.exp() * g.sum(node.dim, keepdim=True), None


_registered = False


def ensure_rules():
    global _registered
    if not _registered:
        _register_all()
        _registered = True
