"""``graph(loss, params=model)``: the backward graph as a notebook widget.

    g = graph(loss, params=model)             # after or before loss.backward()
    g = graph(lambda: loss_fn(model(x), y), params=model)   # runs forward + backward, recorded:
                                              # every op node then has value and gradient stats
    g.to_svg()                                # the same picture as a standalone SVG string

The widget (an anywidget; JavaScript in ``labkit/static/graph.js``, built from
``extensions/src/``) draws the graph on a canvas: op names (the node class, ``MulBackward0``)
and shapes, leaves named after the model's parameters; pan (drag), zoom (wheel), click a node for
its value and gradient statistics, histograms and the source line that created it; nodes
coloured by gradient norm (log scale); collapse/expand by module; hide leaves or inputs that need
no gradient; export SVG/PNG; a depth control opens module blocks level by level.  The layout has
one home, here in Python (``labkit.viz.layout``): the widget state carries the layout of each
standard view (every depth of the depth control, with leaves shown and hidden), so those work in
the browser alone, while the kernel is busy and in a saved notebook; a view made by hand (one
module collapsed) is asked of the kernel, laid out here and cached in the browser.

Where widgets cannot render (GitHub, nbconvert HTML) the output falls back to an inline SVG.

**Which module does an op belong to?**  With ``graph(fn, params=model)`` forward hooks on every
module record where each op ran, and that is the answer.  Otherwise ``trace`` only names the
parameters.  Each parameter
``"encoder.0.weight"`` belongs to module ``"encoder.0"``.  An op belongs to the module of the
parameters it consumes *directly*, or through views of parameters (``W.t()``, a reshape);
with parameters of several modules it gets their common prefix.  An op fed by activations only
(a ReLU, a residual add) gets the common prefix of the nearest modules above it and below it, so
the ReLU between ``encoder.0`` and ``encoder.2`` belongs to ``encoder``, while the ReLU between
top-level layers ``0`` and ``2`` and the loss belong to no module.
"""
from __future__ import annotations

import html
import math
import pathlib

import traitlets

from .. import graph as _graph
from ..tensor import Tensor
from . import layout as _layout
from ._base import STATIC, Widget, ipython as _ipython
from ._graphdata import failure_graph, run_recorded, shape_text

__all__ = ["graph", "GraphView", "prepare", "visible_graph", "assign_modules", "module_tree",
           "graph_svg"]



# ------------------------------------------------------------------------------------ modules
def _common(a, b):
    """Common dotted prefix of two module paths (None means 'unknown' and is neutral)."""
    if a is None:
        return b
    if b is None:
        return a
    pa, pb = a.split("."), b.split(".")
    out = []
    for x, y in zip(pa, pb):
        if x != y:
            break
        out.append(x)
    return ".".join(out)


_VIEW_OPS = {"Permute", "Reshape", "Expand", "Repeat", "To", "Clone", "Flip", "Index", "Tri"}


