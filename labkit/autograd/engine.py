"""The backward engine: walks the graph without recursion and calls each node's backward rule.

Order: a node runs once every node that feeds it a gradient has run (Kahn's algorithm); among ready
nodes the most recently created runs first, which is the reverse of the forward order, the order a
reader expects and the one the stepper replays.  Gradients reaching an input are summed back to the
input's shape here (the single place broadcasting is undone) and cast to the input's dtype.

Two modes, one walk: an ordinary backward gives each node's rule NumPy arrays (``_call_backward``);
``create_graph=True`` gives the same rule Tensors, with the saved values as tensors on the graph
(``_call_graph``), so the gradients it returns are themselves differentiable.
"""
import heapq
import math
import sys

import numpy as np
from numpy import ndarray      # (read per gradient: see function.py)

from . import function as F
from . import grad_mode
from .anomaly import check_backward
from .function import AccumulateGrad
from .fpstate import quietly


class _Observers:
    """Callbacks used by labkit.graph.record(); empty (and free) when nothing is recording."""
    backward = []


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape`` (the inverse of NumPy broadcasting)."""
    if g.shape == shape:
        return g
    nd = g.ndim - len(shape)
    if nd < 0:
        return np.broadcast_to(g, shape).copy()
    axes = tuple(range(nd)) + tuple(i + nd for i, s in enumerate(shape)
                                    if s == 1 and g.shape[i + nd] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if nd:
        g = g.reshape(shape)
    return g


def _priority(node):
    """Heap key: leaves' AccumulateGrad first (their .grad is final as soon as they are ready,
    as in PyTorch), then the most recently created node (reverse forward order)."""
    return -math.inf if type(node) is AccumulateGrad else -node.seq


def _collect(roots, needed=None):
    """Dependency counts (how many gradient contributions each node waits for), over the nodes
    in ``needed`` only when it is given."""
    deps = {}
    seen = set()
    stack = [n for n in roots]
    for n in roots:
        seen.add(n)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None or (needed is not None and nxt not in needed):
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _needed(roots, targets):
    """The nodes from which a target can be reached (targets included): with ``autograd.grad``
    or ``backward(inputs=...)`` only these run, as in PyTorch (hooks elsewhere do not fire, and
    the rest of the graph keeps its saved values)."""
    needed = {}
    stack = [(n, False) for n in roots]
    while stack:
        node, done = stack.pop()
        if done:
            needed[node] = node in targets or any(
                needed.get(nxt, False) for nxt, _ in node.next_functions if nxt is not None)
            continue
        if node in needed:
            continue
        needed[node] = False                 # a DAG: every child is finished before its parent
        stack.append((node, True))
        for nxt, _ in node.next_functions:
            if nxt is not None and nxt not in needed:
                stack.append((nxt, False))
    return {n for n, v in needed.items() if v}


def _plan(root_nodes, capture, only_inputs):
    """(needed nodes or None, dependency counts) for a backward pass."""
    if capture is None and only_inputs is None:
        return None, _collect(root_nodes)
    targets = set(only_inputs or ())
    if capture is not None:
        targets.update(k[0] for k in capture)
    needed = _needed(root_nodes, targets)
    return needed, _collect([n for n in root_nodes if n in needed], needed)


def _runs(node, needed):
    """Whether ``node``'s backward has to run (something below it is wanted)."""
    return any(nxt in needed for nxt, _ in node.next_functions)


