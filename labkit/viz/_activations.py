"""``lk.viz.activations(model, x)``: what each layer's outputs look like, over time.

    acts = lk.viz.activations(model, x)        # one look now (x: a batch of inputs)
    acts = lk.viz.activations(model, every=20) # or live: sampled every 20 training forwards
    ...train...
    acts.remove()                              # detach the hooks

For every activation module (ReLU, Tanh, Sigmoid, GELU...) and every convolution, each sample
records the distribution of its output (the 5th, 50th and 95th percentiles, one line per layer),
the share of units that never fire on the batch (ReLU family: a unit = a feature / channel that is
0 for every example and position) and the share of saturated outputs (Tanh/Sigmoid: within 3% of
their limits, where the gradient vanishes).  Problems are said in plain words above the plots:
"layer 2 (ReLU): 41% of units never fire".  Convolutions' latest feature maps are shown as images
(a tensor view per conv layer: the channels of the first example).

Built on the Monitor (curves are throttled the same way, the static PNG is the same) and on
``lk.viz.show`` for the feature maps.
"""
from __future__ import annotations

import numpy as np

from ._boundary import ACTIVATIONS
from ._tensorcard import to_numpy
from .monitor import Monitor, _Series

RELU_LIKE = {"ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "CELU", "SELU", "GELU", "SiLU",
             "Hardswish", "Mish", "Softplus"}
SATURATING = {"Tanh": (-1.0, 1.0), "Sigmoid": (0.0, 1.0), "Hardtanh": (-1.0, 1.0),
              "Hardsigmoid": (0.0, 1.0), "Softsign": (-1.0, 1.0)}
