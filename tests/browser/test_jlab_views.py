"""Tensor view, attention viewer, failing-graph view, activations and embeddings in a real
JupyterLab 4 with headless Chromium, then the
notebook exported by `jupyter nbconvert --to html` opened with the network cut off.

Checks: the static tensor card of a last-expression tensor (NaN marked, hover titles); the tensor
widget (a panel per slice, the slider moves to the next batch element, hover reads the value and
its full index); the attention viewer (causal mask, hovering a token shades the key tokens by the
mean weight over heads, clicking a head shows that head's weights); the static pictures are
hidden where the widgets render and visible in the offline HTML export.  Screenshots in
$LABKIT_ARTIFACTS/browser.
"""
import json
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jlabtools import isolated_env, saved_widget_states

pytestmark = pytest.mark.browser

NB = "views.ipynb"
CELLS = [
    """\
import json
import labkit as lk
import labkit.nn as nn
import labkit.viz
lk.manual_seed(0)
t = lk.randn(6, 8)
t[2, 3] = float("nan")
t""",
    """\
fm = lk.randn(2, 3, 10, 12)
v = lk.viz.show(fm, title="fmap")
v""",
    """\
T = 5
mha = nn.MultiheadAttention(8, 2, batch_first=True)
x = lk.randn(1, T, 8)
mask = lk.triu(lk.full((T, T), float("-inf")), diagonal=1)
out = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
a = lk.viz.attention(out, ["the", "cat", "sat", "on", "mat"], title="attn")
a""",
    """\
bad = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(6, 2))
try:
    lk.viz.graph(lambda: bad(lk.randn(3, 4)).sum(), params=bad, title="failing")
except RuntimeError as e:
    err = e
print("FAILED", type(err).__name__, len(err.graph.nodes))""",
    """\
mlp = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))
with lk.no_grad():
    mlp[0].bias[:5] = -100.0
acts = lk.viz.activations(mlp, lk.randn(32, 2), dead=0.3)
acts""",
    """\
emb = nn.Embedding(6, 4)
ev = lk.viz.embeddings(emb, ["cat", "dog", "car", "bus", "red", "blue"],
                       groups=["animal", "animal", "vehicle", "vehicle", "colour", "colour"])
ev""",
    """\
w = out[1]
print("INFO", json.dumps({"fm": fm[1, 2, 4, 5].item(), "w_mean": w[0].mean(0)[3].tolist(),
                          "w_h1": w[0, 1, 3].tolist()}))""",
]


def build(path):
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.write(nb, path)


