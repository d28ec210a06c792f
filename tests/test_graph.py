"""The graph API contract the widgets rely on: trace() and record()."""
import json

import numpy as np
import pytest

import labkit as lk
from labkit import graph
from labkit.autograd import function as F


def _expr():
    a = lk.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = lk.tensor([4.0, 5.0, 6.0], requires_grad=True)
    c = (a * b).sum() + a.exp().mean()
    return a, b, c


def test_trace_nodes_edges_and_names():
    a, b, c = _expr()
    tr = graph.trace(c, params={"a": a, "b": b})
    json.dumps(tr)                                    # JSON-serialisable
    labels = sorted(n["label"] for n in tr["nodes"])
    assert labels == sorted(["AddBackward0", "SumBackward0", "MulBackward0", "MeanBackward0",
                             "ExpBackward0", "a", "b"])
    by_label = {n["label"]: n for n in tr["nodes"]}
    assert by_label["a"]["kind"] == "param" and by_label["a"]["shape"] == [3]
    assert by_label["MulBackward0"]["shape"] == [3] and by_label["MulBackward0"]["op"] == "Mul"
    assert by_label["AddBackward0"]["shape"] == [] and tr["roots"] == [by_label["AddBackward0"]["id"]]
    # a feeds Mul and Exp; b feeds Mul only: 7 edges in all
    assert len(tr["edges"]) == 7
    into_mul = {(e["source"], e["index"]) for e in tr["edges"] if e["target"] == by_label["MulBackward0"]["id"]}
    assert into_mul == {(by_label["a"]["id"], 0), (by_label["b"]["id"], 1)}
    # value stats of a leaf match a manual computation
    v = by_label["b"]["value"]
    assert v["mean"] == pytest.approx(5.0) and v["max"] == 6.0 and v["values"] == [4.0, 5.0, 6.0]
    assert by_label["b"]["grad"] is None
    c.backward()
    tr2 = graph.trace(c, params={"a": a, "b": b})
    g = {n["label"]: n for n in tr2["nodes"]}["b"]["grad"]
    assert g["values"] == pytest.approx([1.0, 2.0, 3.0])           # d/db sum(a*b) = a


def test_trace_source_line_points_at_user_code():
    prev = graph.capture_source(True)
    try:
        x = lk.ones(2, requires_grad=True)
        y = (x * 3).sum()   # THE-LINE
    finally:
        graph.capture_source(prev)
    tr = graph.trace(y)
    mul = next(n for n in tr["nodes"] if n["op"] == "Mul")
    assert mul["source"]["file"] == __file__
    assert "THE-LINE" in mul["source"]["code"]


