"""Exercise checks: the reference passes, a blank is "not attempted yet", each typical wrong answer
gets the message it promises; hints are progressive, the solution is the reference's source, and
progress is kept in a small JSON file."""
import json
import math

import numpy as np
import pytest

import labkit as lk
from labkit import exercises as ex
from labkit.exercises import solutions as S
from labkit.exercises._catalog import EXERCISES

from exercise_mistakes import DEFINES, MISTAKES

NAMES = list(ex.list())


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setattr(ex, "_hints_shown", {})


def _define(name, src):
    ns = {"lk": lk, "np": np, "math": math}
    exec(compile(src, f"<{name} cell>", "exec"), ns)
    return ns[DEFINES.get(name, name)]


def test_every_exercise_has_mistakes_hints_and_a_notebook():
    assert set(MISTAKES) == set(NAMES)
    by_nb = {}
    for e in EXERCISES.values():
        assert len(e.hints) >= 2, e.name
        by_nb.setdefault(e.notebook, []).append(e.name)
    for nb in ["02", "03", "04", "05", "06", "07", "08", "09", "10", "11"]:
        assert len([n for k, v in by_nb.items() if k.startswith(nb) for n in v]) >= 2, nb


@pytest.mark.parametrize("name", NAMES)
def test_reference_solution_passes(name):
    r = ex.check(name, EXERCISES[name].reference, verbose=False)
    assert r.passed and r.status == "correct", str(r)
    assert "correct" in str(r) and "data-passed='true'" in r._repr_html_()


@pytest.mark.parametrize("name", NAMES)
def test_solution_source_passes_when_pasted(name):
    """ex.solution shows code that, pasted into a cell, defines what the check wants."""
    src = str(ex.solution(name))
    assert src.lstrip().startswith(("def ", "class "))
    r = ex.check(name, _define(name, src), verbose=False)
    assert r.passed, str(r)


@pytest.mark.parametrize("name", NAMES)
def test_typical_mistakes_are_explained(name):
    for src, needles in MISTAKES[name]:
        r = ex.check(name, _define(name, src), verbose=False)
        assert r.status == "wrong", (src, str(r))
        text = str(r).lower()
        for n in needles:
            assert n.lower() in text, (src, text, n)
        assert r.hint or "hint" not in needles


def test_blank_forms_are_not_attempted():
    def softmax(x):
        """x: (N, C)"""
        ...

    def sgd_step(params, lr):
        pass                        # in-place exercises return None when done, too

    def mul_backward(x, y, grad_z):
        grad_x = ...
        grad_y = ...
        return grad_x, grad_y

    def tanh_backward(x, grad_y):
        raise NotImplementedError("your turn: 1 - tanh(x)**2")

    class Square(lk.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ...

        @staticmethod
        def backward(ctx, grad):
            ...

    for name, fn in [("softmax", softmax), ("sgd_step", sgd_step), ("mul_backward", mul_backward),
                     ("tanh_backward", tanh_backward), ("square_function", Square)]:
        r = ex.check(name, fn, verbose=False)
        assert r.status == "blank" and "not attempted yet" in str(r), (name, str(r))
        assert "expected" not in str(r) and "data-status='blank'" in r._repr_html_()


def test_exceptions_in_the_learners_code_are_shown_with_the_line():
    def boom(x):
        return x @ lk.ones(7, 7)
    r = ex.check("softmax", boom, verbose=False)
    assert r.status == "wrong" and "raised RuntimeError" in str(r)
    assert "x @ lk.ones(7, 7)" in str(r)


def test_hints_are_progressive_then_point_to_the_solution():
    e = EXERCISES["softmax"]
    texts = [str(ex.hint("softmax")) for _ in range(len(e.hints) + 1)]
    for i, t in enumerate(texts[:len(e.hints)]):
        assert t.count("\n") >= i + 1
        assert e.hints[i] in t and (i + 1 == len(e.hints) or e.hints[i + 1] not in t)
    assert "ex.solution('softmax')" in texts[-1]
    assert texts[-1] == texts[-2]
    assert "**Hints for `softmax`**" in ex.hint("softmax")._repr_markdown_()


def test_solution_is_the_reference_source():
    s = ex.solution("softmax")
    assert "x.max(dim=-1, keepdim=True)" in str(s)
    assert s._repr_markdown_().startswith("```python\ndef softmax(x):")


def test_progress_table_is_persisted(tmp_path):
    p = ex.progress()
    assert p.counts() == {"done": 0, "tried": 0, "not yet": len(NAMES)}
    ex.check("softmax", S.softmax, verbose=False)
    ex.check("linear", lambda x, W, b: x @ W.T, verbose=False)
    ex.check("linear", lambda x, W, b: x @ W.T, verbose=False)
    ex.check("mse_loss", lambda p, t: ..., verbose=False)            # blank: no change
    p = ex.progress()
    assert p.counts() == {"done": 1, "tried": 1, "not yet": len(NAMES) - 2}
    rows = {r[1]: r for r in p.rows}
    assert rows["softmax"][3] == "done" and rows["linear"][3:] == ("tried", 2)
    assert rows["softmax"][0] == "05_mlp_playground"
    data = json.loads((tmp_path / "progress.json").read_text())
    assert data["workshop"]["linear"]["tries"] == 2
    assert "done" in str(p) and "<table class='labkit-progress'" in p._repr_html_()
    assert p._repr_html_().count("data-status='done'") == 1
    ex.check("linear", S.linear, verbose=False)                       # tried -> done
    assert ex.progress().counts()["done"] == 2
    assert ex.progress(reset=True).counts()["done"] == 0


def test_progress_survives_an_unwritable_location(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("LABKIT_PROGRESS", str(blocker / "sub" / "progress.json"))
    assert ex.check("softmax", S.softmax, verbose=False).passed
    assert ex.progress().counts()["done"] == 0


def test_describe_and_list():
    assert "sums to 1" in ex.describe("softmax")
    with pytest.raises(KeyError, match="available"):
        ex.describe("nope")