CONV = {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"}


def unit_axis_stats(a, kind):
    """Statistics of one layer's output ``a`` ([batch, units] or [batch, channels, ...]):
    percentiles, the share of units that never fire (> 0 nowhere), the share saturated."""
    a = np.asarray(a, dtype=np.float64)
    fin = a[np.isfinite(a)]
    out = {}
    if fin.size:
        # percentiles by one partial sort (NumPy's method="lower"), far cheaper than np.percentile
        ks = [int(q * (fin.size - 1)) for q in (0.05, 0.5, 0.95)]
        part = np.partition(fin, ks)
        out.update(p5=float(part[ks[0]]), p50=float(part[ks[1]]), p95=float(part[ks[2]]))
    if kind in RELU_LIKE and a.ndim >= 2:
        fired = (a > 0).reshape(a.shape[0], a.shape[1], -1).any(axis=(0, 2))
        out["never fire"] = 1.0 - float(fired.mean())
    elif kind in SATURATING and fin.size:
        lo, hi = SATURATING[kind]
        m = 0.03 * (hi - lo)
        out["saturated"] = float(np.mean((fin <= lo + m) | (fin >= hi - m)))
    return out


class Activations(Monitor):
    """Per-layer activation statistics of ``model`` (see :func:`activations`)."""

    def __init__(self, model, x=None, *, every=10, dead=0.4, saturated=0.5,
                 title="activations", max_rate=10.0, maps=True):
        super().__init__(title, xlabel="step", max_rate=max_rate)
        if int(every) < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.model, self.every = model, int(every)
        self.dead, self.saturated = float(dead), float(saturated)
        self.step = 0
        self.samples = 0
        self._sampling = False
        self._handles = []
        self.layers = []                      # (label, module, kind)
        for name, m in model.named_modules():
            kind = type(m).__name__
            if kind in ACTIVATIONS or kind in CONV:
                label = f"{name} ({kind})" if name else kind
                self.layers.append((label, m, kind))
                self._add_run(label)
        if not self.layers:
            raise ValueError("activations() found no activation or convolution module in this "
                             "model (ReLU, Tanh, Sigmoid, GELU, Conv2d...); functional "
                             "activations (F.relu) are not modules and cannot be hooked")
        self._run = self.layers[0][0]
        for stat in ("p50", "p5", "p95", "never fire", "saturated"):
            for label, _, kind in self.layers:
                if (stat == "never fire" and kind not in RELU_LIKE) or \
                        (stat == "saturated" and kind not in SATURATING):
                    continue
                self._series[(label, "train", self._panel(stat))] = _Series()
        self.maps = {}
        if maps:
            from ._tensorview import TensorView
            for label, m, kind in self.layers:
                if kind in CONV:
                    self.maps[label] = None           # made at the first sample
            self._TensorView = TensorView
        self._sync_full()
        self._handles.append(model.register_forward_pre_hook(self._on_forward))
        for label, m, kind in self.layers:
            self._handles.append(m.register_forward_hook(self._layer_hook(label, kind)))
        if x is not None:
            self.look(x)

    @staticmethod
    def _panel(stat):
        return {"p50": "median", "p5": "5th percentile", "p95": "95th percentile",
                "never fire": "share of units that never fire",
                "saturated": "share saturated"}[stat]

    def look(self, x):
        """Run ``model(x)`` once (no gradients, eval mode) and record that sample."""
        from ._boundary import _no_grad
        was = getattr(self.model, "training", False)
        self.model.eval()
        try:
            with _no_grad(self.model):
                self._force = True
                self.model(x)
        finally:
            self._force = False
            if was:
                self.model.train()
        self.flush()
        return self

    _force = False

    def _on_forward(self, module, args):
        if self._force:
            self.step += 1
            self._sampling = True
            self.samples += 1
            return None
        if not getattr(module, "training", True):
            self._sampling = False
            return None
        self.step += 1
        self._sampling = self.step % self.every == 0
        if self._sampling:
            self.samples += 1
        return None

    def _layer_hook(self, label, kind):
        def hook(module, args, output):
            if not self._sampling:
                return None
            a = to_numpy(output)
            st = unit_axis_stats(a, kind)
            for k, v in st.items():
                self._append(label, "train", self._panel(k), self.step, v)
            if st.get("never fire", 0.0) > self.dead:
                self.alert(f"layer {label}: {100 * st['never fire']:.0f}% of units never fire "
                           f"(step {self.step}): they pass no gradient; try a smaller learning "
                           f"rate, LeakyReLU or another initialisation", key=("dead", label))
            if st.get("saturated", 0.0) > self.saturated:
                self.alert(f"layer {label}: {100 * st['saturated']:.0f}% of outputs are "
                           f"saturated (step {self.step}): gradients through it vanish; "
                           f"normalise the inputs or use a smaller initialisation",
                           key=("sat", label))
            if kind in CONV and label in self.maps and a.ndim >= 3:
                first = a[0]
                v = self.maps[label]
                if v is None:
                    self.maps[label] = self._TensorView(first, title=f"{label}: feature maps "
                                                        f"of the first example")
                else:
                    v.update(first)
            self._version += 1
            self._maybe_send()
            return None
        return hook

    def display(self):
        super().display()
        for v in self.maps.values():
            if v is not None:
                v.display()

    def remove(self):
        """Detach every hook (the widget keeps its curves)."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self.flush()

    def close(self):
        self.remove()
        for v in self.maps.values():
            if v is not None:
                v.close()
        super().close()

    def __repr__(self):
        return f"Activations(layers={[l for l, *_ in self.layers]}, samples={self.samples})"


def activations(model, x=None, every=10, *, dead=0.4, saturated=0.5, title="activations",
                maps=True):
    """Show how each layer's outputs are distributed, now (``x``) and while training (see the
    module docs).

    Args:
        model: a module with activation modules (ReLU, Tanh...) and/or convolutions.
        x: a batch of inputs: look at it once now (no gradients).
        every: while training, sample every ``every`` forward calls of ``model`` in train mode.
        dead / saturated: warn when more than this share of a layer's units never fire / of its
            outputs are saturated.
        maps: show the feature maps of convolution layers (first example) as images.

    Returns the :class:`Activations` widget; ``acts.remove()`` detaches the hooks.
    """
    return Activations(model, x, every=every, dead=dead, saturated=saturated, title=title,
                       maps=maps)
