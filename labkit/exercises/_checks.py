"""What a check says: :class:`CheckResult` and :func:`compare`, the explanation of the first
difference between a result and the reference.  The package and the exercise catalog both
build on it (the catalog never imports the package)."""
import builtins
import html

import numpy as np

_STATUS_TEXT = {"correct": "correct", "wrong": "not yet", "blank": "not attempted yet"}
_COLOURS = {"correct": "#1a7f37", "wrong": "#b35900", "blank": "#57606a"}
_ICONS = {"correct": "&#10004;", "wrong": "&#10008;", "blank": "&#9675;"}


class CheckResult:
    """Outcome of a check: truthy when passed; prints as text and renders as HTML in notebooks.

    ``status`` is ``"correct"``, ``"wrong"`` or ``"blank"`` (nothing written yet)."""

    def __init__(self, name, status, message, hint=None):
        self.name, self.status, self.message, self.hint = name, status, message, hint

    @property
    def passed(self):
        return self.status == "correct"

    def __bool__(self):
        return self.passed

    def __str__(self):
        lines = [f"[{self.name}] {_STATUS_TEXT[self.status]}", self.message]
        if self.hint:
            lines.append("hint: " + self.hint)
        return "\n".join(l for l in lines if l)

    __repr__ = __str__

    def _repr_html_(self):
        colour = _COLOURS[self.status]
        hint = (f"<div style='margin-top:4px'><b>Hint:</b> {html.escape(self.hint)}</div>"
                if self.hint else "")
        return (f"<div class='labkit-check' data-status='{self.status}' "
                f"data-passed='{str(self.passed).lower()}' "
                f"style='border-left:4px solid {colour};padding:6px 10px;margin:4px 0;"
                f"font-family:sans-serif'><b style='color:{colour}'>{_ICONS[self.status]} "
                f"{html.escape(self.name)}</b>: "
                f"<span style='white-space:pre-wrap'>{html.escape(self.message)}</span>"
                f"{hint}</div>")


# ------------------------------------------------------------------ comparing
def _arr(x):
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x.detach()._np
    if hasattr(x, "detach") and hasattr(x, "numpy"):         # a torch tensor
        return x.detach().numpy()
    return np.asarray(x)


def _contains_ellipsis(x):
    if x is Ellipsis:
        return True
    return isinstance(x, (tuple, builtins.list)) and any(_contains_ellipsis(v) for v in x)


def compare(name, got, want, atol=1e-4, rtol=1e-4, what="result"):
    """Explain the first difference between ``got`` and ``want`` (None when they agree)."""
    if got is None:
        return f"your function returned None for the {what}: did you forget a `return`?"
    g, w = _arr(got), _arr(want)
    if g.shape != w.shape:
        return f"the {what} has shape {tuple(g.shape)} but should have shape {tuple(w.shape)}"
    if not np.issubdtype(g.dtype, np.number) and g.dtype != bool:
        return f"the {what} should be numbers, got dtype {g.dtype}"
    bad = ~np.isclose(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=rtol)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    n_bad = int(bad.sum())
    if not idx:
        return f"the {what} is wrong: expected {float(w):.6g}, got {float(g):.6g}"
    return (f"{n_bad} of {bad.size} values of the {what} are wrong; first at index {[*idx]}: "
            f"expected {float(w[idx]):.6g}, got {float(g[idx]):.6g}")
