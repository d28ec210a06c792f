"""Fixtures: one JupyterLab server (`jlab`) and one headless Chromium (`browser`) per test module,
and `notebook_page(name)` -> jlabtools.Page (console captured, screenshot on failure).

Recipe and pitfalls: /work/shared/docs/browser-testing.md.
Needs: pip install jupyterlab notebook ipywidgets anywidget ipykernel playwright psutil
       apt-get install -y chromium        (LABKIT_CHROMIUM overrides /usr/bin/chromium)
Artifacts (screenshots, console logs, jupyter.log, timings.json): $LABKIT_ARTIFACTS/browser,
else a pytest tmp dir.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from jlabtools import (CHROME_ARGS, CHROMIUM, TIMINGS, TOKEN, Page, _api, _free_port,
                       _requirements, isolated_env, tick)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    base = os.environ.get("LABKIT_ARTIFACTS")
    path = pathlib.Path(base) / "browser" if base else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    yield path
    (path / "timings.json").write_text(json.dumps(TIMINGS, indent=2))


@pytest.fixture(scope="module")
def jlab(tmp_path_factory, artifacts):
    """A JupyterLab server (with Notebook 7 if installed) serving a fresh tmp root directory."""
    _requirements()
    import psutil

    base = tmp_path_factory.mktemp("jlab")
    root = base / "root"
    root.mkdir()
    port = _free_port()
    log_path = base / "jupyter.log"
    log = open(log_path, "w")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=isolated_env(base),
                            cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            proc.wait()
            log.close()
            pytest.fail("jupyter lab did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.25)
    tick("server_start", t0)
    info = {"url": url, "root": root, "proc": proc, "log": log_path}
    yield info

    t0 = time.perf_counter()
    children = psutil.Process(proc.pid).children(recursive=True)
    try:
        _api(url, "/api/shutdown", "POST")
    except Exception:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:                       # by PID, never by name
        p.kill()
    log.close()
    shutil.copy(log_path, artifacts / f"jupyter-{port}.log")
    tick("server_shutdown", t0)
    assert not alive, f"kernel processes survived shutdown: {alive}"


@pytest.fixture(scope="module")
def browser(jlab, tmp_path_factory):
    """One headless Chromium (persistent context with a fresh profile) per module."""
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chrome-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROME_ARGS, viewport={"width": 1400, "height": 1000},
            accept_downloads=True)
        tick("browser_launch", t0)
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def notebook_page(browser, jlab, artifacts, request):
    pages = []

    def make(name):
        p = Page(browser, jlab, artifacts, name)
        pages.append(p)
        return p

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for p in pages:
        p.close(failed=failed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


