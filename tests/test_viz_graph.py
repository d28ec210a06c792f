"""Graph view without a kernel: layout properties, trace -> widget state, modules, static SVG."""
import hashlib
import itertools
import json
import pathlib
import random
import re
import time

import pytest

import labkit as lk
import torch
from labkit.viz import layout as L
from labkit.viz.graphview import (GraphView, assign_modules, graph, module_tree, prepare,
                                  view_key, visible_graph)

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ helpers
def random_dag(n, seed, max_in=3, reach=30):
    rng = random.Random(seed)
    ids = [f"v{i}" for i in range(n)]
    edges = []
    for j in range(1, n):
        for _ in range(rng.randint(0 if j < 3 else 1, max_in)):
            i = rng.randint(max(0, j - reach), j - 1)
            edges.append((ids[i], ids[j]))
    return ids, edges


def check_layout(ids, edges, lay, gap=L.NODE_GAP):
    nodes = lay["nodes"]
    assert set(nodes) == set(ids)
    for s, t in set(edges):
        if s != t:
            assert nodes[t]["layer"] >= nodes[s]["layer"] + 1, (s, t)      # edges go down
            assert nodes[t]["y"] > nodes[s]["y"]
    by_layer = {}
    for v, d in nodes.items():
        by_layer.setdefault(d["layer"], []).append(d)
    for layer, ds in by_layer.items():
        ds.sort(key=lambda d: d["x"])
        orders = [d["order"] for d in ds]                                  # x follows order
        assert orders == sorted(orders) and len(set(orders)) == len(orders)
        for a, b in zip(ds, ds[1:]):                                       # no overlaps
            assert b["x"] - b["w"] / 2 >= a["x"] + a["w"] / 2 + gap - 1e-6, (layer, a, b)
    for d in nodes.values():
        assert d["x"] - d["w"] / 2 >= -1e-6 and d["x"] + d["w"] / 2 <= lay["width"] + 1e-6
    for e in lay["edges"]:
        ys = [p[1] for p in e["points"]]
        assert ys == sorted(ys) and len(ys) == nodes[e["target"]]["layer"] - nodes[e["source"]]["layer"] + 1


def brute_crossings(order, succ):
    pos = {v: i for layer in order for i, v in enumerate(layer)}
    total = 0
    for k in range(len(order) - 1):
        lower = set(order[k + 1])
        es = [(pos[u], pos[v]) for u in order[k] for v in succ.get(u, []) if v in lower]
        total += sum(1 for (a, b), (c, d) in itertools.combinations(es, 2) if (a - c) * (b - d) < 0)
    return total


def mlp_loss(blocks=2, width=4):
    """A small residual MLP built from primitive ops, with module-style parameter names."""
    params = {}
    x = lk.randn(3, width)
    h = x
    for i in range(blocks):
        W = lk.randn(width, width, requires_grad=True)
        b = lk.zeros(width, requires_grad=True)
        params[f"blocks.{i}.lin.weight"] = W
        params[f"blocks.{i}.lin.bias"] = b
        h = h + (h @ W.t() + b).relu() * 0.1
    head = lk.randn(1, width, requires_grad=True)
    params["head.weight"] = head
    return (h @ head.t()).pow(2).mean(), params


# ------------------------------------------------------------------------------------ layout
@pytest.mark.parametrize("n,seed", [(5, 0), (40, 1), (120, 2), (300, 3)])
def test_layout_properties_on_random_dags(n, seed):
    ids, edges = random_dag(n, seed)
    widths = {v: 40 + (i * 37) % 90 for i, v in enumerate(ids)}
    lay = L.layout(ids, edges, widths)
    check_layout(ids, edges, lay)
    assert lay["layers"] == 1 + max(d["layer"] for d in lay["nodes"].values())
    # the reported crossing count is exact (brute force over the final ordering)
    order = [[] for _ in range(lay["layers"])]
    for v in sorted(lay["nodes"], key=lambda v: lay["nodes"][v]["order"]):
        order[lay["nodes"][v]["layer"]].append(v)
    if lay["dummies"] == 0:
        succ = {}
        for s, t in edges:
            succ.setdefault(s, []).append(t)
        assert L.count_crossings(order, succ) == lay["crossings"] == brute_crossings(order, succ)


