"""Pieces shared by labkit's widgets: where the bundled front-end lives, displaying with a display id
(so the static fallback can be refreshed in place), and an end-of-cell hook.

The widgets are anywidgets whose ES module and CSS are files in ``labkit/static`` (built from
``extensions/src`` and shipped with the package: no CDN, no Node at run time).
"""
from __future__ import annotations

import html
import math
import pathlib
import uuid
import weakref

import anywidget
import traitlets

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"

# Same palette as extensions/src/chart.js (matplotlib's tab10), so static images match the widget.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def ipython():
    """The running IPython shell, or None (plain Python, tests)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets depends on IPython
        return None
    return get_ipython()


def to_float(v):
    """A metric value as a Python float: numbers, NumPy scalars, 0-d/1-element tensors."""
    if isinstance(v, float):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        item = getattr(v, "item", None)
        if item is None:
            raise TypeError(f"cannot log a value of type {type(v).__name__}; pass a number "
                            f"or a one-element tensor") from None
        return float(item())


def json_floats(values):
    """Floats for JSON: NaN and infinities become None (JSON has no NaN; the browser reads null
    as a gap in the curve)."""
    return [v if math.isfinite(v) else None for v in values]


class _CellEndHook:
    """Calls ``widget._on_cell_end()`` after every cell (IPython's post_run_cell event).

    Holds the widget weakly and unregisters itself when the widget is gone or closed."""

    def __init__(self, widget, shell):
        self.ref = weakref.ref(widget)
        self.shell = shell

    def __call__(self, result=None):
        w = self.ref()
        if w is None or getattr(w, "comm", None) is None:
            self.remove()
            return
        w._on_cell_end()

    def remove(self):
        try:
            self.shell.events.unregister("post_run_cell", self)
        except ValueError:
            pass


def in_marimo():
    """True inside a running marimo notebook or app (no IPython display path, no cell hooks)."""
    import sys
    mo = sys.modules.get("marimo")
    if mo is None:
        return False
    try:
        return bool(mo.running_in_notebook())
    except Exception:          # pragma: no cover - an old or partial marimo
        return False


def register_cell_end(widget):
    shell = ipython()
    if shell is None or not hasattr(shell, "events"):
        return None
    hook = _CellEndHook(widget, shell)
    shell.events.register("post_run_cell", hook)
    return hook


class Widget(anywidget.AnyWidget):
    """The base of every labkit widget: an anywidget that displays itself with a display id and
    leaves a static picture next to it for viewers that cannot run widgets.

    The picture (``_static_bundle()``: ``image/png`` and/or ``text/html``) is a *second* output,
    wrapped in ``<div class="labkit-fallback labkit-fallback-<key>">``.  It cannot live in the
    widget's own MIME bundle: nbconvert's HTML export (and any viewer with a widget manager) picks
    only the widget view from a bundle when the notebook holds widget state, which offline shows
    nothing.  Where the widget does render (JupyterLab, Notebook 7, VS Code, from a live kernel
    or from saved state), its front-end hides the picture with the synced ``_fallback_key``
    (extensions/src/fallback.js).  ``_refresh_display()`` redraws the picture in place (at the end
    of a cell), so a saved notebook keeps the final state.

    Subclasses implement ``_static_bundle() -> dict`` (may be empty).
    """

    _fallback_key = traitlets.Unicode("").tag(sync=True)

    _display_id = None
    _displayed = False

    @traitlets.default("_fallback_key")
    def _new_fallback_key(self):
        return uuid.uuid4().hex[:16]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_msg(self._on_front_end_msg)

    def _on_front_end_msg(self, _widget, content, _buffers):
        """``{"type": "sync"}``: a view was rendered and asks for the current state."""
        if isinstance(content, dict) and content.get("type") == "sync":
            self._on_sync_request()

    def _on_sync_request(self):
        """Bring the synced state up to date (widgets that send increments override this)."""

    def _static_bundle(self):  # pragma: no cover - overridden
        return {}

    def fallback_bundle(self):
        """The static picture as an output bundle (empty dict: nothing to show yet)."""
        try:
            extra = self._static_bundle()
        except Exception:           # a fallback must never break the live widget
            return {}
        if not extra:
            return {}
        png = extra.get("image/png")
        inner = extra.get("text/html") or (
            f'<img alt="{html.escape(type(self).__name__)}" src="data:image/png;base64,{png}"/>'
            if png else "")
        data = {"text/html": f'<div class="labkit-fallback labkit-fallback-{self._fallback_key}">'
                             f'{inner}</div>',
                "text/plain": f"[static picture of a labkit {type(self).__name__}]"}
        if png:
            data["image/png"] = png
        return data

    def display(self):
        """Show the widget in the notebook output (also what happens when it is a cell's last
        expression or passed to ``display()``), followed by its static picture."""
        from IPython.display import display
        if self._display_id is None:
            self._display_id = uuid.uuid4().hex
        data, meta = self._repr_mimebundle_()
        display(data, metadata=meta, raw=True, display_id=self._display_id)
        # always emit the picture's output (even empty), so a refresh has a place to land
        empty = {"text/html": f'<div class="labkit-fallback labkit-fallback-{self._fallback_key}">'
                              f'</div>'}
        display(self.fallback_bundle() or empty, raw=True,
                display_id=self._display_id + "-static")
        self._displayed = True
        return None

    def _ipython_display_(self):
        self.display()

    def _refresh_display(self):
        if not self._displayed or ipython() is None:
            return
        from IPython.display import update_display
        bundle = self.fallback_bundle()
        if bundle:
            update_display(bundle, raw=True, display_id=self._display_id + "-static")

