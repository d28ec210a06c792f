"""The shape of the code base, enforced: imports go one way (no circles), files stay readable,
and every step of the recipe in docs/CONTRIBUTING.md ("a new op = 1 file + 1 test row") holds.

(Gradients: every primitive is checked by gradgradcheck and against PyTorch in
tests/test_higher_order.py, which also requires each one's derivative in words.)
"""
import ast
import json
import os
import sys

import numpy as np
import pytest

import labkit as lk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "labkit")

# the layers, lowest first: a module may import its own layer and the ones below it only
LAYERS = [
    ("labkit.kernels", "labkit.utils.hooks"),
    ("labkit.dtypes", "labkit.return_types", "labkit.autograd", "labkit.tensor", "labkit.ops",
     "labkit.creation", "labkit.random", "labkit.linalg", "labkit.cuda", "labkit.backends",
     "labkit.compiler", "labkit.fft", "labkit.special", "labkit.signal", "labkit.scope", "labkit.namespace",
     "labkit.tensor_extras", "labkit.vmap", "labkit.lowrank", "labkit"),
    ("labkit.nn", "labkit.optim", "labkit.utils", "labkit.datasets", "labkit.serialization",
     "labkit.interop", "labkit.onnx"),
    ("labkit.graph",),
    ("labkit.viz", "labkit.ipython_ext", "labkit.exercises", "labkit.warmup", "labkit.doctor",
     "labkit.__main__"),
]
# ``labkit`` (the package) sits in the tensor layer: at import it loads only that layer; the other
# layers are its lazy attributes (``labkit.nn`` ...), loaded on first use.

def _modules():
    mods = {}
    for d, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(d, f)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                mods[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return mods


def _imports(mods):
    """{module: {imported labkit module: 'module' or 'function' (where the import is)}}, from the
    source (``ast``): module-level and function-level imports both count."""
    edges = {}
    for name, path in mods.items():
        tree = ast.parse(open(path, encoding="utf-8").read())
        is_pkg = path.endswith("__init__.py")
        in_function = set()
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_function.update(id(n) for n in ast.walk(fn))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            where = "function" if id(node) in in_function else "module"
            for target in _targets(name, node, is_pkg, mods):
                if target != name:
                    edges.setdefault(name, {}).setdefault(target, where)
    return edges


def _targets(name, node, is_pkg, mods):
    if isinstance(node, ast.Import):
        cands = [a.name for a in node.names if a.name.split(".")[0] == "labkit"]
    else:
        if node.level:
            base = name.split(".")[:None if is_pkg else -1]
            base = base[:len(base) - (node.level - 1)]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        if mod.split(".")[0] != "labkit":
            return []
        cands = [mod + "." + a.name if mod + "." + a.name in mods else mod for a in node.names]
    out = []
    for c in cands:
        while c not in mods and "." in c:
            c = c.rsplit(".", 1)[0]
        if c in mods:
            out.append(c)
    return out


def _layer(mod):
    """The layer of ``mod`` (its longest listed prefix; ``labkit`` itself means the package only,
    so a new module must be placed in LAYERS)."""
    best, length = None, -1
    for rank, names in enumerate(LAYERS):
        for n in names:
            if (mod == n or (n != "labkit" and mod.startswith(n + "."))) and len(n) > length:
                best, length = rank, len(n)
    return best


def _cycles(edges):
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(frozenset(comp))
    return out


MODS = _modules()
EDGES = _imports(MODS)


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in MODS if _layer(m) is None)
    assert not unplaced, f"add these modules to a layer in LAYERS: {unplaced}"


# ``%load_ext labkit`` calls ``labkit.load_ipython_extension``, which loads the IPython layer on
# demand: an entry point, not a dependency
ENTRY_POINTS = {("labkit", "labkit.ipython_ext")}


def test_imports_go_down_the_layers_only():
    up = [f"{m} -> {t} ({where}-level)" for m, ts in sorted(EDGES.items())
          for t, where in sorted(ts.items())
          if _layer(t) > _layer(m) and (m, t) not in ENTRY_POINTS]
    assert not up, "imports against the layering:\n" + "\n".join(up)


def test_the_engine_knows_nothing_above_it():
    # autograd: not even the tensor layer beside it (tensors reach it through the Function API)
    bad = [f"{m} -> {t}" for m, ts in EDGES.items() if m.startswith("labkit.autograd")
           for t in ts if not (t.startswith("labkit.autograd") or t == "labkit.utils.hooks")]
    assert not bad, bad
    bad = [f"{m} -> {t}" for m, ts in EDGES.items() if m.startswith("labkit.kernels")
           for t in ts if not t.startswith("labkit.kernels")]
    assert not bad, bad


