"""The README's offline install for a workshop room, end to end: build a wheelhouse (labkit's wheel
and its runtime dependencies; the only step that may use the network), then install labkit from it
into a fresh virtual environment with pip cut off from the network (``--no-index``, no config
files, and every proxy pointed at a closed port), and use it."""
import math
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCKED = "http://127.0.0.1:9"          # the discard port: nothing listens, every request fails


def _run(cmd, env=None, cwd=None, timeout=600):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=cwd,
                       timeout=timeout)
    return r


def _offline_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "NUMBA_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               http_proxy=BLOCKED, https_proxy=BLOCKED, HTTP_PROXY=BLOCKED, HTTPS_PROXY=BLOCKED,
               ALL_PROXY=BLOCKED, no_proxy="", NO_PROXY="")
    return env


def test_install_from_a_wheelhouse_without_network(tmp_path):
    # a clean copy of the sources (no caches, nothing written into the checkout)
    src = tmp_path / "src"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "labkit", src / "labkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    wheelhouse = tmp_path / "wheelhouse"

    # before the day (network allowed): labkit's wheel plus every runtime dependency as wheels
    r = _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--prefer-binary",
              "-q", "-w", wheelhouse, src], cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    names = sorted(p.name.split("-")[0].lower() for p in wheelhouse.glob("*.whl"))
    for dep in ("labkit", "numpy", "numba", "llvmlite", "safetensors", "threadpoolctl"):
        assert dep in names, names

    # in the room: a fresh venv (no system site-packages), pip with the network blocked
    venv = tmp_path / "room-venv"
    r = _run([sys.executable, "-m", "venv", venv])
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    env = _offline_env()
    r = _run([py, "-m", "pip", "install", "--no-index", "--find-links", wheelhouse, "labkit"],
             env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # the block is real: anything not in the wheelhouse cannot be fetched
    r2 = _run([py, "-m", "pip", "install", "--no-index", "--find-links", wheelhouse, "hypothesis"],
              env=env, cwd=tmp_path)
    assert r2.returncode != 0 and "No matching distribution" in r2.stdout + r2.stderr

    # and labkit works from there: its own copy, kernels compiled, shipped data loads
    code = ("import labkit as lk, pathlib, sys\n"
            "assert pathlib.Path(lk.__file__).is_relative_to(sys.prefix), lk.__file__\n"
            "x = lk.tensor([1.0, 2.0], requires_grad=True)\n"
            "(x.exp() * x).sum().backward()\n"
            "train, test = lk.datasets.digits(split=0.8, seed=0)\n"
            "print(round(x.grad.sum().item(), 4), len(train) + len(test))\n")
    r = _run([py, "-c", code], env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    want = round(2 * math.e + 3 * math.e ** 2, 4)          # d/dx x e^x = (1 + x) e^x at 1 and 2
    assert r.stdout.split() == [str(want), "1797"]
