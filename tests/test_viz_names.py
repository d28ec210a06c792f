"""labkit.viz's public names stay what the docs say, whatever was imported before.

Importing a submodule binds its name on the package (``import labkit.viz.boundary`` makes
``labkit.viz.boundary`` the module), so a public function named like a module breaks after an
unrelated import: ``lk.viz.watch(model)`` used to turn ``lk.viz.boundary`` into a module.  Each
order of imports runs in a fresh interpreter.
"""
import itertools
import json
import os
import pathlib
import pkgutil
import random
import subprocess
import sys

import labkit.viz as viz

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUBMODULES = sorted(m.name for m in pkgutil.iter_modules(viz.__path__))

# What the documentation promises for each public name: "function" or "class".
DOCUMENTED = {
    "Monitor": "class", "Boundary": "class", "boundary": "function", "lr_find": "function",
    "LRFinderResult": "class", "watch": "function", "Watch": "class", "graph": "function",
    "GraphView": "class", "step": "function", "Stepper": "class", "show": "function",
    "TensorView": "class", "attention": "function", "AttentionView": "class",
    "activations": "function", "Activations": "class", "embeddings": "function",
    "EmbeddingView": "class",
}

CHECK = r"""
import importlib, inspect, json, sys
order = json.loads(sys.argv[1])
first = sys.argv[2]
import labkit as lk
if first == "names":                       # touch every public name first, then import modules
    for n in lk.viz.__all__:
        getattr(lk.viz, n)
for m in order:
    importlib.import_module("labkit.viz." + m)
out = {}
for n in lk.viz.__all__:
    v = getattr(lk.viz, n)
    kind = "class" if inspect.isclass(v) else "function" if inspect.isfunction(v) else \
        type(v).__name__
    out[n] = [kind, getattr(v, "__name__", None), getattr(v, "__module__", "")]
print(json.dumps(out))
"""


def _run(order, first):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    r = subprocess.run([sys.executable, "-c", CHECK, json.dumps(order), first], env=env,
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_documented_names_are_exactly_all():
    assert set(DOCUMENTED) == set(viz.__all__)


def test_no_public_name_is_a_submodule_name():
    assert SUBMODULES, "no submodules found"
    clash = sorted(set(viz.__all__) & set(SUBMODULES))
    assert not clash, f"public names that are also module names: {clash}"


def _orders():
    """Every order of the modules that import one another (those that rebound names before),
    plus the full list forwards, backwards and in a few shuffled orders."""
    core = ["_boundary", "_watch", "_lr_find", "monitor"]
    orders = [list(p) for p in itertools.permutations(core)][::6]      # 4 of the 24
    rng = random.Random(13)
    full = list(SUBMODULES)
    orders += [full, full[::-1]]
    for _ in range(2):
        s = full[:]
        rng.shuffle(s)
        orders.append(s)
    return orders


def test_names_survive_every_import_order():
    orders = _orders()
    for k, order in enumerate(orders):
        got = _run(order, "names" if k % 2 else "modules")
        for name, kind in DOCUMENTED.items():
            g_kind, g_name, g_mod = got[name]
            assert g_kind == kind, f"after importing {order}: lk.viz.{name} is a {g_kind}"
            assert g_name == name and g_mod.startswith("labkit.viz."), (name, got[name])


def test_boundary_is_callable_after_watch():
    """The reported bug, in process: watch() then boundary() on a small model."""
    import labkit as lk
    import labkit.nn as nn
    lk.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    w = lk.viz.watch(model)
    X, y = lk.randn(20, 2), (lk.randn(20) > 0).float()
    b = lk.viz.boundary(model, X, y, resolution=8)
    assert type(b).__name__ == "Boundary" and b.compute()["probs"].shape == (8, 8)
    w.remove()
