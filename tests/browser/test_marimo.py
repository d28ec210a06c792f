"""labkit widgets in marimo (`marimo run --headless` + headless Chromium), the way a new user
tries them: `mo.ui.anywidget(widget)` after the widget was filled.  marimo does not use IPython's
display path or its end-of-cell hook, so what a widget shows must be in its synced state: a
Monitor that was logged to shows its points, not "No metrics yet"."""
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from jlabtools import CHROME_ARGS, CHROMIUM, ROOT

pytestmark = pytest.mark.browser

APP = '''
import marimo

app = marimo.App()


@app.cell
def _():
    import math
    import marimo as mo
    import labkit as lk
    import labkit.viz
    return lk, math, mo


@app.cell
def _(lk, math, mo):
    mon = lk.viz.Monitor("marimo monitor")
    for i in range(30):
        mon.log(loss=math.exp(-i / 10), acc=i / 30)
    mon.log(val_loss=0.4)
    w = mo.ui.anywidget(mon)
    w
    return


@app.cell
def _(lk, mo):
    lk.manual_seed(0)
    tv = mo.ui.anywidget(lk.viz.show(lk.randn(2, 3, 6, 6), title="marimo tensor"))
    tv
    return


@app.cell
def _(lk, mo):
    import numpy as np
    w8 = np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None]
    att = mo.ui.anywidget(lk.viz.attention(np.stack([w8, w8]), ["a", "b", "c", "d"]))
    att
    return


if __name__ == "__main__":
    app.run()
'''


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def marimo_app(tmp_path):
    pytest.importorskip("marimo")
    app = tmp_path / "app.py"
    app.write_text(APP)
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                         env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["HOME"] = str(tmp_path)                       # marimo's config and cache stay here
    env["XDG_CONFIG_HOME"] = str(tmp_path / "cfg")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env.pop("MPLBACKEND", None)
    log = open(tmp_path / "marimo.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "marimo", "run", str(app), "--headless",
                             "--host", "127.0.0.1", "--port", str(port), "--no-token",
                             "--no-sandbox", "--no-check"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            proc.wait()
            log.close()
            pytest.fail("marimo did not start:\n" + (tmp_path / "marimo.log").read_text()[-3000:])
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def test_widgets_in_marimo(marimo_app, tmp_path):
    from playwright.sync_api import sync_playwright
    art = pathlib.Path(os.environ.get("LABKIT_ARTIFACTS", tmp_path)) / "browser"
    art.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROME_ARGS,
            viewport={"width": 1300, "height": 1100})
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(marimo_app, wait_until="domcontentloaded", timeout=90_000)
            mon = page.locator(".labkit-monitor")
            mon.wait_for(timeout=90_000)
            page.wait_for_function(
                "() => { const m = document.querySelector('.labkit-monitor') ||"
                " [...document.querySelectorAll('*')].map(e => e.shadowRoot)"
                ".filter(Boolean).map(r => r.querySelector('.labkit-monitor')).find(Boolean);"
                " return m && m.dataset.points === '61'; }", timeout=30_000)
            assert mon.get_attribute("data-points") == "61"      # 30 loss + 30 acc + 1 val
            assert "No metrics yet" not in mon.inner_text()
            mon.screenshot(path=str(art / "marimo-monitor.png"))
            tv = page.locator(".labkit-tensor")
            tv.wait_for(timeout=30_000)
            assert tv.get_attribute("data-panels") == "3"
            assert "shape (2, 3, 6, 6)" in tv.inner_text()
            att = page.locator(".labkit-attention")
            att.wait_for(timeout=30_000)
            assert att.get_attribute("data-causal") == "true" and att.get_attribute("data-heads") == "2"
            page.screenshot(path=str(art / "marimo-page.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(art / "failure-marimo.png"), full_page=True)
            raise
        finally:
            ctx.close()
    assert not errors, errors
