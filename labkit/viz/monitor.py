"""``labkit.viz.Monitor``: live training curves that update in place while the loop runs.

    mon = lk.viz.Monitor()                   # shows itself as a cell's last expression
    for step, (xb, yb) in enumerate(mon.track(loader, epochs=5)):   # progress bar, rate, ETA
        loss = loss_fn(model(xb), yb)
        ...
        mon.log(loss=loss)                   # any number of metrics
    mon.log(val_loss=vl, val_acc=va)         # 'val_' prefix (or split="val") -> validation curve
    mon.new_run("adam")                      # overlay another run

How it keeps training fast and the front-end responsive
  * ``log`` only appends to Python lists (a few microseconds).  New points are sent as ONE custom
    message with a binary float64 buffer at most ``max_rate`` times per second (default 10), so a
    tight loop of 10,000 ``log`` calls sends a handful of messages, never 10,000.
  * The whole history is a synced trait (``_data``) written rarely: at the end of every cell,
    at the end of ``track`` (also after Ctrl-C) and every ``full_sync_every`` seconds in long
    loops.  That is what a saved notebook keeps.
  * Smoothing, log scale, hover values, zoom and the PNG export run in the browser, so they work
    while the kernel is busy.
  * Where widgets cannot render (nbconvert HTML, GitHub), the output also carries a PNG
    (matplotlib) or an SVG of the curves, refreshed at the end of each cell.
"""
from __future__ import annotations

import csv
import math
import time
import weakref

import numpy as np
import traitlets

from ._base import (STATIC, PALETTE, Widget, in_marimo, json_floats, register_cell_end,
                    to_float)
from . import _static

SPLIT_PREFIXES = {"train_": "train", "val_": "val", "valid_": "val", "test_": "test"}


def _to_step(step):
    """Steps are ints where they can be (JSON-friendly), floats otherwise (e.g. learning rates)."""
    if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        return int(step)
    return to_float(step)


class _Series:
    __slots__ = ("x", "y", "sent")

    def __init__(self):
        self.x, self.y, self.sent = [], [], 0


