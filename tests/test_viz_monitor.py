"""labkit.viz.Monitor without a kernel: Python state, what is sent (counted and decoded), exports,
the static fallback, progress/interrupt handling and the per-step overhead."""
import base64
import csv
import hashlib
import math
import pathlib
import time

import numpy as np
import pytest

pytest.importorskip("anywidget")

import labkit as lk  # noqa: E402
from labkit.viz.monitor import Monitor  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


class Recorder:
    """Replaces Monitor.send: keeps every custom message and decodes its binary buffer."""

    def __init__(self, mon):
        self.msgs = []
        mon.send = self

    def __call__(self, content, buffers=None):
        self.msgs.append((content, [bytes(b) for b in buffers or []]))

    def points(self):
        """(run, split, metric) -> list of (x, y), rebuilt from the append messages only."""
        out = {}
        for content, bufs in self.msgs:
            if not content["series"]:
                continue
            f = np.frombuffer(bufs[0], dtype="<f8")
            o = 0
            for run, split, metric, n in content["series"]:
                out.setdefault((run, split, metric), []).extend(zip(f[o:o + n], f[o + n:o + 2 * n]))
                o += 2 * n
            assert o == f.size
        return out


def fast(mon):
    """Disable throttling (every log sends) to inspect messages deterministically."""
    mon.max_rate = 1e12
    mon.full_sync_every = 1e12
    return mon


def test_log_splits_steps_and_history():
    mon = Monitor("t")
    mon.log(loss=1.0, acc=0.5)
    mon.log(loss=0.8)
    mon.log(acc=0.6)                       # same step as the previous loss
    mon.log(val_loss=0.9)                  # prefix -> validation split, current step
    mon.log(loss=0.7, split="val", step=10)
    mon.log({"loss": np.float32(0.6)}, step=np.int64(11))
    mon.log(loss=lk.tensor(0.5))           # one-element tensors are fine
    assert mon.history == {"loss": [1.0, 0.8, pytest.approx(0.6), 0.5], "acc": [0.5, 0.6],
                           "val_loss": [0.9, 0.7]}
    assert mon.steps == {"loss": [0, 1, 11, 12], "acc": [0, 1], "val_loss": [1, 10]}
    assert type(mon.steps["loss"][2]) is int
    with pytest.raises(TypeError, match="one-element"):
        mon.log(loss=object())
    with pytest.raises(Exception):
        mon.smoothing = 1.5


def test_track_progress_and_steps():
    mon = fast(Monitor())
    rec = Recorder(mon)
    seen = []
    for step, (a, b) in enumerate(mon.track([(1, 2), (3, 4), (5, 6)], epochs=2)):
        seen.append((step, a))
        mon.log(loss=1.0 / (step + 1))
        if step % 3 == 2:
            mon.log(val_loss=0.5)
    assert [s for s, _ in seen] == list(range(6)) and [a for _, a in seen] == [1, 3, 5] * 2
    assert mon.steps["loss"] == list(range(6))
    assert mon.steps["val_loss"] == [2, 5]
    prog = [c["progress"] for c, _ in rec.msgs if "progress" in c]
    assert prog[0]["total"] == 6 and prog[0]["epochs"] == 2
    assert [p["n"] for p in prog] == sorted(p["n"] for p in prog)
    assert mon._progress["status"] == "done" and mon._progress["n"] == 6
    assert mon._progress["rate"] > 0
    # a second track() in the same run continues the step axis
    for _ in mon.track(range(2)):
        mon.log(loss=0.1)
    assert mon.steps["loss"][-2:] == [6, 7]


def test_track_without_len_learns_total():
    mon = fast(Monitor())
    rec = Recorder(mon)
    gen = (i for i in range(4))
    assert list(mon.track(gen, epochs=1)) == [0, 1, 2, 3]
    assert mon._progress["total"] == 4 and mon._progress["n"] == 4
    first = next(c["progress"] for c, _ in rec.msgs if "progress" in c)
    assert first["total"] is None                       # unknown while running
    with pytest.raises(ValueError):
        mon.track(range(3), epochs=0)


