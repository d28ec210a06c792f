"""``labkit.viz.lr_find``: the learning-rate range test (Smith 2015; fastai / pytorch-lr-finder).

    res = lk.viz.lr_find(model, loss_fn, loader)        # live loss-vs-lr chart while it sweeps
    res.suggestion                                       # steepest descent of the smoothed loss
    opt = lk.optim.SGD(model.parameters(), lr=res.suggestion)

The learning rate grows exponentially from ``start_lr`` to ``end_lr`` over ``num_iter`` batches
(stopping early once the loss diverges).  Afterwards the model's parameters and buffers, their
gradients, the optimizer (state and learning rates), the train/eval mode and labkit's random
generator are restored exactly: training continues as if the sweep had never happened.

The suggestion is the learning rate where the loss falls fastest per decade, measured on a
*centred* moving average of the loss (an exponential average lags behind and points to a learning
rate that is too large), searched before the loss minimum.
"""
from __future__ import annotations

import copy
import math

import numpy as np

from ._base import ipython
from .monitor import Monitor


def _is_torch(model):
    p = next(iter(model.parameters()), None)
    return p is not None and type(p).__module__.startswith("torch")


def _array(t):
    return t._np if hasattr(t, "_np") else t.detach().cpu().numpy()


def _snapshot(model):
    """(tensor, saved values, saved grad) for every parameter and buffer."""
    seen, out = set(), []
    tensors = list(model.parameters()) + list(model.buffers())
    for t in tensors:
        if id(t) in seen:
            continue
        seen.add(id(t))
        g = t.grad
        out.append((t, np.array(_array(t), copy=True),
                    None if g is None else np.array(_array(g), copy=True)))
    return out


def _restore(snap, torch_model):
    for t, values, grad in snap:
        if torch_model:
            import torch
            with torch.no_grad():
                t.copy_(torch.from_numpy(values))
                t.grad = None if grad is None else torch.from_numpy(grad).to(t.dtype)
        else:
            from labkit.tensor import _make
            t._np[...] = values
            t.grad = None if grad is None else _make(grad)