def test_layout_is_deterministic():
    ids, edges = random_dag(200, 7)
    a = L.layout(ids, edges)
    b = L.layout(list(ids), list(edges))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_count_crossings_matches_brute_force():
    rng = random.Random(3)
    for _ in range(30):
        order = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(7)]]
        rng.shuffle(order[1])
        succ = {u: rng.sample(order[1], rng.randint(0, 3)) for u in order[0]}
        assert L.count_crossings(order, succ) == brute_crossings(order, succ)


def test_barycenter_removes_avoidable_crossings():
    # a -> d, b -> c drawn in the order a, b / c, d would cross once; the sweeps fix it
    ids = ["c", "d", "a", "b"]
    edges = [("a", "d"), ("b", "c")]
    lay = L.layout(ids, edges)
    check_layout(ids, edges, lay)
    assert lay["crossings"] == 0


def test_parameters_sit_right_above_their_op_and_chain_stays_straight():
    loss, params = mlp_loss(blocks=6)
    tr = lk.graph.trace(loss, params=params)
    data = prepare(tr)
    nodes = data["layout"]["nodes"]
    by_label = {n["label"]: n["id"] for n in data["nodes"]}
    cons = {}
    for e in tr["edges"]:
        cons.setdefault(e["source"], []).append(e["target"])
    for name in params:
        pid = by_label[name]
        assert min(nodes[c][4] for c in cons[pid]) == nodes[pid][4] + 1, name
    # a residual stack stays narrow: width does not grow with depth
    loss2, params2 = mlp_loss(blocks=24)
    w6, w24 = data["layout"]["width"], prepare(lk.graph.trace(loss2, params=params2))["layout"]["width"]
    assert w24 < 1.5 * w6, (w6, w24)


def test_layout_tolerates_cycles_and_junk_edges():
    ids = ["a", "b", "c"]
    lay = L.layout(ids, [("a", "b"), ("b", "c"), ("c", "a"), ("a", "a"), ("a", "zz"), ("a", "b")])
    assert set(lay["nodes"]) == set(ids) and len(lay["edges"]) == 2


def test_layout_2000_nodes_time():
    loss, params = mlp_loss(blocks=250, width=2)            # ~2,000 nodes in the graph
    tr = lk.graph.trace(loss, params=params)
    n = len(tr["nodes"])
    assert 1900 <= n <= 2400, n
    t0 = time.perf_counter()
    data = prepare(tr)
    dt = time.perf_counter() - t0
    ids = [x["id"] for x in data["nodes"]]
    lay = L.layout(ids, [(e["source"], e["target"]) for e in tr["edges"]],
                   {x["id"]: x["w"] for x in data["nodes"]})
    check_layout(ids, [(e["source"], e["target"]) for e in tr["edges"]], lay)
    print(f"\n[timing] prepare (modules + layout) of {n} nodes / {len(tr['edges'])} edges: "
          f"{dt * 1000:.0f} ms; {lay['layers']} layers, {lay['dummies']} dummies, "
          f"{lay['crossings']} crossings")
    assert dt < 5.0


# ------------------------------------------------------------------------------ widget state
def test_trace_to_widget_state():
    a = lk.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = lk.tensor([4.0, 5.0, 6.0], requires_grad=True)
    c = (a * b).sum() + a.exp().mean()
    c.backward()
    g = graph(c, params={"a": a, "b": b}, title="tiny")
    assert isinstance(g, GraphView)
    state = g.get_state()
    json.dumps(state["data"])
    assert "graph_default as default" in state["_esm"] and ".labkit-graph" in state["_css"]
    d = state["data"]
    assert len(d["nodes"]) == 7 and len(d["edges"]) == 7
    labels = sorted(n["label"] for n in d["nodes"])
    assert labels == sorted(["AddBackward0", "SumBackward0", "MulBackward0", "MeanBackward0",
                             "ExpBackward0", "a", "b"])
    assert set(d["layout"]["nodes"]) == {n["id"] for n in d["nodes"]}
    assert len(d["layout"]["edges"]) == 7
    by = {n["label"]: n for n in d["nodes"]}
    assert by["b"]["kind"] == "param" and by["b"]["grad"]["values"] == pytest.approx([1, 2, 3])
    assert by["MulBackward0"]["shape"] == [3] and by["MulBackward0"]["rule"].startswith("d(a*b)")
    assert d["roots"] == [by["AddBackward0"]["id"]]
    # the root (loss) is the bottom layer
    assert d["layout"]["nodes"][d["roots"][0]][4] == max(v[4] for v in d["layout"]["nodes"].values())