def test_new_points_are_sent_incrementally_and_exactly_once():
    mon = fast(Monitor())
    rec = Recorder(mon)
    for i in range(50):
        mon.log(loss=1.0 / (i + 1), acc=i / 50)
        if i % 10 == 9:
            mon.log(val_loss=2.0 / (i + 1))
    got = rec.points()
    assert [x for x, _ in got[("run 0", "train", "loss")]] == list(range(50))
    assert [y for _, y in got[("run 0", "train", "loss")]] == [1.0 / (i + 1) for i in range(50)]
    assert len(got[("run 0", "val", "loss")]) == 5
    # every message carries only new points: total sent == total logged
    assert sum(n for c, _ in rec.msgs for *_, n in c["series"]) == 105
    assert [c["seq"] for c, _ in rec.msgs] == list(range(1, len(rec.msgs) + 1))


def test_tight_loop_sends_a_bounded_number_of_messages():
    mon = Monitor()                                   # default: at most 10 messages per second
    rec = Recorder(mon)
    t0 = time.perf_counter()
    for i in range(10_000):
        mon.log(loss=1.0 / (i + 1), acc=0.5)
    elapsed = time.perf_counter() - t0
    assert len(rec.msgs) <= 1 + 10 * elapsed + 1, (len(rec.msgs), elapsed)
    assert len(rec.msgs) <= 20
    syncs_before = mon.full_syncs
    mon.flush()                                       # end of cell / end of track
    assert mon.full_syncs == syncs_before + 1
    series = {(s["run"], s["split"], s["metric"]): s for s in mon._data["series"]}
    assert len(series[("run 0", "train", "loss")]["y"]) == 10_000
    assert mon._data["seq"] == mon._seq
    mon.flush()                                       # nothing new -> no second sync
    assert mon.full_syncs == syncs_before + 1


def test_throttle_spaces_messages_in_time(monkeypatch):
    # A fake clock that advances 1 ms per reading: deterministic spacing, whatever the load.
    import types
    import labkit.viz.monitor as monitor_mod
    clock = [0.0]

    def perf_counter():
        clock[0] += 1e-3
        return clock[0]
    monkeypatch.setattr(monitor_mod, "time", types.SimpleNamespace(perf_counter=perf_counter))
    mon = Monitor(max_rate=20)
    rec = Recorder(mon)
    times = []
    orig = rec.__call__

    def timed(content, buffers=None):
        times.append(clock[0])
        orig(content, buffers)
    mon.send = timed
    for _ in range(2000):
        mon.log(loss=1.0)
    elapsed = clock[0]
    assert 2 <= len(times) <= 20 * elapsed + 1, (len(times), elapsed)
    gaps = np.diff(times)
    assert gaps.min() >= 1 / 20 - 2e-3, gaps   # the clock is read a step or two before the stamp
    assert len(times) >= 20 * elapsed / 2, (len(times), elapsed)       # and not starved either


def test_full_state_for_saved_notebooks_and_nan():
    mon = Monitor()
    Recorder(mon)
    mon.log(loss=float("nan"))
    mon.log(loss=float("inf"))
    mon.log(loss=1.0)
    mon.flush()
    (s,) = mon._data["series"]
    assert s["y"] == [None, None, 1.0] and s["x"] == [0, 1, 2]
    state = mon.get_state()
    assert state["_data"]["series"][0]["metric"] == "loss"
    assert state["_model_name"] == "AnyModel" and "as default" in state["_esm"]
    assert "labkit-monitor" in state["_esm"] and ".labkit-chart" in state["_css"]


