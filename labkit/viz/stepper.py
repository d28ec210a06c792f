"""``step(fn, params=model)``: replay one forward and backward pass op by op.

    w = step(lambda: ((a * b + c).tanh() - y) ** 2)        # micrograd-style scalars
    w = step(lambda: loss_fn(model(x), target), params=model)

``fn()`` runs inside :func:`labkit.graph.record`, its result (a scalar loss) is back-propagated,
and the widget replays the tape: the **forward** phase highlights each op as it computes and
shows its inputs and output (all values for tensors of up to 64 elements); the **backward** phase
shows the gradient arriving at each node, the local derivative rule in words and the gradient it
sends to each input (on the edges, too, for scalars).  Prev / Next / Play and a slider; the
arrow keys step when the widget has focus.

The whole tape is in the widget state, so stepping happens in the browser alone: it works while
the kernel is busy and in a saved notebook.  A static SVG plus the list of steps is the
fallback where widgets cannot render.
"""
from __future__ import annotations

import html

import traitlets

from .. import graph as _graph
from ..tensor import Tensor
from ._graphdata import tape_graph
from . import graphview as _gv
from ._base import STATIC, Widget

__all__ = ["step", "Stepper", "tape_graph"]


class Stepper(Widget):
    """Op-by-op replay of a recorded forward and backward pass.  Build it with :func:`step`."""

    _esm = STATIC / "stepper.js"
    _css = STATIC / "graph.css"
    data = traitlets.Dict().tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)          # where the replay starts
    title = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(460).tag(sync=True)
    interval_ms = traitlets.Int(700).tag(sync=True)

    @traitlets.validate("step")
    def _check_step(self, proposal):
        v = proposal["value"]
        n = len(self.data.get("steps", []))
        if n and not 0 <= v < n:
            raise traitlets.TraitError(f"step must be in [0, {n - 1}], got {v}")
        return v

    @property
    def steps(self):
        return self.data.get("steps", [])

    @property
    def tape(self):
        return self.data.get("tape", {})

    def describe(self, i):
        """One line of text for step ``i`` (what the widget's header says)."""
        s = self.steps[i]
        tape = self.tape
        if s["phase"] == "forward":
            f = tape["forward"][s["entry"]]
            out = tape["tensors"].get(f["outputs"][0]) if f["outputs"] else None
            val = _short(out.get("value")) if out else ""
            return f"forward {i + 1}: {f['op']} -> {val}"
        b = tape["backward"][s["entry"]]
        g = _short(b["grad_outputs"][0]) if b["grad_outputs"] else ""
        return f"backward {i + 1}: {b['label']} receives grad {g}"

    def to_svg(self):
        return _gv.graph_svg(self.data)

    def _static_bundle(self):
        items = "".join(f"<li>{html.escape(self.describe(i))}</li>"
                        for i in range(min(len(self.steps), 200)))
        return {"text/html":
                f'<div class="labkit-stepper-static"><div style="font:12px sans-serif">'
                f'{html.escape(self.title or "labkit stepper")}: '
                f'{len(self.steps)} steps (static picture; run the cell to step '
                f'through)</div><div style="overflow:auto;max-height:{self.height}px">'
                f'{self.to_svg()}</div><ol style="font:11px monospace">{items}</ol></div>'}

    def __repr__(self):
        return f"<labkit Stepper: {len(self.steps)} steps>"


def _short(st):
    if not st:
        return ""
    if "values" in st and st["numel"] == 1:
        v = st["values"][0]
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    if "values" in st:
        return "[" + ", ".join(f"{v:.3g}" if isinstance(v, float) else str(v)
                               for v in st["values"][:6]) + (", ...]" if st["numel"] > 6 else "]")
    return f"shape {st['shape']} mean {st.get('mean', 0):.4g}"


def step(fn, params=None, *, backward=True, title="", height=460, interval_ms=700):
    """Record ``fn()`` (which returns a scalar loss), back-propagate it, and replay the pass.

    Args:
        fn: a function of no arguments returning the loss tensor (a Tape also works).
        params: a Module or dict naming the parameters.
        backward: call ``loss.backward()`` inside the recording (default True).
    """
    if isinstance(fn, (_graph.Tape, dict)):
        tape = fn.to_dict() if hasattr(fn, "to_dict") else fn
    else:
        with _graph.record(params=params) as rec:
            loss = fn()
            if not isinstance(loss, Tensor):
                raise TypeError(f"step(fn): fn() must return the loss tensor, got "
                                f"{type(loss).__name__}")
            if backward:
                if loss.numel() != 1:
                    raise ValueError(f"step(fn): fn() must return a scalar loss (got shape "
                                     f"{tuple(loss.shape)}); reduce it, e.g. .sum() or .mean()")
                if not loss.requires_grad:
                    raise ValueError("step(fn): the loss does not require grad; give some input "
                                     "requires_grad=True or pass params with parameters")
                loss.backward()
        tape = rec.to_dict()
    nodes, edges, steps = tape_graph(tape)
    vnodes, vedges, lay = _gv.compute_layout(nodes, edges)
    data = {"version": 1, "nodes": nodes, "edges": edges, "steps": steps, "tape": tape,
            "layout": _gv.pack_layout(lay)}
    return Stepper(data=data, title=title, height=height, interval_ms=interval_ms)
