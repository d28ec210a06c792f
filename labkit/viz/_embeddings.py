"""``lk.viz.embeddings(emb, labels)``: an embedding table as points in the plane, live.

    view = lk.viz.embeddings(model.emb, vocab)     # nn.Embedding (or a [N, D] tensor)
    ...train...                                    # moves as the embedding trains (throttled)

The 2-D projection is PCA, computed here with NumPy: centre the rows, take the first two right
singular vectors.  Between updates the signs of the two axes are kept aligned with the previous
ones (a singular vector is only defined up to its sign), so points move instead of flipping.  The
axis titles say how much of the variance each one explains.  Hover a point for its label; with
``groups`` points are coloured by group (colour-blind-safe palette).  At most ``max_points`` rows
are sent.  With an ``nn.Embedding``, a forward hook refreshes the view every ``every`` calls.
"""
from __future__ import annotations

import base64
import io
import math
import time

import numpy as np
import traitlets

from ._base import PALETTE, STATIC, Widget, register_cell_end
from ._tensorcard import to_numpy


def pca2(W, prev=None):
    """``(coords [N, 2], axes [2, D], explained [2])``: the projection of the centred rows of
    ``W`` on its first two principal axes (signs aligned with ``prev`` axes when given, else
    each axis's largest loading is positive)."""
    X = np.asarray(W, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"embeddings: expected a [N, D] table, got shape {list(X.shape)}")
    X = X - X.mean(axis=0)
    if X.shape[1] == 1:
        X = np.concatenate([X, np.zeros_like(X)], axis=1)
    _U, S, Vt = np.linalg.svd(X, full_matrices=False)
    axes = Vt[:2].copy()
    if axes.shape[0] < 2:
        axes = np.vstack([axes, np.zeros_like(axes)])
    for i in range(2):
        if prev is not None and prev.shape == axes.shape:
            if np.dot(axes[i], prev[i]) < 0:
                axes[i] = -axes[i]
        elif axes[i][np.argmax(np.abs(axes[i]))] < 0:
            axes[i] = -axes[i]
    total = float((S ** 2).sum())
    explained = (S[:2] ** 2 / total) if total > 0 else np.zeros(2)
    explained = np.pad(explained, (0, 2 - len(explained)))
    return X @ axes.T, axes, explained


