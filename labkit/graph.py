"""The graph API the widgets read: ``trace`` (the backward graph as plain data) and ``record``
(an ordered tape of one forward and backward pass, for op-by-op replay).

Everything returned is JSON-serialisable (dicts, lists, str, int, float, bool, None), so a
widget can ship it to the browser as is.  The contract (version 1):

``trace(*tensors, params=None)`` returns::

    {"version": 1,
     "roots": ["n12"],                      # ids of the nodes the tensors hang from
     "nodes": [{"id": "n12",
                "kind": "op" | "leaf" | "param",
                "label": "MulBackward0" | "<param name>" | "leaf",
                "op": "Mul" | "AccumulateGrad",          # Function class name
                "shape": [2, 3], "dtype": "float32",
                "requires_grad": true,
                "source": {"file": ..., "line": 12, "func": ..., "code": "y = a * b"} | null,
                "rule": "d(a*b)/da = b ..." | null,      # the local derivative, in words
                "value": <stats> | null,                  # leaves/params/roots (values of
                "grad": <stats> | null}],                 #   intermediates: use record())
     "edges": [{"source": "n3", "target": "n12", "index": 0}]}   # forward direction

``<stats>`` is ``{"numel", "shape", "mean", "std", "min", "max", "absmax", "norm", "nonfinite",
"zero_frac", "hist": {"edges": [...], "counts": [...]}, "values": [...] (only when numel <= 64)}``.

``check_ops(tape)`` gradchecks every recorded op on its own (float64 finite differences along
random directions): ``{node id: {"op", "status": "ok" | "kink" | "fail" | "skipped", "error",
"detail"}}``; ``labkit.viz.graph(..., gradcheck=True)`` puts it on the nodes as ``"check"``.

``with record() as tape:`` captures every op call (also ops that need no gradient) and every
backward step; ``tape.to_dict()`` gives ``{"version": 1, "tensors": {...}, "forward": [...],
"backward": [...]}`` (see :class:`Tape`).  Recording swaps the engine's apply functions for
recording ones while the block runs, so when nothing records, ops pay nothing at all.
"""
import linecache
import math

import numpy as np

from .autograd import engine as _engine
from .autograd import function as _F
from .autograd.function import AccumulateGrad
from .tensor import Tensor

__all__ = ["trace", "record", "Tape", "check_ops", "summarize", "capture_source", "rule_words"]

MAX_VALUES = 64

# The local derivative of each primitive, in words (the graph view and the stepper show it): each
# Function carries its own (``Exp.derivative``); the leaves' sink has this one.
ACCUMULATE_WORDS = "adds the incoming gradient into the leaf's .grad"


def rule_words(fn):
    """The words for Function ``fn``'s local derivative (``fn.derivative``), or None."""
    return None if fn is None else fn.derivative


def capture_source(enabled=True):
    """Record the user's source line on every graph node (about 1 us per op)."""
    prev = _F._source.enabled
    _F._source.enabled = bool(enabled)
    return prev


# --------------------------------------------------------------------------------------- stats
def summarize(arr, bins=20, max_values=MAX_VALUES):
    """Cheap summary statistics of an array (one sort-free pass per statistic, float64 sums)."""
    if arr is None:
        return None
    if isinstance(arr, Tensor):
        arr = arr._np
    a = np.asarray(arr)
    out = {"numel": int(a.size), "shape": list(a.shape), "dtype": str(a.dtype)}
    if a.size == 0:
        return out
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    finite = np.isfinite(a) if a.dtype.kind == "f" else None
    nonfinite = 0 if finite is None else int(a.size - np.count_nonzero(finite))
    f = a[finite] if nonfinite else a
    out["nonfinite"] = nonfinite
    if f.size:
        f64 = f.astype(np.float64, copy=False)
        mn, mx = float(f64.min()), float(f64.max())
        out.update(mean=float(f64.mean()), std=float(f64.std()), min=mn, max=mx,
                   absmax=float(max(abs(mn), abs(mx))), norm=float(np.sqrt(np.dot(f64.ravel(), f64.ravel()))),
                   zero_frac=float(np.count_nonzero(f64 == 0) / f64.size))
        if mx > mn:
            counts, edges = np.histogram(f64, bins=bins, range=(mn, mx))
            out["hist"] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
        else:
            out["hist"] = {"edges": [mn, mx], "counts": [int(f64.size)]}
    if a.size <= max_values:
        out["values"] = [_num(v) for v in a.ravel().tolist()]
    return out


