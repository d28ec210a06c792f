"""%load_ext labkit: the doubled-gradient warning on cell re-runs (in a real IPython shell)."""
import warnings

import pytest

IPython = pytest.importorskip("IPython")

from labkit.ipython_ext import DoubledGradientWarning  # noqa: E402

CELL = "loss = (w * 3).sum()\nloss.backward()\n"


@pytest.fixture(scope="module")
def ip(ipython_shell):
    shell = ipython_shell
    shell.run_cell("import labkit as lk\n%load_ext labkit")
    yield shell
    shell.run_cell("%unload_ext labkit")


def _run(ip, code, cell_id):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = ip.run_cell(code, cell_id=cell_id)
    assert r.success, r.error_in_exec
    return [w for w in rec if issubclass(w.category, DoubledGradientWarning)]


def test_rerun_without_zero_grad_warns(ip):
    ip.run_cell("w = lk.ones(3, requires_grad=True)")
    assert _run(ip, CELL, "cell-a") == []
    warned = _run(ip, CELL, "cell-a")                       # same cell again: grads doubled
    assert len(warned) == 1 and "zero_grad" in str(warned[0].message)
    assert ip.user_ns["w"].grad.tolist() == [6.0, 6.0, 6.0]


def test_rerun_with_zero_grad_is_quiet(ip):
    ip.run_cell("w2 = lk.ones(3, requires_grad=True)")
    code = "w2.grad = None\nloss = (w2 * 3).sum()\nloss.backward()\n"
    assert _run(ip, code, "cell-b") == []
    assert _run(ip, code, "cell-b") == []
    code_zero = "if w2.grad is not None: w2.grad.zero_()\nloss = (w2 * 3).sum()\nloss.backward()\n"
    assert _run(ip, code_zero, "cell-c") == []
    assert _run(ip, code_zero, "cell-c") == []


def test_loop_inside_one_run_is_not_a_rerun(ip):
    ip.run_cell("w3 = lk.ones(2, requires_grad=True)")
    code = "for _ in range(3):\n    (w3 * 2).sum().backward()\n"
    assert _run(ip, code, "cell-d") == []


def test_source_lines_captured_in_notebooks(ip):
    ip.run_cell("x = lk.ones(2, requires_grad=True)\ny = (x * 5).sum()", cell_id="cell-e")
    y = ip.user_ns["y"]
    assert y.grad_fn.next_functions[0][0].source is not None


def test_lk_graph_and_lk_step_magics(ip):
    pytest.importorskip("anywidget")
    ip.run_cell("import labkit as lk\nx = lk.tensor([1.0, -2.0], requires_grad=True)\n"
                "class Bad(lk.autograd.Function):\n"
                "    @staticmethod\n"
                "    def forward(ctx, a):\n"
                "        return a * 3\n"
                "    @staticmethod\n"
                "    def backward(ctx, g):\n"
                "        return g\n")
    g = ip.run_line_magic("lk_graph", "(x.tanh() * 2).sum()")
    assert {n["label"] for n in g.nodes} >= {"TanhBackward0", "MulBackward0", "SumBackward0"}
    assert g.color_by == "grad"
    gc = ip.run_line_magic("lk_graph", "--gradcheck Bad.apply(x.sin()).sum()")
    status = {n["label"]: n["check"]["status"] for n in gc.nodes if "check" in n}
    assert status == {"SinBackward0": "ok", "BadBackward": "fail", "SumBackward0": "ok"}
    with pytest.raises(ValueError, match="usage"):
        ip.run_line_magic("lk_graph", "--gradcheck")
    s = ip.run_cell_magic("lk_step", "", "y = x * 2\n(y.exp()).sum()")
    assert s is not None and "Exp" in {f["op"] for f in s.tape["forward"]}
