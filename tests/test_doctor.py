"""`python -m labkit doctor`: a checklist with a fix for each failure, exit status 1 when something
is broken; in a notebook the same checklist plus a widget that reports back to the kernel.
(The real browser round trip is tests/browser/test_jlab_doctor.py.)"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import nbformat
from nbclient import NotebookClient

from labkit import doctor

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _doctor(*args, **env):
    e = dict(os.environ, **env)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in e.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, "-m", "labkit", "doctor", *args], capture_output=True,
                          text=True, timeout=300, env=e, cwd=ROOT)


def test_cli_all_good_here_and_warms_the_cache():
    r = _doctor()
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    for name in ("Python", "numpy", "numba", "labkit", "kernel cache", "kernels warm", "datasets",
                 "front-ends", "ipykernel", "ipywidgets", "anywidget"):
        assert any(l.startswith(f"✔ {name}:") for l in lines), (name, r.stdout)
    assert "✘" not in r.stdout and "all good" in r.stdout
    import numba
    assert f"✔ numba: {numba.__version__}" in r.stdout
    assert "JupyterLab 4." in r.stdout and "front-end extension enabled" in r.stdout


def test_cli_unusable_numba_cache_dir_fails_with_its_fix(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    r = _doctor(NUMBA_CACHE_DIR=str(blocker / "cache"))
    assert r.returncode == 1, r.stdout
    assert f"✘ kernel cache: NUMBA_CACHE_DIR={blocker / 'cache'} cannot be used" in r.stdout
    assert "fix: point NUMBA_CACHE_DIR at a folder you can write" in r.stdout
    assert "✘ kernels warm: skipped" in r.stdout
    assert "problem" in r.stdout.splitlines()[-1]


def test_cli_usable_custom_cache_dir_is_fine(tmp_path):
    r = _doctor("--no-warm", NUMBA_CACHE_DIR=str(tmp_path / "new" / "cache"))
    assert r.returncode == 0, r.stdout
    assert f"✔ kernel cache: {tmp_path / 'new' / 'cache'} is writable (NUMBA_CACHE_DIR)" in r.stdout
    assert (tmp_path / "new" / "cache").is_dir()


def test_cli_disabled_widget_extension_fails_with_its_fix(tmp_path):
    cfg = tmp_path / "jupyter-config"
    (cfg / "labconfig").mkdir(parents=True)
    (cfg / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"anywidget": True}}))
    r = _doctor("--no-warm", JUPYTER_CONFIG_DIR=str(cfg))
    assert r.returncode == 1, r.stdout
    assert "✘ anywidget:" in r.stdout and "disabled" in r.stdout
    assert "fix: jupyter labextension enable anywidget" in r.stdout
    assert "✔ ipywidgets:" in r.stdout


def test_report_object():
    items = [doctor.Check("a", doctor.OK, "fine"),
             doctor.Check("b", doctor.FAIL, "broken", "do this")]
    rep = doctor.Report(items)
    assert not rep and rep.failures() == [items[1]]
    assert "✘ b: broken\n    fix: do this" in str(rep)
    assert "data-ok='false'" in rep._repr_html_() and "fix: do this" in rep._repr_html_()
    assert doctor.Report(items[:1]).ok


def test_widget_round_trip_in_process():
    w = doctor.widget_check()
    assert w.status == "waiting" and not w.ok and w.verdict == ""
    assert "export default" in w._esm and "save_changes" in w._esm
    assert repr(w).startswith("✘ widgets do not render here") and "fix" in repr(w).lower()
    # what the browser does when it draws the widget: set `rendered` and sync it to the kernel
    w.set_state({"rendered": {"frontend": "JupyterLab", "user_agent": "test", "at": 1}})
    assert w.ok and w.status == "ok"
    assert w.verdict.startswith("✔ widgets render here (JupyterLab)")


def test_doctor_in_a_notebook_kernel_shows_checklist_and_widget():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from labkit import doctor\ndoctor.run(warm=False)")]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, IPYTHONDIR=tmp, JUPYTER_RUNTIME_DIR=tmp)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        NotebookClient(nb, timeout=120, kernel_name="python3").execute(env=env)
    outs = nb.cells[0].outputs
    html = [o.data["text/html"] for o in outs if "text/html" in o.get("data", {})]
    assert html and "class='labkit-doctor' data-ok='true'" in html[0]
    widget = [o for o in outs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget) == 1
    # where widgets cannot render, the front-end shows the text fallback: what to fix
    assert widget[0].data["text/plain"].startswith("✘ widgets do not render here")
