"""Graph view and stepper in a real JupyterLab 4, driven by headless Chromium.

One notebook, one run: a small MLP graph (click a node -> its panel shows the right statistics;
SVG/PNG export), the stepper (Next moves the highlight to the next op; stepping works while the
kernel is busy), a 200-node and a 2,000-node graph (first paint timed; the drawn layout is
Python's; the depth control; collapse by hand laid out by the kernel).  Fixtures: tests/browser/conftest.py.
"""
import json
import re
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jlabtools import tick

pytestmark = pytest.mark.browser

NB = "graph.ipynb"
CELLS = [
    """\
import json, time
import labkit as torch
import labkit.nn as nn
from labkit.viz.graphview import graph
from labkit.viz.stepper import step
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
x, y = torch.randn(16, 4), torch.randn(16, 1)
g = graph(lambda: ((model(x) - y) ** 2).mean(), params=model, title="mlp")
g""",
    """\
a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(-3.0, requires_grad=True)
c = torch.tensor(10.0, requires_grad=True)
s = step(lambda: (a * b + c).tanh(), params={"a": a, "b": b, "c": c}, title="neuron")
s""",
    """\
def stack(blocks, width=2):
    params, h = {}, torch.randn(3, width)
    for i in range(blocks):
        W = torch.randn(width, width, requires_grad=True)
        bias = torch.zeros(width, requires_grad=True)
        params[f"blocks.{i}.weight"], params[f"blocks.{i}.bias"] = W, bias
        h = h + (h @ W.t() + bias).relu() * 0.1
    loss = h.pow(2).mean()
    loss.backward()
    return loss, params
timing = {}
loss_m, p_m = stack(25)
t0 = time.perf_counter(); mid = graph(loss_m, params=p_m, title="mid", height=360)
timing["mid"] = time.perf_counter() - t0
mid""",
    """\
loss_b, p_b = stack(250)
t0 = time.perf_counter(); big = graph(loss_b, params=p_b, title="big", height=360, collapse=())
timing["big"] = time.perf_counter() - t0
big""",
    """\
class BadSquare(torch.autograd.Function):          # a custom op with a wrong backward rule
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a
    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a                                  # should be 2 * a * g
m2 = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))   # (model's grads stay as shown)
gc = graph(lambda: BadSquare.apply(m2(x) - y).mean(), params=m2, gradcheck=True, title="check")
gc""",
    """\
w = model[0].weight
print("INFO", json.dumps({"w0_mean": w.mean().item(), "w0_grad_norm": w.grad.norm().item(),
      "n_mid": len(mid.nodes), "n_big": len(big.nodes), "n_g": len(g.nodes),
      "py_ms": {k: round(v * 1000, 1) for k, v in timing.items()}}))""",
    "time.sleep(5)\nprint('SLEPT')",
]

API = "(t) => document.querySelector(`.labkit-graph[data-title='${t}']`).parentElement.labkitGraph"


def build(path):
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.write(nb, path)


def _num(s):
    return float(s.strip())


def click_node(page, title, label):
    """Click the node with this label in graph widget `title` (its position from the widget)."""
    root = page.locator(f".labkit-graph[data-title='{title}']")
    root.scroll_into_view_if_needed()
    pos = page.evaluate(f"""([t, label]) => {{
        const api = ({API})(t);
        const n = api.data.nodes.find((n) => n.label === label);
        api.canvas.centerOn(n.id, 0.8); api.canvas.drawNow();
        return api.screenPos(n.id); }}""", [title, label])
    box = root.locator("canvas").bounding_box()
    page.mouse.click(box["x"] + pos[0], box["y"] + pos[1])