class Monitor(Widget):
    """Live training curves, progress bar and run comparison in one notebook widget.

    Args:
        title: shown above the charts.
        runs: overlay earlier runs. A dict ``{name: Monitor | history dict}`` (``mon.history``,
            ``mon.to_dict()`` or Keras' ``{"loss": [...], "val_loss": [...]}``), or a list of run
            names (the first one becomes the current run).
        max_rate: at most this many update messages per second (default 10).
        smoothing: initial smoothing in [0, 1) (exponential moving average, as in TensorBoard).
        log_y: start with a logarithmic y axis.
        xlabel / log_x: x axis label and scale (``lr_find`` uses "learning rate", log).
        full_sync_every: seconds between full-history syncs during long loops.
        static: "auto" (PNG if matplotlib is installed, else SVG), "png", "svg" or None: the
            fallback picture stored next to the widget for viewers without widget support.

    Examples::

        mon = Monitor("MLP on moons"); mon
        for xb, yb in mon.track(loader, epochs=3):
            ...; mon.log(loss=loss, acc=acc)
        mon.to_csv("curves.csv"); mon.history["loss"][-1]
    """

    _esm = STATIC / "monitor.js"
    _css = STATIC / "labkit.css"

    title = traitlets.Unicode("").tag(sync=True)
    xlabel = traitlets.Unicode("step").tag(sync=True)
    smoothing = traitlets.Float(0.0).tag(sync=True)
    log_y = traitlets.Bool(False).tag(sync=True)
    log_x = traitlets.Bool(False).tag(sync=True)
    markers = traitlets.List().tag(sync=True)
    alerts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _data = traitlets.Dict().tag(sync=True)
    _progress = traitlets.Dict().tag(sync=True)

    def __init__(self, title="", *, runs=None, max_rate=10.0, smoothing=0.0, log_y=False,
                 xlabel="step", log_x=False, full_sync_every=10.0, static="auto"):
        super().__init__(title=title, smoothing=smoothing, log_y=log_y, xlabel=xlabel,
                         log_x=log_x)
        if not max_rate > 0:
            raise ValueError(f"max_rate must be positive, got {max_rate}")
        if static not in ("auto", "png", "svg", None):
            raise ValueError(f"static must be 'auto', 'png', 'svg' or None, got {static!r}")
        self.max_rate = float(max_rate)
        self.full_sync_every = float(full_sync_every)
        self.static = static
        self.messages_sent = 0           # custom 'append' messages (for tests and curiosity)
        self.full_syncs = 0
        self._series = {}                # (run, split, metric) -> _Series
        self._runs = []
        self._run = None
        self._cursor = {}                # run -> current step (x of the next train point)
        self._seq = 0
        self._version = 0                # bumps on every new point / progress change
        self._full_version = -1          # version contained in _data
        self._static_version = 0         # version shown by the static fallback
        self._last_send = -math.inf
        self._last_full = time.perf_counter()
        self._full_cost = 0.0
        self._track = None               # dict of progress state while track() runs
        self._track_gen = None           # weakref to the running track generator
        self._progress_dirty = False
        self._last_progress = None
        self._alerted = set()
        if isinstance(runs, dict):
            for name, hist in runs.items():
                self._load_run(str(name), hist)
        elif runs is not None:
            for name in runs:
                self._add_run(str(name))
            if self._runs:
                self._run = self._runs[0]
        self._hook = register_cell_end(self)
        # marimo has no end-of-cell hook and reads the synced state: send whole histories
        self._state_only = self._hook is None and in_marimo()
        self._sync_full()

    # ------------------------------------------------------------------ validation
    @traitlets.validate("smoothing")
    def _check_smoothing(self, proposal):
        v = float(proposal["value"])
        if not 0.0 <= v < 1.0:
            raise traitlets.TraitError(f"smoothing must be in [0, 1), got {v}")
        return v

    # ------------------------------------------------------------------ runs
    def _add_run(self, name):
        if name not in self._runs:
            self._runs.append(name)
            self._cursor.setdefault(name, 0)
        return name

    def _current_run(self):
        if self._run is None:
            k = len(self._runs)
            while f"run {k}" in self._runs:
                k += 1
            self._run = self._add_run(f"run {k}")
        return self._run

    @property
    def run(self):
        """Name of the run that ``log`` writes to."""
        return self._current_run()

    @property
    def run_names(self):
        return list(self._runs)

    def new_run(self, name=None):
        """Start a new run (a new set of curves, overlaid on the earlier ones, in a new colour).
        With the name of an existing run, switch back to it and continue its curves."""
        self._end_stale_track()
        if name is None:
            k = len(self._runs)
            while f"run {k}" in self._runs:
                k += 1
            name = f"run {k}"
        self._run = self._add_run(str(name))
        self._version += 1
        return self._run

    def _load_run(self, name, hist):
        if isinstance(hist, Monitor):
            rows = hist.to_dict()
            multi = len(set(rows["run"])) > 1
            for r, sp, m, st, v in zip(rows["run"], rows["split"], rows["metric"], rows["step"],
                                       rows["value"]):
                self._append(self._add_run(f"{name}/{r}" if multi else name), sp, m, st, v)
            return
        hist = dict(hist)
        if {"split", "metric", "step", "value"} <= hist.keys():         # long format
            runs = hist.get("run") or [name] * len(hist["value"])
            multi = len(set(runs)) > 1
            for r, sp, m, st, v in zip(runs, hist["split"], hist["metric"], hist["step"],
                                       hist["value"]):
                self._append(self._add_run(f"{name}/{r}" if multi else name), sp, m, st, v)
            return
        self._add_run(name)
        for key, values in hist.items():                                 # Keras style
            split, metric = self._split_name(key, None)
            for i, v in enumerate(values):
                self._append(name, split, metric, i, v)

    # ------------------------------------------------------------------ logging
    @staticmethod
    def _split_name(key, split):
        if split is not None:
            return split, key
        for prefix, sp in SPLIT_PREFIXES.items():
            if key.startswith(prefix) and len(key) > len(prefix):
                return sp, key[len(prefix):]
        return "train", key

    def _append(self, run, split, metric, step, value):
        key = (run, split, metric)
        s = self._series.get(key)
        if s is None:
            s = self._series[key] = _Series()
        s.x.append(step)
        s.y.append(value)

    def log(self, metrics=None, /, *, step=None, split=None, **kw):
        """Record metric values for the current step.

        ``mon.log(loss=0.7, acc=0.81)``; validation: ``mon.log(val_loss=...)`` or
        ``mon.log(loss=..., split="val")``; a dict works too: ``mon.log({"loss": l})``.
        Values may be numbers, NumPy scalars or one-element tensors.

        The step (x axis) is, in order: ``step=`` if given; the batch index while ``track`` runs;
        otherwise a counter that advances when a training metric is logged again (so
        ``log(loss=...)`` then ``log(acc=...)`` in the same iteration share one step).
        Validation points go at the current step.
        """
        if metrics:
            kw = {**metrics, **kw}
        if not kw:
            return
        run = self._current_run()
        items = []
        for key, v in kw.items():
            sp, metric = self._split_name(key, split)
            items.append((sp, metric, to_float(v)))
        if step is None:
            x = self._cursor[run]
            if self._track is None or self._track.get("status") != "running":
                for sp, metric, _ in items:      # same training metric again -> next step
                    s = self._series.get((run, sp, metric))
                    if sp == "train" and s is not None and s.x and s.x[-1] >= x:
                        x = s.x[-1] + 1
                self._cursor[run] = x
        else:
            x = _to_step(step)
        for sp, metric, v in items:
            self._append(run, sp, metric, x, v)
            if not math.isfinite(v):
                name = metric if sp == "train" else f"{sp}_{metric}"
                self.alert(f"{name} is {v} at step {x}" + (f" (run {run})" if len(self._runs) > 1
                                                            else ""), key=(run, sp, metric))
        self._version += 1
        self._maybe_send()

    def alert(self, message, key=None):
        """Show a warning line above the charts (once per ``key``; default: the message)."""
        key = message if key is None else key
        if key in self._alerted:
            return False
        self._alerted.add(key)
        self.alerts = self.alerts + [str(message)]
        return True

    # ------------------------------------------------------------------ progress
    def track(self, iterable, epochs=1, total=None, desc=None):
        """Iterate over ``iterable`` (``epochs`` times), yielding its items, with a progress bar
        (count, rate, ETA) in the widget.  Works for any iterable; without ``len()`` the total is
        learned after the first epoch.  Steps logged inside the loop are the global batch index.

        ``for step, (xb, yb) in enumerate(mon.track(loader, epochs=5)): ...``
        """
        if int(epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        self._end_stale_track()
        gen = self._track_iter(iterable, int(epochs), total, desc)
        self._track_gen = weakref.ref(gen)
        return gen

    def _track_iter(self, iterable, epochs, total, desc):
        if total is None:
            try:
                per_epoch = len(iterable)
            except TypeError:
                per_epoch = None
        else:
            per_epoch = int(total)
        run = self._current_run()
        base = self._next_step(run)
        t0 = time.perf_counter()
        st = self._track = {"n": 0, "total": per_epoch * epochs if per_epoch is not None else None,
                            "epoch": 0, "epochs": epochs, "t0": t0, "rate": 0.0,
                            "last_t": t0, "last_n": 0, "status": "running", "desc": desc}
        self._progress_dirty = True
        self._version += 1
        status = "interrupted"
        try:
            for epoch in range(epochs):
                st["epoch"] = epoch
                count = 0
                for batch in iterable:
                    self._cursor[run] = base + st["n"]
                    yield batch
                    count += 1
                    st["n"] += 1
                    self._progress_dirty = True
                    self._maybe_send()
                if per_epoch is None and st["total"] is None and count:
                    st["total"] = count * epochs            # learned from the first epoch
            status = "done"
        except GeneratorExit:           # the loop was left early (break, exception in the body)
            status = "stopped"
            raise
        finally:
            st["status"] = status
            self._cursor[run] = base + max(st["n"] - 1, 0) if st["n"] else base
            self._progress_dirty = True
            self._version += 1
            try:
                self.flush()
            except Exception:
                if status != "stopped":   # closed by the garbage collector: nothing to report to
                    raise
            finally:
                if self._track is st:
                    self._track = None
                self._last_progress = self._progress_snapshot(st, time.perf_counter())

    def _next_step(self, run):
        """First step of a new track(): after the last training point of this run."""
        last = max((s.x[-1] for (r, sp, _), s in self._series.items()
                    if r == run and sp == "train" and s.x), default=None)
        return 0 if last is None else int(last) + 1

    def _end_stale_track(self):
        gen = self._track_gen() if self._track_gen is not None else None
        if gen is not None:
            gen.close()              # a track() abandoned mid-way: finalise it now
        self._track_gen = None

    @staticmethod
    def _progress_snapshot(st, now):
        if st is None:
            return None
        elapsed = now - st["t0"]
        dn, dt = st["n"] - st["last_n"], now - st["last_t"]
        if st["status"] != "running":
            rate = st["n"] / elapsed if elapsed > 0 else 0.0
        elif dt > 0 and dn > 0:
            inst = dn / dt
            rate = inst if st["rate"] == 0 else 0.7 * st["rate"] + 0.3 * inst
            st["rate"], st["last_t"], st["last_n"] = rate, now, st["n"]
        else:
            rate = st["rate"]
        return {"n": st["n"], "total": st["total"], "epoch": st["epoch"],
                "epochs": st["epochs"], "rate": rate, "elapsed": elapsed,
                "status": st["status"], "desc": st["desc"]}

    # ------------------------------------------------------------------ sending
    def _maybe_send(self):
        now = time.perf_counter()
        if now - self._last_send < 1.0 / self.max_rate:
            return
        if self._state_only:
            self.flush()
            return
        if (self._version != self._full_version
                and now - self._last_full >= max(self.full_sync_every, 50 * self._full_cost)):
            self._sync_full()
        else:
            self._send_new(now)

    def _send_new(self, now=None):
        """Send points not sent yet (one message, one binary buffer) plus the progress."""
        now = time.perf_counter() if now is None else now
        items, chunks = [], []
        for key, s in self._series.items():
            n = len(s.x) - s.sent
            if n > 0:
                items.append([key[0], key[1], key[2], n])
                chunks.append(s.x[s.sent:])
                chunks.append(s.y[s.sent:])
        prog = self._progress_snapshot(self._track, now) if self._progress_dirty else None
        if not items and prog is None:
            return
        self._seq += 1
        msg = {"type": "append", "seq": self._seq, "series": items}
        if prog is not None:
            msg["progress"] = prog
        buffers = []
        if chunks:
            buffers = [np.fromiter((v for c in chunks for v in c), dtype="<f8").tobytes()]
        self.send(msg, buffers=buffers)
        self.messages_sent += 1
        self._last_send = now
        self._progress_dirty = False
        for k in items:
            s = self._series[(k[0], k[1], k[2])]
            s.sent += k[3]

    def _data_dict(self):
        series = []
        for (run, split, metric), s in self._series.items():
            series.append({"run": run, "split": split, "metric": metric,
                           "x": [v if isinstance(v, int) or math.isfinite(v) else None
                                 for v in s.x],
                           "y": json_floats(s.y)})
        return {"seq": self._seq, "runs": list(self._runs), "series": series}

    def _sync_full(self):
        """Write the whole history into the synced ``_data`` trait (what a saved notebook keeps)."""
        self._syncing = True
        try:
            self._write_full()
        finally:
            self._syncing = False

    def _write_full(self):
        t0 = time.perf_counter()
        for s in self._series.values():
            s.sent = len(s.x)
        data = self._data_dict()
        prog = self._progress_snapshot(self._track, t0) if self._track is not None else \
            getattr(self, "_last_progress", None)
        with self.hold_sync():
            self._data = data
            if prog is not None:
                self._progress = prog
        self._full_version = self._version
        self._progress_dirty = False
        self._last_full = self._last_send = time.perf_counter()
        self._full_cost = self._last_full - t0
        self.full_syncs += 1

    _syncing = False

    def get_state(self, key=None):
        """The synced state, brought up to date first: front-ends that read the state directly
        instead of receiving IPython's display (marimo's ``mo.ui.anywidget(mon)``, a view opened
        later) see every point logged so far, not the last periodic sync."""
        if key is None and not self._syncing and getattr(self, "_full_version", None) is not None \
                and self._version != self._full_version:
            self._sync_full()
        return super().get_state(key)

    def _on_sync_request(self):
        self.flush()

    def _repr_mimebundle_(self, **kwargs):
        self.flush()             # marimo renders through this once; IPython displays through it
        return super()._repr_mimebundle_(**kwargs)

    def flush(self):
        """Send everything now and write the full history into the widget state."""
        if self._version != self._full_version:
            self._sync_full()

    def _on_cell_end(self):
        gen = self._track_gen() if self._track_gen is not None else None
        if gen is not None and self._track is not None and self._track["status"] == "running" \
                and gen.gi_frame is not None and not gen.gi_running:
            # the loop stopped inside the body (exception) and the generator is still alive
            self._track["status"] = "stopped"
            self._progress_dirty = True
            self._version += 1
        self.flush()
        if self._static_version != self._version and self._series:
            self._static_version = self._version
            self._refresh_display()

    def close(self):
        if getattr(self, "_hook", None) is not None:
            self._hook.remove()
            self._hook = None
        super().close()

    # ------------------------------------------------------------------ export
    @property
    def history(self):
        """The current run as a dict of lists, Keras style: ``{"loss": [...], "val_loss": [...]}``
        (validation/test metrics are prefixed).  Steps are in ``mon.steps``."""
        run = self._current_run()
        out = {}
        for (r, split, metric), s in self._series.items():
            if r == run:
                out[metric if split == "train" else f"{split}_{metric}"] = list(s.y)
        return out

    @property
    def steps(self):
        """The steps (x values) matching ``history``, same keys."""
        run = self._current_run()
        return {(m if sp == "train" else f"{sp}_{m}"): list(s.x)
                for (r, sp, m), s in self._series.items() if r == run}

    def to_dict(self):
        """Every point of every run in long format, ready for ``pandas.DataFrame(...)``:
        ``{"run": [...], "split": [...], "metric": [...], "step": [...], "value": [...]}``."""
        cols = {"run": [], "split": [], "metric": [], "step": [], "value": []}
        for (run, split, metric), s in self._series.items():
            n = len(s.x)
            cols["run"] += [run] * n
            cols["split"] += [split] * n
            cols["metric"] += [metric] * n
            cols["step"] += list(s.x)
            cols["value"] += list(s.y)
        return cols

    def to_csv(self, path):
        """Write every point (long format: run, split, metric, step, value) to a CSV file."""
        d = self.to_dict()
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["run", "split", "metric", "step", "value"])
            for row in zip(d["run"], d["split"], d["metric"], d["step"], d["value"]):
                w.writerow(row)
        return path

    # ------------------------------------------------------------------ static fallback
    def _panels(self):
        metrics = []
        for (_, _, m) in self._series:
            if m not in metrics:
                metrics.append(m)
        multi = len(self._runs) > 1
        panels = []
        for m in metrics:
            lines = []
            for (run, split, metric), s in self._series.items():
                if metric != m or not s.x:
                    continue
                k = self._runs.index(run) if run in self._runs else 0
                lines.append({"label": (f"{run} " if multi else "") + split, "x": list(s.x),
                              "y": list(s.y), "color": PALETTE[k % len(PALETTE)],
                              "dashed": split != "train"})
            panels.append((m, lines))
        return panels

    def _static_bundle(self):
        if self.static is None or not self._series:
            return {}
        panels = self._panels()
        kw = dict(title=self.title, xlabel=self.xlabel, log_x=self.log_x, log_y=self.log_y,
                  markers=self.markers)
        kind = self.static
        if kind == "auto":
            kind = "png" if _static.have_matplotlib() else "svg"
        if kind == "png":
            return {"image/png": _static.png_base64(panels, **kw)}
        return {"text/html": _static.svg_html(panels, **kw)}

    def __repr__(self):
        n = sum(len(s.x) for s in self._series.values())
        return f"Monitor(title={self.title!r}, runs={self._runs}, points={n})"
