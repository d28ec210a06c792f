"""The workshop notebooks: built from their sources in notebooks/src/, and each executed three ways.

* blank (as shipped): runs top to bottom, offline, without errors, in under 60 s, and every
  exercise check says "not attempted yet";
* solved: the notebook's setup cell plus its exercise cells with the reference solutions
  (``ex.solution(name)``) pasted in: every check passes;
* wrong: the same cells with a typical wrong answer (tests/exercise_mistakes.py): every check fails
  with the message it promises (the first bad element, expected vs got, the hint for that mistake).

The solved and wrong runs execute only the setup cell and the exercise cells (exercise cells need
nothing else), so the three ways cost little more than one.  Run times are written to
``$LABKIT_ARTIFACTS/notebook_times.json``."""
import json
import os
import pathlib
import re
import sys
import tempfile
import time

import nbformat
import pytest
from nbclient import NotebookClient

from exercise_mistakes import MISTAKES
from labkit import exercises as ex

ROOT = pathlib.Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
LIMIT_S = 60
TIMES = {}

sys.path.insert(0, str(ROOT / "scripts"))


def test_notebooks_match_their_sources(tmp_path):
    import build_notebooks
    built = build_notebooks.build(tmp_path)
    assert [p.name for p in built] == [p.name for p in NOTEBOOKS]
    for p in built:
        want = nbformat.read(str(p), as_version=4)
        have = nbformat.read(str(NB_DIR / p.name), as_version=4)
        assert have == want, (f"{p.name} differs from notebooks/src/{p.stem}.py: edit the source "
                              f"and run scripts/build_notebooks.py")
        for c in have.cells:
            if c.cell_type == "code":
                assert not c.outputs and c.execution_count is None, f"{p.name}: outputs not stripped"


def test_no_hedging_and_exercises_ship_blank():
    """No `hasattr` hedging anywhere; no exercise cell contains a line of any reference solution
    (the answer's one home is labkit/exercises/solutions.py, shown by ex.solution)."""
    body = set()
    for name in ex.list():
        for line in str(ex.solution(name)).splitlines():
            s = line.strip()
            scaffold = re.fullmatch(r"return [\w, ]+", s)      # `return grad_x, grad_y`
            if s and not scaffold and not s.startswith(("def ", "class ", "@", "#", '"""')):
                body.add(s)
    for path in NOTEBOOKS:
        nb = nbformat.read(str(path), as_version=4)
        for c in nb.cells:
            if c.cell_type != "code":
                continue
            assert "hasattr(" not in c.source, f"{path.name}: hedging code in\n{c.source}"
            if "exercise" in c.metadata:
                dup = [l.strip() for l in c.source.splitlines() if l.strip() in body]
                assert not dup, f"{path.name}: exercise {c.metadata['exercise']} ships {dup}"


def _exercise_cells(nb):
    return [(i, c.metadata["exercise"]) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and "exercise" in c.metadata]


def test_exercises_per_notebook():
    seen = {}
    for path in NOTEBOOKS:
        names = [n for _, n in _exercise_cells(nbformat.read(str(path), as_version=4))]
        seen.update({n: path.stem for n in names})
        if path.stem >= "02":
            assert len(names) >= 2, f"{path.name} has {len(names)} exercises"
    assert set(seen) == set(ex.list()), "every exercise appears in exactly one notebook"
    from labkit.exercises._catalog import EXERCISES
    assert {n: EXERCISES[n].notebook for n in seen} == seen


def _env(tmp):
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
              "MPLCONFIGDIR"):
        env[k] = os.path.join(tmp, k.lower())
    env["LABKIT_PROGRESS"] = os.path.join(tmp, "progress.json")
    return env


def _execute(nb, key):
    with tempfile.TemporaryDirectory() as tmp:
        client = NotebookClient(nb, timeout=LIMIT_S * 2, kernel_name="python3",
                                resources={"metadata": {"path": str(NB_DIR)}})
        t0 = time.perf_counter()
        client.execute(env=_env(tmp))
        elapsed = time.perf_counter() - t0
    TIMES[key] = round(elapsed, 1)
    art = os.environ.get("LABKIT_ARTIFACTS")
    if art:
        pathlib.Path(art).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(art) / "notebook_times.json").write_text(json.dumps(TIMES, indent=1))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    return elapsed


def _check_text(cell):
    """The text of the CheckResult a cell displayed (its last expression)."""
    texts = [o.data["text/plain"] for o in cell.outputs
             if o.output_type == "execute_result" and "text/plain" in o.data]
    assert texts, f"the exercise cell displayed no check result:\n{cell.source}"
    return texts[-1]


def _with_answer(cell, answer):
    """The exercise cell with its definition replaced by ``answer`` (the check line is kept)."""
    lines = cell.source.splitlines()
    k = next(i for i, l in enumerate(lines) if l.startswith("ex.check("))
    new = nbformat.from_dict(dict(cell))
    new.source = answer.strip() + "\n\n" + "\n".join(lines[k:])
    new.outputs, new.execution_count = [], None
    return new


def _exercise_notebook(nb, answers):
    """The setup cell (the first code cell) plus every exercise cell with its answer."""
    setup = next(c for c in nb.cells if c.cell_type == "code")
    out = nbformat.from_dict(dict(nb))
    out.cells = [nbformat.from_dict(dict(setup))] + [_with_answer(nb.cells[i], answers[name])
                                                    for i, name in _exercise_cells(nb)]
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_blank(path):
    nb = nbformat.read(str(path), as_version=4)
    elapsed = _execute(nb, f"{path.stem} blank")
    assert elapsed < LIMIT_S, f"{path.name} took {elapsed:.1f} s (limit {LIMIT_S} s)"
    for i, name in _exercise_cells(nb):
        text = _check_text(nb.cells[i])
        assert text.startswith(f"[{name}] not attempted yet"), text
    size = len(nbformat.writes(nb))
    assert size < 3_000_000, f"{path.name} outputs are too large ({size} bytes)"


WITH_EXERCISES = [p for p in NOTEBOOKS if _exercise_cells(nbformat.read(str(p), as_version=4))]


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_notebook_exercises_solved(path):
    nb = _exercise_notebook(nbformat.read(str(path), as_version=4),
                            {name: str(ex.solution(name)) for name in ex.list()})
    _execute(nb, f"{path.stem} solved")
    for cell in nb.cells[1:]:
        name = cell.metadata["exercise"]
        text = _check_text(cell)
        assert text.startswith(f"[{name}] correct"), text


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_notebook_exercises_wrong(path):
    nb = _exercise_notebook(nbformat.read(str(path), as_version=4),
                            {name: m[0][0] for name, m in MISTAKES.items()})
    _execute(nb, f"{path.stem} wrong")
    for cell in nb.cells[1:]:
        name = cell.metadata["exercise"]
        text = _check_text(cell)
        assert text.startswith(f"[{name}] not yet"), text
        for needle in MISTAKES[name][0][1]:
            assert needle.lower() in text.lower(), (name, needle, text)
        assert "\nhint: " in text, f"{name}: no hint for the typical mistake\n{text}"
