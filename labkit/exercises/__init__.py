"""Exercises with instant, helpful checks for the workshop notebooks.

A notebook ships each exercise blank; the learner fills it in and checks it::

    from labkit import exercises as ex
    def softmax(x):            # x: Tensor (N, C)
        ...                    # your turn
    ex.check("softmax", softmax)      # "not attempted yet" until the ... is replaced

``check`` runs the code on several inputs (small, large, awkward), compares with the reference and
explains what is wrong: the first bad element, expected vs got, and a hint for the mistakes it
recognises (wrong dim, missing max-subtraction, a forgotten ``return`` ...).

* ``ex.hint(name)``: one more hint per call;
* ``ex.solution(name)``: the reference code (its one home is ``labkit/exercises/solutions.py``);
* ``ex.progress()``: a table of the course's exercises: done / tried / not yet.  Progress is kept
  in ``~/.labkit/progress.json`` (or the file named by ``$LABKIT_PROGRESS``), so it survives
  restarting the kernel; ``ex.progress(reset=True)`` forgets it.
* ``ex.list()`` / ``ex.describe(name)``: the exercises and their task text.
"""
import ast
import datetime
import html
import inspect
import json
import os
import pathlib
import textwrap
import traceback

from ._catalog import EXERCISES
from ._checks import CheckResult, _arr, _contains_ellipsis, compare  # noqa: F401  (ex.compare ...)

__all__ = ["check", "hint", "solution", "progress", "list", "describe", "CheckResult"]

COURSE = "workshop"
def list():  # noqa: A001  (``ex.list()`` reads naturally in a notebook)
    """Names and one-line descriptions of all exercises."""
    return {name: e.title for name, e in EXERCISES.items()}


def describe(name):
    """The task text of an exercise (what to implement, shapes, what is checked)."""
    return _get(name).text


def _get(name):
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(f"no exercise named {name!r}; available: {', '.join(EXERCISES)}") from None


# ------------------------------------------------------------------ blank detection
def _blank_body():
    """A function whose body is only a docstring, ``...`` or ``pass``."""


def _is_blank(obj):
    """True when the learner has not written anything yet (a body of only ``...``/``pass``)."""
    code = getattr(obj, "__code__", None)
    if code is not None:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
        except (OSError, TypeError, SyntaxError):     # no source (e.g. exec'd): the bytecode
            return code.co_code == _blank_body.__code__.co_code
        if not (tree.body and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef))):
            return code.co_code == _blank_body.__code__.co_code        # a lambda
        return all(isinstance(st, ast.Pass) or (isinstance(st, ast.Expr) and isinstance(
            st.value, ast.Constant) and (st.value.value is Ellipsis or isinstance(st.value.value, str)))
            for st in tree.body[0].body)
    if isinstance(obj, type):       # an autograd.Function: blank when forward and backward are
        own = [obj.__dict__.get(m) for m in ("forward", "backward")]
        fns = [getattr(f, "__func__", f) for f in own if f is not None]
        return bool(fns) and all(_is_blank(f) for f in fns)
    return False


def check(name, fn, verbose=True):
    """Run exercise ``name``'s checks on your ``fn``; returns a :class:`CheckResult`."""
    ex = _get(name)
    if fn is Ellipsis or _is_blank(fn):
        result = CheckResult(name, "blank", "not attempted yet: replace the `...` with your code")
    else:
        try:
            result = ex.run(fn)
        except NotImplementedError:
            result = CheckResult(name, "blank", "not attempted yet: replace the `raise "
                                 "NotImplementedError(...)` with your code")
        except Exception as e:  # the learner's code raised: show where, in their code
            result = CheckResult(name, "wrong", f"your code raised {type(e).__name__}: {e}"
                                 f"{_user_line(e)}", ex.hint_for_exception(e))
    _record(name, result.status)
    if verbose and not _in_ipython():
        print(result)              # in a notebook the returned result renders itself (HTML)
    return result


def _user_line(e):
    tb = traceback.extract_tb(e.__traceback__)
    pkg = str(pathlib.Path(__file__).resolve().parents[1])
    user = [f for f in tb if not str(pathlib.Path(f.filename).resolve()).startswith(pkg)]
    return f" (line {user[-1].lineno}: {user[-1].line})" if user else ""


