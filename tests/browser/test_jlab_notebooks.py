"""Workshop notebooks 02, 05, 06, 09 and 11 in a real JupyterLab (headless Chromium): run all, every
widget renders and updates, the decision boundary and the attention maps change while the training
cell runs, and the browser console stays clean.  Screenshots go to the artifacts folder (the README's pictures)."""
import pathlib
import shutil
import time

import pytest

from jlabtools import tick

pytestmark = pytest.mark.browser

NB_DIR = pathlib.Path(__file__).resolve().parents[2] / "notebooks"


def _open_and_run(jlab, notebook_page, name):
    shutil.copy(NB_DIR / name, jlab["root"] / name)
    p = notebook_page(name.split(".")[0])
    p.open(name)
    t0 = time.perf_counter()
    p.run_all()
    return p, t0


def _no_errors(p):
    errs = [e for e in p.errors() if "favicon" not in e and "404" not in e]
    assert not errs, errs


def test_02_autograd_graph_stepper_and_checks(jlab, notebook_page):
    p, t0 = _open_and_run(jlab, notebook_page, "02_autograd.ipynb")
    page = p.page
    p.wait_cells_done(timeout_ms=180_000)
    tick("nb02_run_all", t0)
    graph = page.locator(".labkit-graph").first
    graph.wait_for(timeout=30_000)
    assert int(graph.get_attribute("data-nodes")) >= 7            # 4 ops + 4 named leaves - ...
    # the stepper: Next moves the highlighted node
    stepper = page.locator(".labkit-graph").nth(1)
    before = stepper.get_attribute("data-node")
    stepper.locator("button:has-text('Next')").first.click()
    page.wait_for_function("([el, b]) => el.dataset.node !== b",
                           arg=[stepper.element_handle(), before], timeout=10_000)
    # exercise checks render as HTML; both exercises ship blank: "not attempted yet"
    checks = page.locator(".labkit-check")
    assert checks.count() == 2
    for i in range(2):
        assert checks.nth(i).get_attribute("data-status") == "blank"
        assert "not attempted yet" in checks.nth(i).inner_text()
    p.shot("nb02-graph.png", ".labkit-graph >> nth=0")
    p.shot("nb02-stepper.png", ".labkit-graph >> nth=1")
    _no_errors(p)


def test_05_decision_boundary_changes_during_training(jlab, notebook_page):
    p, t0 = _open_and_run(jlab, notebook_page, "05_mlp_playground.ipynb")
    page = p.page
    view = page.locator(".labkit-boundary").first
    view.wait_for(timeout=60_000)
    # record every redraw the page shows (a MutationObserver misses none, however fast training is)
    view.evaluate("""el => { window.__lkUpdates = [el.dataset.updates];
        new MutationObserver(() => window.__lkUpdates.push(el.dataset.updates))
            .observe(el, {attributes: true, attributeFilter: ['data-updates']}); }""")
    seen = set()
    deadline = time.time() + 120
    while time.time() < deadline:
        u = view.get_attribute("data-updates")
        if u is not None:
            seen.add(int(u))
        if page.locator(".labkit-monitor").count() >= 1:      # the training cell has finished
            break
        time.sleep(0.05)
    p.wait_cells_done(timeout_ms=180_000)
    tick("nb05_run_all", t0)
    seen |= {int(u) for u in page.evaluate("window.__lkUpdates") if u is not None}
    # the picture changed while the training cell ran (several states shown), and was redrawn
    # throughout the loop (12 update() calls, throttled to 5 per second)
    assert len(seen) >= 2 and max(seen) >= 3, f"boundary updates seen live: {sorted(seen)}"
    canvas_ok = page.evaluate("""() => {
        const c = document.querySelector('.labkit-boundary canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) colours.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return colours.size;
    }""")
    assert canvas_ok > 10
    mon = page.locator(".labkit-monitor").first
    assert int(mon.get_attribute("data-series")) >= 4            # four activations overlaid
    assert page.locator(".labkit-check[data-status='blank']").count() == 3     # shipped blank
    p.shot("nb05-boundary.png", ".labkit-boundary >> nth=0")
    p.shot("nb05-activations.png", ".labkit-monitor >> nth=0")
    _no_errors(p)