def test_no_import_circles():
    found = [sorted(c) for c in _cycles({m: set(ts) for m, ts in EDGES.items()})]
    assert not found, f"import circles: {found}"


# ``creation`` registers tensor / zeros / ... after every op; ``shape.diag`` builds on ``zeros``
LATE_IMPORTS = {("labkit.ops.shape", "labkit.creation")}


def test_the_engine_has_no_function_level_imports_of_labkit():
    # (function-level imports hide circles; the kernels' lazy import of Numba is not labkit)
    bad = [f"{m} -> {t}" for m, ts in EDGES.items()
           if m.startswith(("labkit.autograd", "labkit.ops", "labkit.nn.functional",
                            "labkit.tensor", "labkit.creation", "labkit.random"))
           for t, where in ts.items()
           if where == "function" and (m, t) not in LATE_IMPORTS]
    assert not bad, bad


# ------------------------------------------------------------------ line budget
MAX_LINES = 800


def _python_files():
    for top in ("labkit", "tests", "benchmarks"):
        for d, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [x for x in dirs if x not in ("__pycache__", "node_modules")]
            for f in files:
                if f.endswith(".py"):
                    yield os.path.relpath(os.path.join(d, f), ROOT)


def test_no_python_file_over_the_line_budget():
    long = {}
    for rel in _python_files():
        with open(os.path.join(ROOT, rel), encoding="utf-8") as fh:
            n = sum(1 for _ in fh)
        if n > MAX_LINES:
            long[rel] = n
    assert not long, f"files over {MAX_LINES} lines (split them along their seams): {long}"


# ------------------------------------------------------------------ the recipe's steps
# registered names that are not ops of the table: creation, random sampling, settings, and
# functions returning Python values
NOT_OPS = {"tensor", "as_tensor", "asarray", "from_numpy", "empty", "empty_like", "zeros_like",
           "ones", "ones_like", "full_like", "logspace", "rand", "rand_like", "randn",
           "randn_like", "randint", "randint_like", "randperm", "normal", "bernoulli",
           "multinomial", "set_printoptions", "broadcast_shapes", "equal", "allclose"}


def test_every_registered_op_has_a_row_in_the_op_table():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from optable import OPS
    from labkit.ops import FUNCTIONS
    rows = {op.name for op in OPS}
    called = set()                       # every name a row's function calls (M.exp(x), x.sum())
    for op in OPS:
        for fn in (op.fn, op.torch_fn):
            codes = [fn.__code__] if fn is not None else []
            while codes:
                code = codes.pop()
                called.update(code.co_names)
                codes.extend(c for c in code.co_consts if hasattr(c, "co_names"))

    # an op that passes PyTorch's own OpInfo samples (tests/opinfo_conformance.py: forward,
    # gradients and second derivatives vs PyTorch; results kept true by test_conformance.py)
    # is tested too
    with open(os.path.join(ROOT, "tests", "conformance_status.json"), encoding="utf-8") as fh:
        status = json.load(fh)["ops"]
    conformance = {k.split(".")[0] for k, v in status.items() if v["status"] == "pass"}

    def has_row(name):
        return name in rows or name in called or name in conformance or \
            any(r.startswith(name + "_") for r in rows)
    names_of = {}
    for name, fn in FUNCTIONS.items():
        names_of.setdefault(fn, []).append(name)
    missing = sorted(name for name, fn in FUNCTIONS.items()
                     if name not in NOT_OPS and not any(has_row(n) for n in names_of[fn]))
    assert not missing, f"registered ops with no row in tests/optable.py (nor a passing OpInfo " \
                        f"in tests/conformance_status.json): {missing}"
    assert NOT_OPS <= set(FUNCTIONS), sorted(NOT_OPS - set(FUNCTIONS))


def test_the_graph_view_shows_each_functions_own_words():
    x = lk.tensor([0.5, -1.0], requires_grad=True)
    g = lk.graph.trace((x.tanh() * 2).sum())
    rules = {n["op"]: n["rule"] for n in g["nodes"]}
    assert rules["Tanh"] == lk.ops.elementwise.Tanh.derivative
    assert rules["Mul"] == lk.ops.elementwise.Mul.derivative
    assert rules["AccumulateGrad"] and all(rules.values())


def test_a_rule_serves_both_orders():
    # the same backward runs on arrays (ordinary backward) and on Tensors (create_graph=True)
    from labkit.ops.elementwise import Sin
    x = lk.tensor([0.3, 1.2], dtype=lk.float64, requires_grad=True)
    (g1,) = lk.autograd.grad(Sin.apply(x).sum(), x)
    (g2,) = lk.autograd.grad(Sin.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g1.numpy(), np.cos([0.3, 1.2]))
    np.testing.assert_allclose(g2.detach().numpy(), g1.numpy())
    assert g1.grad_fn is None and g2.grad_fn is not None


