"""Graphs of code that fails: ``lk.viz.graph(fn)`` when ``fn()`` raises (a shape mismatch).

The forward pass runs inside :func:`labkit.graph.record`, with a forward pre-hook on every module
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

_LABKIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PLUMBING = (os.path.join(_LABKIT, "nn", "modules"), os.path.join(_LABKIT, "autograd"),
             os.path.join(_LABKIT, "viz"), os.path.join(_LABKIT, "graph.py"))


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
    """The forward data-flow graph of the ops that ran (:func:`stepper.tape_graph`), plus the
    failing op as a red node fed by its inputs.  Returns a trace-like dict for ``prepare``."""
    from .stepper import tape_graph
    from .graphview import shape_text
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


# ------------------------------------------------------------------ %load_ext labkit: %lk_why
class FailureHook:
    """With ``%load_ext labkit``: when a cell fails inside a labkit op (a shape mismatch), the
    usual traceback is followed by one line offering ``%lk_why``, which re-runs that cell's code
    with recording on and shows the graph up to the failing op (see :func:`graph`)."""

    TYPES = (RuntimeError, ValueError, IndexError, TypeError)

    def __init__(self, shell):
        self.shell = shell
        self.source = None          # the code of the last cell that failed in a labkit op
        self._running = None        # the code of the cell now running

    def _pre_run_cell(self, info=None):
        self._running = getattr(info, "raw_cell", None)

    def install(self):
        self.shell.set_custom_exc(self.TYPES, self.handler)
        self.shell.events.register("pre_run_cell", self._pre_run_cell)

    def uninstall(self):
        self.shell.set_custom_exc((), None)
        try:
            self.shell.events.unregister("pre_run_cell", self._pre_run_cell)
        except ValueError:
            pass

    def handler(self, shell, etype, evalue, tb, tb_offset=None):
        shell.showtraceback((etype, evalue, tb), tb_offset=tb_offset)
        name, inputs, _where = failing_op(evalue)
        if name is not None and inputs and self._running:
            self.source = self._running
            print(f"labkit: run %lk_why to see the graph up to the failing op ({name}); it runs "
                  f"this cell's code again with recording on.")
        return None

    def why(self):
        """The ``%lk_why`` magic: re-run the failed cell under recording, show the view."""
        from .graphview import graph
        if not self.source:
            print("labkit: no cell has failed inside a labkit op since %load_ext labkit")
            return None
        code = compile(self.source, "<lk_why>", "exec")
        ns = self.shell.user_ns
        try:
            graph(lambda: exec(code, ns), title="why it failed")
        except Exception as e:          # the expected failure: graph() displayed the view
            print(f"labkit: {type(e).__name__}: {e}")
            return None
        print("labkit: the cell ran without error this time")
        return None
