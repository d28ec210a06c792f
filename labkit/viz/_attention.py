"""``lk.viz.attention``: where each token looks.

    lk.viz.attention(w, tokens)               # w: [heads, T, T] or [batch, heads, T, T]
    out, w = mha(x, x, x, need_weights=True, average_attn_weights=False)
    lk.viz.attention((out, w), tokens)        # straight from nn.MultiheadAttention
    view = lk.viz.attention(model, tokens)    # live: a hook on every nn.MultiheadAttention
    ...train...                               # the view follows the weights (throttled)

Heads side by side, one heatmap each (rows: the query token, columns: the key token; darker =
more attention).  Hover a token: in every head its row (what it attends to) and its column (what
attends to it) are outlined, and the token strips are shaded by those weights (averaged over the
heads, or of one head after clicking it).  A causal mask (every weight above the diagonal exactly
0) is recognised and drawn hatched.  A slider picks the batch element.

A layer called with ``need_weights=False`` (``nn.TransformerEncoderLayer`` does) still works: the
hook computes the weights again, without gradients, only when the view redraws.

Weights are sent as float32 (at most ``max_tokens`` tokens per side); ``update(w)`` is throttled
to ``max_rate`` per second and the last skipped update is sent at the end of the cell.  The static
picture (PNG, one panel per head, with the tokens as labels) stays where widgets cannot run.
"""
from __future__ import annotations

import base64
import io
import math
import time

import numpy as np
import traitlets

from ._base import STATIC, Widget, register_cell_end
from ._tensorcard import png_bytes, to_numpy


def _weights_of(obj):
    """The weights array from a tensor/array or from ``nn.MultiheadAttention``'s ``(out, w)``."""
    if isinstance(obj, tuple) and len(obj) == 2:
        obj = obj[1]
        if obj is None:
            raise ValueError("the attention weights are None: call nn.MultiheadAttention with "
                             "need_weights=True (and average_attn_weights=False to see each head)")
    return to_numpy(obj).astype(np.float32)


def normalize(w):
    """Any accepted shape -> ``[batch, heads, Tq, Tk]``.  [T, S] is one head of one sequence;
    [H, T, S] heads of one sequence; [B, H, T, S] as is."""
    w = np.asarray(w, dtype=np.float32)
    if w.ndim == 2:
        return w[None, None]
    if w.ndim == 3:
        return w[None]
    if w.ndim == 4:
        return w
    raise ValueError(f"attention weights must have shape [T, S], [heads, T, S] or "
                     f"[batch, heads, T, S], got {list(w.shape)}")


def is_causal(w, tol=0.0):
    """True when every weight above the diagonal is 0 (a causal mask) and Tq == Tk > 1."""
    tq, tk = w.shape[-2:]
    if tq != tk or tq < 2:
        return False
    upper = np.triu(np.ones((tq, tk), dtype=bool), k=1)
    return bool(np.all(np.abs(w[..., upper]) <= tol))


def _tokens(tokens, n, side):
    if tokens is None:
        return [str(i) for i in range(n)]
    toks = [str(t) for t in tokens]
    if len(toks) != n:
        raise ValueError(f"{side} tokens: got {len(toks)} tokens for {n} positions")
    return toks


