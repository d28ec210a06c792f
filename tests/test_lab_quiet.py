"""scripts/lab starts a quiet, offline JupyterLab: no news prompt, no update check, nothing fetched
from the network; the settings come from the repository, not from the user's home."""
import json
import os
import pathlib
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TOKEN = "labkit-quiet-test"


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    req = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("quiet-lab")
    env = dict(os.environ, LABKIT_LAB_SKIP_SETUP="1", JUPYTER_PLATFORM_DIRS="1")
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        (base / var.lower()).mkdir()
        env[var] = str(base / var.lower())
    port = _port()
    log = open(base / "lab.log", "w")
    proc = subprocess.Popen([str(ROOT / "scripts" / "lab"), "--no-browser",
                             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                             "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            _get(f"{url}/api/status")
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("scripts/lab did not start:\n" + (base / "lab.log").read_text()[-3000:])
            time.sleep(0.25)
    yield {"url": url, "base": base, "user_settings": base / "jupyterlab_settings_dir"}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def test_news_prompt_and_update_check_are_off(lab):
    s = _get(f"{lab['url']}/lab/api/settings/@jupyterlab/apputils-extension:notification")
    # JupyterLab asks "Would you like to get notified ...?" when fetchNews is "none" (its default);
    # the overrides change the defaults, and the user has set nothing
    props = s["schema"]["properties"]
    assert props["fetchNews"]["default"] == "false"
    assert props["checkForUpdates"]["default"] is False
    assert "fetchNews" not in s["settings"] and "checkForUpdates" not in s["settings"]


def test_nothing_is_fetched_from_the_network(lab):
    assert _get(f"{lab['url']}/lab/api/news")["news"] == []
    assert _get(f"{lab['url']}/lab/api/update")["notification"] is None


def test_serves_the_workshop_notebooks_and_leaves_home_alone(lab):
    names = {c["name"] for c in _get(f"{lab['url']}/api/contents")["content"]}
    assert "00_start_here.ipynb" in names and "11_debugging.ipynb" in names
    assert not any(lab["user_settings"].rglob("*")), "scripts/lab wrote user settings"
