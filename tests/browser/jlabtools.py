"""Helpers for labkit's browser tests (fixtures are in conftest.py): isolated Jupyter environment,
server API calls, and `Page`, a notebook page with the waits that proved reliable
(/work/shared/docs/browser-testing.md: readiness = /api/sessions idle + status bar "Idle";
Run menu's `runmenu:run-all`; end = idle indicator + every prompt numbered)."""
from __future__ import annotations

import json
import os
import pathlib
import socket
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium")
TOKEN = "labkit-test-token"
CHROME_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMINGS: dict[str, float] = {}


def tick(name, t0):
    TIMINGS[name] = round(time.perf_counter() - t0, 2)
    print(f"[timing] {name}: {TIMINGS[name]} s", flush=True)


def _requirements():
    missing = []
    for mod in ("jupyterlab", "playwright", "psutil", "anywidget", "ipykernel"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if not os.path.exists(CHROMIUM):
        missing.append(f"chromium at {CHROMIUM}")
    if missing:
        pytest.fail("browser tests need: " + ", ".join(missing) +
                    " (pip install jupyterlab notebook playwright psutil anywidget ipykernel; "
                    "apt-get install -y chromium)", pytrace=False)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(base: pathlib.Path) -> dict:
    """Keep ~/.jupyter, ~/.ipython, user settings and workspaces out of the test; make labkit
    importable by the kernel; turn on widget saveState and keep every cell in the DOM."""
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "cfg"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                     ("MPLCONFIGDIR", "mpl"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]:
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("MPLBACKEND", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                         env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("OMP_NUM_THREADS", "1")
    settings = {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                        "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
    }
    for name, value in settings.items():
        f = base / "settings" / f"{name}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    return env


def _api(url, path, method="GET"):
    req = urllib.request.Request(f"{url}{path}", method=method,
                                 headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
        return json.loads(body) if body else None


class Page:
    """A notebook page with console capture and the waits that proved reliable."""

    def __init__(self, ctx, jlab, artifacts, name):
        self.jlab, self.artifacts, self.name = jlab, artifacts, name
        self.console = []
        self.page = ctx.new_page()
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def open(self, path, ui="lab", wait_kernel=True):
        t0 = time.perf_counter()
        prefix = "/lab/tree" if ui == "lab" else "/notebooks"
        extra = "&reset" if ui == "lab" else ""
        self.page.goto(f"{self.jlab['url']}{prefix}/{path}?token={TOKEN}{extra}",
                       wait_until="domcontentloaded", timeout=120_000)
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        if wait_kernel:
            self.wait_kernel_ready(path)
        tick(f"open_{ui}_{self.name}", t0)

    def kernel_state(self, path):
        for s in _api(self.jlab["url"], "/api/sessions"):
            if s.get("path") == path and s.get("kernel"):
                return s["kernel"].get("execution_state")
        return None

    def wait_kernel_ready(self, path, timeout_s=120):
        """The toolbar indicator reads 'idle' before any kernel exists: require an idle kernel on
        the server AND the status bar's 'Idle' (Galata's check), and no kernel-picker dialog."""
        deadline = time.time() + timeout_s
        while self.kernel_state(path) != "idle":
            assert time.time() < deadline, "kernel never became idle (server side)"
            time.sleep(0.25)
        self.page.wait_for_selector("#jp-main-statusbar >> text=Idle",
                                    timeout=max(1, deadline - time.time()) * 1000)
        assert self.page.locator(".jp-Dialog").count() == 0, "unexpected dialog (kernel picker?)"

    def run_all(self):
        self.page.click(".jp-Notebook .jp-Cell .jp-InputPrompt >> nth=0")
        self.page.click('.lm-MenuBar-item:has-text("Run")')
        self.page.click('.lm-Menu-item[data-command="runmenu:run-all"]')

    def wait_cells_done(self, timeout_ms=120_000):
        self.page.wait_for_function(
            """() => {
                const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
                if (!ind || ind.dataset.status !== 'idle') return false;
                const prompts = [...document.querySelectorAll(
                    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""", timeout=timeout_ms, polling=200)

    def save(self, path, timeout_s=20, predicate=lambda nb: True):
        """File > Save, then wait until the file on disk satisfies ``predicate``."""
        self.page.click('.lm-MenuBar-item:has-text("File")')
        self.page.click('.lm-Menu-item[data-command="docmanager:save"]')
        f = self.jlab["root"] / path
        t = time.time()
        while time.time() - t < timeout_s:
            nb = json.loads(f.read_text())
            if predicate(nb):
                return nb
            time.sleep(0.2)
        raise AssertionError("the notebook was not saved with the expected content")

    def errors(self):
        return [c for c in self.console if c.startswith(("pageerror", "error"))]

    def shot(self, name, locator=None):
        target = self.page.locator(locator).first if locator else self.page
        target.screenshot(path=str(self.artifacts / name))

    def close(self, failed=False):
        if failed:
            try:
                self.page.screenshot(path=str(self.artifacts / f"failure-{self.name}.png"))
            except Exception:
                pass
        (self.artifacts / f"console-{self.name}.log").write_text("\n".join(self.console))
        self.page.close()


def saved_widget_states(nb, model_name="AnyModel"):
    st = nb.get("metadata", {}).get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return {k: v for k, v in st.items() if v.get("model_name") == model_name}


def shutdown_kernels(jlab, path):
    """Delete the notebook's session (kernel), so a re-opened page must restore saved state."""
    for s in _api(jlab["url"], "/api/sessions"):
        if s.get("path") == path:
            _api(jlab["url"], f"/api/sessions/{s['id']}", "DELETE")
