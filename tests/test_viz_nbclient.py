"""labkit.viz widgets executed by a real kernel through nbclient (no browser).

The recorded comm traffic proves that updates left the kernel *while* the loop ran (throttled,
incremental, binary), and the executed notebook proves that the final widget state and the static
PNG fallback are saved in the .ipynb.
"""
import os
import re
import pathlib
import time

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("anywidget")
pytest.importorskip("ipykernel")

ROOT = pathlib.Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
STATE_MIME = "application/vnd.jupyter.widget-state+json"


class RecordingClient(nbclient.NotebookClient):
    """Records every comm message with its arrival time and binary buffers."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.comm_log = []      # (t_arrival, cell_index, msg)

    def handle_comm_msg(self, outs, msg, cell_index):
        self.comm_log.append((time.perf_counter(), cell_index, msg))
        super().handle_comm_msg(outs, msg, cell_index)


def isolated_env(base):
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "cfg"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                     ("MPLCONFIGDIR", "mpl")]:
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("MPLBACKEND", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                         env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def execute(tmp_path, cells, tags=None):
    from nbformat.v4 import new_code_cell, new_notebook
    nb = new_notebook(cells=[new_code_cell(c) for c in cells], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for i, t in (tags or {}).items():
        nb.cells[i].metadata["tags"] = t
    client = RecordingClient(nb, timeout=180, kernel_name="python3",
                             resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.perf_counter()
    client.execute(env=isolated_env(tmp_path / "env"))
    print(f"[timing] nbclient execute: {time.perf_counter() - t0:.2f} s")
    nbformat.write(nb, tmp_path / "executed.ipynb")
    return nb, client


def custom_msgs(client, model_id):
    out = []
    for t, cell, msg in client.comm_log:
        c = msg["content"]
        if c.get("comm_id") == model_id and msg["msg_type"] == "comm_msg" \
                and c["data"].get("method") == "custom":
            out.append((t, cell, c["data"]["content"], msg.get("buffers") or []))
    return out


STEPS, SLEEP = 40, 0.05
MONITOR_CELLS = [
    "import time, math\nimport labkit as lk\nmon = lk.viz.Monitor('nbclient')\nmon",
    f"""\
t_start = time.perf_counter()
for step, _ in enumerate(mon.track(range({STEPS}))):
    time.sleep({SLEEP})
    mon.log(loss=math.exp(-step / 10))
print("LOOP", round(time.perf_counter() - t_start, 2), mon.messages_sent)""",
    """\
for i in mon.track(range(100)):
    mon.log(acc=i / 100)
    if i == 9:
        raise KeyboardInterrupt   # Ctrl-C in the middle of a loop""",
    """\
mon.log(val_loss=0.5)
print("POINTS", len(mon.to_dict()["value"]), mon._progress["status"])""",
]


def test_monitor_live_updates_and_saved_state(tmp_path):
    nb, client = execute(tmp_path, MONITOR_CELLS, tags={2: ["raises-exception"]})

    outs0 = nb.cells[0].outputs
    view = next(o for o in outs0 if WIDGET_MIME in o.get("data", {}))
    model_id = view["data"][WIDGET_MIME]["model_id"]
    # the static picture is the next output, refreshed in place at the end of the cells
    pic = outs0[outs0.index(view) + 1]
    assert "image/png" in pic["data"], "static PNG fallback missing from the saved output"
    assert "labkit-fallback" in pic["data"]["text/html"]

    opens = [m for _, _, m in client.comm_log if m["msg_type"] == "comm_open"
             and m["content"]["comm_id"] == model_id]
    assert opens and opens[0]["content"]["data"]["state"]["_model_name"] == "AnyModel"

    # ---- live: several append messages during the training cell, spread over the loop ----
    loop = [m for m in custom_msgs(client, model_id) if m[1] == 1]
    loop_s = float(nb.cells[1].outputs[0]["text"].split()[1])
    assert loop_s >= STEPS * SLEEP
    assert len(loop) >= 5, f"only {len(loop)} live messages"
    assert len(loop) <= 10 * loop_s + 2, f"not throttled: {len(loop)} in {loop_s} s"
    arrival = [t for t, *_ in loop]
    assert arrival[-1] - arrival[0] >= 0.5 * loop_s, "messages arrived in one burst, not live"
    seqs = [c["seq"] for _, _, c, _ in loop]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # incremental + binary: each message carries only new points, as float64 buffers
    xs = []
    for _, _, c, bufs in loop:
        for run, split, metric, n in c["series"]:
            f = np.frombuffer(bytes(bufs[0]), dtype="<f8")
            assert f.size == 2 * n and (run, split, metric) == ("run 0", "train", "loss")
            xs.extend(f[:n].tolist())
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert 0 < len(xs) <= STEPS
    progress = [c["progress"]["n"] for _, _, c, _ in loop if "progress" in c]
    assert len(progress) >= 4 and progress == sorted(progress)

    # ---- Ctrl-C inside the loop: widget usable, state flushed ----
    assert nb.cells[2].outputs[-1]["ename"] == "KeyboardInterrupt"
    assert nb.cells[3].outputs[0]["text"].split() == ["POINTS", str(STEPS + 10 + 1), "stopped"]

    # ---- the final state is saved in the notebook (what JupyterLab/GitHub would restore) ----
    saved = nb.metadata["widgets"][STATE_MIME]["state"][model_id]
    assert saved["model_module"] == "anywidget"
    data = saved["state"]["_data"]
    got = {(s["run"], s["split"], s["metric"]): s for s in data["series"]}
    assert got[("run 0", "train", "loss")]["x"] == list(range(STEPS))
    assert len(got[("run 0", "train", "acc")]["y"]) == 10
    assert got[("run 0", "val", "loss")]["y"] == [0.5]
    assert saved["state"]["_progress"]["status"] == "stopped"
    assert "labkit-monitor" in saved["state"]["_esm"]

    # ---- exports that never go blank: `jupyter nbconvert --to html` with its DEFAULT settings
    # picks only the widget view from a widget's bundle (it needs a CDN widget manager); the
    # picture is its own output, an inline data: PNG that needs nothing from the network ----
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
                        str(path)], capture_output=True, text=True, timeout=120,
                       env=isolated_env(tmp_path / "env"))
    assert r.returncode == 0, r.stderr[-2000:]
    html = (tmp_path / "executed.html").read_text()
    pics = re.findall(r'<div class="labkit-fallback labkit-fallback-[0-9a-f]+">'
                      r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(pics) == 1
    import base64
    assert base64.b64decode(pics[0])[:4] == b"\x89PNG"
