"""labkit.viz.Monitor in a real JupyterLab 4 (and Notebook 7) driven by headless Chromium.

One notebook, one kernel run: the curves must grow in the browser while the training cell runs,
hover/zoom/log/PNG must work in the browser alone, the saved notebook must hold the final state,
and Notebook 7 must render it again from the saved state after the kernel is gone.
"""
import base64
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jlabtools import saved_widget_states, shutdown_kernels, tick

pytestmark = pytest.mark.browser

NB = "monitor.ipynb"
STEPS, EPOCHS, SLEEP = 30, 2, 0.07          # 60 batches, ~4.5 s of live updates
N_TRAIN = STEPS * EPOCHS
N_VAL = EPOCHS
N_RUN2 = 20
# loss + acc per batch, val_loss + val_acc per epoch, second run: loss only
TOTAL_POINTS = 2 * N_TRAIN + 2 * N_VAL + N_RUN2
STDOUT = ".jp-RenderedText[data-mime-type=\"application/vnd.jupyter.stdout\"]"

CELLS = [
    "import time, math\nimport labkit as lk\nmon = lk.viz.Monitor('browser test')\nmon",
    f"""\
for step, batch in enumerate(mon.track(range({STEPS}), epochs={EPOCHS})):
    time.sleep({SLEEP})
    mon.log(loss=2.0 * math.exp(-step / 20) + 0.05 * math.sin(step), acc=1 - math.exp(-step / 25))
    if (step + 1) % {STEPS} == 0:
        mon.log(val_loss=2.2 * math.exp(-step / 22), val_acc=0.9 - math.exp(-step / 20))
print("TRAIN_DONE", mon.messages_sent)""",
    f"""\
mon.new_run("second")
for i in range({N_RUN2}):
    mon.log(loss=1.5 * math.exp(-i / 8))
print("POINTS", len(mon.to_dict()["value"]))""",
]


def build(path):
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.write(nb, path)