class AttentionView(Widget):
    """Attention patterns, one heatmap per head.  Build it with :func:`attention`."""

    _esm = STATIC / "attention.js"
    _css = STATIC / "labkit.css"
    title = traitlets.Unicode("").tag(sync=True)
    weights = traitlets.Bytes(b"").tag(sync=True)
    meta = traitlets.Dict().tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)

    def __init__(self, weights=None, tokens=None, *, key_tokens=None, title="", max_tokens=128,
                 max_batch=16, max_rate=4.0):
        super().__init__(title=title)
        self.tokens, self.key_tokens = tokens, key_tokens
        self.max_tokens, self.max_batch = int(max_tokens), int(max_batch)
        self.max_rate = float(max_rate)
        self.updates = 0
        self.calls = 0
        self._handles = []
        self._last = -math.inf
        self._pending = None
        self._static_version = 0
        self._w = None
        self._cell_hook = register_cell_end(self)
        if weights is not None:
            self.update(weights, force=True)

    # ------------------------------------------------------------------ data
    def update(self, weights, force=False):
        """Show new weights (throttled to ``max_rate`` per second unless ``force``)."""
        now = time.perf_counter()
        if not force and now - self._last < 1.0 / self.max_rate:
            self._pending = weights
            return False
        if callable(weights):              # computed on demand (see watch)
            weights = weights()
        w = normalize(_weights_of(weights))
        B, H, tq, tk = w.shape
        q_tok = _tokens(self.tokens, tq, "query")
        k_tok = _tokens(self.key_tokens if self.key_tokens is not None else
                        (self.tokens if tq == tk else None), tk, "key")
        shown = w[:self.max_batch, :, :self.max_tokens, :self.max_tokens]
        causal = is_causal(w)
        fin = w[np.isfinite(w)]
        meta = {"batch": int(B), "batch_shown": int(shown.shape[0]), "heads": int(H),
                "tq": int(tq), "tk": int(tk), "tq_shown": int(shown.shape[2]),
                "tk_shown": int(shown.shape[3]), "q_tokens": q_tok[:self.max_tokens],
                "k_tokens": k_tok[:self.max_tokens], "causal": causal,
                "vmax": float(fin.max()) if fin.size and fin.max() > 0 else 1.0,
                "row_sums_one": bool(fin.size and np.allclose(w.sum(-1), 1.0, atol=1e-3)),
                "updates": self.updates + 1, "calls": self.calls}
        self._w = w
        with self.hold_sync():
            self.weights = np.ascontiguousarray(shown, dtype="<f4").tobytes()
            self.meta = meta
            self.version = self.version + 1
        self.updates += 1
        self._last = time.perf_counter()
        self._pending = None
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

    # ------------------------------------------------------------------ hooks
    def watch(self, model, every=1, layer=0):
        """Follow the ``layer``-th ``nn.MultiheadAttention`` inside ``model`` (or ``model``
        itself): each ``every``-th forward call that returns weights updates the view
        (throttled)."""
        mods = [m for _, m in model.named_modules() if type(m).__name__ == "MultiheadAttention"]
        if not mods:
            raise ValueError("attention(model): no nn.MultiheadAttention found in this model")
        if not -len(mods) <= layer < len(mods):
            raise IndexError(f"attention(model, layer={layer}): the model has {len(mods)} "
                             f"nn.MultiheadAttention layers")
        every = int(every)
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")

        def hook(module, args, kwargs, output):
            if self._recomputing:
                return None
            self.calls += 1
            if self.calls % every:
                return None
            w = output[1] if isinstance(output, tuple) and len(output) == 2 else None
            if w is not None:
                self.update(w)
                return None
            # called with need_weights=False (as nn.TransformerEncoderLayer does): compute the
            # weights again, without gradients, only when the view will actually redraw
            kw = dict(kwargs, need_weights=True, average_attn_weights=False)
            self.update(lambda: self._recompute(module, args, kw))
            return None
        self._handles.append(mods[layer].register_forward_hook(hook, with_kwargs=True))
        return self

    _recomputing = False

    def _recompute(self, module, args, kwargs):
        """The attention weights of one call, computed again with ``need_weights=True``."""
        from ._boundary import _no_grad
        self._recomputing = True
        try:
            with _no_grad(module):
                return module(*args, **kwargs)[1]
        finally:
            self._recomputing = False

    def remove(self):
        """Detach the hooks (the view keeps its picture)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def close(self):
        self.remove()
        if getattr(self, "_cell_hook", None) is not None:
            self._cell_hook.remove()
            self._cell_hook = None
        super().close()

    # ------------------------------------------------------------------ static picture
    def _static_bundle(self):
        if self._w is None:
            return {}
        w = self._w[0, :, :self.max_tokens, :self.max_tokens]
        m = self.meta
        try:
            from matplotlib.figure import Figure
            from matplotlib.backends.backend_agg import FigureCanvasAgg
        except ImportError:
            return {"image/png": self._png_plain(w)}
        H = w.shape[0]
        cols = min(H, 4)
        rows = math.ceil(H / cols)
        fig = Figure(figsize=(2.6 * cols, 2.6 * rows + 0.3), dpi=80)
        FigureCanvasAgg(fig)
        for h in range(H):
            ax = fig.add_subplot(rows, cols, h + 1)
            img = np.ma.masked_where(np.triu(np.ones(w.shape[1:], bool), 1) & m["causal"], w[h])
            ax.imshow(img, cmap="Blues", vmin=0, vmax=m["vmax"], interpolation="nearest")
            ax.set_facecolor("#e5e7eb")
            ax.set_title(f"head {h}", fontsize=8)
            if m["tq_shown"] <= 24:
                ax.set_yticks(range(m["tq_shown"]), m["q_tokens"], fontsize=6)
                ax.set_xticks(range(m["tk_shown"]), m["k_tokens"], fontsize=6, rotation=90)
            else:
                ax.set_xticks([]), ax.set_yticks([])
        fig.suptitle((self.title + ": " if self.title else "") + "attention (rows attend to "
                     "columns)" + (", causal" if m["causal"] else ""), fontsize=9, x=0.01,
                     ha="left")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return {"image/png": base64.b64encode(buf.getvalue()).decode("ascii")}

    def _png_plain(self, w):
        vmax = self.meta["vmax"]
        lo = np.array([255, 255, 255], float)
        hi = np.array([8, 48, 107], float)
        t = np.clip(np.nan_to_num(w / vmax), 0, 1)[..., None]
        tiles = np.round(lo * (1 - t) + hi * t).astype(np.uint8)
        k = max(1, 120 // max(w.shape[1:]))
        tiles = np.repeat(np.repeat(tiles, k, axis=1), k, axis=2)
        gap = np.full((tiles.shape[1], 4, 3), 255, np.uint8)
        row = np.concatenate([x for h in tiles for x in (h, gap)][:-1], axis=1)
        return base64.b64encode(png_bytes(row)).decode("ascii")

    def __repr__(self):
        m = self.meta or {}
        return (f"AttentionView(batch={m.get('batch')}, heads={m.get('heads')}, "
                f"T={m.get('tq')}x{m.get('tk')}, updates={self.updates})")


def attention(weights_or_model, tokens=None, *, key_tokens=None, title="", every=1, layer=0,
              max_tokens=128, max_batch=16, max_rate=4.0):
    """Show attention weights, one heatmap per head, with the tokens.

    Args:
        weights_or_model: weights ``[heads, T, S]`` / ``[batch, heads, T, S]`` / ``[T, S]``; the
            ``(output, weights)`` pair that ``nn.MultiheadAttention`` returns; or a model
            containing an ``nn.MultiheadAttention`` (a forward hook updates the view live; call
            the layer with ``need_weights=True, average_attn_weights=False``).
        tokens: the query tokens (strings), also the key tokens when T == S.
        key_tokens: the key tokens for cross-attention (S != T).
        every: with a model, update on every ``every``-th forward call.
        layer: with a model, which of its ``nn.MultiheadAttention`` layers (in module order).
        max_tokens / max_batch: at most this many tokens per side / batch elements sent.
        max_rate: at most this many redraws per second.

    Returns the :class:`AttentionView` (shows itself as a cell's last expression);
    ``view.update(w)`` shows new weights, ``view.remove()`` detaches the hook.
    """
    kw = dict(key_tokens=key_tokens, title=title, max_tokens=max_tokens, max_batch=max_batch,
              max_rate=max_rate)
    if hasattr(weights_or_model, "named_modules"):
        return AttentionView(None, tokens, **kw).watch(weights_or_model, every=every,
                                                       layer=layer)
    return AttentionView(weights_or_model, tokens, **kw)
