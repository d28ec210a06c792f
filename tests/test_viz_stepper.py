"""Stepper without a kernel: the tape in the widget state, step mapping, values, fallback."""
import json

import pytest

import labkit as lk
from labkit.viz.stepper import Stepper, step, tape_graph


def micrograd_expr():
    a = lk.tensor(2.0, requires_grad=True)
    b = lk.tensor(-3.0, requires_grad=True)
    c = lk.tensor(10.0, requires_grad=True)
    return a, b, c


def test_scalar_replay_state():
    a, b, c = micrograd_expr()
    w = step(lambda: (a * b + c).tanh(), params={"a": a, "b": b, "c": c}, title="neuron")
    assert isinstance(w, Stepper)
    st = w.get_state()
    json.dumps(st["data"])
    assert "stepper_default as default" in st["_esm"]
    d = st["data"]
    # 3 forward ops (Mul, Add, Tanh), backward: 3 op steps + 3 leaves
    assert [s["phase"] for s in d["steps"]] == ["forward"] * 3 + ["backward"] * 6
    assert [d["tape"]["forward"][s["entry"]]["op"] for s in d["steps"][:3]] == ["Mul", "Add", "Tanh"]
    labels = {n["id"]: n["label"] for n in d["nodes"]}
    assert sorted(labels.values()) == ["Add", "Mul", "Tanh", "a", "b", "c"]
    assert len(d["edges"]) == 5 and set(d["layout"]["nodes"]) == set(labels)
    # forward step k highlights op k; backward steps visit Tanh, Add, Mul (in the engine's
    # order, with each leaf's AccumulateGrad as soon as its gradient is complete)
    assert [labels[s["node"]] for s in d["steps"][:3]] == ["Mul", "Add", "Tanh"]
    back = [labels[s["node"]] for s in d["steps"][3:]]
    assert [x for x in back if x[0].isupper()] == ["Tanh", "Add", "Mul"]
    assert sorted(x for x in back if x.islower()) == ["a", "b", "c"]
    # values and gradients are all there for the browser (micrograd-style scalars)
    mul = d["tape"]["forward"][0]
    assert d["tape"]["tensors"][mul["outputs"][0]]["value"]["values"] == [-6.0]
    b_tanh = d["tape"]["backward"][0]
    assert b_tanh["grad_outputs"][0]["values"] == [1.0]
    t = (a * b + c).tanh().item()
    assert b_tanh["grad_inputs"][0]["values"][0] == pytest.approx(1 - t * t, rel=1e-5)
    assert "tanh" in b_tanh["rule"]
    mulb = next(x for x in d["tape"]["backward"] if x["op"] == "Mul")
    g = 1 - t * t
    assert [x["values"][0] for x in mulb["grad_inputs"]] == pytest.approx([-3.0 * g, 2.0 * g], rel=1e-5)
    assert a.grad.item() == pytest.approx(-3.0 * g, rel=1e-5)       # backward really ran
    assert w.describe(0) == "forward 1: Mul -> -6"
    assert w.describe(3).startswith("backward 4: TanhBackward0 receives grad 1")


def test_tensor_replay_with_inputs_and_consts():
    W = lk.tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)
    x = lk.tensor([[1.0, 2.0]])
    w = step(lambda: ((x @ W.t()).relu() * 3).sum(), params={"fc.weight": W})
    d = w.data
    kinds = {n["label"]: n["kind"] for n in d["nodes"]}
    assert kinds["fc.weight"] == "param"
    inputs = [n for n in d["nodes"] if n["kind"] == "input"]
    assert len(inputs) == 1 and inputs[0]["shape"] == [1, 2]          # x, needs no grad
    mul = next(f for f in d["tape"]["forward"] if f["op"] == "Mul")
    assert {"const": "3.0"} in mul["inputs"]
    # the edge from the leaf into its first op carries the tensor id of that input
    first_ops = {e["target"] for e in d["edges"] if e["source"] == inputs[0]["id"]}
    assert first_ops and all(e.get("tensor") for e in d["edges"])
    n_f, n_b = len(d["tape"]["forward"]), len(d["tape"]["backward"])
    assert len(w.steps) == n_f + n_b
    assert all(s["node"] in {n["id"] for n in d["nodes"]} for s in w.steps)


def test_step_validation_and_errors():
    a, b, c = micrograd_expr()
    w = step(lambda: a * b)
    w.step = 2
    with pytest.raises(Exception, match="step must be"):
        w.step = 99
    with pytest.raises(ValueError, match="scalar"):
        step(lambda: lk.stack([a, b]) * 2)
    with pytest.raises(TypeError, match="loss tensor"):
        step(lambda: 3.0)
    with pytest.raises(ValueError, match="does not require grad"):
        step(lambda: lk.tensor(1.0) * 2)


def test_replay_from_a_recorded_tape():
    a, b, c = micrograd_expr()
    with lk.graph.record(params={"a": a}) as tape:
        (a * b).backward()
    nodes, edges, steps = tape_graph(tape)
    assert len(steps) == len(tape.forward) + len(tape.backward)
    w = step(tape)
    assert len(w.steps) == len(steps)


def test_static_fallback_lists_steps():
    a, b, c = micrograd_expr()
    w = step(lambda: (a * b + c).tanh())
    h = w.fallback_bundle()["text/html"]
    assert "<svg" in h and h.count("<li>") == len(w.steps)
    assert "forward 1: Mul -&gt; -6" in h