def test_graph_of_a_function_has_values_grads_and_inputs():
    W = lk.tensor([[1.0, -2.0], [0.5, 1.0]], requires_grad=True)
    x = lk.tensor([[1.0, 1.0]])
    g = graph(lambda: (x @ W.t()).relu().sum(), params={"lin.weight": W})
    by = {n["label"]: n for n in g.nodes}
    # op nodes carry the recorded values and gradients
    mm = by["MmBackward0"]
    assert mm["value"]["values"] == pytest.approx([-1.0, 1.5])
    assert by["ReluBackward0"]["value"]["values"] == pytest.approx([0.0, 1.5])
    assert mm["grad"]["values"] == pytest.approx([0.0, 1.0])            # relu' at -1 is 0
    assert by["lin.weight"]["grad"]["values"] == pytest.approx([0, 0, 1, 1])
    # x needs no gradient: shown as an input node that the hide_nograd toggle removes
    inp = [n for n in g.nodes if n["kind"] == "input"]
    assert len(inp) == 1 and inp[0]["requires_grad"] is False and inp[0]["shape"] == [1, 2]
    assert any(e["source"] == inp[0]["id"] for e in g.edges)
    assert all(n["module"] == "lin" for n in g.nodes if n["label"] in ("MmBackward0", "PermuteBackward0"))
    vn, _ = visible_graph(g.nodes, g.edges, hide_nograd=True)
    assert len(vn) == len(g.nodes) - 1
    with pytest.raises(ValueError, match="scalar"):
        graph(lambda: x @ W.t())


def test_modules_heuristic():
    def lin(h, W, b):
        return h @ W.t() + b
    P = {k: lk.randn(3, 3, requires_grad=True) for k in
         ["encoder.0.weight", "encoder.2.weight", "0.weight", "2.weight"]}
    B = {k.replace("weight", "bias"): lk.zeros(3, requires_grad=True) for k in P}
    P.update(B)
    x = lk.randn(2, 3)
    h = lin(x, P["encoder.0.weight"], P["encoder.0.bias"]).relu()        # ReLU inside encoder
    h = lin(h, P["encoder.2.weight"], P["encoder.2.bias"])
    h = lin(h, P["0.weight"], P["0.bias"]).tanh()                         # between top-level 0, 2
    h = lin(h, P["2.weight"], P["2.bias"])
    loss = h.sum()
    tr = lk.graph.trace(loss, params=P)
    mods = assign_modules(tr["nodes"], tr["edges"])
    lab = {n["id"]: n["label"] for n in tr["nodes"]}
    by_label = {}
    for i, m in mods.items():
        by_label.setdefault(lab[i], []).append(m)
    assert by_label["ReluBackward0"] == ["encoder"]
    assert by_label["TanhBackward0"] == [""]
    assert by_label["SumBackward0"] == [""]
    assert sorted(by_label["MmBackward0"]) == ["0", "2", "encoder.0", "encoder.2"]
    assert by_label["encoder.0.weight"] == ["encoder.0"]
    tree = module_tree(mods)
    assert [m["path"] for m in tree] == ["0", "2", "encoder", "encoder.0", "encoder.2"]
    assert {m["path"]: m["count"] for m in tree}["encoder"] == 11           # 2x(W, b, T, Mm, Add) + ReLU

    # collapsing "encoder" makes one node; edges are deduplicated, no self loops, still a DAG
    data = prepare(tr)
    vn, ve = visible_graph(data["nodes"], data["edges"], collapsed=["encoder"])
    assert len(vn) == len(tr["nodes"]) - 11 + 1
    grp = [v for v in vn if v["id"] == "g:encoder"][0]
    assert len(grp["members"]) == 11 and grp["sub"] == "11 nodes"
    assert len(ve) == len(set(ve)) and all(a != b for a, b in ve)
    lay = L.layout([v["id"] for v in vn], ve, {v["id"]: v["w"] for v in vn})
    check_layout([v["id"] for v in vn], ve, lay)
    # collapse=True at construction: every top-level module, layout from Python
    g = graph(loss, params=P, collapse=True)
    assert g.data["view"]["collapsed"] == ["0", "2", "encoder"]
    assert set(g.data["layout"]["nodes"]) >= {"g:0", "g:2", "g:encoder"}
    # hide leaves drops every parameter
    vn2, _ = visible_graph(data["nodes"], data["edges"], hide_leaves=True)
    assert len(vn2) == len(tr["nodes"]) - 8


