"""Graph view and stepper executed by a real kernel through nbclient (no browser): the comm
messages carry the whole graph / tape, and the executed notebook saves them in its widget state
(so a saved notebook can be stepped through without a kernel), plus the static SVG fallback."""
import json
import os
import pathlib
import time

import nbclient
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"

CELLS = [
    """\
import json
import labkit as torch
import labkit.nn as nn
from labkit.viz.graphview import graph
from labkit.viz.stepper import step
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
x, y = torch.randn(16, 4), torch.randn(16, 1)
g = graph(lambda: ((model(x) - y) ** 2).mean(), params=model, title="mlp")
g""",
    """\
a = torch.tensor(2.0, requires_grad=True)
b = torch.tensor(-3.0, requires_grad=True)
c = torch.tensor(10.0, requires_grad=True)
s = step(lambda: (a * b + c).tanh(), params={"a": a, "b": b, "c": c}, title="neuron")
s""",
    """\
print("COUNTS", json.dumps({"nodes": len(g.nodes), "edges": len(g.edges), "steps": len(s.steps),
      "a_grad": a.grad.item(), "w0_mean": model[0].weight.mean().item()}))""",
]


class RecordingClient(nbclient.NotebookClient):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.comm_log = []

    def handle_comm_msg(self, outs, msg, cell_index):
        self.comm_log.append((cell_index, msg))
        super().handle_comm_msg(outs, msg, cell_index)


def _env(base):
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "cfg"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                         env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def test_graph_and_stepper_in_an_executed_notebook(tmp_path):
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / "graph.ipynb"
    nbformat.write(nb, path)
    client = RecordingClient(nb, timeout=180, kernel_name="python3",
                             resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.perf_counter()
    client.execute(env=_env(tmp_path / "env"))
    print(f"\n[timing] nbclient execute: {time.perf_counter() - t0:.1f} s")
    nbformat.write(nb, path)

    counts = json.loads(nb.cells[2].outputs[0]["text"].split("COUNTS", 1)[1])
    assert counts["nodes"] == 12 and counts["edges"] == 11     # 2 inputs, 4 params, 6 ops
    assert counts["steps"] == 9                                   # 3 forward + 6 backward

    # each widget: the widget view, then the static SVG picture as its own output
    ids = []
    for cell in nb.cells[:2]:
        view, pic = cell.outputs[-2]["data"], cell.outputs[-1]["data"]
        assert "<svg" in pic["text/html"] and "labkit-fallback" in pic["text/html"]
        ids.append(view[VIEW]["model_id"])
    g_id, s_id = ids

    # comm traffic: one comm_open per widget, carrying the whole graph / tape
    opens = {m["content"]["comm_id"]: m["content"]["data"]["state"] for _, m in client.comm_log
             if m["msg_type"] == "comm_open"}
    g_state, s_state = opens[g_id], opens[s_id]
    assert g_state["_model_name"] == "AnyModel" and "graph_default" in g_state["_esm"]
    assert len(g_state["data"]["nodes"]) == 12 and len(g_state["data"]["layout"]["nodes"]) == 12
    labels = {n["label"] for n in g_state["data"]["nodes"]}
    assert {"0.weight", "0.bias", "2.weight", "2.bias", "AddmmBackward0", "MeanBackward0"} <= labels
    # graph(fn, params=model) knows where each op ran (module hooks): the ReLU is module "1"
    assert [m["path"] for m in g_state["data"]["modules"]] == ["0", "1", "2"]
    assert len(s_state["data"]["steps"]) == 9 and len(s_state["data"]["tape"]["forward"]) == 3

    # the executed notebook keeps the widget state: the browser can replay it without a kernel
    saved = nb.metadata["widgets"][STATE]["state"]
    sg, ss = saved[g_id]["state"], saved[s_id]["state"]
    w0 = next(n for n in sg["data"]["nodes"] if n["label"] == "0.weight")
    assert abs(w0["value"]["mean"] - counts["w0_mean"]) < 1e-6
    assert w0["grad"] is not None and w0["grad"]["norm"] > 0
    a_leaf = next(n for n in ss["data"]["nodes"] if n["label"] == "a")
    acc = [st for st in ss["data"]["steps"] if st["node"] == a_leaf["id"]]
    b = ss["data"]["tape"]["backward"][acc[0]["entry"]]
    assert abs(b["grad_outputs"][0]["values"][0] - counts["a_grad"]) < 1e-6
    assert ss["data"]["tape"]["forward"][0]["source"]["code"].startswith("s = step(")
