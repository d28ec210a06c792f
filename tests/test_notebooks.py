"""The workshop notebooks: in sync with scripts/build_notebooks.py, and each runs top to bottom,
offline, without errors, in under 60 s on this 2-core machine.  Run times are written to
``$LABKIT_ARTIFACTS/notebook_times.json``."""
import json
import os
import pathlib
import sys
import tempfile
import time

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
LIMIT_S = 60
TIMES = {}

sys.path.insert(0, str(ROOT / "scripts"))


def test_notebooks_match_builder(tmp_path):
    import build_notebooks
    built = build_notebooks.build(tmp_path)
    assert [p.name for p in built] == [p.name for p in NOTEBOOKS]
    for p in built:
        want = nbformat.read(str(p), as_version=4)
        have = nbformat.read(str(NB_DIR / p.name), as_version=4)
        assert [c.source for c in have.cells] == [c.source for c in want.cells], (
            f"{p.name} differs from scripts/build_notebooks.py: edit the builder and rebuild")
        for c in have.cells:
            if c.cell_type == "code":
                assert not c.outputs and c.execution_count is None, f"{p.name}: outputs not stripped"


def _env(tmp):
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
              "MPLCONFIGDIR"):
        env[k] = os.path.join(tmp, k.lower())
    return env


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = nbformat.read(str(path), as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        client = NotebookClient(nb, timeout=LIMIT_S * 2, kernel_name="python3",
                                resources={"metadata": {"path": str(NB_DIR)}})
        t0 = time.perf_counter()
        client.execute(env=_env(tmp))
        elapsed = time.perf_counter() - t0
    TIMES[path.stem] = round(elapsed, 1)
    art = os.environ.get("LABKIT_ARTIFACTS")
    if art:
        pathlib.Path(art).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(art) / "notebook_times.json").write_text(json.dumps(TIMES, indent=1))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    assert elapsed < LIMIT_S, f"{path.name} took {elapsed:.1f} s (limit {LIMIT_S} s)"
    size = len(nbformat.writes(nb))
    assert size < 3_000_000, f"{path.name} outputs are too large ({size} bytes)"
