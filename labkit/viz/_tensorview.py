"""``lk.viz.show(t)``: the tensor view widget (see labkit/viz/_tensorcard.py for what it shows:
statistics, axes, colours, the bounds on what is sent, and the static picture)."""
from __future__ import annotations

import math
import time

import traitlets

from ._base import STATIC, Widget, register_cell_end
from ._tensorcard import _dtype_name, card_html, plan, stats, stats_line, to_numpy


class TensorView(Widget):
    """A tensor's values as a heatmap / grid of slices with sliders.  Build it with :func:`show`."""

    _esm = STATIC / "tensor.js"
    _css = STATIC / "labkit.css"
    title = traitlets.Unicode("").tag(sync=True)
    meta = traitlets.Dict().tag(sync=True)
    values = traitlets.Bytes(b"").tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)

    def __init__(self, t, *, title="", max_side=128, max_cells=65536, max_panels=64,
                 as_image=None, max_rate=4.0):
        super().__init__(title=title)
        if max_side < 1 or max_cells < 1:
            raise ValueError("max_side and max_cells must be >= 1")
        self.plan_kw = dict(max_side=int(max_side), max_cells=int(max_cells),
                            max_panels=int(max_panels), as_image=as_image)
        self.max_rate = float(max_rate)
        self.updates = 0
        self._last = -math.inf
        self._pending = None
        self._static_version = 0
        self._cell_hook = register_cell_end(self)
        self.update(t, force=True)

    def update(self, t, force=False):
        """Show new values (the same tensor after a training step, or another one).  Throttled
        to ``max_rate`` per second; a skipped update is sent at the end of the cell."""
        now = time.perf_counter()
        if not force and now - self._last < 1.0 / self.max_rate:
            self._pending = t
            return False
        a = to_numpy(t)
        meta, vals = plan(a, **self.plan_kw)
        st = stats(a)
        meta["stats"] = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                         for k, v in st.items()}
        meta["dtype"] = _dtype_name(t, a)
        self._tensor, self._array, self._vals = t, a, vals
        with self.hold_sync():
            self.meta = meta
            self.values = vals.astype("<f4").tobytes()
            self.summary = stats_line(list(a.shape), meta["dtype"], st)
            self.version = self.version + 1
        self._last = time.perf_counter()
        self._pending = None
        self.updates += 1
        return True

    def _on_sync_request(self):
        if self._pending is not None:
            self.update(self._pending, force=True)

    def _on_cell_end(self):
        if self._pending is not None:
            self.update(self._pending, force=True)
        if self._static_version != self.version:
            self._static_version = self.version
            self._refresh_display()

    def _static_bundle(self):
        return {"text/html": card_html(self._tensor, title=self.title, **self.plan_kw)}

    def close(self):
        if getattr(self, "_cell_hook", None) is not None:
            self._cell_hook.remove()
            self._cell_hook = None
        super().close()

    def __repr__(self):
        return f"TensorView(shape={tuple(self._array.shape)}, updates={self.updates})"


def show(t, title="", *, max_side=128, max_cells=65536, max_panels=64, as_image=None,
         max_rate=4.0):
    """Look inside a tensor: stats line, heatmap, grid of slices, sliders, hover values.

    Args:
        t: a labkit or PyTorch tensor, or anything NumPy can read.
        title: shown before the stats line.
        max_side: at most this many rows/columns of cells per heatmap (blocks are averaged).
        max_cells: at most this many values are sent to the browser.
        max_panels: at most this many slices in the grid.
        as_image: ``None`` (auto: [3, H, W] or [H, W, 3] in [0, 1] or 0..255), True or False.
        max_rate: at most this many redraws per second for ``view.update(t)``.

    Returns the :class:`TensorView` widget (shows itself as a cell's last expression).
    """
    return TensorView(t, title=title, max_side=max_side, max_cells=max_cells,
                      max_panels=max_panels, as_image=as_image, max_rate=max_rate)