def test_tensor_and_attention_views_in_jupyterlab(jlab, notebook_page, artifacts, tmp_path):
    build(jlab["root"] / NB)
    p = notebook_page("views")
    page = p.page
    p.open(NB)
    p.run_all()
    p.wait_cells_done()
    info = json.loads(page.locator(".jp-OutputArea-output", has_text="INFO").inner_text()
                      .split("INFO", 1)[1])

    # ---- the static card of a last-expression tensor: hover titles, NaN marked ----
    card = page.locator(".labkit-tensor-card").first
    nan_cell = card.locator('td[title="[2, 3] = nan"]')
    assert nan_cell.inner_text() == "NaN"
    assert card.locator("td").count() == 48 and "1 NaN" in card.inner_text()
    p.shot("tensor-card.png", ".labkit-tensor-card >> nth=0")

    # ---- the tensor widget: panels, slider, hover with the full index ----
    tv = page.locator(".labkit-tensor")
    tv.wait_for(timeout=30_000)
    assert tv.get_attribute("data-panels") == "3" and tv.locator("canvas").count() == 3
    assert tv.get_attribute("data-offset") == "0"
    slider = tv.locator('input[data-axis="0"]')
    slider.evaluate("(s) => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
    assert tv.get_attribute("data-offset") == str(3 * 10 * 12)
    c = tv.locator("canvas").nth(2)
    c.scroll_into_view_if_needed()
    box = c.bounding_box()
    page.mouse.move(box["x"] + 5.5 * box["width"] / 12, box["y"] + 4.5 * box["height"] / 10)
    hover = tv.get_attribute("data-hover")
    assert hover.startswith("[1, 2, 4, 5] = "), hover
    assert float(hover.split("= ")[1]) == pytest.approx(info["fm"], rel=1e-4, abs=1e-6)
    p.shot("tensor-view.png", ".labkit-tensor")
    # dark themes: the diverging map's centre (0) turns dark with the notebook's background
    dark = page.evaluate("""() => {
        const host = document.querySelector('.labkit-tensor').parentElement, api = host.labkitTensor;
        const root = document.querySelector('.labkit-tensor');
        const light = [api.isDark(), api.colorOf(0), api.colorOf(api.meta().vmax)];
        root.style.setProperty('--jp-layout-color0', '#111111');
        const dark = [api.isDark(), api.colorOf(0, api.isDark()), api.colorOf(api.meta().vmax, true)];
        root.style.removeProperty('--jp-layout-color0');
        return {light, dark}; }""")
    assert dark["light"][0] is False and dark["light"][1] == [247, 247, 247]
    assert dark["dark"][0] is True and dark["dark"][1] == [58, 58, 58]
    assert dark["dark"][2] == dark["light"][2] == [178, 24, 43]           # the ends stay

    # ---- the static pictures are hidden where the widgets render ----
    fallbacks = page.locator(".labkit-fallback")
    assert fallbacks.count() >= 2
    for i in range(fallbacks.count()):
        assert not fallbacks.nth(i).is_visible()

    # ---- attention: causal, hover a token, pin a head ----
    av = page.locator(".labkit-attention")
    assert av.get_attribute("data-heads") == "2" and av.get_attribute("data-causal") == "true"
    av.scroll_into_view_if_needed()
    on = av.locator('.labkit-attn-strip[data-side="q"] .labkit-attn-token[data-i="3"]')
    on.hover()
    assert av.get_attribute("data-focus") == "q3"
    keys = av.locator('.labkit-attn-strip[data-side="k"] .labkit-attn-token')
    got = [float(keys.nth(j).get_attribute("data-w")) for j in range(5)]
    assert got == pytest.approx(info["w_mean"], abs=1e-4) and got[4] == 0
    p.shot("attention-hover.png", ".labkit-attention")
    av.locator('canvas[data-head="1"]').click()
    assert av.get_attribute("data-pinned") == "1"
    on.hover()
    got1 = [float(keys.nth(j).get_attribute("data-w")) for j in range(5)]
    assert got1 == pytest.approx(info["w_h1"], abs=1e-4)
    # hover a key token: the query strip shows what attends to it (column)
    av.locator('.labkit-attn-strip[data-side="k"] .labkit-attn-token[data-i="0"]').hover()
    assert av.get_attribute("data-focus") == "k0"
    p.shot("attention.png", ".labkit-attention")
    assert not [e for e in p.errors() if "labkit" in e or "pageerror" in e], p.errors()

    # ---- a failing forward: the view was displayed, the failed op is red with its message ----
    stdout = page.locator('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stdout"]',
                          has_text="FAILED")
    assert "FAILED RuntimeError 8" in stdout.inner_text()
    gv = page.locator(".labkit-graph[data-title='failing']")
    gv.scroll_into_view_if_needed()
    assert gv.get_attribute("data-nodes") == "8"
    api = "(t) => document.querySelector(`.labkit-graph[data-title='${t}']`).parentElement.labkitGraph"
    pos = page.evaluate(f"""(t) => {{ const api = ({api})(t);
        api.canvas.centerOn("fail", 1.0); api.canvas.drawNow(); return api.screenPos("fail"); }}""",
                        "failing")
    box = gv.locator("canvas").bounding_box()
    rgb = page.evaluate("""([t, x, y]) => {
        const c = document.querySelector(`.labkit-graph[data-title='${t}'] canvas`);
        const k = c.width / c.getBoundingClientRect().width;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * k), Math.round(y * k) + 8,
                          1, 1).data).slice(0, 3); }""", ["failing", pos[0], pos[1]])
    assert rgb[0] > 180 and rgb[1] < 90 and rgb[2] < 90, rgb                  # red
    page.mouse.click(box["x"] + pos[0], box["y"] + pos[1])
    err_box = gv.locator(".labkit-graph-panel .lk-error")
    assert "3x8 and 6x2" in err_box.inner_text() and "[3x8], [2x6], [2]" in err_box.inner_text()
    gv.screenshot(path=str(artifacts / "graph-failing.png"))

    # ---- activations: the plain-words alert; embeddings: hover a point for its label ----
    mon = page.locator(".labkit-monitor").filter(has_text="never fire")
    assert "layer 1 (ReLU): 50% of units never fire" in mon.inner_text()
    p.shot("activations.png", ".labkit-monitor >> nth=0")
    ev = page.locator(".labkit-embeddings")
    ev.scroll_into_view_if_needed()
    assert ev.get_attribute("data-points") == "6"
    xy = page.evaluate("""() => document.querySelector('.labkit-embeddings').parentElement
                         .labkitEmbeddings.screen()[1]""")
    cbox = ev.locator("canvas").bounding_box()
    page.mouse.move(cbox["x"] + xy[0], cbox["y"] + xy[1])
    assert ev.get_attribute("data-hover") == "dog"
    p.shot("embeddings.png", ".labkit-embeddings")

    # ---- exports that never go blank: nbconvert HTML, opened with no network at all ----
    nb = p.save(NB, predicate=lambda nb: len(saved_widget_states(nb)) >= 2)
    assert len(saved_widget_states(nb)) >= 2
    out_dir = tmp_path / "export"
    r = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
                        "--output-dir", str(out_dir), str(jlab["root"] / NB)],
                       capture_output=True, text=True, timeout=120,
                       env=isolated_env(tmp_path / "env"))
    assert r.returncode == 0, r.stderr[-2000:]
    html_path = out_dir / "views.html"
    off = page.context.new_page()
    blocked = []

    def cut(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()
    off.route("**/*", cut)
    off.goto(html_path.as_uri(), wait_until="load")
    imgs = off.locator(".labkit-fallback img")
    assert imgs.count() >= 1
    for i in range(imgs.count()):
        assert imgs.nth(i).is_visible()
        assert imgs.nth(i).evaluate("(im) => im.complete && im.naturalWidth > 50")
    assert off.locator(".labkit-fallback .labkit-tensor-card").first.is_visible()
    assert off.locator(".labkit-tensor-card td[title='[2, 3] = nan']").first.is_visible()
    off.screenshot(path=str(artifacts / "export-offline.png"), full_page=True)
    off.close()
    print("blocked network requests of the exported page:", blocked)

    # ---- reopened in JupyterLab without the widget state: the pictures still show ----
    nb.get("metadata", {}).pop("widgets", None)
    (jlab["root"] / "views-nostate.ipynb").write_text(json.dumps(nb))
    q = notebook_page("views-nostate")
    q.open("views-nostate.ipynb")
    qp = q.page
    qp.locator(".labkit-fallback img").first.wait_for(timeout=30_000)
    imgs = qp.locator(".labkit-fallback img")
    assert imgs.count() >= 3                       # attention, activations, embeddings PNGs
    for i in range(imgs.count()):
        imgs.nth(i).scroll_into_view_if_needed()
        assert imgs.nth(i).is_visible()
        assert imgs.nth(i).evaluate("(im) => im.complete && im.naturalWidth > 50")
    assert qp.locator(".labkit-fallback .labkit-tensor-card").first.is_visible()
    assert qp.locator(".labkit-tensor, .labkit-attention").count() == 0   # no live widget
    qp.screenshot(path=str(artifacts / "views-reopened-without-state.png"), full_page=True)
