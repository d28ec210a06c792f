"""``labkit.viz.boundary``: a classifier's decision over the plane, live, TF Playground style.

    b = lk.viz.boundary(model, X, y)              # X: (n, 2) points, y: (n,) class labels
    for epoch in range(200):
        ...train...
        b.update()                                # redraw (throttled: cheap to call every step)

    b = lk.viz.boundary(model, X, y, every=20)    # or: refresh by itself every 20 forward calls

The grid of predictions is computed in Python (``b.compute()`` returns it as NumPy arrays, so it
can be checked by hand) and sent as compact uint8 binary buffers, not JSON lists.  Next to the
plane: one thumbnail per neuron of the first hidden layer (its activation over the same plane).
"""
from __future__ import annotations

import math
import time

import numpy as np
import traitlets

from ._base import STATIC, Widget, register_cell_end

ACTIVATIONS = {"ReLU", "Tanh", "Sigmoid", "LeakyReLU", "GELU", "ELU", "SiLU", "Softplus",
               "Hardtanh", "ReLU6", "Mish", "SELU", "CELU", "Hardswish", "Hardsigmoid",
               "Tanhshrink", "Softsign", "LogSigmoid", "PReLU"}
PROBABILITY_LAYERS = {"Sigmoid", "Softmax"}


def _numpy(a):
    """Tensor (labkit or torch) or array-like -> NumPy array, without tracking gradients."""
    if hasattr(a, "_np"):
        return np.asarray(a._np)
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _tensor_like(model, arr):
    """An input tensor for ``model`` (labkit by default; torch if the model is a torch module)."""
    p = next(iter(model.parameters()), None)
    if p is not None and type(p).__module__.startswith("torch"):
        import torch
        return torch.as_tensor(arr, dtype=p.dtype)
    import labkit
    dtype = p.dtype if p is not None else labkit.float32
    return labkit.tensor(arr, dtype=dtype)


def _no_grad(model):
    p = next(iter(model.parameters()), None)
    if p is not None and type(p).__module__.startswith("torch"):
        import torch
        return torch.no_grad()
    import labkit
    return labkit.no_grad()


def first_hidden_layer(model):
    """(name, linear, activation-or-None): the first layer taking the 2 input features, and the
    activation module that follows it (in registration order), if any."""
    mods = list(model.named_modules())
    for i, (name, m) in enumerate(mods):
        w = getattr(m, "weight", None)
        if w is None or type(m).__name__ not in ("Linear", "Bilinear", "LazyLinear"):
            continue
        if tuple(w.shape)[-1] != 2:
            continue
        act = None
        for _, nxt in mods[i + 1:]:
            kind = type(nxt).__name__
            if kind in ACTIVATIONS:
                act = nxt
                break
            if list(nxt.children()) == [] and hasattr(nxt, "weight"):
                break               # another parametrised layer first: no activation to take
        return name, m, act
    return None, None, None


