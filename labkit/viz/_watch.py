"""``labkit.viz.watch``: is every layer learning?  Gradient health per layer, live.

    w = lk.viz.watch(model, every=10)         # shows itself as a cell's last expression
    for xb, yb in loader:                      # the usual loop, unchanged
        opt.zero_grad(); loss_fn(model(xb), yb).backward(); opt.step()
    w.remove()                                 # detach the hooks (also: w.close())

Every ``every`` training steps (a step = one forward call of ``model`` with gradients enabled) it
records, for each layer with a weight:

* ``grad norm``, ``grad mean``, ``grad std`` of the weight's gradient (from a tensor hook: the
  gradient of this backward pass);
* ``update / weight`` = ||w_after - w_before|| / ||w_after|| across one optimizer step (from the
  weights at this forward and at the next one: no optimizer needed; ~1e-3 is healthy);
* ``dead fraction``: the share of exactly-zero outputs of the activation that follows the layer
  (dead ReLUs).

Each statistic is one auto-rescaled log plot with a line per layer (click a layer in the legend
to hide it).  Vanishing (grad norm < ``vanish``), exploding (> ``explode``), non-finite gradients
and mostly-dead activations (> ``dead``) are flagged above the plots with the layer's name.
Between samples the hooks only count, so the overhead stays small (measured in the tests).
"""
from __future__ import annotations

import math

import numpy as np

from ._boundary import ACTIVATIONS
from .monitor import Monitor, _Series


def _arr(t):
    return t._np if hasattr(t, "_np") else t.detach().cpu().numpy()


def _grad_enabled(model):
    p = next(iter(model.parameters()), None)
    if p is not None and type(p).__module__.startswith("torch"):
        import torch
        return torch.is_grad_enabled()
    import labkit
    return labkit.is_grad_enabled()


class Watch(Monitor):
    """Per-layer gradient statistics of ``model`` (see :func:`watch`)."""

    def __init__(self, model, *, every=10, vanish=1e-7, explode=1e3, dead=0.95,
                 title="gradient health", max_rate=10.0):
        super().__init__(title, log_y=True, xlabel="step", max_rate=max_rate)
        if int(every) < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.model = model
        self.every = int(every)
        self.vanish, self.explode, self.dead = vanish, explode, dead
        self.step = 0
        self.samples = 0
        self._sampling = False
        self._saved = None             # (step, [(layer, weight copy)]) for the update ratio
        self._handles = []
        # layers = modules owning a weight with >= 2 dims; activations = the next activation module
        mods = list(model.named_modules())
        self.layers = []
        for i, (name, m) in enumerate(mods):
            w = m._parameters.get("weight") if hasattr(m, "_parameters") else None
            if w is None or len(tuple(w.shape)) < 2:
                continue
            layer = name or type(m).__name__
            act = None
            for _, nxt in mods[i + 1:]:
                if type(nxt).__name__ in ACTIVATIONS:
                    act = nxt
                    break
                if getattr(nxt, "_parameters", {}).get("weight") is not None:
                    break
            self.layers.append((layer, m, w, act))
            self._add_run(layer)
        if not self.layers:
            raise ValueError("watch() found no layer with a weight in this model")
        self._run = self.layers[0][0]
        # fix the panel order (grad norm first) before any point arrives
        for stat in ("grad norm", "grad mean |g|", "grad std", "update / weight", "dead fraction"):
            for layer, _, _, act in self.layers:
                if stat != "dead fraction" or act is not None:
                    self._series[(layer, "train", stat)] = _Series()
        self._sync_full()
        self._handles.append(model.register_forward_pre_hook(self._on_forward))
        for layer, m, w, act in self.layers:
            self._handles.append(w.register_hook(self._grad_hook(layer)))
            if act is not None:
                self._handles.append(act.register_forward_hook(self._act_hook(layer)))

    # ------------------------------------------------------------------ hooks
    def _on_forward(self, module, args):
        if not (getattr(module, "training", True) and _grad_enabled(module)):
            return None
        self.step += 1
        if self._saved is not None:                  # weights after the optimizer step
            step0, copies = self._saved
            self._saved = None
            for (layer, _, w, _), old in zip(self.layers, copies):
                new = _arr(w)
                dn = float(np.linalg.norm((new - old).ravel()))
                wn = float(np.linalg.norm(new.ravel()))
                self._record(layer, "update / weight", step0, dn / wn if wn > 0 else 0.0)
        self._sampling = self.step % self.every == 0
        if self._sampling:
            self.samples += 1
            self._saved = (self.step, [np.array(_arr(w), copy=True) for _, _, w, _ in self.layers])
        return None

    def _grad_hook(self, layer):
        def hook(grad):
            if self._sampling:
                g = _arr(grad).ravel()
                norm = float(np.sqrt(np.dot(g, g))) if g.dtype.kind == "f" else float(
                    np.linalg.norm(g))
                if not math.isfinite(norm):
                    self.alert(f"non-finite gradient in layer '{layer}' at step {self.step}",
                               key=("nan", layer))
                elif norm < self.vanish:
                    self.alert(f"vanishing gradient in layer '{layer}': norm {norm:.1e} at step "
                               f"{self.step}", key=("vanish", layer))
                elif norm > self.explode:
                    self.alert(f"exploding gradient in layer '{layer}': norm {norm:.1e} at step "
                               f"{self.step}", key=("explode", layer))
                self._record(layer, "grad norm", self.step, norm)
                self._record(layer, "grad mean |g|", self.step, float(np.abs(g).mean()))
                self._record(layer, "grad std", self.step, float(g.std()))
                self._maybe_send()
            return None
        return hook

    def _act_hook(self, layer):
        def hook(module, args, output):
            if self._sampling:
                a = _arr(output)
                frac = float(np.count_nonzero(a == 0)) / max(a.size, 1)
                if frac > self.dead:
                    self.alert(f"{100 * frac:.0f}% of the activations after layer '{layer}' are "
                               f"zero at step {self.step} (dead units)", key=("dead", layer))
                self._record(layer, "dead fraction", self.step, frac)
            return None
        return hook

    def _record(self, layer, stat, step, value):
        self._append(layer, "train", stat, step, value)
        self._version += 1

    def remove(self):
        """Detach every hook from the model (the widget keeps its curves)."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self.flush()

    def close(self):
        self.remove()
        super().close()

    def __repr__(self):
        return f"Watch(layers={[l for l, *_ in self.layers]}, every={self.every}, " \
               f"samples={self.samples})"


def watch(model, every=10, *, vanish=1e-7, explode=1e3, dead=0.95, title="gradient health"):
    """Watch the gradients of every layer of ``model`` while it trains (see module docs).

    Args:
        every: sample the statistics every ``every`` training steps.
        vanish / explode: gradient-norm thresholds for the warnings.
        dead: warn when more than this fraction of an activation's outputs are zero.

    Returns the :class:`Watch` widget; ``w.remove()`` detaches the hooks.
    """
    return Watch(model, every=every, vanish=vanish, explode=explode, dead=dead, title=title)
