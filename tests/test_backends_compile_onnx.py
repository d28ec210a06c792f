"""labkit.backends (honest answers on a CPU-only engine, settable flags, the attributes programs
touch, e.g. PyTorch's examples' `--no-mps` check), labkit.compile (eager, torch.compile's
arguments, decorator forms) and labkit.onnx.export (through PyTorch; a clear ImportError naming
what to install)."""
import importlib
import subprocess
import sys

import numpy as np
import pytest

import labkit as lk
from labkit import nn

torch = pytest.importorskip("torch")


# ------------------------------------------------------------------------------ backends
def test_backends_answer_honestly_for_a_cpu_engine():
    b = lk.backends
    assert b.mps.is_available() is False and b.mps.is_built() is False
    assert b.cuda.is_built() is False and lk.cuda.is_available() is False
    assert b.cudnn.is_available() is False and b.cudnn.version() is None
    assert b.mkldnn.is_available() is False and b.openmp.is_available() is False
    assert isinstance(b.mkl.is_available(), bool)
    assert b.opt_einsum.is_available() is False


def test_backend_flags_are_settable_and_restored_by_flags():
    import labkit.backends.cudnn as cudnn           # the import form programs use
    assert cudnn is lk.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == \
        (torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark,
         torch.backends.cudnn.deterministic)
    old = cudnn.benchmark, cudnn.deterministic
    try:
        lk.backends.cudnn.benchmark = True
        lk.backends.cudnn.deterministic = True
        assert cudnn.benchmark is True and lk.backends.cudnn.deterministic is True
        with cudnn.flags(enabled=False, benchmark=False):
            assert cudnn.enabled is False and cudnn.benchmark is False
        assert cudnn.enabled is True and cudnn.benchmark is True
    finally:
        cudnn.benchmark, cudnn.deterministic = old
    m = lk.backends.cuda.matmul
    assert m.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    m.allow_tf32 = True
    assert lk.backends.cuda.matmul.allow_tf32 is True
    m.allow_tf32 = False
    lk.backends.cudnn.allow_tf32 = True
    assert lk.backends.cuda.flash_sdp_enabled() is True
    with lk.backends.cuda.sdp_kernel(enable_flash=False):
        assert lk.backends.cuda.flash_sdp_enabled() is False
    assert lk.backends.cuda.flash_sdp_enabled() is True


def test_pytorch_examples_device_selection_runs():
    # the pattern of PyTorch's examples (mnist): --no-accel / --no-mps flags
    use_cuda = lk.cuda.is_available()
    use_mps = lk.backends.mps.is_available()
    device = lk.device("cuda" if use_cuda else "mps" if use_mps else "cpu")
    assert str(device) == "cpu"


# ------------------------------------------------------------------------------ compile
def test_compile_returns_the_model_unchanged():
    model = nn.Linear(3, 2)
    assert lk.compile(model) is model
    assert lk.compile(model, fullgraph=True, dynamic=False, backend="inductor",
                      mode="max-autotune") is model
    assert lk.compile(model, options={"triton.cudagraphs": False}, disable=True) is model
    assert list(lk.compile(model).state_dict()) == ["weight", "bias"]   # no _orig_mod.
    x = lk.randn(4, 3)
    assert lk.equal(lk.compile(model)(x), model(x))


def test_compile_as_decorator_with_and_without_arguments():
    @lk.compile
    def f(x):
        return x * 2

    @lk.compile(dynamic=True, backend="eager")
    def g(x):
        return x + 1

    assert f.__name__ == "f" and g.__name__ == "g"
    assert f(lk.tensor([1.0])).tolist() == [2.0] and g(lk.tensor([1.0])).tolist() == [2.0]
    from labkit import compiler
    assert compiler.is_compiling() is False and compiler.disable(f) is f


def test_compile_rejects_what_torch_rejects():
    for fn in (lambda lib: lib.compile(nn.Linear(1, 1), mode="fast"),
               lambda lib: lib.compile(nn.Linear(1, 1), mode="default", options={})):
        with pytest.raises(RuntimeError):
            fn(lk)
        with pytest.raises(RuntimeError):
            fn(torch)


# ------------------------------------------------------------------------------ onnx
def test_onnx_export_names_the_missing_packages(monkeypatch):
    import labkit.onnx as lonnx
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("onnx", "onnxscript") else
                        real(name, *a))
    with pytest.raises(ImportError, match="onnx and onnxscript.*pip install onnx onnxscript"):
        lonnx.export(nn.Linear(2, 1), (lk.randn(1, 2),), "model.onnx")


def test_onnx_export_without_torch_says_what_to_install():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import labkit, labkit.nn as nn\n"
            "try:\n"
            "    labkit.onnx.export(nn.Linear(2, 1), (labkit.randn(1, 2),), 'm.onnx')\n"
            "except ImportError as e:\n"
            "    print('ImportError:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert "ImportError: labkit.onnx.export needs PyTorch" in out.stdout, out.stderr
    assert "pip install torch onnx onnxscript" in out.stdout


def test_onnx_export_hands_torch_the_converted_model_and_inputs(monkeypatch, tmp_path):
    import labkit.onnx as lonnx
    monkeypatch.setattr(lonnx, "_missing", lambda: [])
    seen = {}

    def fake_export(model, args, f=None, **kw):
        seen.update(model=model, args=args, f=f, kw=kw)
        return "program"
    monkeypatch.setattr(torch.onnx, "export", fake_export)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = lk.randn(5, 3)
    out = lonnx.export(model, (x,), str(tmp_path / "m.onnx"), input_names=["x"],
                       dynamo=False)
    assert out == "program" and seen["f"] == str(tmp_path / "m.onnx")
    assert isinstance(seen["model"], torch.nn.Sequential)
    assert seen["kw"]["input_names"] == ["x"] and seen["kw"]["dynamo"] is False
    (tx,) = seen["args"]
    assert isinstance(tx, torch.Tensor)
    np.testing.assert_allclose(seen["model"](tx).detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_top_level_switches_programs_set():
    assert lk.are_deterministic_algorithms_enabled() is False
    try:
        lk.use_deterministic_algorithms(True, warn_only=True)
        assert lk.are_deterministic_algorithms_enabled() is True
        assert lk.is_deterministic_algorithms_warn_only_enabled() is True
    finally:
        lk.use_deterministic_algorithms(False)
    with pytest.raises(TypeError):
        lk.use_deterministic_algorithms("yes")
    with pytest.raises(TypeError):
        torch.use_deterministic_algorithms("yes")
    assert lk.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    try:
        lk.set_float32_matmul_precision("high")
        assert lk.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="no effect"):
            lk.set_float32_matmul_precision("fast")
        assert lk.get_float32_matmul_precision() == "high"
    finally:
        lk.set_float32_matmul_precision("highest")
