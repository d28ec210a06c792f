"""Notebook 00 in the JupyterLab that `scripts/lab` starts (a copy of the repository layout, so the
real script, its settings overrides and its server options are what runs): Run All, the doctor's
checklist is all ✔, the doctor widget is drawn by the browser, reports back to the kernel and shows
the kernel's answer "✔ widgets render here (JupyterLab)"; no news prompt appears."""
import os
import pathlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from jlabtools import TOKEN, _free_port, _requirements, isolated_env, tick

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def jlab(tmp_path_factory, artifacts):
    """JupyterLab started by scripts/lab itself, from a temporary copy of the repository layout."""
    _requirements()
    base = tmp_path_factory.mktemp("scripts-lab")
    repo = base / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "lab", repo / "scripts" / "lab")
    shutil.copytree(ROOT / "scripts" / "lab-settings", repo / "scripts" / "lab-settings")
    (repo / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "00_start_here.ipynb", repo / "notebooks")
    os.symlink((ROOT / ".venv").resolve(), repo / ".venv")
    env = isolated_env(base)
    # isolated_env turns the news off in the *user* settings; scripts/lab must do it on its own
    for f in (base / "settings").rglob("notification.jupyterlab-settings"):
        f.unlink()
    env["LABKIT_LAB_SKIP_SETUP"] = "1"
    env["LABKIT_PROGRESS"] = str(base / "progress.json")
    port = _free_port()
    log_path = base / "jupyter.log"
    log = open(log_path, "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(repo / "scripts" / "lab"), "--no-browser",
                             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                             "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
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
            pytest.fail("scripts/lab did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.25)
    tick("scripts_lab_start", t0)
    yield {"url": url, "root": repo / "notebooks", "proc": proc, "log": log_path}
    import psutil
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:                       # by PID, never by name
        p.kill()
    log.close()
    shutil.copy(log_path, artifacts / f"jupyter-scripts-lab-{port}.log")


def test_00_doctor_widget_reports_back_and_lab_is_quiet(jlab, notebook_page):
    p = notebook_page("nb00")
    p.open("00_start_here.ipynb")
    page = p.page
    t0 = time.perf_counter()
    p.run_all()
    p.wait_cells_done(timeout_ms=180_000)
    tick("nb00_run_all", t0)
    checklist = page.locator(".labkit-doctor").first
    checklist.wait_for(timeout=30_000)
    assert checklist.get_attribute("data-ok") == "true", checklist.inner_text()
    assert page.locator(".labkit-doctor-item[data-status='ok']").count() >= 10
    # the widget was drawn, told the kernel, and shows the kernel's answer
    w = page.locator(".labkit-doctor-widget").first
    page.wait_for_selector(".labkit-doctor-widget[data-status='ok']", timeout=60_000)
    tick("nb00_widget_verdict", t0)
    assert w.inner_text().startswith("✔ widgets render here (JupyterLab)")
    # the text fallback ("✘ widgets do not render here") is not what the learner sees
    assert page.locator(".jp-OutputArea-output:has-text('widgets do not render here')").count() == 0
    # the live chart and the progress table rendered too
    assert page.locator(".labkit-monitor").count() >= 1
    assert page.locator("table.labkit-progress").count() == 1
    # quiet: no "Would you like to get notified about official Jupyter news?" toast
    time.sleep(1.0)
    assert page.get_by_text("official Jupyter news").count() == 0
    p.shot("nb00-doctor.png", ".labkit-doctor-widget >> nth=0")
    errs = [e for e in p.errors() if "favicon" not in e and "404" not in e]
    assert not errs, errs


def test_00_doctor_widget_reports_back_in_notebook7(jlab, notebook_page):
    """The same round trip in Notebook 7 (served by the same server): the widget names it."""
    p = notebook_page("nb00-notebook7")
    p.open("00_start_here.ipynb", ui="notebook", wait_kernel=False)
    page = p.page
    deadline = time.time() + 120
    while p.kernel_state("00_start_here.ipynb") != "idle":
        assert time.time() < deadline, "the kernel never became idle"
        time.sleep(0.25)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    time.sleep(1.0)                         # let the page connect to the idle kernel
    t0 = time.perf_counter()
    p.run_all()
    page.wait_for_selector(".labkit-doctor-widget[data-status='ok']", timeout=180_000)
    tick("nb00_notebook7_widget_verdict", t0)
    text = page.locator(".labkit-doctor-widget").first.inner_text()
    assert text.startswith("✔ widgets render here (Jupyter Notebook)"), text
    assert page.locator(".labkit-doctor[data-ok='true']").count() == 1
    assert page.get_by_text("official Jupyter news").count() == 0