def _last_leaf(model):
    leaves = [m for _, m in model.named_modules() if not list(m.children())]
    return type(leaves[-1]).__name__ if leaves else ""


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Boundary(Widget):
    """Decision boundary + first-hidden-layer neurons of a model with 2 input features.
    Create it with :func:`boundary`."""

    _esm = STATIC / "boundary.js"
    _css = STATIC / "labkit.css"

    grid = traitlets.Bytes(b"").tag(sync=True)
    neurons = traitlets.Bytes(b"").tag(sync=True)
    points = traitlets.Bytes(b"").tag(sync=True)
    labels = traitlets.Bytes(b"").tag(sync=True)
    meta = traitlets.Dict().tag(sync=True)

    def __init__(self, model, X, y, *, every=None, resolution=60, max_neurons=16,
                 output="auto", title="decision boundary", max_rate=5.0, static=True):
        super().__init__()
        X = _numpy(X).astype(np.float64)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"boundary() needs 2-D inputs: X must have shape (n, 2), got "
                             f"{X.shape}")
        y = _numpy(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        if output not in ("auto", "logits", "probs"):
            raise ValueError(f"output must be 'auto', 'logits' or 'probs', got {output!r}")
        self.model, self.X, self.y = model, X, y.astype(np.float64)
        self.resolution = int(resolution)
        self.neuron_resolution = max(8, self.resolution // 2)
        self.max_neurons = int(max_neurons)
        self.output = output
        self.title = title
        self.max_rate = float(max_rate)
        self.static = static
        self.every = every
        self.forward_calls = 0
        self.updates = 0
        self._busy = False
        self._last = -math.inf
        self._pending = False
        self._version = self._static_version = 0
        lo, hi = X.min(axis=0), X.max(axis=0)
        center, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-6) * 1.1
        self.extent = (center[0] - half, center[0] + half, center[1] - half, center[1] + half)
        self.points = X.astype("<f4").tobytes()
        self.labels = self.y.astype("<f4").tobytes()
        self._hook = None
        if every is not None:
            if int(every) < 1:
                raise ValueError(f"every must be >= 1, got {every}")
            self._hook = model.register_forward_hook(self._on_forward)
        self._cell_hook = register_cell_end(self)
        self.update(force=True)

    # ------------------------------------------------------------------ computation
    def grid_points(self, res):
        """(res*res, 2) pixel centres, row-major, first row at the TOP of the plane."""
        x0, x1, y0, y1 = self.extent
        xs = x0 + (np.arange(res) + 0.5) * (x1 - x0) / res
        ys = y1 - (np.arange(res) + 0.5) * (y1 - y0) / res
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)

    def _forward(self, arr):
        out = self.model(_tensor_like(self.model, arr))
        return _numpy(out).astype(np.float64)

    def _to_probs(self, out):
        """Binary: (n,) P(class 1); multiclass: (n, C) probabilities."""
        probs = self.output == "probs" or (self.output == "auto" and
                                           _last_leaf(self.model) in PROBABILITY_LAYERS)
        if out.ndim == 1 or out.shape[1] == 1:
            out = out.reshape(-1)
            return out if probs else _sigmoid(out)
        return out if probs else _softmax(out)

    def compute(self):
        """The picture as NumPy arrays: ``kind`` ("binary"/"multiclass"), ``probs`` (res, res) or
        (res, res, C), ``neurons`` (k, r, r) activations of the first hidden layer (unscaled),
        ``accuracy`` on (X, y).  Runs the model in eval mode without gradients."""
        model = self.model
        was_training = getattr(model, "training", False)
        if hasattr(model, "eval"):
            model.eval()
        try:
            with _no_grad(model):
                res = self.resolution
                p = self._to_probs(self._forward(self.grid_points(res)))
                pd = self._to_probs(self._forward(self.X))
                name, lin, act = first_hidden_layer(model)
                neurons = None
                if lin is not None:
                    r = self.neuron_resolution
                    h = lin(_tensor_like(model, self.grid_points(r)))
                    if act is not None:
                        h = act(h)
                    h = _numpy(h).astype(np.float64)
                    neurons = h.T.reshape(h.shape[1], r, r)
        finally:
            if was_training and hasattr(model, "train"):
                model.train()
        if p.ndim == 1:
            kind, probs = "binary", p.reshape(res, res)
            acc = float(np.mean((pd > 0.5) == (self.y > 0.5)))
        else:
            kind, probs = "multiclass", p.reshape(res, res, p.shape[1])
            acc = float(np.mean(pd.argmax(axis=1) == np.round(self.y)))
        return {"kind": kind, "probs": probs, "neurons": neurons, "layer": name,
                "accuracy": acc}

    @staticmethod
    def encode(c):
        """Quantise compute()'s arrays to the uint8 buffers the browser draws."""
        if c["kind"] == "binary":
            grid = np.round(np.clip(c["probs"], 0, 1) * 255).astype(np.uint8).tobytes()
        else:
            pr = c["probs"]
            cls = pr.argmax(axis=2).astype(np.uint8)
            conf = np.round(np.clip(pr.max(axis=2), 0, 1) * 255).astype(np.uint8)
            grid = cls.tobytes() + conf.tobytes()
        nb = b""
        h = c["neurons"]
        if h is not None and len(h):
            scale = np.abs(h).reshape(len(h), -1).max(axis=1)
            scale[scale == 0] = 1.0
            q = np.round((h / scale[:, None, None] + 1.0) * 127.5)
            nb = np.clip(q, 0, 255).astype(np.uint8).tobytes()
        return grid, nb

    # ------------------------------------------------------------------ updating
    def update(self, force=False):
        """Recompute and send the picture.  Throttled to ``max_rate`` per second unless
        ``force``: cheap to call on every step (a skipped call is sent at the end of the cell)."""
        now = time.perf_counter()
        if not force and now - self._last < 1.0 / self.max_rate:
            self._pending = True
            return False
        if self._busy:
            return False
        self._busy = True
        try:
            c = self.compute()
            if c["neurons"] is not None:
                c["neurons"] = c["neurons"][:self.max_neurons]
            grid, nb = self.encode(c)
            n_hidden = 0
            _, lin, _ = first_hidden_layer(self.model)
            if lin is not None:
                n_hidden = int(lin.weight.shape[0])
            n_classes = c["probs"].shape[2] if c["kind"] == "multiclass" else 2
            self.updates += 1
            meta = {"res": self.resolution, "extent": list(map(float, self.extent)),
                    "kind": c["kind"], "n_classes": int(n_classes),
                    "n_neurons": 0 if c["neurons"] is None else int(len(c["neurons"])),
                    "n_hidden": n_hidden, "neuron_res": self.neuron_resolution,
                    "layer": c["layer"], "updates": self.updates, "step": self.forward_calls,
                    "accuracy": c["accuracy"], "title": self.title}
            with self.hold_sync():
                self.grid = grid
                self.neurons = nb
                self.meta = meta
            self._last = time.perf_counter()
            self._pending = False
            self._version += 1
            self._computed = c
        finally:
            self._busy = False
        return True

    def _on_forward(self, module, args, output):
        if self._busy:              # our own grid forward
            return None
        self.forward_calls += 1
        if self.forward_calls % int(self.every) == 0:
            self.update()
        return None

    def _on_cell_end(self):
        if self._pending:
            self.update(force=True)
        if self._static_version != self._version:
            self._static_version = self._version
            self._refresh_display()

    def detach(self):
        """Stop refreshing from the model's forward calls."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def close(self):
        self.detach()
        if getattr(self, "_cell_hook", None) is not None:
            self._cell_hook.remove()
            self._cell_hook = None
        super().close()

    # ------------------------------------------------------------------ static fallback
    def _static_bundle(self):
        c = getattr(self, "_computed", None)
        if not self.static or c is None:
            return {}
        try:
            from matplotlib.figure import Figure
            from matplotlib.backends.backend_agg import FigureCanvasAgg
        except ImportError:
            return {}
        import base64
        import io
        fig = Figure(figsize=(3.6, 3.4), dpi=80)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        x0, x1, y0, y1 = self.extent
        if c["kind"] == "binary":
            ax.imshow(c["probs"], extent=(x0, x1, y0, y1), cmap="RdBu", vmin=0, vmax=1,
                      alpha=0.6)
            colors = np.where(self.y > 0.5, "#0877bd", "#f59322")
        else:
            ax.imshow(c["probs"].argmax(axis=2), extent=(x0, x1, y0, y1), cmap="tab10",
                      vmin=0, vmax=9, alpha=0.35, interpolation="nearest")
            from ._base import PALETTE
            colors = [PALETTE[int(round(v)) % 10] for v in self.y]
        ax.scatter(self.X[:, 0], self.X[:, 1], c=colors, s=10, edgecolors="white", linewidths=0.5)
        ax.set_title(f"{self.title} (acc {100 * c['accuracy']:.1f}%)", fontsize=9)
        ax.tick_params(labelsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return {"image/png": base64.b64encode(buf.getvalue()).decode("ascii")}


def boundary(model, X, y, every=None, *, resolution=60, max_neurons=16, output="auto",
             title="decision boundary", max_rate=5.0):
    """Show ``model``'s prediction over the plane of 2-D inputs ``X`` with the points ``(X, y)``.

    Args:
        model: a module taking (n, 2) inputs; outputs (n,)/(n, 1) logits (binary) or (n, C)
            logits (multiclass).  A final Sigmoid/Softmax layer is recognised (or set ``output``).
        X, y: data points (tensors or arrays) and their class labels.
        every: refresh by itself every ``every`` forward calls of ``model`` (a forward hook);
            otherwise call ``.update()`` from your loop.
        resolution: grid pixels per side; neuron thumbnails use half of it.
        max_neurons: first-hidden-layer neurons shown (the first ones).
        max_rate: at most this many refreshes per second.

    Returns the :class:`Boundary` widget (displays itself as a cell's last expression).
    """
    return Boundary(model, X, y, every=every, resolution=resolution, max_neurons=max_neurons,
                    output=output, title=title, max_rate=max_rate)
