"""The tensor view and the attention viewer in a real kernel (nbclient, no browser): a tensor as a
cell's last expression gets the static card next to PyTorch's text, widget updates leave the
kernel throttled while a loop runs, the saved notebook keeps the state, and
`jupyter nbconvert --to html` shows every static picture offline."""
import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = pathlib.Path(__file__).resolve().parents[1]
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"

CELLS = [
    """\
import time, json
import labkit as lk
import labkit.nn as nn
import labkit.viz
lk.manual_seed(0)
t = lk.randn(6, 8)
t""",
    """\
fm = lk.randn(2, 3, 8, 8)
v = lk.viz.show(fm, title="fmap")
v""",
    """\
t0 = time.perf_counter()
for i in range(30):
    fm.mul_(0.9)
    v.update(fm)
    time.sleep(0.02)
print("TENSOR", round(time.perf_counter() - t0, 2), v.updates)""",
    """\
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
    def forward(self, x, mask):
        return self.attn(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)[0]
T = 5
model = Block()
mask = lk.triu(lk.full((T, T), float("-inf")), diagonal=1)
x = lk.randn(1, T, 8)
a = lk.viz.attention(model, ["the", "cat", "sat", "on", "mat"], title="attn")
a""",
    """\
opt = lk.optim.SGD(model.parameters(), lr=0.5)
t0 = time.perf_counter()
for step in range(30):
    loss = model(x, mask).pow(2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    time.sleep(0.02)
w = model.attn(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)[1]
print("ATTN", round(time.perf_counter() - t0, 2), a.updates, json.dumps(w[0, 1, 3].tolist()))""",
    """\
bad = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(6, 2))
lk.viz.graph(lambda: bad(lk.randn(3, 4)).sum(), params=bad)""",
    """\
mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
acts = lk.viz.activations(mlp, every=5)
acts""",
    """\
emb = nn.Embedding(10, 4)
ev = lk.viz.embeddings(emb, list("abcdefghij"), every=1)
ev""",
    """\
opt2 = lk.optim.SGD(list(mlp.parameters()) + list(emb.parameters()), lr=0.1)
xx, yy, idx = lk.randn(64, 2), lk.randn(64, 1), lk.tensor([0, 1, 2])
t0 = time.perf_counter()
for i in range(100):
    loss = ((mlp(xx) - yy) ** 2).mean() + emb(idx).pow(2).mean()
    opt2.zero_grad(); loss.backward(); opt2.step()
    time.sleep(0.01)
print("TRAIN", round(time.perf_counter() - t0, 2), acts.samples, ev.updates,
      json.dumps(emb.weight.tolist()))""",
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


def updates_of(client, model_id, cell):
    return [m["content"]["data"]["state"] for c, m in client.comm_log
            if c == cell and m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == model_id
            and m["content"]["data"].get("method") == "update"
            and "version" in m["content"]["data"].get("state", {})]


def test_tensor_and_attention_views_in_a_kernel_and_in_nbconvert_html(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells[5].metadata["tags"] = ["raises-exception"]
    path = tmp_path / "views.ipynb"
    client = RecordingClient(nb, timeout=180, kernel_name="python3",
                             resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.perf_counter()
    env = _env(tmp_path / "env")
    client.execute(env=env)
    print(f"\n[timing] nbclient execute: {time.perf_counter() - t0:.1f} s")
    nbformat.write(nb, path)

    # ---- a tensor as the last expression: PyTorch's text AND the static card ----
    out = nb.cells[0].outputs[0]["data"]
    assert out["text/plain"].startswith("tensor([[") and "labkit-tensor-card" in out["text/html"]
    assert len(re.findall(r"<td title=\"\[\d, \d\] = ", out["text/html"])) == 48

    # ---- tensor widget: its view, its picture, updates throttled while the loop ran ----
    view, pic = nb.cells[1].outputs[0]["data"], nb.cells[1].outputs[1]["data"]
    v_id = view[VIEW]["model_id"]
    assert "labkit-fallback" in pic["text/html"] and "labkit-tensor-card" in pic["text/html"]
    secs, n_up = nb.cells[2].outputs[0]["text"].split()[1:]
    ups = updates_of(client, v_id, 2)
    assert 1 <= len(ups) <= 4 * float(secs) + 3, (len(ups), secs)      # max_rate=4 + end of cell
    # (n_up counts the first one, from the cell before; the end of the cell may send one more)
    assert int(n_up) - 1 <= len(ups) <= int(n_up)
    saved = nb.metadata["widgets"][STATE]["state"][v_id]["state"]
    assert saved["meta"]["grid"]["size"] == 3 and saved["version"] == len(ups) + 1

    # ---- attention: live from the hook during training, throttled, final weights saved ----
    a_view = nb.cells[3].outputs[0]["data"]
    a_id = a_view[VIEW]["model_id"]
    secs, a_up, row = nb.cells[4].outputs[0]["text"].split(" ", 3)[1:]
    a_ups = updates_of(client, a_id, 4)
    assert 2 <= len(a_ups) <= 4 * float(secs) + 3, (len(a_ups), secs)
    st = nb.metadata["widgets"][STATE]["state"][a_id]["state"]
    assert st["meta"]["causal"] and st["meta"]["heads"] == 2
    assert st["meta"]["q_tokens"] == ["the", "cat", "sat", "on", "mat"]
    # the saved weights are the last forward's (the one after the loop used the same params)
    w = np.frombuffer(base64.b64decode(st["weights"]) if isinstance(st["weights"], str)
                      else bytes(st["weights"]), "<f4") if st.get("weights") else None
    if w is None:       # binary traits are stored as buffers next to the state
        bufs = nb.metadata["widgets"][STATE]["state"][a_id].get("buffers", [])
        w = np.frombuffer(base64.b64decode(bufs[0]["data"]), "<f4")
    w = w.reshape(1, 2, 5, 5)
    np.testing.assert_allclose(w[0, 1, 3], json.loads(row), atol=1e-6)
    assert w[0, 1, 3, 4] == 0                                           # masked

    # ---- a failing forward: the graph view and its picture are shown, then the error ----
    outs = nb.cells[5].outputs
    assert [o["output_type"] for o in outs] == ["display_data", "display_data", "error"]
    assert outs[2]["ename"] == "RuntimeError" and "3x8 and 6x2" in outs[2]["evalue"]
    assert VIEW in outs[0]["data"]
    pic = outs[1]["data"]["text/html"]
    assert 'fill="#dc2626"' in pic and "linear (failed)" in pic and "in 3x8, 2x6, 2" in pic

    # ---- activations and embeddings: live while training, final state saved ----
    acts_id = nb.cells[6].outputs[0]["data"][VIEW]["model_id"]
    ev_id = nb.cells[7].outputs[0]["data"][VIEW]["model_id"]
    secs, samples, ev_updates, weights = nb.cells[8].outputs[0]["text"].split(" ", 4)[1:]
    assert int(samples) == 20
    live = [m for c, m in client.comm_log if c == 8 and m["msg_type"] == "comm_msg"
            and m["content"].get("comm_id") == acts_id
            and m["content"]["data"].get("method") == "custom"]
    assert 1 <= len(live) <= 10 * float(secs) + 2, (len(live), secs)
    saved_acts = nb.metadata["widgets"][STATE]["state"][acts_id]["state"]["_data"]
    med = next(x for x in saved_acts["series"] if x["metric"] == "median")
    assert med["x"] == list(range(5, 101, 5))
    ev_ups = updates_of(client, ev_id, 8)
    assert 1 <= len(ev_ups) <= 4 * float(secs) + 3 and int(ev_updates) <= 101
    st_ev = nb.metadata["widgets"][STATE]["state"][ev_id]
    bufs = st_ev.get("buffers", [])
    pts = next((np.frombuffer(base64.b64decode(b["data"]), "<f4") for b in bufs
                if b["path"] == ["points"]), None)
    from labkit.viz._embeddings import pca2
    want = pca2(np.array(json.loads(weights)))[0]
    assert pts is not None and pts.size == 20
    # the saved points are the final weights' projection (up to each axis's sign)
    got = pts.reshape(10, 2)
    for k in range(2):
        s_ = np.sign(np.dot(got[:, k], want[:, k])) or 1.0
        np.testing.assert_allclose(got[:, k], s_ * want[:, k], atol=1e-4)

    # ---- exports that never go blank: default nbconvert HTML, every picture inline ----
    r = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(path)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    html = (tmp_path / "views.html").read_text()
    blocks = re.findall(r'<div class="labkit-fallback labkit-fallback-([0-9a-f]+)">(.*?)</div>'
                        r'\s*</div>', html, re.S)
    keys = {k for k, _ in blocks}
    assert {saved["_fallback_key"], st["_fallback_key"]} <= keys
    for k, body in blocks:
        if k == st["_fallback_key"]:
            png = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', body).group(1)
            assert base64.b64decode(png)[:4] == b"\x89PNG"
    assert html.count("labkit-tensor-card") >= 2                        # last expression + view
    assert "linear (failed)" in html