_A = np.array([[0.3, -1.2, 0.5], [2.0, 0.1, -0.7]])
_I = np.array([[0, 2], [1, 1]])
NAMESPACE_CASES = {      # name -> a call on the namespace ``xp`` and the array ``a``
    "exp": lambda xp, a: xp.exp(a), "sin": lambda xp, a: xp.sin(a),
    "cosh": lambda xp, a: xp.cosh(a), "abs": lambda xp, a: xp.abs(a),
    "where": lambda xp, a: xp.where(a > 0, a, 0.5),
    "maximum": lambda xp, a: xp.maximum(a, 0.2),
    "sum": lambda xp, a: xp.sum(a, axis=(0, 1), keepdims=True),
    "mean": lambda xp, a: xp.mean(a, axis=1),
    "cumsum": lambda xp, a: xp.cumsum(a, axis=1), "cumprod": lambda xp, a: xp.cumprod(a, axis=0),
    "flip": lambda xp, a: xp.flip(a, 1), "roll": lambda xp, a: xp.roll(a, 1, 1),
    "broadcast_to": lambda xp, a: xp.broadcast_to(a, (2, 2, 3)),
    "expand_dims": lambda xp, a: xp.expand_dims(a, (0, 2)),
    "squeeze": lambda xp, a: xp.squeeze(xp.expand_dims(a, 1), 1),
    "transpose": lambda xp, a: xp.transpose(a), "moveaxis": lambda xp, a: xp.moveaxis(a, 0, 1),
    "swapaxes": lambda xp, a: xp.swapaxes(a, 0, 1), "matmul": lambda xp, a: xp.matmul(a, a.T),
    "einsum": lambda xp, a: xp.einsum("ij,kj->ik", a, a),
    "concatenate": lambda xp, a: xp.concatenate([a, a], axis=1),
    "stack": lambda xp, a: xp.stack([a, a], axis=1),
    "split": lambda xp, a: xp.split(a, [1, 2], axis=1)[1],
    "take": lambda xp, a: xp.take(a, [2, 0], axis=1), "take_int": lambda xp, a: xp.take(a, 1, 1),
    "take_along_axis": lambda xp, a: xp.take_along_axis(a, _I, axis=1),
    "pad": lambda xp, a: xp.pad(a, ((1, 0), (0, 2))),
    "tril": lambda xp, a: xp.tril(a), "triu": lambda xp, a: xp.triu(a, 1),
    "zeros": lambda xp, a: xp.zeros((2, 1), dtype=a.dtype) + a,
    "astype": lambda xp, a: xp.astype(a, np.float32), "copy": lambda xp, a: xp.copy(a) * 2,
    "logaddexp": lambda xp, a: xp.logaddexp(0.0, a),
    "put_along_axis": lambda xp, a: _put(xp, a),
    "add.at": lambda xp, a: _add_at(xp, a),
}


def _put(xp, a):
    out = xp.zeros((2, 3), dtype=a.dtype)
    xp.put_along_axis(out, _I, a[:, :2], axis=1)
    return out


def _add_at(xp, a):
    out = xp.zeros((2, 3), dtype=a.dtype)
    xp.add.at(out, (np.array([0, 0, 1]), np.array([1, 1, 2])), a[0])
    return out


@pytest.mark.parametrize("name", sorted(NAMESPACE_CASES))
def test_the_tensor_array_namespace_means_what_numpy_means(name):
    x = lk.tensor(_A, requires_grad=True)
    xp = x.__array_namespace__()
    got = NAMESPACE_CASES[name](xp, x)
    want = NAMESPACE_CASES[name](np, _A.copy())
    assert isinstance(got, lk.Tensor) and got.requires_grad
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12)


def test_one_removable_handle_for_every_layer():
    from labkit.utils.hooks import RemovableHandle
    x = lk.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    m = lk.nn.Linear(2, 1)
    opt = lk.optim.SGD(m.parameters(), lr=0.1)
    calls = []
    handles = [x.register_hook(lambda g: calls.append("tensor")),
               y.grad_fn.register_hook(lambda gi, go: calls.append("node")),
               m.register_forward_hook(lambda mod, a, out: calls.append("module")),
               opt.register_step_pre_hook(lambda o, a, k: calls.append("optimizer"))]
    assert all(type(h) is RemovableHandle for h in handles)
    y.sum().backward(retain_graph=True)
    m(x.detach())
    opt.step()
    assert sorted(calls) == ["module", "node", "optimizer", "tensor"]
    for h in handles:
        h.remove()
    calls.clear()
    y.sum().backward()
    m(x.detach())
    opt.step()
    assert calls == []
