"""Exercises with instant, helpful checks for the workshop notebooks.

A learner writes a function and checks it::

    from labkit import exercises as ex
    def softmax(x):            # x: Tensor (N, C)
        ...
    ex.check("softmax", softmax)

The check runs the function on several inputs (small, large, awkward), compares with a reference,
and explains what is wrong: the first bad element, expected vs got, and a hint for the common
mistakes it recognises (wrong dim, missing max-subtraction, a forgotten ``return`` ...), not just
"assert failed".  ``ex.list()`` shows the exercises.  Reference solutions live in
``labkit/exercises/solutions.py`` for instructors; the notebooks never print them.
"""
import traceback

import numpy as np

from ._catalog import EXERCISES

__all__ = ["check", "list", "describe", "CheckResult"]


class CheckResult:
    """Outcome of a check: truthy when passed; prints as text and renders as HTML in notebooks."""

    def __init__(self, name, passed, message, hint=None):
        self.name, self.passed, self.message, self.hint = name, passed, message, hint

    def __bool__(self):
        return self.passed

    def __str__(self):
        head = f"[{self.name}] " + ("correct" if self.passed else "not yet")
        lines = [head, self.message]
        if self.hint:
            lines.append("hint: " + self.hint)
        return "\n".join(l for l in lines if l)

    __repr__ = __str__

    def _repr_html_(self):
        import html
        colour = "#1a7f37" if self.passed else "#b35900"
        icon = "&#10004;" if self.passed else "&#10008;"
        hint = (f"<div style='margin-top:4px'><b>Hint:</b> {html.escape(self.hint)}</div>"
                if self.hint else "")
        return (f"<div class='labkit-check' data-passed='{str(self.passed).lower()}' "
                f"style='border-left:4px solid {colour};padding:6px 10px;margin:4px 0;"
                f"font-family:sans-serif'><b style='color:{colour}'>{icon} {html.escape(self.name)}"
                f"</b>: <span style='white-space:pre-wrap'>{html.escape(self.message)}</span>"
                f"{hint}</div>")


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


def _arr(x):
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x.detach()._np
    return np.asarray(x)


def compare(name, got, want, atol=1e-4, rtol=1e-4, what="result"):
    """Explain the first difference between ``got`` and ``want`` (None when they agree)."""
    if got is None:
        return f"your function returned None for the {what}: did you forget a `return`?"
    g, w = _arr(got), _arr(want)
    if g.shape != w.shape:
        return (f"the {what} has shape {tuple(g.shape)} but should have shape {tuple(w.shape)}")
    if not np.issubdtype(g.dtype, np.number) and g.dtype != bool:
        return f"the {what} should be numbers, got dtype {g.dtype}"
    bad = ~np.isclose(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=rtol, equal_nan=False)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    n_bad = int(bad.sum())
    where = f" at index {[*idx]}" if idx else ""
    return (f"{n_bad} of {bad.size} values of the {what} are wrong; first{where}: expected "
            f"{float(w[idx]):.6g}, got {float(g[idx]):.6g}")


def check(name, fn, verbose=True):
    """Run exercise ``name``'s checks on your ``fn``; returns a :class:`CheckResult`."""
    ex = _get(name)
    try:
        result = ex.run(fn)
    except NotImplementedError:
        result = CheckResult(name, False, "not implemented yet: replace the `raise "
                             "NotImplementedError` / `...` with your code")
    except Exception as e:  # the learner's code raised: show where, in their code
        tb = traceback.extract_tb(e.__traceback__)
        user = [f for f in tb if "labkit" not in f.filename.replace("\\", "/").split("/site-packages/")[-1]
                or "ipykernel" in f.filename]
        loc = f" (line {user[-1].lineno}: {user[-1].line})" if user else ""
        result = CheckResult(name, False, f"your code raised {type(e).__name__}: {e}{loc}",
                             ex.hint_for_exception(e))
    if verbose and not _in_ipython():
        print(result)              # in a notebook the returned result renders itself (HTML)
    return result


def _in_ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