class EmbeddingView(Widget):
    """Points of an embedding table in its first two principal components.  Build it with
    :func:`embeddings`."""

    _esm = STATIC / "embeddings.js"
    _css = STATIC / "labkit.css"
    title = traitlets.Unicode("").tag(sync=True)
    points = traitlets.Bytes(b"").tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    groups = traitlets.List(traitlets.Int()).tag(sync=True)
    meta = traitlets.Dict().tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)

    def __init__(self, emb, labels=None, *, groups=None, every=10, title="", max_points=5000,
                 max_rate=4.0):
        super().__init__(title=title)
        self.source = emb
        self.max_points, self.max_rate = int(max_points), float(max_rate)
        self.every = int(every)
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.updates = self.calls = 0
        self._axes = None
        self._last = -math.inf
        self._pending = False
        self._static_version = 0
        W = self._table()
        n = min(W.shape[0], self.max_points)
        self.labels = [str(x) for x in (labels if labels is not None else range(W.shape[0]))][:n]
        if labels is not None and len(labels) != W.shape[0]:
            raise ValueError(f"embeddings: {len(labels)} labels for {W.shape[0]} rows")
        if groups is not None:
            g = list(groups)
            if len(g) != W.shape[0]:
                raise ValueError(f"embeddings: {len(g)} groups for {W.shape[0]} rows")
            names = list(dict.fromkeys(g))
            self.group_names = [str(x) for x in names]
            self.groups = [names.index(x) for x in g][:n]
        else:
            self.group_names = []
        self._hook = None
        if hasattr(emb, "register_forward_hook") and hasattr(emb, "weight"):
            self._hook = emb.register_forward_hook(self._on_forward)
        self._cell_hook = register_cell_end(self)
        self.update(force=True)

    def _table(self, table=None):
        src = self.source if table is None else table
        if hasattr(src, "weight") and not hasattr(src, "shape"):
            src = src.weight
        W = to_numpy(src)
        if W.ndim != 2:
            raise ValueError(f"embeddings: expected an nn.Embedding or a [N, D] table, got "
                             f"shape {list(W.shape)}")
        return W

    def update(self, table=None, force=False):
        """Recompute the projection (of ``table`` if given, else of the embedding's weight).
        Throttled to ``max_rate`` per second; a skipped update is sent at the end of the cell."""
        now = time.perf_counter()
        if not force and now - self._last < 1.0 / self.max_rate:
            self._pending = True
            return False
        W = self._table(table)[:self.max_points]
        P, self._axes, explained = pca2(W, self._axes)
        fin = P[np.isfinite(P).all(axis=1)]
        ext = [float(fin[:, 0].min()), float(fin[:, 0].max()), float(fin[:, 1].min()),
               float(fin[:, 1].max())] if len(fin) else [-1.0, 1.0, -1.0, 1.0]
        self._coords, self._shown = P, W.copy()
        self.updates += 1
        with self.hold_sync():
            self.points = P.astype("<f4").tobytes()
            self.meta = {"n": int(W.shape[0]), "d": int(W.shape[1]),
                         "explained": [float(e) for e in explained], "extent": ext,
                         "updates": self.updates, "calls": self.calls,
                         "group_names": self.group_names}
            self.version = self.version + 1
        self._last = time.perf_counter()
        self._pending = False
        return True

    def _on_forward(self, module, args, output):
        self.calls += 1
        if self.calls % self.every == 0:
            self.update()
        return None

    def _on_sync_request(self):
        if self._pending:
            self.update(force=True)

    def _on_cell_end(self):
        # the hook sees the table at forward time; an optimizer step after the last forward
        # changes it again, so the cell ends with the table as it is now
        if self._pending or not np.array_equal(self._table()[:self.max_points], self._shown):
            self.update(force=True)
        if self._static_version != self.version:
            self._static_version = self.version
            self._refresh_display()

    def remove(self):
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def close(self):
        self.remove()
        if getattr(self, "_cell_hook", None) is not None:
            self._cell_hook.remove()
            self._cell_hook = None
        super().close()

    def _static_bundle(self):
        try:
            from matplotlib.figure import Figure
            from matplotlib.backends.backend_agg import FigureCanvasAgg
        except ImportError:
            return {}
        P = self._coords
        fig = Figure(figsize=(4.2, 3.8), dpi=80)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        colors = [PALETTE[g % len(PALETTE)] for g in self.groups] if self.groups else PALETTE[0]
        ax.scatter(P[:, 0], P[:, 1], s=14, c=colors)
        if len(P) <= 60:
            for (x, y), lab in zip(P, self.labels):
                ax.annotate(lab, (x, y), fontsize=7, xytext=(3, 2), textcoords="offset points")
        ex = self.meta["explained"]
        ax.set_xlabel(f"PC 1 ({100 * ex[0]:.0f}% of variance)", fontsize=8)
        ax.set_ylabel(f"PC 2 ({100 * ex[1]:.0f}%)", fontsize=8)
        ax.set_title(self.title or "embedding (PCA)", fontsize=9)
        ax.tick_params(labelsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return {"image/png": base64.b64encode(buf.getvalue()).decode("ascii")}

    def __repr__(self):
        return f"EmbeddingView(n={self.meta.get('n')}, d={self.meta.get('d')}, " \
               f"updates={self.updates})"


def embeddings(emb, labels=None, *, groups=None, every=10, title="", max_points=5000,
               max_rate=4.0):
    """Show an embedding table as points (PCA to 2-D), updating as it trains.

    Args:
        emb: an ``nn.Embedding`` (a forward hook refreshes the view every ``every`` calls) or a
            ``[N, D]`` tensor/array (call ``view.update(table)``).
        labels: one label per row (hover shows it; drawn next to the points when few).
        groups: one group per row (colours).
        max_points: at most this many rows are sent.
        max_rate: at most this many redraws per second.
    """
    return EmbeddingView(emb, labels, groups=groups, every=every, title=title,
                         max_points=max_points, max_rate=max_rate)