def test_static_fallback_is_inline_svg():
    loss, params = mlp_loss(blocks=2)
    loss.backward()
    g = graph(loss, params=params)
    data, _meta = g._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data and "text/html" not in data
    h = g.fallback_bundle()["text/html"]                  # its own output, next to the widget
    assert f"labkit-fallback-{g._fallback_key}" in h
    assert h.count("<svg") == 1 and h.count("<rect") == len(g.nodes) + 1   # + the background
    for name in params:
        assert f">{name}</text>" in h
    svg = g.to_svg()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    # gradient colouring: parameters with a gradient get a colour from the ramp, not the default
    fills = re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" rx="4" fill="(#[0-9a-f]+)"', svg)
    assert len(fills) == len(g.nodes) and len(set(fills)) > 3


def test_color_by_is_validated():
    a = lk.ones(2, requires_grad=True)
    g = graph((a * 2).sum())
    with pytest.raises(Exception, match="color_by"):
        g.color_by = "rainbow"


def test_gradcheck_colours_nodes_and_needs_a_tape():
    from labkit.viz.graphview import CHECK_FILL

    class Half(lk.autograd.Function):              # backward off by a factor of 2
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    lk.manual_seed(0)
    model = lk.nn.Sequential(lk.nn.Linear(3, 4), lk.nn.ReLU(), lk.nn.Linear(4, 1))
    x = lk.randn(5, 3)
    g = graph(lambda: Half.apply(model(x)).pow(2).mean(), params=model, gradcheck=True)
    assert g.color_by == "check"
    status = [(n["label"], n["check"]["status"]) for n in g.nodes if "check" in n]
    assert [lab for lab, st in status if st != "ok"] == ["HalfBackward"]
    assert ("HalfBackward", "fail") in status and ("AddmmBackward0", "ok") in status
    assert len(status) == len([n for n in g.nodes if n["kind"] == "op"]) == 6
    svg = g.to_svg()
    assert svg.count(CHECK_FILL["fail"]) == 1 and svg.count(CHECK_FILL["ok"]) == 5
    g.color_by = "kind"
    assert CHECK_FILL["ok"] not in g.to_svg()
    with pytest.raises(ValueError, match="gradcheck=True"):
        graph((model(x) ** 2).mean(), gradcheck=True)
    plain = graph(lambda: model(x).sum())
    assert plain.color_by == "grad"
    with pytest.raises(Exception, match="gradcheck=True"):
        plain.color_by = "check"


def test_layout_has_one_home_views_shipped_and_asked_of_the_kernel():
    """The browser never lays out: the state carries the standard views (each depth of the
    depth control, leaves shown/hidden) and anything else is asked of the kernel."""
    from labkit.viz.graphview import view_key, view_layout
    loss, params = mlp_loss(blocks=3)
    loss.backward()
    g = graph(loss, params=params)
    views = g.data["views"]
    depths = sorted({m["depth"] for m in g.data["modules"]})
    assert depths == [0, 1, 2]            # blocks, blocks.i, blocks.i.lin
    for d in depths:
        c = [m["path"] for m in g.data["modules"] if m["depth"] == d]
        for hl in (False, True):
            assert view_key(c, hl) in views
    assert g.data["layout"] == views[view_key()]["layout"]
    # a shipped view is exactly Python's layout of that view
    top = [m["path"] for m in g.data["modules"] if m["depth"] == 0]
    assert views[view_key(top)] == view_layout(g.nodes, g.edges, top)
    assert len(views[view_key(top)]["vnodes"]) < len(g.nodes)
    # any other view: the browser sends {"type": "layout", "view": ...}; the kernel answers
    sent = []
    g.send = lambda msg, buffers=None: sent.append(msg)
    odd = [m["path"] for m in g.data["modules"] if m["depth"] == 1][:1]
    assert view_key(odd) not in views
    g._on_layout_request(g, {"type": "layout", "view": {"collapsed": odd, "hide_leaves": False,
                                                         "hide_nograd": False}}, [])
    assert sent == [{"type": "layout", "key": view_key(odd),
                     "view": view_layout(g.nodes, g.edges, odd)}]
    g._on_layout_request(g, {"type": "other"}, [])
    assert len(sent) == 1 and g.layout_requests == 1
    # the front-end computes the same key (graph.js viewKey) and has no layout code of its own
    js = (ROOT / "extensions" / "src" / "graph.js").read_text()
    assert '(view.hide_leaves ? "L" : "-") + (view.hide_nograd ? "N" : "-") + "|"' in js
    assert not (ROOT / "extensions" / "src" / "layout.js").exists()


# ------------------------------------------------------------------------- failing forward
def test_graph_of_a_failing_forward_shows_the_failed_op_and_reraises():
    model = lk.nn.Sequential(lk.nn.Linear(4, 8), lk.nn.ReLU(), lk.nn.Linear(6, 2))
    x = lk.randn(3, 4)
    with pytest.raises(RuntimeError) as info:
        graph(lambda: model(x).sum(), params=model)
    err = info.value
    # the original exception, unchanged: PyTorch's type, labkit's message naming the shapes
    with pytest.raises(RuntimeError):
        torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(6, 2))(
            torch.randn(3, 4))
    assert "3x8 and 6x2" in str(err)
    assert any(f.name == "forward" for f in __import__("traceback").extract_tb(err.__traceback__))
    g = err.graph
    by = {n["id"]: n for n in g.nodes}
    fail = by["fail"]
    assert fail["label"] == "linear (failed)" and fail["module"] == "2"
    assert fail["input_shapes"] == ["3x8", "2x6", "2"] and "3x8 and 6x2" in fail["error"]
    assert fail["source"]["code"].startswith("graph(lambda: model(x).sum()")
    # the graph up to the failing op: Linear 0 and ReLU ran (in their modules), then the failure
    ops = [n for n in g.nodes if n["kind"] == "op"]
    assert [(n["label"], n["module"]) for n in ops] == [("Linear", "0"), ("Relu", "1"),
                                                         ("linear (failed)", "2")]
    srcs = {e["source"] for e in g.edges if e["target"] == "fail"}
    relu = next(n["id"] for n in ops if n["label"] == "Relu")
    assert relu in srcs and {by[s]["label"] for s in srcs if s != relu} == {"2.weight", "2.bias"}
    # red in the static picture, with its input shapes on the box
    svg = g.to_svg()
    assert 'fill="#dc2626"' in svg and "in 3x8, 2x6, 2" in svg
    assert next(v for v in g.data["views"][view_key()]["vnodes"] if v["id"] == "fail")["sub"] == \
        "in 3x8, 2x6, 2"