def smooth_centered(y, window):
    """Centred moving average (window clipped at the ends); NaNs are ignored."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    half = window // 2
    ok = np.isfinite(y)
    c = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    k = np.concatenate([[0], np.cumsum(ok)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    cnt = k[hi] - k[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, (c[hi] - c[lo]) / np.maximum(cnt, 1), np.nan)


def suggest_lr(lrs, losses, skip_start=0.1):
    """Learning rate of the steepest descent of the smoothed loss (per decade of lr), looked for
    between the first ``skip_start`` fraction of the sweep and the minimum of the smoothed loss."""
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    ok = np.isfinite(losses) & (lrs > 0)
    lrs, losses = lrs[ok], losses[ok]
    n = len(lrs)
    if n < 5:
        return None, np.asarray(losses)
    window = max(3, (n // 10) | 1)
    s = smooth_centered(losses, window)
    i_min = int(np.nanargmin(s))
    lo = int(n * skip_start)
    if i_min - lo < 2:
        lo = 0
    if i_min - lo < 2:
        return None, s
    g = np.gradient(s, np.log10(lrs))
    idx = lo + int(np.nanargmin(g[lo:i_min + 1]))
    return float(lrs[idx]), s


class LRFinderResult:
    """What :func:`lr_find` measured: ``lrs``, ``losses``, ``smoothed``, ``suggestion`` and the
    ``monitor`` widget that shows them."""

    def __init__(self, lrs, losses, smoothed, suggestion, monitor, stopped_early):
        self.lrs, self.losses, self.smoothed = lrs, losses, smoothed
        self.suggestion, self.monitor, self.stopped_early = suggestion, monitor, stopped_early

    def __repr__(self):
        s = "none (loss never decreased)" if self.suggestion is None else f"{self.suggestion:.2e}"
        early = ", stopped early: loss diverged" if self.stopped_early else ""
        return f"LRFinderResult(suggestion={s}, {len(self.lrs)} steps{early})"

    def __float__(self):
        if self.suggestion is None:
            raise ValueError("lr_find found no learning rate where the loss decreases")
        return float(self.suggestion)


def lr_find(model, loss_fn, loader, optimizer=None, start_lr=1e-7, end_lr=10, num_iter=100,
            diverge=4.0, show=True, title="learning-rate finder"):
    """Run the learning-rate range test and restore everything afterwards.

    Args:
        model: the module to train (labkit or torch).
        loss_fn: ``loss_fn(model(inputs), targets)`` -> scalar loss tensor.
        loader: yields ``(inputs, targets)`` batches (re-iterated if shorter than ``num_iter``).
        optimizer: the optimizer you will train with (its learning rate is swept and restored);
            default: ``SGD(model.parameters(), lr=start_lr)``.
        start_lr, end_lr, num_iter: the exponential sweep.
        diverge: stop once the (exponentially) smoothed loss exceeds ``diverge`` times its best.
        show: display the live chart (when running in a notebook).

    Returns:
        :class:`LRFinderResult` (``.suggestion``, ``.lrs``, ``.losses``, ``.monitor``).
    """
    if not (0 < start_lr < end_lr):
        raise ValueError(f"need 0 < start_lr < end_lr, got {start_lr}, {end_lr}")
    if num_iter < 2:
        raise ValueError(f"num_iter must be >= 2, got {num_iter}")
    torch_model = _is_torch(model)
    if optimizer is None:
        if torch_model:
            import torch
            optimizer = torch.optim.SGD(model.parameters(), lr=start_lr)
        else:
            import labkit
            optimizer = labkit.optim.SGD(model.parameters(), lr=start_lr)

    # ---- save everything the sweep touches ----
    snap = _snapshot(model)
    opt_state = copy.deepcopy(optimizer.state_dict())
    was_training = getattr(model, "training", True)
    if torch_model:
        import torch
        rng = torch.get_rng_state()
    else:
        import labkit
        rng = labkit.get_rng_state()

    mon = Monitor(title, xlabel="learning rate", log_x=True, static="auto")
    if show and ipython() is not None:
        mon.display()
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_iter) / (num_iter - 1))
    seen_lrs, losses = [], []
    best, avg, stopped_early = math.inf, 0.0, False
    try:
        model.train()
        it = iter(loader)
        for i, lr in enumerate(lrs):
            for g in optimizer.param_groups:
                g["lr"] = float(lr)
            try:
                batch = next(it)
            except StopIteration:
                it = iter(loader)
                batch = next(it)
            inputs, targets = batch[0], batch[1]
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            v = float(loss.item() if hasattr(loss, "item") else loss)
            seen_lrs.append(float(lr))
            losses.append(v)
            mon.log(loss=v, step=float(lr))
            if not math.isfinite(v):
                stopped_early = True
                break
            avg = 0.9 * avg + 0.1 * v
            sm = avg / (1 - 0.9 ** (i + 1))
            best = min(best, sm)
            if i >= 5 and sm > diverge * best:
                stopped_early = True
                break
    finally:
        # ---- restore: parameters, grads, optimizer, mode, RNG ----
        _restore(snap, torch_model)
        optimizer.load_state_dict(opt_state)
        model.train(was_training)
        if torch_model:
            torch.set_rng_state(rng)
        else:
            labkit.set_rng_state(rng)

    suggestion, smoothed = suggest_lr(seen_lrs, losses)
    ok = [(lr, s) for lr, s in zip(np.asarray(seen_lrs)[np.isfinite(losses)], smoothed)]
    for lr, s in ok:
        if math.isfinite(s):
            mon.log(loss=float(s), split="smoothed", step=float(lr))
    if suggestion is not None:
        mon.markers = [{"x": suggestion, "label": f"suggested {suggestion:.1e}"}]
    mon.flush()
    return LRFinderResult(np.asarray(seen_lrs), np.asarray(losses), np.asarray(smoothed),
                          suggestion, mon, stopped_early)
