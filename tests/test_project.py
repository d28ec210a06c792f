"""Project-level checks: the README's two commands, environment.yml vs pyproject, import order."""
import pathlib
import re
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```(?:bash|sh)?\n(.*?)```", text, re.S)
    assert block, "README.md must have a '## Quick start' section with a code block"
    return [l.strip() for l in block.group(1).splitlines() if l.strip() and not l.strip().startswith("#")]


def test_readme_quick_start_is_two_commands_used_by_ci():
    cmds = _readme_commands()
    assert cmds == ["scripts/lab", "scripts/test"], cmds
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^scripts/test\b", ci, re.M), ".ci/run must call the README's test command"
    for c in cmds:
        p = ROOT / c
        assert p.exists() and p.stat().st_mode & 0o111, f"{c} must exist and be executable"
    lab = (ROOT / "scripts" / "lab").read_text()
    assert "labkit warmup" in lab and "jupyter lab notebooks/" in lab


def _norm(req):
    return re.sub(r"\s+", "", req.split(";")[0]).lower()


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(_norm(r) for r in py["dependencies"])
    for extra in ("viz", "lab", "test", "dev"):
        wanted |= {_norm(r) for r in py["optional-dependencies"][extra] if not r.startswith("labkit")}
    env = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    have = set()
    for line in env.splitlines():
        m = re.match(r"\s*-\s+([A-Za-z0-9_.\-]+\s*[<>=!~].*|[A-Za-z0-9_.\-]+)\s*$", line)
        if m and not m.group(1).startswith(("python=", "pip", "-e")):
            have.add(_norm(m.group(1)))
    assert wanted == have, f"only in pyproject: {wanted - have}; only in environment.yml: {have - wanted}"


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_numba_and_torch_import_in_both_orders():
    """Importing numba and torch in one process can crash in some orders; both are checked here."""
    body = ("import numpy as np; from labkit.kernels import jit_module; k = jit_module(); "
            "x = np.ones(8, np.float32); o = np.empty_like(x); k.exp(x, o); "
            "import torch; print(float(torch.ones(2).sum()) + float(o.sum()))")
    r1 = _run("import labkit; " + body)
    assert r1.returncode == 0, r1.stderr
    assert abs(float(r1.stdout) - (2 + 8 * 2.718281828)) < 1e-3
    r2 = _run("import torch; import labkit; " + body)
    assert r2.returncode == 0, r2.stderr
    assert r1.stdout.strip() == r2.stdout.strip()


def test_labkit_does_not_import_torch():
    r = _run("import sys, labkit; labkit.tensor([1.0]).exp(); print('torch' in sys.modules)")
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