def test_runs_overlay_and_preloading():
    a = Monitor()
    for i in range(3):
        a.log(loss=3 - i, val_loss=4 - i)
    b = Monitor(runs={"sgd": a, "keras": {"loss": [0.5, 0.4], "val_acc": [0.7]}})
    b.new_run("adam")
    b.log(loss=0.3)
    assert b.run_names == ["sgd", "keras", "adam"] and b.run == "adam"
    d = b.to_dict()
    assert d["run"].count("sgd") == 6 and d["run"].count("keras") == 3
    assert b.history == {"loss": [0.3]}
    b.new_run("sgd")                              # switch back: continues its curves
    b.log(loss=0.1)
    assert b.steps["loss"][-1] == 3
    c = Monitor(runs=["x", "y"])
    c.log(loss=1)
    assert c.run == "x" and c.run_names == ["x", "y"]
    n = b.new_run()
    assert n == "run 3"


def test_to_csv_roundtrip(tmp_path):
    mon = Monitor()
    mon.log(loss=0.5, acc=0.25)
    mon.log(val_loss=0.75)
    mon.new_run("b")
    mon.log(loss=0.125, step=7)
    path = mon.to_csv(tmp_path / "h.csv")
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["run", "split", "metric", "step", "value"]
    assert ["run 0", "val", "loss", "0", "0.75"] in rows
    assert ["b", "train", "loss", "7", "0.125"] in rows
    assert len(rows) == 5