def _num(v):
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)          # JSON has no NaN/Inf
    return v


def _source(src):
    if not src:
        return None
    fname, line, func = src
    return {"file": fname, "line": int(line), "func": func,
            "code": linecache.getline(fname, line).strip() or None}


def _param_names(params):
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    return {id(t): name for name, t in dict(params).items()}


# --------------------------------------------------------------------------------------- trace
def _walk(root_nodes):
    """All nodes reachable from the roots, iteratively (deep graphs are fine)."""
    seen = {}
    stack = list(root_nodes)
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen[id(n)] = n
        for nxt, _ in n.next_functions:
            if nxt is not None and id(nxt) not in seen:
                stack.append(nxt)
    return sorted(seen.values(), key=lambda n: n.seq)


def node_id(node):
    return f"n{node.seq}"


def trace(*tensors, params=None, stats=True):
    """The backward graph behind ``tensors`` as plain data (see the module docstring)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    names = _param_names(params)
    roots, root_meta = [], {}
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"trace() expects tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise ValueError("trace(): this tensor does not require grad, so it has no graph. "
                             "Did you compute it under no_grad() or from tensors without "
                             "requires_grad=True?")
        n = t.grad_fn if t.grad_fn is not None else t._accumulator()
        roots.append(n)
        root_meta[id(n)] = t
    nodes = _walk(roots)
    out_meta = {}                       # node -> (shape, dtype) of the output its consumers use
    edges = []
    for n in nodes:
        for i, (nxt, nr) in enumerate(n.next_functions):
            if nxt is None:
                continue
            edges.append({"source": node_id(nxt), "target": node_id(n), "index": i})
            out_meta.setdefault(id(nxt), nxt._out_meta[nr])
    res_nodes = []
    for n in nodes:
        t = root_meta.get(id(n))
        if type(n) is AccumulateGrad:
            var = n.variable
            name = names.get(id(var)) if var is not None else None
            shape = list(var._np.shape) if var is not None else []
            d = {"id": node_id(n), "kind": "param" if name else "leaf", "label": name or "leaf",
                 "op": "AccumulateGrad", "shape": shape,
                 "dtype": str(var._np.dtype) if var is not None else None, "requires_grad": True,
                 "source": None, "rule": ACCUMULATE_WORDS,
                 "value": summarize(var._np) if (stats and var is not None) else None,
                 "grad": summarize(var._grad._np) if (stats and var is not None and
                                                      var._grad is not None) else None}
        else:
            meta = out_meta.get(id(n))
            shape, dtype = ((list(t._np.shape), str(t._np.dtype)) if t is not None else
                            ((list(meta[0]), str(meta[1])) if meta else (None, None)))
            fname = n._fn.__name__ if n._fn is not None else type(n).__name__
            d = {"id": node_id(n), "kind": "op", "label": n.name(), "op": fname,
                 "shape": shape, "dtype": dtype, "requires_grad": True,
                 "source": _source(n.source), "rule": rule_words(n._fn),
                 "value": summarize(t._np) if (stats and t is not None) else None,
                 "grad": summarize(t._grad._np) if (stats and t is not None and
                                                    t._grad is not None) else None}
        res_nodes.append(d)
    return {"version": 1, "roots": [node_id(n) for n in roots], "nodes": res_nodes, "edges": edges}


# --------------------------------------------------------------------------------------- record
class Tape:
    """What ``record()`` saw: tensors by id, forward op calls, backward steps, all in order.

    ``tensors``: ``{tid: {"id", "shape", "dtype", "requires_grad", "name", "value": <stats>,
    "grad": <stats or None>}}``.
    ``forward``: ``[{"step", "op", "node", "inputs": [tid | {"const": repr}], "outputs": [tid],
    "source", "rule"}]`` in call order.
    ``backward``: ``[{"step", "node", "op", "outputs": [tid], "grad_outputs": [<stats>],
    "inputs": [tid | None], "grad_inputs": [<stats> | None]}]`` in execution order; a leaf's
    ``AccumulateGrad`` step names the leaf in ``outputs``.
    """

    def __init__(self, values=True, params=None):
        self.values = values
        self.names = _param_names(params)
        self._tensors = {}           # id(tensor) -> (tid, tensor)   (kept alive while recording)
        self._node_out = {}          # id(node) -> [tid per output]
        self._node_in = {}           # id(node) -> [tid | None per input]
        self.forward = []
        self.backward = []
        self._info = {}
        self.calls = []              # (node id, Function class, args): what check_ops re-runs

    def _tid(self, t):
        e = self._tensors.get(id(t))
        if e is None:
            tid = f"t{len(self._tensors)}"
            self._tensors[id(t)] = (tid, t)
            self._info[tid] = {"id": tid, "shape": list(t._np.shape), "dtype": str(t._np.dtype),
                               "requires_grad": bool(t._rg), "name": self.names.get(id(t)),
                               "value": summarize(t._np) if self.values else None, "grad": None}
            return tid
        return e[0]

    def _on_forward(self, cls, args, out):
        outs = out if isinstance(out, tuple) else (out,)
        ins = []
        for a in args:
            if isinstance(a, Tensor):
                ins.append(self._tid(a))
            elif isinstance(a, (int, float, bool)) or a is None:
                ins.append({"const": repr(a)})
        out_ids = [self._tid(o) for o in outs if isinstance(o, Tensor)]
        node = next((o.grad_fn for o in outs if isinstance(o, Tensor) and o.grad_fn is not None), None)
        if node is not None:
            self._node_out[id(node)] = out_ids
            self._node_in[id(node)] = [i if isinstance(i, str) else None
                                       for i, a in zip(ins, [a for a in args
                                                             if isinstance(a, Tensor) or
                                                             isinstance(a, (int, float, bool)) or
                                                             a is None])]
            tensor_ids = [self._tid(a) if isinstance(a, Tensor) else None for a in args]
            self._node_in[id(node)] = tensor_ids
        if node is not None:
            self.calls.append((node_id(node), cls, tuple(args)))
        self.forward.append({"step": len(self.forward), "op": cls.__name__,
                             "node": node_id(node) if node is not None else None,
                             "label": node.name() if node is not None else cls.__name__,
                             "inputs": ins, "outputs": out_ids,
                             "source": _source(node.source if node is not None and node.source
                                               else _F.user_frame_location()),
                             "rule": cls.derivative})

    def _on_backward(self, node, grads_out, grads_in):
        if type(node) is AccumulateGrad:
            var = node.variable
            tid = self._tid(var) if var is not None else None
            g = grads_out[0] if grads_out else None
            if tid is not None and g is not None:
                self._info[tid]["grad"] = summarize(g)
            self.backward.append({"step": len(self.backward), "node": node_id(node),
                                  "op": "AccumulateGrad", "label": "AccumulateGrad",
                                  "outputs": [tid], "grad_outputs": [summarize(g)],
                                  "inputs": [], "grad_inputs": [], "rule": ACCUMULATE_WORDS})
            return
        outs = self._node_out.get(id(node), [])
        ins = self._node_in.get(id(node), [None] * len(node.next_functions))
        fname = node._fn.__name__ if node._fn is not None else node.name()
        self.backward.append({
            "step": len(self.backward), "node": node_id(node), "op": fname, "label": node.name(),
            "outputs": outs, "grad_outputs": [summarize(g) for g in grads_out],
            "inputs": ins,
            "grad_inputs": [summarize(g._np if isinstance(g, Tensor) else g) if g is not None else None
                            for g in grads_in],
            "rule": rule_words(node._fn)})
        for tid, g in zip(outs, grads_out):
            if g is not None and tid in self._info:
                self._info[tid]["grad"] = summarize(g)

    def to_dict(self):
        return {"version": 1, "tensors": dict(self._info), "forward": list(self.forward),
                "backward": list(self.backward)}

    def __len__(self):
        return len(self.forward) + len(self.backward)

    def __repr__(self):
        return f"<labkit.graph.Tape: {len(self.forward)} forward ops, {len(self.backward)} backward steps>"


class record:
    """``with labkit.graph.record() as tape:`` — capture forward ops and backward steps.

    Args:
        values: keep value/gradient statistics (and full values for tensors of <= 64 elements).
        params: a Module or dict of named tensors, to label leaves with parameter names.
    """
    _active = None

    def __init__(self, values=True, params=None):
        self.tape = Tape(values=values, params=params)

    def __enter__(self):
        if record._active is not None:
            raise RuntimeError("labkit.graph.record() blocks cannot be nested")
        record._active = self
        tape = self.tape
        self._orig = (_F._apply_raw, _F._apply_user, _F._source.enabled)
        orig_raw, orig_user = self._orig[0], self._orig[1]

        def rec_raw(cls, args):
            out = orig_raw(cls, args)
            tape._on_forward(cls, args, out)
            return out

        def rec_user(cls, args):
            out = orig_user(cls, args)
            tape._on_forward(cls, args, out)
            return out
        _F._apply_raw, _F._apply_user = rec_raw, rec_user
        _F._source.enabled = True
        _engine._Observers.backward.append(tape._on_backward)
        return tape

    def __exit__(self, *exc):
        _F._apply_raw, _F._apply_user, _F._source.enabled = self._orig
        try:
            _engine._Observers.backward.remove(self.tape._on_backward)
        except ValueError:
            pass
        record._active = None
        return False


# ------------------------------------------------------------------------------ gradcheck per op
def check_ops(tape, eps=1e-6, rtol=1e-4, atol=1e-8, seed=0):
    """Check every recorded op's backward rule against finite differences, op by op.

    For each differentiable op call in ``tape`` (a :class:`Tape` from :func:`record`), the op is
    run again in float64 on copies of the inputs it saw, and for random directions ``u`` (per
    input) and ``v`` (per output) the analytic ``<v, J u>`` from its backward rule is compared with
    the central difference ``(<v, f(x + eps u)> - <v, f(x - eps u)>) / (2 eps)``: one backward and
    two forward calls per input instead of a full Jacobian, so a whole model checks in seconds.
    Random ops (dropout) see the same seed in every call.

    Returns ``{node id: {"op", "status", "error", "detail"}}`` (JSON-serialisable) where status is
    ``"ok"``; ``"kink"`` -- the op sits on a non-differentiable point (ReLU at 0, tied maxima) and
    the rule chose a valid one-sided derivative; ``"fail"`` -- the rule disagrees with the
    numbers (``detail`` names the input); or ``"skipped"`` (with the reason).  ``error`` is the
    largest ``|analytic - numeric| / max(|analytic|, |numeric|, atol)`` over the inputs.
    """
    from . import random as _random
    from .autograd import grad as _grad, grad_mode
    calls = getattr(tape, "calls", None)
    if calls is None:
        raise TypeError("check_ops needs the Tape object from `with labkit.graph.record() as "
                        "tape:` (its calls), not a dict")
    results = {}
    state = _random.get_rng_state()
    rng = np.random.default_rng(seed)
    try:
        for nid, cls, args in calls:
            if nid in results:
                continue
            try:
                results[nid] = _check_call(cls, args, eps, rtol, atol, seed, rng, _grad,
                                           grad_mode, _random)
            except Exception as e:                     # report, never break the caller
                results[nid] = {"op": cls.__name__, "status": "skipped", "error": None,
                                "detail": f"could not re-run the op: {type(e).__name__}: {e}"}
    finally:
        _random.set_rng_state(state)
    return results


def _check_call(cls, args, eps, rtol, atol, seed, rng, _grad, grad_mode, _random):
    name = cls.__name__
    is_f = [isinstance(a, Tensor) and a._np.dtype.kind == "f" for a in args]
    diff = [i for i, a in enumerate(args) if is_f[i] and a._rg]
    if not diff:
        return {"op": name, "status": "skipped", "error": None, "detail": "no differentiable input"}
    base = {i: args[i]._np.astype(np.float64) for i in range(len(args)) if is_f[i]}

    def call(delta=None, leaves=None):
        new = []
        for i, a in enumerate(args):
            if i in base:
                if leaves is not None and i in leaves:
                    new.append(leaves[i].clone())             # (in-place ops may write to it)
                else:
                    x = base[i] if delta is None or delta[0] != i else base[i] + delta[1]
                    new.append(_F._make(np.array(x), False, None, 0))
            elif isinstance(a, np.ndarray) and a.dtype.kind == "f":
                new.append(a.astype(np.float64))
            else:
                new.append(a)
        _random.manual_seed(seed)
        out = cls.apply(*new)
        outs = out if isinstance(out, tuple) else (out,)
        return [o for o in outs if isinstance(o, Tensor) and o._np.dtype.kind == "f"]

    with grad_mode.no_grad():
        outs0 = call()
    if not outs0:
        return {"op": name, "status": "skipped", "error": None, "detail": "no float output"}
    if not all(np.isfinite(o._np).all() for o in outs0):
        return {"op": name, "status": "skipped", "error": None, "detail": "non-finite output"}
    vs = [rng.standard_normal(o._np.shape) for o in outs0]
    us = {i: rng.standard_normal(base[i].shape) for i in diff}

    def s(outs):
        return float(sum(np.vdot(v, o._np) for v, o in zip(vs, outs)))

    leaves = {i: _F._make(base[i].copy(), True, None, 0) for i in diff}
    with grad_mode.enable_grad():
        outs = call(leaves=leaves)
        use = [k for k, o in enumerate(outs) if o._rg]
        if not use:
            return {"op": name, "status": "skipped", "error": None, "detail": "output needs no grad"}
        gs = _grad([outs[k] for k in use], [leaves[i] for i in diff],
                   grad_outputs=[_F._make(vs[k], False, None, 0) for k in use], allow_unused=True)
    s0 = s(outs0)
    worst, status, detail = 0.0, "ok", ""
    with grad_mode.no_grad():
        for i, g in zip(diff, gs):
            u = us[i]
            ana = 0.0 if g is None else float(np.vdot(g._np, u))
            sp, sm = s(call((i, eps * u))), s(call((i, -eps * u)))
            num = (sp - sm) / (2 * eps)
            scale = max(abs(ana), abs(num), atol)
            err = abs(ana - num) / scale
            worst = max(worst, err)
            if err <= rtol:
                continue
            fwd, bwd = (sp - s0) / eps, (s0 - sm) / eps         # one-sided derivatives
            lo, hi = min(fwd, bwd), max(fwd, bwd)
            tol = rtol * max(abs(fwd), abs(bwd), atol)
            if lo - tol <= ana <= hi + tol and abs(fwd - bwd) > tol:
                if status == "ok":
                    status = "kink"
                    detail = (f"input {i}: at a non-differentiable point (one-sided derivatives "
                              f"{fwd:.6g} and {bwd:.6g}); the rule's {ana:.6g} lies between")
            else:
                status = "fail"
                detail = (f"input {i} (shape {list(base[i].shape)}): backward gives {ana:.6g}, "
                          f"finite differences {num:.6g} (directional derivative <v, J u>)")
                break
    return {"op": name, "status": status, "error": worst, "detail": detail}