def assign_modules(nodes, edges):
    """``{node id: module path or ""}`` by the heuristic in the module docstring."""
    ins = {n["id"]: [] for n in nodes}
    outs = {n["id"]: [] for n in nodes}
    for e in edges:
        if e["source"] in ins and e["target"] in ins:
            ins[e["target"]].append(e["source"])
            outs[e["source"]].append(e["target"])
    order = [n["id"] for n in nodes]              # trace order = creation order = topological
    kind = {n["id"]: n["kind"] for n in nodes}
    mod = {}
    derived = {}                                    # computed from parameters only
    for n in nodes:
        i = n["id"]
        if n["kind"] == "param":
            name = n["label"]
            mod[i] = name.rsplit(".", 1)[0] if "." in name else ""
            derived[i] = True
        elif n["kind"] in ("leaf", "input"):
            mod[i] = None
            derived[i] = False
        else:
            srcs = [s for s in ins[i] if derived.get(s)]
            # computed from parameters only: a view of one (W.t()), or an op of several.  (An
            # op with one graph input may have had others that need no gradient, like x in
            # x @ W.t(), which the backward graph does not show.)
            derived[i] = bool(ins[i]) and len(srcs) == len(ins[i]) and (
                len(ins[i]) > 1 or n.get("op") in _VIEW_OPS)
            m = None
            for s in srcs:
                m = _common(m, mod[s])
            mod[i] = m                              # None: fed by activations only
    # activations-only ops: common prefix of the nearest modules above and below
    up, down = {}, {}
    for i in order:
        if mod[i] is not None:
            up[i] = mod[i]
        else:
            m = None
            for s in ins[i]:
                m = _common(m, up.get(s))
            up[i] = m
    for i in reversed(order):
        if mod[i] is not None:
            down[i] = mod[i]
        else:
            m = None
            for t in outs[i]:
                m = _common(m, down.get(t))
            down[i] = m
    res = {}
    for i in order:
        m = mod[i]
        if m is None and kind[i] == "op" and up.get(i) is not None and down.get(i) is not None:
            m = _common(up[i], down[i])
        res[i] = m or ""
    return res


def module_tree(modules):
    """Every module path and its prefixes, with member counts: ``[{"path", "depth", "count"}]``."""
    counts = {}
    for m in modules.values():
        if not m:
            continue
        parts = m.split(".")
        for k in range(1, len(parts) + 1):
            p = ".".join(parts[:k])
            counts[p] = counts.get(p, 0) + 1

    def key(p):
        return [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in p.split(".")]
    return [{"path": p, "depth": p.count("."), "count": counts[p]} for p in sorted(counts, key=key)]


# ------------------------------------------------------------------------------ visible graph
def node_sub(n):
    """The second line of a node's box: its shape, or a failed op's input shapes."""
    if n.get("error"):
        return "in " + ", ".join(n.get("input_shapes") or []) if n.get("input_shapes") else "error"
    return shape_text(n.get("shape"))


def _signature(group, by_id):
    """What a collapsed block computes, independent of its index: the ops and shapes of its
    members, parameter names relative to the block."""
    path = group["label"] + "."
    return tuple(sorted((by_id[m]["kind"], by_id[m]["label"].replace(path, "", 1),
                         shape_text(by_id[m].get("shape"))) for m in group["members"]))


def _merge_repeats(groups, vnodes, by_id, rep, edges):
    """Runs of collapsed sibling blocks ``P.k, P.k+1, ...`` that compute the same thing and form
    a chain (block k feeds block k+1 and nothing else) become one node ``"g:P.a..b"`` labelled
    with the count, so 24 identical layers are drawn once."""
    ins, outs = {}, {}
    for e in edges:
        a, b = rep.get(e["source"]), rep.get(e["target"])
        if a is not None and b is not None and a != b:
            outs.setdefault(a, set()).add(b)
            ins.setdefault(b, set()).add(a)
    runs, prev = [], None
    for g in groups.values():
        parent, _, idx = g["label"].rpartition(".")
        key = (parent, _signature(g, by_id)) if idx.isdigit() else None
        if key is not None and prev is not None and prev[0] == key and \
                int(idx) == prev[1] + 1 and outs.get(prev[2]) == {g["id"]} and \
                ins.get(g["id"]) == {prev[2]}:
            runs[-1].append(g)
        else:
            runs.append([g])
        prev = (key, int(idx), g["id"]) if key is not None else None
    merged = {}
    for run in runs:
        if len(run) < 2:
            continue
        first, last = run[0]["label"], run[-1]["label"].rpartition(".")[2]
        gid = f"g:{first}..{last}"
        merged.update({g["id"]: gid for g in run})
        m = {"id": gid, "label": f"{first}..{last} x{len(run)}", "sub": "",
             "w": 0.0, "members": [x for g in run for x in g["members"]],
             "paths": [g["label"] for g in run], "repeat": len(run)}
        m["sub"] = f"{len(run)} same blocks, {len(run[0]['members'])} nodes each"
        m["w"] = _layout.node_width(m["label"] + " [+]", m["sub"])
        at = vnodes.index(run[0])
        vnodes[at] = m
        for g in run[1:]:
            vnodes.remove(g)
    return merged