def test_static_fallback_png_and_svg():
    """The picture is a separate output (nbconvert's HTML export drops the rest of a widget's
    bundle), wrapped in a div the widget's front-end hides where it renders."""
    mon = Monitor("fallback")
    assert mon.fallback_bundle() == {}                      # nothing to draw yet
    for i in range(20):
        mon.log(loss=math.exp(-i / 5), val_loss=math.exp(-i / 6))
    data, _ = mon._repr_mimebundle_()
    assert set(data) == {"text/plain", "application/vnd.jupyter.widget-view+json"}
    fb = mon.fallback_bundle()
    assert fb["text/html"].startswith(f'<div class="labkit-fallback labkit-fallback-'
                                      f'{mon._fallback_key}">')
    assert mon.get_state()["_fallback_key"] == mon._fallback_key and len(mon._fallback_key) == 16
    if pytest.importorskip("matplotlib"):
        png = base64.b64decode(fb["image/png"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
        assert f'src="data:image/png;base64,{fb["image/png"]}"' in fb["text/html"]
    mon.static = "svg"
    html = mon.fallback_bundle()["text/html"]
    assert html.count("<polyline") == 2 and "stroke-dasharray" in html and "fallback" in html
    mon.static = None
    assert mon.fallback_bundle() == {}


def test_display_emits_widget_then_picture(monkeypatch):
    import IPython.display as ipd
    shown = []
    monkeypatch.setattr(ipd, "display", lambda obj, **kw: shown.append((obj, kw)))
    mon = Monitor("two outputs")
    mon.log(loss=1.0)
    mon.log(loss=0.5)
    mon.display()
    assert len(shown) == 2
    (w, kw0), (pic, kw1) = shown
    assert "application/vnd.jupyter.widget-view+json" in w and "image/png" not in w
    assert "labkit-fallback" in pic["text/html"] and kw1["display_id"] == kw0["display_id"] + "-static"


class Boom(Exception):
    pass


def test_interrupt_inside_iterable_leaves_widget_usable():
    mon = Monitor()
    rec = Recorder(mon)

    def loader():
        for i in range(100):
            if i == 7:
                raise KeyboardInterrupt
            yield i
    with pytest.raises(KeyboardInterrupt):
        for i in mon.track(loader()):
            mon.log(loss=1.0 / (i + 1))
    assert mon._progress["status"] == "interrupted" and mon._progress["n"] == 7
    assert len(mon._data["series"][0]["y"]) == 7            # final flush in `finally`
    # still usable: a new track continues the curve
    for i in mon.track(range(3)):
        mon.log(loss=0.01)
    assert mon.steps["loss"][-3:] == [7, 8, 9] and mon._progress["status"] == "done"
    assert rec.msgs is not None


def test_interrupt_in_loop_body_and_break():
    mon = Monitor()
    Recorder(mon)
    with pytest.raises(KeyboardInterrupt):
        for i in mon.track(range(50)):
            mon.log(loss=float(i))
            if i == 4:
                raise KeyboardInterrupt
    mon._on_cell_end()                           # what IPython's post_run_cell triggers
    assert mon._progress["status"] in ("stopped", "interrupted")
    assert mon._progress["n"] in (4, 5)
    assert len(mon._data["series"][0]["y"]) == 5
    for i in mon.track(range(10)):
        if i == 2:
            break
    assert mon._progress["status"] == "stopped"


def test_cell_end_refreshes_static_display(monkeypatch):
    mon = Monitor()
    Recorder(mon)
    calls = []
    monkeypatch.setattr(mon, "_refresh_display", lambda: calls.append(1))
    mon._on_cell_end()
    assert calls == []                           # no data: nothing to refresh
    mon.log(loss=1.0)
    mon._on_cell_end()
    mon._on_cell_end()                           # unchanged: refreshed once
    assert calls == [1]


def test_per_step_overhead_is_small():
    """track() + two log() calls per step must cost far less than 5% of a 1 ms step."""
    mon = Monitor()
    Recorder(mon)
    n = 5000
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for i in mon.track(range(n)):
            mon.log(loss=0.5, acc=0.25)
        best = min(best, (time.perf_counter() - t0) / n)
        mon.new_run()
    print(f"Monitor overhead per step: {best * 1e6:.1f} us")
    assert best < 50e-6, best


@pytest.mark.slow
def test_end_to_end_overhead_fake_training():
    """~5,000 steps of ~1 ms of NumPy work, with and without a Monitor: <= 5% slower."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((90, 90)).astype(np.float32)

    reps = 1

    def work():
        x = a
        for _ in range(reps):
            x = np.tanh(x @ a) * 0.1
        return float(x[0, 0])

    def plain(n):
        for i in range(n):
            loss = work()
        return loss

    def monitored(n, mon):
        for i in mon.track(range(n)):
            loss = work()
            mon.log(loss=loss, acc=0.5)
        return loss

    t0 = time.perf_counter()
    for _ in range(200):
        work()
    reps = max(1, round(1e-3 / ((time.perf_counter() - t0) / 200)))     # ~1 ms per step
    t0 = time.perf_counter()
    for _ in range(100):
        work()
    per = (time.perf_counter() - t0) / 100
    # interleaved chunks (this machine is shared and noisy): median of per-chunk ratios
    chunk, ratios = 500, []
    mon = Monitor()
    Recorder(mon)
    for _ in range(5):
        t0 = time.perf_counter(); plain(chunk); tp = time.perf_counter() - t0
        t0 = time.perf_counter(); monitored(chunk, mon); tm = time.perf_counter() - t0
        ratios.append(tm / tp)
    ratio = float(np.median(ratios))
    print(f"step {per * 1e3:.2f} ms; monitored/plain per 500-step chunk: "
          f"{['%.3f' % r for r in ratios]}, median {ratio:.3f}")
    # The exact <= 5% budget is checked by test_per_step_overhead_is_small (deterministic);
    # here a looser bound keeps a shared 2-core CI machine from flaking.
    assert ratio <= 1.15, ratios


def test_state_read_directly_has_every_point():
    """marimo (mo.ui.anywidget(mon)) reads get_state() instead of using IPython's display
    path and its end-of-cell hook: the state it reads must hold every point logged so far."""
    mon = Monitor("marimo", full_sync_every=1e9)
    for i in range(50):
        mon.log(loss=1.0 / (i + 1))
    assert mon.full_syncs == 1                         # only the empty one at construction
    state = mon.get_state()
    series = {(s["run"], s["metric"]): s for s in state["_data"]["series"]}
    assert series[("run 0", "loss")]["y"] == [1.0 / (i + 1) for i in range(50)]
    assert mon.full_syncs == 2
    mon.get_state()                                    # nothing new: no second sync
    assert mon.full_syncs == 2