def test_graph_and_stepper_in_jupyterlab(jlab, notebook_page, artifacts):
    build(jlab["root"] / NB)
    p = notebook_page("graph")
    page = p.page
    p.open(NB)
    t0 = time.perf_counter()
    p.run_all()

    # ---- stepping works in the browser while the kernel is busy (time.sleep cell) ----
    stepper = page.locator(".labkit-stepper[data-title='neuron']")
    stepper.wait_for(timeout=60_000)
    page.locator(".jp-OutputArea-output", has_text="INFO").wait_for(timeout=60_000)
    tick("run_all_to_info", t0)
    assert page.locator(".jp-Notebook-ExecutionIndicator").get_attribute("data-status") == "busy"
    assert stepper.get_attribute("data-step") == "0" and stepper.get_attribute("data-label") == "Mul"
    stepper.locator("button[data-act=next]").click()
    assert stepper.get_attribute("data-step") == "1"
    assert stepper.get_attribute("data-label") == "Add" and stepper.get_attribute("data-node") == "f1"
    busy_after = page.locator(".jp-Notebook-ExecutionIndicator").get_attribute("data-status")
    assert busy_after == "busy", "the sleep cell should still be running"
    p.wait_cells_done()
    tick("run_all_to_idle", t0)
    info = json.loads(page.locator(".jp-OutputArea-output", has_text="INFO").inner_text()
                      .split("INFO", 1)[1])

    # ---- the small graph: node count, click a parameter -> its panel with the right stats ----
    gview = page.locator(".labkit-graph[data-title='mlp']")
    assert gview.get_attribute("data-nodes") == str(info["n_g"]) == "12"
    inked = page.evaluate("""(t) => {
        const c = document.querySelector(`.labkit-graph[data-title='${t}'] canvas`);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 200) n++; return n; }""", "mlp")
    assert inked > 500, inked
    click_node(page, "mlp", "0.weight")
    panel = gview.locator(".labkit-graph-panel")
    panel.locator(".lk-label").wait_for(timeout=5000)
    assert panel.locator(".lk-label").inner_text() == "0.weight"
    assert gview.get_attribute("data-selected") == "n1"
    mean = _num(panel.locator("[data-stat=value] td[data-k=mean]").inner_text())
    gnorm = _num(panel.locator("[data-stat=grad] td[data-k=norm]").inner_text())
    assert mean == pytest.approx(info["w0_mean"], abs=1e-4)
    assert gnorm == pytest.approx(info["w0_grad_norm"], rel=1e-3)
    assert panel.locator("svg.labkit-hist rect").count() == 2 * 20      # value + grad, 20 bins
    assert panel.locator("svg.labkit-hist").count() == 2
    # an op node shows its rule and the user's source line
    click_node(page, "mlp", "MeanBackward0")
    assert panel.locator(".lk-label").inner_text() == "MeanBackward0"
    assert "1/n" in panel.locator(".lk-rule").inner_text()
    assert "graph(lambda" in panel.locator(".lk-source pre").inner_text()
    click_node(page, "mlp", "0.weight")
    gview.screenshot(path=str(artifacts / "graph-mlp.png"))

    # ---- gradcheck colouring: the wrong custom op is red, its panel says why ----
    cview = page.locator(".labkit-graph[data-title='check']")
    assert cview.get_attribute("data-check-fail") == "1"
    assert cview.locator("input[data-opt=check]").is_checked()
    click_node(page, "check", "BadSquareBackward")
    cpanel = cview.locator(".labkit-graph-panel")
    assert "gradcheck: fail" in cpanel.locator(".lk-check-fail").inner_text()
    assert "finite differences" in cpanel.locator(".lk-check-fail").inner_text()
    rgb = page.evaluate(f"""(t) => {{
        const api = ({API})(t);
        const n = api.data.nodes.find((n) => n.label === "BadSquareBackward");
        const cv = api.canvas, b = cv.byId.get(n.id);
        const x = (b.x - b.w / 2 + 4) * cv.k + cv.tx, y = b.y * cv.k + cv.ty;   // inside, left edge
        const c = document.querySelector(`.labkit-graph[data-title='${{t}}'] canvas`);
        const r = c.getBoundingClientRect(), k = c.width / r.width;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * k), Math.round(y * k),
                          1, 1).data).slice(0, 3); }}""", "check")
    assert rgb[0] > 180 and rgb[1] < 90 and rgb[2] < 90, rgb           # #dc2626
    click_node(page, "check", "AddmmBackward0")
    assert "gradcheck: ok" in cpanel.locator(".lk-check").inner_text()
    cview.screenshot(path=str(artifacts / "graph-gradcheck.png"))

    # ---- export: SVG and PNG downloads of the current view ----
    with page.expect_download() as dl:
        gview.locator("button[data-act=svg]").click()
    svg = open(dl.value.path()).read()
    assert svg.startswith("<svg") and svg.count("<rect") == 12 + 1 and ">0.weight<" in svg
    with page.expect_download() as dl:
        gview.locator("button[data-act=png]").click()
    assert open(dl.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"

    # ---- stepper: Prev/Next/keys move the highlight op by op, forward then backward ----
    stepper.locator("button[data-act=prev]").click()
    assert stepper.get_attribute("data-step") == "0" and stepper.get_attribute("data-node") == "f0"
    assert "forward" in stepper.locator(".lk-phase").inner_text()
    stepper.locator("button[data-act=next]").click()
    stepper.locator("button[data-act=next]").click()
    assert stepper.get_attribute("data-label") == "Tanh"
    stepper.focus()
    page.keyboard.press("ArrowRight")
    assert stepper.get_attribute("data-step") == "3" and stepper.get_attribute("data-phase") == "backward"
    assert stepper.get_attribute("data-label") == "Tanh"
    sp = stepper.locator(".labkit-graph-panel")
    assert "gradient arriving" in sp.inner_text() and "tanh" in sp.locator(".lk-rule").inner_text()
    page.keyboard.press("ArrowRight")                                    # Add: local derivative 1
    assert stepper.get_attribute("data-label") == "Add"
    assert re.search(r"local derivative = [-\d.e]+ / [-\d.e]+ = 1\b", sp.inner_text()), sp.inner_text()
    stepper.screenshot(path=str(artifacts / "stepper.png"))

    # ---- 200 / 2,000 nodes: first paint, fit redraw; the drawn layout is Python's ----
    big = page.locator(".labkit-graph[data-title='big']")
    big.scroll_into_view_if_needed()
    big.screenshot(path=str(artifacts / "graph-big-initial.png"))
    timings = {}
    for title, n in (("mid", info["n_mid"]), ("big", info["n_big"])):
        v = page.locator(f".labkit-graph[data-title='{title}']")
        assert v.get_attribute("data-nodes") == str(n) and v.get_attribute("data-layout-source") == "python"
        r = page.evaluate(f"""(t) => {{
            const api = ({API})(t);
            let d = 0;                   // drawn boxes vs Python's layout of this view
            for (const [k, v] of Object.entries(api.data.layout.nodes)) {{
              const b = api.canvas.byId.get(k);
              d = Math.max(d, Math.abs(v[0] - b.x), Math.abs(v[1] - b.y), Math.abs(v[2] - b.w));
            }}
            api.canvas.fit(); api.canvas.drawNow();
            return {{max_diff: d, fit_draw_ms: api.canvas.lastDrawMs, views: api.views.size}}; }}""", title)
        r["first_paint_ms"] = float(v.get_attribute("data-first-paint-ms"))
        r["first_draw_ms"] = float(v.get_attribute("data-first-draw-ms"))
        r["python_graph_ms"] = info["py_ms"][title]
        r["nodes"] = n
        timings[title] = r
        assert r["max_diff"] < 1e-9 and r["views"] >= 3, r
    print("\n[graph timings]", json.dumps(timings, indent=1))
    (artifacts / "graph_timings.json").write_text(json.dumps(timings, indent=2))
    assert timings["big"]["nodes"] > 2000
    assert timings["big"]["first_paint_ms"] < 1000 and timings["big"]["fit_draw_ms"] < 1000

    # ---- collapse by module: the depth control's views are shipped (no kernel); a view made
    # by hand is laid out by the kernel (the one home of the layout) and cached ----
    mid = page.locator(".labkit-graph[data-title='mid']")
    mid.scroll_into_view_if_needed()
    mid.locator("select[data-opt=depth]").select_option("0")
    assert mid.get_attribute("data-layout-source") == "python"
    # blocks + the last block's ReLU, Mul, Add (no module below them: see the heuristic) + loss
    assert mid.get_attribute("data-nodes") == "6"
    mid.locator(".lk-modules summary").click()
    assert mid.locator("input[data-mod='blocks']").is_checked()
    mid.locator("input[data-mod='blocks.3']").check()                # inside a collapsed parent
    page.wait_for_function("""() => document.querySelector(
        ".labkit-graph[data-title='mid']").dataset.layoutSource === "kernel" """, timeout=20_000)
    assert mid.get_attribute("data-nodes") == "6"
    mid.locator("input[data-mod='blocks']").uncheck()                # blocks.3 stays collapsed
    page.wait_for_function(f"""() => document.querySelector(
        ".labkit-graph[data-title='mid']").dataset.nodes === "{info["n_mid"] - 5 + 1}" """,
                           timeout=20_000)
    assert mid.get_attribute("data-layout-source") == "kernel"
    assert mid.locator("select[data-opt=depth]").input_value() == ""  # no depth matches
    mid.locator("button[data-act=expand-all]").click()
    assert mid.get_attribute("data-nodes") == str(info["n_mid"])
    assert mid.get_attribute("data-layout-source") == "python"
    assert mid.locator("select[data-opt=depth]").input_value() == "all"
    mid.locator("input[data-opt=leaves]").check()
    assert mid.get_attribute("data-nodes") == str(info["n_mid"] - 50)
    mid.screenshot(path=str(artifacts / "graph-mid.png"))
    big.screenshot(path=str(artifacts / "graph-big-fit.png"))

    # ---- dark themes: the canvas takes the notebook's background colour ----
    bg = page.evaluate(f"""(t) => {{
        const api = ({API})(t), wrap = api.canvas.wrap;
        const pick = () => Array.from(api.canvas.ctx.getImageData(2, 2, 1, 1).data).slice(0, 3);
        const before = pick();
        wrap.style.setProperty("--jp-layout-color0", "rgb(17, 17, 17)");
        api.canvas.drawNow();
        const dark = pick();
        wrap.style.removeProperty("--jp-layout-color0");
        api.canvas.drawNow();
        return {{before, dark}}; }}""", "mlp")
    assert bg["dark"] == [17, 17, 17] and bg["before"] != bg["dark"], bg

    errors = p.errors()
    print("browser console errors:", errors)
    assert not [e for e in errors if e.startswith("pageerror") or
                re.search(r"labkit|anywidget|widget|graph|stepper", e, re.I)], errors