def test_monitor_live_in_jupyterlab_and_notebook7(jlab, notebook_page, artifacts):
    build(jlab["root"] / NB)
    p = notebook_page("monitor")
    page = p.page
    p.open(NB)
    t0 = time.perf_counter()
    p.run_all()
    page.wait_for_selector(".labkit-monitor", timeout=60_000)
    tick("run_all_to_widget", t0)

    # ---- live: the point count grows while the training cell runs ----
    seen, t_live = [], time.perf_counter()
    while time.perf_counter() - t_live < 60:
        n = int(page.get_attribute(".labkit-monitor", "data-points") or 0)
        if not seen or seen[-1] != n:
            seen.append(n)
        if n >= TOTAL_POINTS:
            break
        page.wait_for_timeout(100)
    print("data-points seen in the browser:", seen)
    assert seen[-1] == TOTAL_POINTS, seen
    intermediate = [n for n in seen if 0 < n < 2 * N_TRAIN]
    assert len(intermediate) >= 5, f"curves did not grow live: {seen}"
    assert seen == sorted(seen), seen
    p.wait_cells_done()
    tick("run_all_to_idle", t0)

    root = page.locator(".labkit-monitor")
    assert root.get_attribute("data-series") == "5"          # 4 of run 0 + loss of 'second'
    assert root.get_attribute("data-status") == "done"
    assert int(root.get_attribute("data-step")) == N_TRAIN
    msgs = int(root.get_attribute("data-messages"))
    assert 5 <= msgs <= 10 * 8, msgs                           # throttled: <= 10/s over ~5 s
    out = page.locator(STDOUT, has_text="POINTS").inner_text()
    assert out.strip() == f"POINTS {TOTAL_POINTS}"
    charts = page.locator(".labkit-monitor .labkit-chart")
    assert charts.count() == 2                                 # loss, acc
    assert [c.get_attribute("data-metric") for c in charts.all()] == ["loss", "acc"]
    legend = page.locator(".labkit-monitor .labkit-legend-run")
    assert legend.count() == 2

    # the canvas drew curves (coloured pixels of the train/val lines)
    inked = page.evaluate("""() => {
        const c = document.querySelector('.labkit-monitor .labkit-chart-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (d[i + 3] > 0 && Math.abs(d[i] - d[i + 2]) > 60) n++;   // saturated colour
        return n; }""")
    assert inked > 300, inked

    # ---- browser-only interaction: hover, drag-zoom, double-click reset, log toggle, PNG ----
    chart = charts.first
    chart.scroll_into_view_if_needed()
    box = chart.locator(".labkit-chart-overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tip = chart.locator(".labkit-chart-tip")
    tip.wait_for(state="visible", timeout=5_000)
    assert "train" in tip.inner_text() and "step" in tip.inner_text()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7, steps=5)
    page.mouse.up()
    assert chart.get_attribute("data-zoomed") == "1"
    page.mouse.dblclick(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    assert chart.get_attribute("data-zoomed") == "0"
    page.locator(".labkit-monitor .labkit-logy").check()
    page.locator(".labkit-monitor .labkit-smoothing").fill("0.6")
    with page.expect_download(timeout=10_000) as dl:
        page.locator(".labkit-monitor .labkit-png").click()
    png = dl.value.path().read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000, len(png)
    (artifacts / "monitor-export.png").write_bytes(png)
    root.scroll_into_view_if_needed()
    p.shot("monitor-widget.png", ".labkit-monitor")
    p.shot("monitor-page.png")

    # ---- save: the browser's widget state lands in the .ipynb ----
    def has_all_points(nb):
        for m in saved_widget_states(nb).values():
            data = m["state"].get("_data", {})
            if sum(len(s["x"]) for s in data.get("series", [])) == TOTAL_POINTS:
                return True
        return False
    nb = p.save(NB, predicate=has_all_points)
    state = next(iter(saved_widget_states(nb).values()))["state"]
    assert state["log_y"] is True                      # the checkbox synced back to the kernel
    assert abs(state["smoothing"] - 0.6) < 1e-9
    assert state["_progress"]["status"] == "done"
    outputs = nb["cells"][0]["outputs"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "static PNG fallback missing"
    png_fallback = base64.b64decode(next(o["data"]["image/png"] for o in outputs
                                         if "image/png" in o.get("data", {})))
    assert png_fallback[:4] == b"\x89PNG"
    errors = p.errors()
    assert not errors, errors

    # ---- Notebook 7: the saved notebook renders again from its widget state, no kernel state ----
    shutdown_kernels(jlab, NB)
    p7 = notebook_page("monitor-nb7")
    p7.open(NB, ui="notebook", wait_kernel=False)
    p7.page.wait_for_selector(".labkit-monitor[data-points]", timeout=60_000)
    p7.page.wait_for_function(
        f"() => document.querySelector('.labkit-monitor').dataset.points === '{TOTAL_POINTS}'",
        timeout=30_000)
    assert p7.page.locator(".labkit-monitor .labkit-chart").count() == 2
    p7.shot("monitor-notebook7.png")
    # Notebook 7.6 itself logs two page errors under the isolated settings ("reading 'schema'",
    # "Command 'filebrowser:open-path' not registered"); none may come from the widgets.
    widget_errors = [e for e in p7.errors()
                     if any(w in e.lower() for w in ("labkit", "anywidget", "widget", "monitor"))]
    assert not widget_errors, widget_errors


PLAYGROUND = "playground.ipynb"
PLAYGROUND_CELLS = [
    """\
import time
import numpy as np
import labkit as lk
from labkit import nn
rng = np.random.default_rng(0)
X = rng.standard_normal((200, 2)).astype("float32")
y = (X[:, 0] * X[:, 1] > 0).astype("float32")
lk.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
b = lk.viz.boundary(model, X, y, every=5, max_rate=10)
b""",
    """\
opt = lk.optim.Adam(model.parameters(), lr=0.05)
Xt, yt = lk.tensor(X), lk.tensor(y)[:, None]
for i in range(150):
    opt.zero_grad()
    loss = nn.functional.binary_cross_entropy_with_logits(model(Xt), yt)
    loss.backward()
    opt.step()
    time.sleep(0.02)
print("UPDATES", b.updates)""",
    """\
from labkit.utils.data import DataLoader, TensorDataset
clf = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
loader = DataLoader(TensorDataset(Xt, lk.tensor(y).long()), batch_size=20, shuffle=True)
res = lk.viz.lr_find(clf, nn.CrossEntropyLoss(), loader, start_lr=1e-4, end_lr=10, num_iter=60)
print("LR", res.suggestion is not None)""",
    """\
w = lk.viz.watch(clf, every=3)
w""",
    """\
opt = lk.optim.SGD(clf.parameters(), lr=0.05)
for epoch in range(3):
    for xb, yb in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(clf(xb), yb).backward()
        opt.step()
print("SAMPLES", w.samples)""",
]


def test_boundary_and_lr_find_live(jlab, notebook_page, artifacts):
    nb = new_notebook(cells=[new_code_cell(c) for c in PLAYGROUND_CELLS], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, jlab["root"] / PLAYGROUND)
    p = notebook_page("playground")
    page = p.page
    p.open(PLAYGROUND)
    t0 = time.perf_counter()
    p.run_all()
    page.wait_for_selector(".labkit-boundary[data-updates]", timeout=60_000)
    seen, t_live = [], time.perf_counter()
    while time.perf_counter() - t_live < 60:
        n = int(page.get_attribute(".labkit-boundary", "data-updates") or 0)
        if not seen or seen[-1] != n:
            seen.append(n)
        if page.locator(".labkit-monitor").count():        # lr_find started: training is over
            break
        page.wait_for_timeout(100)
    print("boundary data-updates seen in the browser:", seen)
    assert len(seen) >= 4 and seen == sorted(seen), seen
    p.wait_cells_done()
    tick("playground_run_all_to_idle", t0)
    updates = int(page.locator(STDOUT, has_text="UPDATES").inner_text().split()[1])
    assert int(page.get_attribute(".labkit-boundary", "data-updates")) == updates

    # plane: both class colours painted; 8 neuron thumbnails
    colours = page.evaluate("""() => {
        const c = document.querySelector('.labkit-boundary-view');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let blue = 0, orange = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 2] > d[i] + 60) blue++;
            if (d[i] > d[i + 2] + 60) orange++;
        }
        return [blue, orange]; }""")
    assert min(colours) > 500, colours
    assert page.locator(".labkit-boundary .labkit-neuron canvas").count() == 8
    assert "first hidden layer" in page.inner_text(".labkit-boundary .labkit-caption")
    page.locator(".labkit-boundary").scroll_into_view_if_needed()
    p.shot("boundary-widget.png", ".labkit-boundary")

    # lr_find: loss against a log learning-rate axis, raw + smoothed, suggestion marked
    assert page.locator(STDOUT, has_text="LR ").inner_text().strip() == "LR True"
    lrmon = page.locator(".labkit-monitor").first
    assert int(lrmon.get_attribute("data-points")) > 20
    assert lrmon.get_attribute("data-series") == "2"
    assert "learning-rate finder" in lrmon.inner_text()
    lrmon.scroll_into_view_if_needed()
    p.shot("lr-find-widget.png", ".labkit-monitor")

    # watch: one panel per statistic, one line per layer (2 layers), log scale
    samples = int(page.locator(STDOUT, has_text="SAMPLES").inner_text().split()[1])
    assert samples == 3 * 10 // 3
    wmon = page.locator(".labkit-monitor").nth(1)
    assert "gradient health" in wmon.inner_text()
    metrics = [c.get_attribute("data-metric") for c in wmon.locator(".labkit-chart").all()]
    assert metrics == ["grad norm", "grad mean |g|", "grad std", "update / weight",
                       "dead fraction"], metrics
    assert wmon.locator(".labkit-legend-run").count() == 2
    assert wmon.locator(".labkit-logy").is_checked()
    wmon.scroll_into_view_if_needed()
    p.shot("watch-widget.png", ".labkit-monitor >> nth=1")
    assert not p.errors(), p.errors()