@quietly                                # IEEE results without NumPy's warnings, as PyTorch
def run_backward(roots, retain_graph=False, capture=None, accumulate=True, only_inputs=None,
                 create_graph=False):
    """Run backward from ``roots``: a list of (node, output_nr, grad ndarray or Tensor).

    ``capture``: dict {(node, output_nr): None} filled with the gradient reaching that output
    (autograd.grad).  ``accumulate``: write into leaves' ``.grad``.  ``only_inputs``: set of
    AccumulateGrad nodes allowed to accumulate (``backward(inputs=...)``).

    ``create_graph``: the gradients are Tensors on a new graph (higher-order gradients): each
    node runs the same ``backward`` rule with Tensors (``_call_graph``), gradients are unbroadcast
    with Tensor ops, a leaf's ``.grad`` gets a ``grad_fn``, and the graph is kept
    (``retain_graph`` defaults to ``create_graph`` in PyTorch).  The walk is the same.
    """
    if create_graph:
        roots = [(n, nr, g if isinstance(g, F._Tensor) else F._make(g, False, None, 0))
                 for n, nr, g in roots]
        call, fit, accumulate_into = _call_graph, _fit_graph, _accumulate_graph
        retain_graph, observers, anomaly = True, (), False
    else:
        call, fit, accumulate_into = _call_backward, _fit, _accumulate
        observers, anomaly = _Observers.backward, F._anomaly.enabled
    root_nodes = []
    buffers = {}
    for node, nr, g in roots:
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_out
            root_nodes.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    needed, deps = _plan(root_nodes, capture, only_inputs)
    ready = [(_priority(n), id(n), n) for n in root_nodes
             if deps.get(n, 0) == 0 and (needed is None or n in needed)]
    heapq.heapify(ready)
    while ready:
        _, _, node = heapq.heappop(ready)
        grads = buffers.pop(node)
        if node._pre_hooks:
            for hook in node._pre_hooks:
                r = hook(grads)
                if r is not None:
                    grads = r
        if capture is not None:
            for i, g in enumerate(grads):
                if (node, i) in capture and g is not None:
                    capture[(node, i)] = g if capture[(node, i)] is None else capture[(node, i)] + g
        if type(node) is AccumulateGrad:
            if accumulate and (only_inputs is None or node in only_inputs) and grads[0] is not None:
                accumulate_into(node, grads[0] if observers else grads.pop())   # pop: see _SOLE
                if node._post_acc_hooks and node.variable is not None:
                    for hook in tuple(node._post_acc_hooks):
                        hook(node.variable)
            if observers:
                for ob in observers:
                    ob(node, grads, ())
            continue
        if needed is not None and not _runs(node, needed):
            continue
        in_grads = call(node, grads, retain_graph)
        if node._hooks:
            for hook in node._hooks:
                r = hook(in_grads, grads)
                if r is not None:
                    in_grads = tuple(r)
        if anomaly:
            check_backward(node, in_grads)
        if observers:
            for ob in observers:
                ob(node, grads, in_grads)
        for (nxt, nr), g in zip(node.next_functions, in_grads):
            if nxt is None or (needed is not None and nxt not in needed):
                continue
            if g is not None:
                meta = nxt._out_meta[nr]        # the (shape, dtype) of the input it is for
                if type(g) is not ndarray or g.shape != meta[0] or g.dtype != meta[1]:
                    g = fit(g, meta, node)      # (most gradients already fit their input)
                buf = buffers.get(nxt)
                if buf is None:
                    buf = buffers[nxt] = [None] * nxt._n_out
                buf[nr] = g if buf[nr] is None else buf[nr] + g
            d = deps[nxt] - 1
            deps[nxt] = d
            if d == 0:
                if nxt not in buffers:          # nothing arrived: the branch had no gradient
                    buffers[nxt] = [None] * nxt._n_out
                heapq.heappush(ready, (_priority(nxt), id(nxt), nxt))
        in_grads = g = None                     # the buffers hold the gradients now (see _SOLE)
        if not retain_graph and node._saved is not None:
            node._saved = None                  # free what forward saved (a second backward
            node._freed = True                  # through this node raises PyTorch's error)


def _fit(g, meta, node):
    if type(g) is not np.ndarray:
        if isinstance(g, F._Tensor):
            g = g._np
        else:
            g = np.asarray(g)
    shape, dtype = meta
    if g.shape != shape:
        try:
            g = unbroadcast(g, shape)
        except ValueError:
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient: got shape "
                               f"{list(g.shape)} but expected shape compatible with {list(shape)}")
    if g.dtype != dtype:
        g = g.astype(dtype)
    return g


def _call_backward(node, grads, retain_graph):
    fn = node._fn
    if node._freed:
        node.saved_tensors                       # raises the "backward a second time" error
    if fn.raw:
        if node._n_out == 1:
            g = grads[0]
            if g is None:
                return (None,) * len(node.next_functions)
            out = fn._backward_arrays(node, g)
        else:
            if node.materialize_grads:
                grads = [np.zeros(1, dtype=np.float32) if g is None else g for g in grads]
            out = fn._backward_arrays(node, *grads)
    else:
        tg = []
        for g in grads:
            tg.append(None if g is None else F._make(g, False, None, 0))
        out = fn.backward(node, *tg)
    if not isinstance(out, tuple):
        out = (out,)
    return out if len(out) == len(node.next_functions) else _one_per_input(node, out)


def _one_per_input(node, out):
    """The gradients a backward returned, one per forward input (extra trailing Nones dropped)."""
    n_in = len(node.next_functions)
    if len(out) != n_in:
        if len(out) > n_in and all(o is None for o in out[n_in:]):
            out = out[:n_in]
        else:
            raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(out)})")
    return out


def _probe_refs(g):
    return sys.getrefcount(g)


_SOLE = _probe_refs(np.empty(1))     # references to a temporary passed as an argument, seen inside
if not getattr(sys, "_is_gil_enabled", lambda: True)():
    _SOLE = 0                        # free-threaded Python: refcounts are not exact, always copy