def visible_graph(nodes, edges, collapsed=(), hide_leaves=False, hide_nograd=False,
                  merge_repeats=True):
    """The graph as drawn: collapsed modules become one node ``"g:<path>"``; runs of identical
    collapsed sibling blocks become one node with a count (``merge_repeats``); hidden nodes and
    their edges go.

    Returns ``(vnodes, vedges)``: ``vnodes`` = ``[{"id", "label", "sub", "w", "members",
    "paths"}]`` in a stable order (a group sits where its first member was; ``paths``: the
    module paths it stands for), ``vedges`` = ``[(source, target)]``.
    """
    collapsed = sorted(set(collapsed), key=lambda p: (p.count("."), p))

    def group_of(m):
        if not m:
            return None
        for p in collapsed:
            if m == p or m.startswith(p + "."):
                return p
        return None

    rep = {}
    vnodes = []
    groups = {}
    for n in nodes:
        if hide_leaves and n["kind"] in ("leaf", "param"):
            continue
        if hide_nograd and not n.get("requires_grad", True):
            continue
        g = group_of(n.get("module", ""))
        if g is None:
            rep[n["id"]] = n["id"]
            vnodes.append({"id": n["id"], "label": n["label"], "sub": node_sub(n),
                           "w": n["w"], "members": None})
        else:
            gid = "g:" + g
            rep[n["id"]] = gid
            if gid not in groups:
                groups[gid] = {"id": gid, "label": g, "sub": "", "w": 0.0, "members": [],
                               "paths": [g]}
                vnodes.append(groups[gid])
            groups[gid]["members"].append(n["id"])
    for g in groups.values():
        g["sub"] = f"{len(g['members'])} nodes"
        g["w"] = _layout.node_width(g["label"] + " [+]", g["sub"])
    if merge_repeats and len(groups) > 1:
        merged = _merge_repeats(groups, vnodes, {n["id"]: n for n in nodes}, rep, edges)
        rep = {k: merged.get(v, v) for k, v in rep.items()}
    vedges = []
    seen = set()
    for e in edges:
        a, b = rep.get(e["source"]), rep.get(e["target"])
        if a is None or b is None or a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        vedges.append((a, b))
    return vnodes, vedges


def compute_layout(nodes, edges, collapsed=(), hide_leaves=False, hide_nograd=False):
    vnodes, vedges = visible_graph(nodes, edges, collapsed, hide_leaves, hide_nograd)
    lay = _layout.layout([v["id"] for v in vnodes], vedges, {v["id"]: v["w"] for v in vnodes})
    return vnodes, vedges, lay


def pack_layout(lay, ndigits=2):
    """The layout in the compact form the widget reads: ``{"nodes": {id: [x, y, w, h, layer]},
    "edges": [[source, target, x0, y0, x1, y1, ...]], "width", "height", "crossings"}``."""
    r = lambda v: round(v, ndigits)  # noqa: E731
    return {"nodes": {k: [r(d["x"]), r(d["y"]), r(d["w"]), r(d["h"]), d["layer"]]
                      for k, d in lay["nodes"].items()},
            "edges": [[e["source"], e["target"]] + [r(c) for p in e["points"] for c in p]
                      for e in lay["edges"]],
            "width": r(lay["width"]), "height": r(lay["height"]), "crossings": lay["crossings"]}