def test_trace_deep_graph_is_iterative():
    x = lk.ones(1, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    tr = graph.trace(y)
    assert len(tr["nodes"]) == 5001 and len(tr["edges"]) == 5000


def test_trace_rejects_tensor_without_graph():
    with pytest.raises(ValueError, match="does not require grad"):
        graph.trace(lk.ones(2))


def test_record_forward_and_backward_order():
    a, b, _ = _expr()
    with graph.record(params={"a": a, "b": b}) as tape:
        c = (a * b).sum()
        c.backward()
    d = tape.to_dict()
    json.dumps(d)
    assert [e["op"] for e in d["forward"]] == ["Mul", "Sum"]
    assert [e["op"] for e in d["backward"]] == ["Sum", "Mul", "AccumulateGrad", "AccumulateGrad"]
    mul_b = d["backward"][1]
    ta, tb = d["forward"][0]["inputs"]
    assert mul_b["inputs"] == [ta, tb]
    # gradient arriving at a = b, at b = a
    assert mul_b["grad_inputs"][0]["values"] == [4.0, 5.0, 6.0]
    assert mul_b["grad_inputs"][1]["values"] == [1.0, 2.0, 3.0]
    assert d["tensors"][ta]["name"] == "a" and d["tensors"][ta]["grad"]["values"] == [4.0, 5.0, 6.0]
    assert d["forward"][0]["source"]["file"] == __file__


def test_record_off_restores_engine_and_nests_error():
    orig = (F._apply_raw, F._apply_user)
    with graph.record():
        with pytest.raises(RuntimeError, match="nested"):
            with graph.record():
                pass
    assert (F._apply_raw, F._apply_user) == orig
    with pytest.raises(ZeroDivisionError):
        with graph.record():
            1 / 0
    assert (F._apply_raw, F._apply_user) == orig


def test_summarize_matches_numpy_and_handles_nonfinite():
    a = np.array([1.0, -2.0, np.nan, np.inf, 0.0], dtype=np.float32)
    s = graph.summarize(a)
    assert s["nonfinite"] == 2
    fin = np.array([1.0, -2.0, 0.0])
    assert s["mean"] == pytest.approx(fin.mean()) and s["std"] == pytest.approx(fin.std())
    assert s["zero_frac"] == pytest.approx(1 / 3) and s["absmax"] == 2.0
    assert s["values"][2] == "nan" and sum(s["hist"]["counts"]) == 3
    json.dumps(s)
    big = graph.summarize(np.arange(1000, dtype=np.float32))
    assert "values" not in big and big["numel"] == 1000


# ------------------------------------------------------------------ check_ops: gradcheck per op
class _Square(lk.autograd.Function):
    wrong = False

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a if _Square.wrong else 2 * a * g


def _by_op(results):
    out = {}
    for r in results.values():
        out.setdefault(r["op"], []).append(r)
    return out


def test_check_ops_passes_correct_rules_and_names_a_wrong_one(monkeypatch):
    from labkit import nn
    lk.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Dropout(0.3), nn.LayerNorm(5))
    x, y = lk.randn(4, 6), lk.randint(0, 5, (4,))
    with graph.record() as tape:
        loss = nn.functional.cross_entropy(_Square.apply(model(x)), y) + x.sum() * 0
    ok = graph.check_ops(tape)
    ops = _by_op(ok)
    for name in ("Linear", "Tanh", "Dropout", "LayerNorm", "_Square", "CrossEntropy"):
        assert [r["status"] for r in ops[name]] == ["ok"], (name, ops[name])
        assert ops[name][0]["error"] < 1e-6
    assert json.loads(json.dumps(ok)) == ok
    monkeypatch.setattr(_Square, "wrong", True)
    bad = _by_op(graph.check_ops(tape))["_Square"][0]
    assert bad["status"] == "fail" and bad["error"] > 0.3
    assert "input 0" in bad["detail"] and "finite differences" in bad["detail"]
    # every other op is still fine: the check is op by op, a wrong rule does not spread
    assert sum(r["status"] == "fail" for r in graph.check_ops(tape).values()) == 1
    assert loss.requires_grad


def test_check_ops_kinks_rng_and_inplace():
    x = lk.tensor([[-1.0, 0.0, 2.0, 2.0]], requires_grad=True)
    with graph.record() as tape:
        r = x.relu()                                 # ReLU exactly at 0
        m = r.max(dim=1).values                      # tied maxima (2, 2): one index wins
        h = x * 1
        h.add_(3)                                    # an in-place op on a non-leaf
        d = lk.nn.functional.dropout(h, 0.5)         # random: the same mask in every call
        out = m.sum() + d.sum()
    state = lk.get_rng_state()
    res = _by_op(graph.check_ops(tape))
    assert res["Relu"][0]["status"] == "kink" and "one-sided" in res["Relu"][0]["detail"]
    (mx,) = [r for name, rs in res.items() if name.startswith("Max") for r in rs]
    assert mx["status"] == "kink", res
    assert all(r["status"] == "ok" for name in ("Dropout", "Mul", "Add") for r in res.get(name, []))
    assert res["Dropout"][0]["status"] == "ok"
    assert lk.get_rng_state().tolist() == state.tolist()      # the user's RNG is untouched
    assert out.requires_grad
    with pytest.raises(TypeError, match="Tape"):
        graph.check_ops(tape.to_dict())