def test_06_gradient_inspectors(jlab, notebook_page):
    p, t0 = _open_and_run(jlab, notebook_page, "06_gradients.ipynb")
    page = p.page
    p.wait_cells_done(timeout_ms=180_000)
    tick("nb06_run_all", t0)
    watches = page.locator(".labkit-monitor")
    assert watches.count() == 3
    for i in range(3):
        assert int(watches.nth(i).get_attribute("data-points")) > 0
    # the deep sigmoid net is flagged (vanishing gradients), the residual one is not
    assert int(watches.nth(0).get_attribute("data-alerts") or 0) >= 1
    p.shot("nb06-watch.png", ".labkit-monitor >> nth=0")
    _no_errors(p)


def test_09_attention_follows_training_then_shows_characters(jlab, notebook_page):
    p, t0 = _open_and_run(jlab, notebook_page, "09_char_transformer.ipynb")
    page = p.page
    live = page.locator(".labkit-attention").first
    live.wait_for(timeout=60_000)
    # record every redraw of the live view (hooked on the model) while the training cell runs
    live.evaluate("""el => { window.__lkAtt = [el.dataset.version];
        new MutationObserver(() => window.__lkAtt.push(el.dataset.version))
            .observe(el, {attributes: true, attributeFilter: ['data-version']}); }""")
    p.wait_cells_done(timeout_ms=180_000)
    tick("nb09_run_all", t0)
    seen = {int(v) for v in page.evaluate("window.__lkAtt") if v}
    assert len(seen) >= 3, f"attention redraws seen while training: {sorted(seen)}"
    views = page.locator(".labkit-attention")
    assert views.count() == 2
    for i in range(2):
        assert views.nth(i).get_attribute("data-heads") == "2"
        assert views.nth(i).get_attribute("data-causal") == "true"
    # after training: the characters of one piece of text are the tokens; hovering one shades the
    # keys it attends to (the causal mask: none after it)
    after = views.nth(1)
    after.scroll_into_view_if_needed()
    q = after.locator('.labkit-attn-strip[data-side="q"] .labkit-attn-token')
    assert q.count() == 32
    assert all(len(q.nth(j).inner_text()) <= 1 for j in range(32)), "tokens are characters"
    q.nth(5).hover()
    assert after.get_attribute("data-focus") == "q5"
    keys = after.locator('.labkit-attn-strip[data-side="k"] .labkit-attn-token')
    w = [float(keys.nth(j).get_attribute("data-w") or 0) for j in range(32)]
    assert sum(w[:6]) == pytest.approx(1.0, abs=1e-3) and max(w[6:]) == 0
    assert page.locator(".labkit-check[data-status='blank']").count() == 2
    p.shot("nb09-attention.png", ".labkit-attention >> nth=1")
    _no_errors(p)


def test_11_debugging_failures_are_seen(jlab, notebook_page):
    p, t0 = _open_and_run(jlab, notebook_page, "11_debugging.ipynb")
    page = p.page
    p.wait_cells_done(timeout_ms=180_000)
    tick("nb11_run_all", t0)
    # watch: the too-small init is flagged (vanishing), He init is not, the dead layer is flagged
    watches = page.locator(".labkit-monitor")
    assert watches.count() >= 4                       # 3 watches + the lr_find chart
    assert int(watches.nth(0).get_attribute("data-alerts") or 0) >= 1
    assert int(watches.nth(1).get_attribute("data-alerts") or 0) == 0
    assert int(watches.nth(2).get_attribute("data-alerts") or 0) >= 1
    # gradcheck on the graph: exactly the buggy Function's node fails
    graph = page.locator(".labkit-graph").first
    graph.wait_for(timeout=30_000)
    page.wait_for_function("el => el.dataset.checkFail !== undefined", arg=graph.element_handle(),
                           timeout=30_000)
    assert graph.get_attribute("data-check-fail") == "1"
    # the anomaly-mode message names the line; the re-run warning is shown
    outputs = page.locator(".jp-OutputArea-output")
    assert outputs.filter(has_text="produced nan values").count() == 1
    assert outputs.filter(has_text="return -(onehot * probs.log())").count() >= 1
    assert outputs.filter(has_text="DoubledGradientWarning").count() == 1
    # every exercise ships blank
    assert page.locator(".labkit-check").count() == 7
    assert page.locator(".labkit-check[data-status='blank']").count() == 7
    p.shot("nb11-watch.png", ".labkit-monitor >> nth=0")
    p.shot("nb11-gradcheck.png", ".labkit-graph >> nth=0")
    _no_errors(p)