# ------------------------------------------------------------------------------------ prepare
def _enrich_from_tape(tr, tape):
    """Fill value/grad stats of op nodes from a recorded tape; add the tensors that fed the
    graph but need no gradient (the data, the targets) as ``input`` nodes."""
    d = tape.to_dict() if hasattr(tape, "to_dict") else tape
    tensors = d["tensors"]
    by_id = {n["id"]: n for n in tr["nodes"]}
    added = {}
    for f in d["forward"]:
        n = by_id.get(f.get("node"))
        if n is None:
            continue
        if f["outputs"]:
            t = tensors.get(f["outputs"][0])
            if t is not None:
                if n.get("value") is None:
                    n["value"] = t.get("value")
                if n.get("grad") is None:
                    n["grad"] = t.get("grad")
        for idx, tid in enumerate(f["inputs"]):
            if not isinstance(tid, str):
                continue
            t = tensors.get(tid)
            if t is None or t["requires_grad"]:
                continue
            nid = "i:" + tid
            if nid not in added:
                node = {"id": nid, "kind": "input", "label": t.get("name") or "input",
                        "op": None, "shape": t["shape"], "dtype": t["dtype"],
                        "requires_grad": False, "source": None,
                        "rule": "needs no gradient: a constant to the backward pass",
                        "value": t.get("value"), "grad": None}
                added[nid] = node
            tr["edges"].append({"source": nid, "target": n["id"], "index": idx})
    if added:
        # inputs first, so that the node order stays topological
        tr["nodes"] = list(added.values()) + tr["nodes"]
    return tr


def view_key(collapsed=(), hide_leaves=False, hide_nograd=False):
    """The key of a view in ``data["views"]`` (same as ``viewKey`` in extensions/src/graph.js)."""
    return (("L" if hide_leaves else "-") + ("N" if hide_nograd else "-") + "|"
            + ",".join(sorted(set(collapsed))))


def view_layout(nodes, edges, collapsed=(), hide_leaves=False, hide_nograd=False):
    """One view as the widget draws it: the visible nodes and their packed layout."""
    vnodes, _vedges, lay = compute_layout(nodes, edges, collapsed, hide_leaves, hide_nograd)
    return {"vnodes": [{k: v.get(k) for k in ("id", "label", "sub", "members", "paths")}
                       for v in vnodes],
            "layout": pack_layout(lay)}


# Views shipped in the widget state (so they work without a kernel): every depth of the module
# depth control, each with leaves shown and hidden while the graph is small.
SMALL_GRAPH = 600


def standard_views(tree, n_nodes, collapsed=(), hide_leaves=False, hide_nograd=False):
    depths = sorted({m["depth"] for m in tree})
    sets = [tuple(sorted(set(collapsed))), ()]
    sets += [tuple(sorted(m["path"] for m in tree if m["depth"] == d)) for d in depths]
    leaves = [hide_leaves, not hide_leaves] if n_nodes <= SMALL_GRAPH else [hide_leaves]
    out = []
    for c in dict.fromkeys(sets):
        for hl in leaves:
            out.append((c, hl, hide_nograd))
    return out


def prepare(tr, collapsed=(), hide_leaves=False, hide_nograd=False):
    """A trace dict -> the widget's ``data``: nodes with ``module`` and box width ``w``, edges,
    the module tree, and the Python layouts of the initial view and the standard views
    (``views``, by :func:`view_key`; ``layout`` is the initial one)."""
    nodes = [dict(n) for n in tr["nodes"]]
    edges = [dict(e) for e in tr["edges"]]
    mods = assign_modules(nodes, edges)
    for n in nodes:
        if n.get("module"):                   # known from module hooks (a failed forward)
            mods[n["id"]] = n["module"]
        n["module"] = mods[n["id"]]
        n["w"] = _layout.node_width(n["label"], node_sub(n))
    tree = module_tree(mods)
    views = {}
    for c, hl, hn in standard_views(tree, len(nodes), collapsed, hide_leaves, hide_nograd):
        views[view_key(c, hl, hn)] = view_layout(nodes, edges, c, hl, hn)
    initial = view_key(collapsed, hide_leaves, hide_nograd)
    return {"version": 1, "nodes": nodes, "edges": edges, "roots": list(tr.get("roots", [])),
            "modules": tree,
            "view": {"collapsed": sorted(set(collapsed)), "hide_leaves": bool(hide_leaves),
                     "hide_nograd": bool(hide_nograd)},
            "layout": views[initial]["layout"], "views": views}