def _accumulate(node, g):
    var = node.variable
    if var is None:
        return
    if var._hooks:
        for hook in var._hooks:
            r = hook(F._make(g, False, None, 0))
            if r is not None:
                g = r._np if isinstance(r, F._Tensor) else np.asarray(r)
    if var._grad is None:
        # .grad must own its storage: the array may be shared with other gradients (Add passes its
        # grad through, autograd.grad captures it).  A fresh array nobody else refers to (most
        # gradients: a matmul's or a kernel's output) is adopted without a copy.
        if not (g.dtype == var._np.dtype and g.base is None and g.flags.c_contiguous
                and sys.getrefcount(g) <= _SOLE):
            g = np.array(g, dtype=var._np.dtype, copy=True)
        var._grad = F._make(g, False, None, 0)
    else:
        gt = var._grad
        if gt._np.shape != g.shape:
            g = unbroadcast(g, gt._np.shape)
        np.add(gt._np, g, out=gt._np, casting="unsafe")
        gt._vc[0] += 1


# ------------------------------------------------------------------ create_graph=True
def _call_graph(node, grads, retain_graph):
    """Run ``node``'s backward rule with Tensors (grad mode on), so the gradient is a graph.

    Built-in (``raw``) Functions run the very rule an ordinary backward runs; only what it sees
    changes: Tensor gradients, ``ctx.saved_tensors`` as tensors on the graph (``_graph_saved``)
    and ``ctx.xp`` the Tensors' array namespace."""
    fn = node._fn
    if node._freed:
        node.saved_tensors                          # raises the "backward a second time" error
    with grad_mode.enable_grad():
        if not fn.raw:
            out = fn.backward(node, *grads)
        else:
            live = next((g for g in grads if g is not None), None)
            if live is None:
                return (None,) * len(node.next_functions)
            if node._n_out > 1 and node.materialize_grads:
                zero = F._make(np.zeros(1, dtype=live._np.dtype), False, None, 0)
                grads = [zero if g is None else g for g in grads]
            raw_saved = node._saved
            node.xp = live.__array_namespace__()
            if raw_saved is not None:
                node._saved = _graph_saved(node, raw_saved)
            try:
                out = fn.backward(node, *grads)
            finally:
                node._saved = raw_saved
                del node.xp
    out = _one_per_input(node, out if isinstance(out, tuple) else (out,))
    for g, need in zip(out, node.needs_input_grad):
        if need and g is not None and not isinstance(g, F._Tensor):
            raise NotImplementedError(
                f"create_graph=True: the backward rule of {node.name()} returned a "
                f"{type(g).__name__}, not a Tensor, so its gradient cannot be differentiated: "
                f"write the rule with operators and ctx.xp functions (see labkit/autograd/"
                f"function.py), not NumPy calls.")
    return out


def _graph_saved(node, saved):
    """What a rule sees as ``ctx.saved_tensors`` with ``create_graph=True``: each saved array
    that was one of the op's inputs or outputs, as that tensor on the graph; any other array as
    a constant tensor; non-arrays (numbers, None) as they are."""
    src = {i: j for _, _, i, j in node._saved_vc or ()}
    out = []
    for i, a in enumerate(saved):
        j = src.get(i)
        if type(a) is not np.ndarray and (j is None or not isinstance(a, np.generic)):
            out.append(a)
            continue
        if j is None:
            out.append(F._make(a, False, None, 0))
        elif j >= 0:
            out.append(_saved_input(node, j, a))
        else:
            out.append(F._make(a, a.dtype.kind == "f", node if a.dtype.kind == "f" else None, ~j))
    return tuple(out)


def _saved_input(node, i, arr):
    """The forward input ``i`` of ``node`` as a Tensor on the graph (its value: ``arr``)."""
    fn, nr = node.next_functions[i]
    if fn is None:                                  # a constant: needs no gradient
        return F._make(arr, False, None, 0)
    if type(fn) is AccumulateGrad:
        leaf = fn.variable
        if leaf is not None and leaf._np is arr:
            return leaf
        t = F._make(arr, True, None, 0)
        t._accum = fn                               # gradients reach the same leaf
        return t
    return F._make(arr, True, fn, nr)


def sum_to(g, shape):
    """Tensor version of ``unbroadcast``: sum ``g`` down to ``shape``."""
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


def _fit_graph(g, meta, node):
    if not isinstance(g, F._Tensor):
        g = F._make(np.asarray(g), False, None, 0)
    shape, dtype = meta
    g = sum_to(g, shape)
    if g._np.dtype != dtype:
        g = g.type_as(F._make(np.zeros((), dtype), False, None, 0))
    return g


def _accumulate_graph(node, g):
    var = node.variable
    if var is None:
        return
    if var._hooks:
        for hook in var._hooks:
            r = hook(g)
            if r is not None:
                g = r
    g = sum_to(g, var._np.shape)
    var._grad = g if var._grad is None else var._grad + g
