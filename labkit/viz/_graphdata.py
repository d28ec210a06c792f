"""The data behind the graph views, below them all: the forward graph of a recorded tape
(:func:`tape_graph`, which the stepper replays) and the graph of code that fails
(``lk.viz.graph(fn)`` when ``fn()`` raises: :func:`run_recorded`, :func:`failure_graph`).

Graphs of code that fails: the forward pass runs inside :func:`labkit.graph.record`, with a forward pre-hook on every module
of ``params`` (when it is a Module) so each recorded op knows the module it ran in.  When ``fn()``
raises, the ops recorded so far are the graph "up to the failing op"; the failing op itself never
reached the autograd machinery (shape checks raise before), so it is found in the traceback: the
first labkit frame below the user's code and the modules' plumbing (``F.linear``,
``Tensor.__matmul__``), whose tensor arguments are its inputs.  It is drawn red, with the shapes
of its inputs and the error message; its module is the innermost module whose forward did not
return.
"""
from __future__ import annotations

import os
import traceback

from .. import graph as _graph
from ..tensor import Tensor
from . import layout as _layout

_LABKIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PLUMBING = (os.path.join(_LABKIT, "nn", "modules"), os.path.join(_LABKIT, "autograd"),
             os.path.join(_LABKIT, "viz"), os.path.join(_LABKIT, "graph.py"),
             os.path.join(_LABKIT, "ops", "_registry.py"))     # the out=/alias wrappers


def _is_labkit(path):
    return os.path.abspath(path).startswith(_LABKIT + os.sep)


def failing_op(exc):
    """``(name, [(arg name, tensor)], (file, line, function) of the user's call)`` of the op
    that raised, from the traceback; ``(None, [], ...)`` when no labkit op is involved."""
    frames = list(traceback.walk_tb(exc.__traceback__))
    user_loc = None
    op = None
    for frame, lineno in frames:
        path = frame.f_code.co_filename
        if not _is_labkit(path):
            user_loc = (path, lineno, frame.f_code.co_name)
            op = None
            continue
        if os.path.abspath(path).startswith(_PLUMBING):
            op = None
            continue
        if op is None:
            op = frame
    if op is None:
        return None, [], user_loc
    code = op.f_code
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if code.co_flags & 0x04:                          # *args
        names = names + (code.co_varnames[code.co_argcount + code.co_kwonlyargcount],)
    args = []
    for n in names:
        v = op.f_locals.get(n)
        if isinstance(v, Tensor):
            args.append((n, v))
        elif isinstance(v, (tuple, list)):
            args.extend((f"{n}[{i}]", t) for i, t in enumerate(v) if isinstance(t, Tensor))
    name = code.co_name.strip("_") or code.co_name
    if name.startswith("r") and code.co_name.startswith("__r"):   # __rmatmul__ -> matmul
        name = name[1:]
    return name, args, user_loc


class ModuleStack:
    """Forward pre-hooks on every module: the path of the module each op runs in.  A module
    whose forward raised is never popped, so after a failure the stack ends at it."""

    def __init__(self, model):
        self.stack = []
        self.handles = []
        if model is None or not hasattr(model, "named_modules"):
            return
        for name, m in model.named_modules():
            if not name:
                continue
            self.handles.append(m.register_forward_pre_hook(self._pre(name)))
            self.handles.append(m.register_forward_hook(self._post(name)))

    def _pre(self, name):
        def hook(module, args):
            self.stack.append(name)
        return hook

    def _post(self, name):
        def hook(module, args, output):
            while self.stack:
                if self.stack.pop() == name:
                    break
        return hook

    @property
    def current(self):
        return self.stack[-1] if self.stack else ""

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def run_recorded(fn, params=None, backward=True):
    """Run ``fn()`` inside ``record()``, noting each op's module.  Returns ``(tape, loss, exc,
    failure)``: ``exc`` is the exception ``fn()`` (or backward) raised, else None; ``failure`` is
    ``{"op", "inputs": [(name, tensor)], "module", "where"}`` for a failed forward."""
    from ..autograd import function as _F
    mods = ModuleStack(params)
    module_of = []
    failure = None
    loss = exc = None
    with _graph.record(params=params) as tape:
        inner_raw, inner_user = _F._apply_raw, _F._apply_user

        def wrap(inner):
            def call(cls, args):
                out = inner(cls, args)
                module_of.append(mods.current)
                return out
            return call
        _F._apply_raw, _F._apply_user = wrap(inner_raw), wrap(inner_user)
        try:
            loss = fn()
        except Exception as e:          # noqa: BLE001 - re-raised by the caller
            exc = e
            name, inputs, where = failing_op(e)
            failure = {"op": name or type(e).__name__, "inputs": inputs,
                       "module": mods.current, "where": where}
        finally:
            _F._apply_raw, _F._apply_user = inner_raw, inner_user
            mods.remove()
        if exc is None and backward:
            if not isinstance(loss, Tensor):
                raise TypeError("graph(fn): fn() must return the loss tensor, got "
                                f"{type(loss).__name__}")
            if loss.numel() != 1:
                raise ValueError(f"graph(fn): fn() must return a scalar loss, got shape "
                                 f"{tuple(loss.shape)}")
            loss.backward()
    for f, m in zip(tape.forward, module_of):
        f["module"] = m
    return tape, loss, exc, failure