def _in_ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


# ------------------------------------------------------------------ hints and solutions
_hints_shown = {}


class _Text:
    """Text that prints plainly and renders as Markdown in a notebook."""

    def __init__(self, text, markdown):
        self.text, self.markdown = text, markdown

    def __str__(self):
        return self.text

    __repr__ = __str__

    def _repr_markdown_(self):
        return self.markdown


def hint(name):
    """The hints for exercise ``name`` so far: one more each call (then a pointer to the solution)."""
    ex = _get(name)
    n = min(_hints_shown.get(name, 0) + 1, len(ex.hints))
    _hints_shown[name] = n
    shown = [f"{i + 1}. {h}" for i, h in enumerate(ex.hints[:n])]
    if n == len(ex.hints):
        shown.append(f"(that was the last hint; `ex.solution({name!r})` shows the reference code)")
    else:
        shown.append(f"(call `ex.hint({name!r})` again for hint {n + 1} of {len(ex.hints)})")
    text = f"Hints for {name}:\n" + "\n".join(shown)
    md = f"**Hints for `{name}`**\n\n" + "\n".join(shown[:-1]) + "\n\n" + shown[-1]
    return _Text(text, md)


def solution(name):
    """The reference solution of exercise ``name`` (shown as code; paste it over the exercise)."""
    src = inspect.getsource(_get(name).reference)
    _record(name, "solution")
    return _Text(src, f"```python\n{src}```")


# ------------------------------------------------------------------ progress
def _progress_path():
    env = os.environ.get("LABKIT_PROGRESS")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".labkit" / "progress.json"


def _load():
    try:
        data = json.loads(_progress_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _record(name, status):
    """done > tried; a blank check changes nothing; seeing the solution is remembered."""
    if status == "blank":
        return
    data = _load()
    entry = data.setdefault(COURSE, {}).setdefault(name, {"status": "tried", "tries": 0})
    if status == "solution":
        entry["saw_solution"] = True
    else:
        entry["tries"] = entry.get("tries", 0) + 1
        if status == "correct":
            entry["status"] = "done"
    entry["last"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    path = _progress_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass                     # progress is a convenience: a read-only home never breaks a check


class Progress:
    """The course's exercises with their status: rows of (notebook, name, title, status, tries)."""

    def __init__(self, rows, path):
        self.rows, self.path = rows, path

    def counts(self):
        c = {"done": 0, "tried": 0, "not yet": 0}
        for r in self.rows:
            c[r[3]] += 1
        return c

    def __str__(self):
        w = max(len(r[1]) for r in self.rows)
        lines = [f"{'notebook':<20} {'exercise':<{w}} status"]
        lines += [f"{nb:<20} {name:<{w}} {st}" + (f" ({n} tries)" if n else "")
                  for nb, name, _, st, n in self.rows]
        c = self.counts()
        lines.append(f"{c['done']} done, {c['tried']} tried, {c['not yet']} not yet  "
                     f"(saved in {self.path})")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        colour = {"done": "#1a7f37", "tried": "#b35900", "not yet": "#57606a"}
        rows = "".join(
            f"<tr data-status='{st}'><td>{html.escape(nb)}</td><td><code>{html.escape(name)}</code>"
            f"</td><td>{html.escape(title)}</td><td style='color:{colour[st]}'><b>{st}</b>"
            f"{f' ({n} tries)' if n else ''}</td></tr>"
            for nb, name, title, st, n in self.rows)
        c = self.counts()
        return (f"<table class='labkit-progress'><tr><th>notebook</th><th>exercise</th>"
                f"<th></th><th>status</th></tr>{rows}</table><div>{c['done']} done, "
                f"{c['tried']} tried, {c['not yet']} not yet</div>")


def progress(reset=False):
    """A table of the course's exercises: done / tried / not yet (kept across sessions)."""
    path = _progress_path()
    if reset:
        data = _load()
        data.pop(COURSE, None)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data))
        except OSError:
            pass
    state = _load().get(COURSE, {})
    rows = []
    for name, e in EXERCISES.items():
        s = state.get(name, {})
        rows.append((e.notebook, name, e.title, s.get("status", "not yet"), s.get("tries", 0)))
    return Progress(rows, path)