def test_graph_of_a_failing_expression_without_modules():
    a, b = lk.randn(3, 4), lk.randn(5, 2)
    with pytest.raises(RuntimeError, match="3x4 and 5x2") as info:
        graph(lambda: (a.relu() @ b).sum())
    g = info.value.graph
    fail = next(n for n in g.nodes if n.get("error"))
    assert fail["op"] == "matmul" and fail["input_shapes"] == ["3x4", "5x2"]
    relu = next(n for n in g.nodes if n["label"] == "Relu")
    assert {"source": relu["id"], "target": "fail", "index": 0} in g.edges


def test_repeated_failures_do_not_leak_hooks_and_success_still_works():
    model = lk.nn.Sequential(lk.nn.Linear(4, 8), lk.nn.ReLU(), lk.nn.Linear(8, 1))
    x = lk.randn(3, 4)
    for bad in (lk.randn(3, 5), lk.randn(2, 7)):
        with pytest.raises(RuntimeError):
            graph(lambda: model(bad).sum(), params=model)
    assert all(not m._forward_pre_hooks and not m._forward_hooks for m in model.modules())
    g = graph(lambda: model(x).pow(2).mean(), params=model)
    assert not any(n.get("error") for n in g.nodes) and len(g.nodes) > 5


def test_repeated_blocks_are_drawn_once_with_a_count():
    """A stack of identical blocks (each with its activation inside): collapsed at depth 1, the
    blocks are one node "layers.0..5 x6"; blocks that are not a plain chain are not merged."""
    class Block(lk.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lk.nn.Linear(4, 4)

        def forward(self, h):
            return (self.lin(h)).tanh()

    class Net(lk.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = lk.nn.Sequential(*[Block() for _ in range(6)])
            self.head = lk.nn.Linear(4, 1)

        def forward(self, x):
            return self.head(self.layers(x))

    net = Net()
    x = lk.randn(5, 4)
    g = graph(lambda: net(x).pow(2).mean(), params=net)
    d1 = [m["path"] for m in g.data["modules"] if m["depth"] == 1]
    assert d1 == ["layers.0", "layers.1", "layers.2", "layers.3", "layers.4", "layers.5",
                  "head.weight"][:6] or "layers.0" in d1
    v = g.data["views"][view_key(d1)]
    rep = [n for n in v["vnodes"] if n["id"].startswith("g:layers.0..")]
    assert len(rep) == 1 and rep[0]["label"] == "layers.0..5 x6"
    assert rep[0]["paths"] == [f"layers.{i}" for i in range(6)]
    assert len(rep[0]["members"]) == 6 * len(next(
        vv for vv in g.data["views"][view_key(["layers.0"])]["vnodes"] if vv["id"] == "g:layers.0"
    )["members"]) if view_key(["layers.0"]) in g.data["views"] else True
    ids = {n["id"] for n in v["vnodes"]}
    edges = [(e[0], e[1]) for e in v["layout"]["edges"]]
    assert all(a in ids and b in ids for a, b in edges)
    assert not any(a == b for a, b in edges)
    # without merging: six separate block nodes
    vn, _ = visible_graph(g.nodes, g.edges, d1, merge_repeats=False)
    assert sum(n["id"].startswith("g:layers.") for n in vn) == 6
    # the residual MLP's blocks are not a chain (the residual adds sit outside): not merged
    loss, params = mlp_loss(blocks=4)
    loss.backward()
    g2 = graph(loss, params=params)
    d1 = [m["path"] for m in g2.data["modules"] if m["depth"] == 1]
    assert not any(".." in n["id"] for n in g2.data["views"][view_key(d1)]["vnodes"])


def test_load_ext_offers_lk_why_after_a_shape_error(capsys, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    shown = []
    monkeypatch.setattr(GraphView, "display", lambda self: shown.append(self))
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "labkit")
        shell.run_cell("import labkit as lk\nm = lk.nn.Linear(3, 2)\nx = lk.randn(4, 5)")
        r = shell.run_cell("y = m(x).relu()")
        assert isinstance(r.error_in_exec, RuntimeError)
        out = capsys.readouterr()
        assert "run %lk_why to see the graph up to the failing op (linear)" in out.out
        assert "RuntimeError" in out.out + out.err              # the usual traceback is shown
        shell.run_line_magic("lk_why", "")
        assert len(shown) == 1
        fail = next(n for n in shown[0].nodes if n.get("error"))
        assert fail["input_shapes"] == ["4x5", "2x3", "2"]
        r = shell.run_cell("z = 1 / 0")                        # not a labkit op: no offer
        assert "%lk_why" not in capsys.readouterr().out
    finally:
        shell.run_line_magic("unload_ext", "labkit")
        InteractiveShell.clear_instance()


def test_failing_graph_collapse_keeps_the_failed_module_open():
    model = lk.nn.Sequential(lk.nn.Linear(4, 8), lk.nn.ReLU(), lk.nn.Linear(6, 2))
    with pytest.raises(RuntimeError) as info:
        graph(lambda: model(lk.randn(3, 4)).sum(), params=model, collapse=True)
    g = info.value.graph
    assert g.data["view"]["collapsed"] == ["0", "1"]
    ids = [v["id"] for v in g.data["views"][view_key(["0", "1"])]["vnodes"]]
    assert "fail" in ids and "g:0" in ids and "g:2" not in ids