def failure_graph(tape, failure, exc):
    """The forward data-flow graph of the ops that ran (:func:`tape_graph`), plus the
    failing op as a red node fed by its inputs.  Returns a trace-like dict for ``prepare``."""
    d = tape.to_dict()
    nodes, edges, _steps = tape_graph(d)
    for n in nodes:                                  # op nodes: the module they ran in
        if n["id"].startswith("f"):
            n["module"] = d["forward"][int(n["id"][1:])].get("module", "")
        else:
            n["module"] = ""
            if n["kind"] == "input" and n["label"] == n["id"][2:]:
                n["label"] = "input"
    producer = {}
    for f in d["forward"]:
        for tid in f["outputs"]:
            producer.setdefault(tid, f"f{f['step']}")
    ids = {k: v[0] for k, v in tape._tensors.items()}        # id(tensor) -> tid
    shapes = []
    fid = "fail"
    for i, (name, t) in enumerate(failure["inputs"]):
        tid = ids.get(id(t))
        shapes.append(shape_text(list(t.shape)))
        if tid is not None and tid in producer:
            src = producer[tid]
        else:
            src = f"t:{tid}" if tid is not None else f"x:{i}"
            if not any(n["id"] == src for n in nodes):
                pname = tape.names.get(id(t))
                nodes.append({"id": src, "kind": "param" if pname else "input",
                              "label": pname or name, "op": None, "shape": list(t.shape),
                              "dtype": str(t.dtype), "requires_grad": bool(t.requires_grad),
                              "value": _graph.summarize(t._np) if hasattr(t, "_np") else None,
                              "grad": None, "module": ""})
        edges.append({"source": src, "target": fid, "index": i})
    msg = f"{type(exc).__name__}: {exc}"
    nodes.append({"id": fid, "kind": "op", "label": f"{failure['op']} (failed)",
                  "op": failure["op"], "shape": None, "dtype": None, "requires_grad": False,
                  "value": None, "grad": None, "module": failure["module"],
                  "error": msg, "input_shapes": shapes,
                  "source": _graph._source(failure["where"]),
                  "rule": "this op raised: " + msg})
    return {"nodes": nodes, "edges": edges, "roots": [fid]}


# ------------------------------------------------------------------ the forward graph of a tape
def shape_text(shape):
    if shape is None:
        return ""
    return "x".join(str(s) for s in shape) if shape else "scalar"



def tape_graph(tape):
    """The forward data-flow graph of a tape: one node per op call (``"f<k>"``) and one per
    tensor that no recorded op produced (``"t:<tid>"``: parameters, leaves, inputs); edges from
    the producer of each input tensor to the op using it.  Also the replay ``steps``."""
    d = tape.to_dict() if hasattr(tape, "to_dict") else tape
    tensors = d["tensors"]
    producer = {}
    nodes, edges = [], []
    for f in d["forward"]:
        for tid in f["outputs"]:
            producer.setdefault(tid, f"f{f['step']}")
    leaves = {}
    for f in d["forward"]:
        for i, tid in enumerate(f["inputs"]):
            if isinstance(tid, str) and tid not in producer and tid not in leaves:
                t = tensors[tid]
                kind = "param" if t.get("name") else ("leaf" if t["requires_grad"] else "input")
                leaves[tid] = {"id": f"t:{tid}", "kind": kind, "label": t.get("name") or tid,
                               "op": None, "shape": t["shape"], "dtype": t["dtype"],
                               "requires_grad": t["requires_grad"], "tensor": tid,
                               "value": t.get("value"), "grad": t.get("grad"), "module": ""}
    nodes.extend(leaves.values())
    node_of_graph = {}
    for f in d["forward"]:
        out = tensors.get(f["outputs"][0]) if f["outputs"] else None
        nid = f"f{f['step']}"
        if f.get("node"):
            node_of_graph[f["node"]] = nid
        nodes.append({"id": nid, "kind": "op", "label": f["op"], "op": f["op"],
                      "shape": out["shape"] if out else None,
                      "dtype": out["dtype"] if out else None,
                      "requires_grad": bool(out and out["requires_grad"]),
                      "tensor": f["outputs"][0] if f["outputs"] else None,
                      "value": out.get("value") if out else None,
                      "grad": out.get("grad") if out else None, "module": ""})
        for i, tid in enumerate(f["inputs"]):
            if isinstance(tid, str):
                src = producer.get(tid) or f"t:{tid}"
                edges.append({"source": src, "target": nid, "index": i, "tensor": tid})
    steps = [{"phase": "forward", "entry": f["step"], "node": f"f{f['step']}"}
             for f in d["forward"]]
    for b in d["backward"]:
        if b["op"] == "AccumulateGrad":
            tid = b["outputs"][0] if b["outputs"] else None
            nid = (f"t:{tid}" if tid in leaves else producer.get(tid)) if tid else None
        else:
            nid = node_of_graph.get(b["node"])
        steps.append({"phase": "backward", "entry": b["step"], "node": nid})
    for n in nodes:
        sub = shape_text(n.get("shape"))
        v = n.get("value") or {}
        if v.get("numel") == 1:
            sub = "-0.0000 g=-0.0000"       # room for "value g=grad" (4 significant digits)
        n["w"] = _layout.node_width(n["label"], sub)
    return nodes, edges, steps