# ------------------------------------------------------------------------------ static picture
_KIND_FILL = {"param": "#dbeafe", "leaf": "#e5e7eb", "input": "#f3f4f6", "op": "#ffffff",
              "group": "#fef3c7"}


def grad_norms(nodes):
    return {n["id"]: n["grad"]["norm"] for n in nodes
            if n.get("grad") and isinstance(n["grad"].get("norm"), (int, float))}


def grad_color(norm, lo, hi):
    """Log-scale colour for a gradient norm (same stops as ``gradColor`` in render.js)."""
    if norm is None:
        return None
    if norm == 0:
        return "#cbd5e1"
    if not math.isfinite(norm):
        return "#dc2626"
    if hi <= lo:
        t = 0.5
    else:
        t = (math.log10(norm) - lo) / (hi - lo)
    t = min(1.0, max(0.0, t))
    stops = [(0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)),
             (0.75, (94, 201, 98)), (1.0, (253, 231, 37))]
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            c = [round(a + (b - a) * f) for a, b in zip(c0, c1)]
            return "#%02x%02x%02x" % tuple(c)
    return "#fde725"


# gradcheck colours (same as CHECK_FILL in render.js): rule agrees / one-sided at a kink / wrong
CHECK_FILL = {"ok": "#86efac", "kink": "#fcd34d", "fail": "#dc2626", "skipped": "#e5e7eb"}
ERROR_FILL = "#dc2626"                  # an op that raised (same as ERROR_FILL in render.js)


def node_fill(n, color_by, norms, lo, hi):
    """A node's fill colour under ``color_by`` (None: its kind's colour); a failed op is red."""
    if n.get("error"):
        return ERROR_FILL
    if color_by == "check":
        c = n.get("check")
        return CHECK_FILL.get(c["status"]) if c else None
    if color_by == "grad":
        return grad_color(norms.get(n["id"]), lo, hi)
    return None


def graph_svg(data, max_labels=5000, color_by="grad"):
    """The initial view of ``data`` (from :func:`prepare`) as a standalone SVG string."""
    lay = data["layout"]
    by_id = {n["id"]: n for n in data["nodes"]}
    norms = grad_norms(data["nodes"])
    logs = [math.log10(v) for v in norms.values() if v and math.isfinite(v) and v > 0]
    lo, hi = (min(logs), max(logs)) if logs else (0.0, 0.0)
    W, H = lay["width"], lay["height"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="labkit-graph-svg" width="{W:.0f}" '
           f'height="{H:.0f}" viewBox="0 0 {W:.0f} {H:.0f}" font-family="monospace" '
           f'font-size="11">',
           '<defs><marker id="lkarrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
           'markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#888"/></marker></defs>',
           f'<rect width="{W:.0f}" height="{H:.0f}" fill="#ffffff"/>']
    for e in lay["edges"]:
        pts = e[2:]
        d = " ".join(f"{pts[i]:.1f},{pts[i + 1]:.1f}" for i in range(0, len(pts), 2))
        out.append(f'<polyline points="{d}" fill="none" stroke="#999" stroke-width="1" '
                   f'marker-end="url(#lkarrow)"/>')
    labels = len(lay["nodes"]) <= max_labels
    for nid, (x, y, w, h, _layer) in lay["nodes"].items():
        n = by_id.get(nid)
        if n is None:                         # a collapsed module
            kind, label, sub, g = "group", nid[2:], "module", None
        else:
            kind, label, sub = n["kind"], n["label"], node_sub(n)
            g = node_fill(n, color_by, norms, lo, hi)
        fill = g or _KIND_FILL.get(kind, "#fff")
        stroke = "#2563eb" if kind == "param" else "#555"
        out.append(f'<g><title>{html.escape(label)} {html.escape(sub)}</title>'
                   f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" '
                   f'height="{h:.1f}" rx="4" fill="{fill}" stroke="{stroke}"/>')
        if labels:
            tc = "#fff" if g and g not in ("#cbd5e1",) and _dark(g) else "#111"
            out.append(f'<text x="{x:.1f}" y="{y - 2:.1f}" text-anchor="middle" fill="{tc}">'
                       f'{html.escape(label)}</text><text x="{x:.1f}" y="{y + 10:.1f}" '
                       f'text-anchor="middle" fill="{tc}" font-size="9">{html.escape(sub)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _dark(hexcol):
    r, g, b = (int(hexcol[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


# ------------------------------------------------------------------------------------ widget
class GraphView(Widget):
    """The backward-graph widget.  Build it with :func:`graph`."""

    _esm = STATIC / "graph.js"
    _css = STATIC / "graph.css"
    data = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(520).tag(sync=True)
    color_by = traitlets.Unicode("grad").tag(sync=True)

    @traitlets.validate("color_by")
    def _check_color(self, proposal):
        v = proposal["value"]
        if v not in ("grad", "kind", "check"):
            raise traitlets.TraitError(f"color_by must be 'grad', 'kind' or 'check', not {v!r}")
        if v == "check" and not any("check" in n for n in self.nodes):
            raise traitlets.TraitError("color_by='check' needs gradcheck results: build the view "
                                       "with labkit.viz.graph(..., gradcheck=True)")
        return v

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.layout_requests = 0
        self.on_msg(self._on_layout_request)

    def _on_layout_request(self, _widget, content, _buffers):
        """The browser asks for a view that is not in ``data["views"]`` (a module collapsed by
        hand): lay it out here, the one home of the layout, and send it back."""
        if not isinstance(content, dict) or content.get("type") != "layout":
            return
        v = content.get("view") or {}
        collapsed = [str(c) for c in v.get("collapsed", [])]
        hl, hn = bool(v.get("hide_leaves")), bool(v.get("hide_nograd"))
        self.layout_requests += 1
        self.send({"type": "layout", "key": view_key(collapsed, hl, hn),
                   "view": view_layout(self.nodes, self.edges, collapsed, hl, hn)})

    @property
    def nodes(self):
        return self.data.get("nodes", [])

    @property
    def edges(self):
        return self.data.get("edges", [])

    def to_svg(self):
        """The initial view as a standalone SVG string (for slides, or where widgets can't)."""
        return graph_svg(self.data, color_by=self.color_by)

    def save_svg(self, path):
        pathlib.Path(path).write_text(self.to_svg())
        return path

    def _static_bundle(self):
        n = len(self.nodes)
        head = (f'<div class="labkit-graph-static"><div style="font:12px sans-serif">'
                f'{html.escape(self.title or "labkit graph")}: {n} nodes (static picture; '
                f'run the cell for the interactive view)</div>'
                f'<div style="overflow:auto;max-height:{self.height}px">')
        return {"text/html": head + self.to_svg() + "</div></div>"}

    def __repr__(self):
        return f"<labkit GraphView: {len(self.nodes)} nodes, {len(self.edges)} edges>"


# Graphs with more nodes than this start with their top-level modules collapsed
# (``collapse=None``, the default); the depth control opens them.
AUTO_COLLAPSE = 300


def graph(tensor_or_trace, params=None, *, tape=None, collapse=None, hide_leaves=False,
          hide_nograd=False, color_by=None, gradcheck=False, title="", height=520):
    """Show the backward graph behind a tensor as an interactive widget.

    Args:
        tensor_or_trace: a Tensor (or list of tensors) with a graph; a dict from
            :func:`labkit.graph.trace`; or a function of no arguments returning a scalar loss,
            which is run inside :func:`labkit.graph.record` and back-propagated, so that every
            op node shows its value and gradient.
        params: a Module (``named_parameters()``) or dict naming the leaves.
        tape: a :class:`labkit.graph.Tape` recorded while the tensor was computed: op nodes get
            value/gradient statistics, and inputs that need no gradient are shown.
        collapse: module paths to show collapsed at first (``True``: every top-level module;
            ``None``, the default: every top-level module when the graph has more than
            ``AUTO_COLLAPSE`` nodes; ``()`` or False: none).

    When ``fn()`` raises (a shape mismatch in the forward pass), the view shows the graph of
    the ops that ran, the failing op in red with its input shapes and the error message; in a
    notebook it is displayed, and the original exception is re-raised with the view attached
    as ``err.graph``.
        hide_leaves / hide_nograd: start with leaves / no-gradient inputs hidden.
        color_by: ``"grad"`` (log gradient norm, the default), ``"kind"``, or ``"check"``
            (the gradcheck result; the default with ``gradcheck=True``).
        gradcheck: check every op's backward rule against finite differences
            (:func:`labkit.graph.check_ops`, float64, op by op) and colour the nodes: green
            agrees, amber at a non-differentiable point (ReLU at 0, tied maxima), red wrong.
            Needs the recorded ops: pass a function, or ``tape=``.
    """
    if callable(tensor_or_trace) and not isinstance(tensor_or_trace, (Tensor, dict)):
        rec, loss, exc, failure = run_recorded(tensor_or_trace, params)
        if exc is not None:
            tr = failure_graph(rec, failure, exc)
            if collapse is True or (collapse is None and len(tr["nodes"]) > AUTO_COLLAPSE):
                top = (failure["module"] or "").split(".")[0]   # keep the failing op's open
                mods = {n.get("module") or "" for n in tr["nodes"]}
                collapse = sorted({m.split(".")[0] for m in mods if m} - {top})
            elif collapse is None or collapse is False:
                collapse = ()
            data = prepare(tr, collapsed=collapse, hide_leaves=hide_leaves,
                           hide_nograd=hide_nograd)
            view = GraphView(data=data, title=title or f"failed: {failure['op']}",
                             height=height, color_by="kind")
            if _ipython() is not None:
                view.display()
            try:
                exc.graph = view
            except AttributeError:      # pragma: no cover - exceptions with __slots__
                pass
            raise exc
        tr = _graph.trace(loss, params=params)
        ran_in = {f["node"]: f["module"] for f in rec.forward if f.get("node") and f.get("module")}
        for n in tr["nodes"]:            # module hooks saw where each op ran: use that
            if n["id"] in ran_in:
                n["module"] = ran_in[n["id"]]
        tape = rec
    elif isinstance(tensor_or_trace, dict):
        tr = tensor_or_trace
    else:
        tr = _graph.trace(tensor_or_trace, params=params)
    if tape is not None:
        tr = _enrich_from_tape({"nodes": [dict(n) for n in tr["nodes"]],
                                "edges": list(tr["edges"]), "roots": tr.get("roots", [])}, tape)
    if gradcheck:
        if not hasattr(tape, "calls"):
            raise ValueError("graph(gradcheck=True) re-runs the recorded ops: pass a function "
                             "returning the loss, e.g. graph(lambda: loss_fn(model(x), y), "
                             "gradcheck=True), or the tape of `with labkit.graph.record() as "
                             "tape:` as tape=tape")
        checks = _graph.check_ops(tape)
        for n in tr["nodes"]:
            if n["id"] in checks:
                n["check"] = checks[n["id"]]
    if color_by is None:
        color_by = "check" if gradcheck else "grad"
    if collapse is True or (collapse is None and len(tr["nodes"]) > AUTO_COLLAPSE):
        mods = assign_modules(tr["nodes"], tr["edges"])
        collapse = sorted({m.split(".")[0] for m in mods.values() if m})
    elif collapse is None or collapse is False:
        collapse = ()
    data = prepare(tr, collapsed=collapse, hide_leaves=hide_leaves, hide_nograd=hide_nograd)
    return GraphView(data=data, title=title, height=height, color_by=color_by)
