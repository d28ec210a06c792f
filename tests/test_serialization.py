"""labkit.save / labkit.load: safetensors round trips, atomic writes, and refusing pickles."""
import collections
import io
import math
import os
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file as torch_load_file
from safetensors.torch import save_file as torch_save_file

import labkit
from labkit import serialization
from labkit.serialization import UnsafeCheckpointError


def _state_dict():
    return collections.OrderedDict([
        ("fc.weight", labkit.randn(4, 3)),
        ("fc.bias", labkit.randn(4, dtype=labkit.float64)),
        ("steps", labkit.tensor(7)),
        ("ids", labkit.tensor([1, 2, 3], dtype=labkit.int32)),
        ("mask", labkit.tensor([True, False])),
        ("pixels", labkit.tensor([0, 255], dtype=labkit.uint8)),
        ("half", labkit.tensor([0.5, 1.5], dtype=labkit.float16)),
        ("empty", labkit.zeros(0, 3)),
        ("scalar", labkit.tensor(2.5)),
    ])


def _assert_same(a, b):
    assert a.dtype is b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a._np, b._np)


def test_state_dict_round_trip_keeps_dtypes_shapes_order(tmp_path):
    sd = _state_dict()
    path = tmp_path / "model.safetensors"
    labkit.save(sd, path)
    out = labkit.load(path)
    assert type(out) is collections.OrderedDict and list(out) == list(sd)
    for k in sd:
        _assert_same(out[k], sd[k])
        assert out[k]._np.flags.writeable and out[k]._np.flags.c_contiguous
    out["fc.weight"].add_(1.0)                  # loaded tensors own writable memory
    assert not np.array_equal(out["fc.weight"]._np, sd["fc.weight"]._np)


def test_nn_linear_state_dict_round_trip(tmp_path):
    a, b = labkit.nn.Linear(5, 3), labkit.nn.Linear(5, 3)
    x = labkit.randn(2, 5)
    assert not labkit.equal(a(x), b(x))
    labkit.save(a.state_dict(), str(tmp_path / "lin.safetensors"))
    b.load_state_dict(labkit.load(str(tmp_path / "lin.safetensors"), weights_only=True))
    assert labkit.equal(a(x), b(x))


def test_flat_state_dict_is_a_standard_safetensors_file(tmp_path):
    """Other tools read labkit's file by the state dict's own names."""
    sd = _state_dict()
    path = str(tmp_path / "m.safetensors")
    labkit.save(sd, path)
    theirs = torch_load_file(path)
    assert set(theirs) == set(sd)
    for k, v in sd.items():
        np.testing.assert_array_equal(theirs[k].numpy(), v._np)


def test_reads_files_written_by_pytorch_safetensors(tmp_path):
    tsd = {"w": torch.randn(3, 2), "i": torch.arange(4), "h": torch.ones(2, dtype=torch.float16),
           "m": torch.tensor([True, False])}
    path = str(tmp_path / "torch.safetensors")
    torch_save_file(tsd, path)
    out = labkit.load(path)
    assert set(out) == set(tsd)
    for k, v in tsd.items():
        assert isinstance(out[k], labkit.Tensor)
        assert str(out[k].dtype).split(".")[1] == str(v.dtype).split(".")[1]
        np.testing.assert_array_equal(out[k]._np, v.numpy())


def _train(opt, params, grads):
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = labkit.tensor(g)
        opt.step()


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("RMSprop", dict(centered=True, momentum=0.3))])
def test_checkpoint_with_optimizer_state_resumes_exactly(tmp_path, name, kw):
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(2)
              .astype(np.float32)] for _ in range(8)]
    init = [labkit.randn(3, 2), labkit.randn(2)]
    ref = [t.clone().requires_grad_() for t in init]
    _train(getattr(labkit.optim, name)(ref, **kw), ref, grads)

    params = [t.clone().requires_grad_() for t in init]
    opt = getattr(labkit.optim, name)(params, **kw)
    sched = labkit.optim.lr_scheduler.MultiStepLR(opt, milestones=[100, 200])
    _train(opt, params, grads[:4])
    path = tmp_path / "ckpt.safetensors"
    labkit.save({"params": [p.detach() for p in params], "optim": opt.state_dict(),
                 "sched": sched.state_dict(), "epoch": 4, "note": None,
                 "best": float("inf")}, path)

    ck = labkit.load(path)
    assert ck["epoch"] == 4 and ck["note"] is None and math.isinf(ck["best"])
    assert sorted(ck["optim"]["state"]) == [0, 1]                     # int keys survive
    if name == "Adam":
        assert ck["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples survive
        assert ck["optim"]["state"][0]["step"].shape == ()
    assert ck["sched"]["milestones"] == collections.Counter([100, 200])
    assert ck["optim"]["param_groups"] == opt.state_dict()["param_groups"]

    params2 = [t.clone().requires_grad_() for t in ck["params"]]
    opt2 = getattr(labkit.optim, name)(params2, **kw)
    opt2.load_state_dict(ck["optim"])
    sched2 = labkit.optim.lr_scheduler.MultiStepLR(opt2, milestones=[100, 200])
    sched2.load_state_dict(ck["sched"])
    _train(opt2, params2, grads[4:])
    for a, b in zip(ref, params2):
        np.testing.assert_array_equal(a._np, b._np)


def test_nested_structures_shared_tensors_and_requires_grad(tmp_path):
    w = labkit.randn(2, 2, requires_grad=True)
    arr = np.arange(6, dtype=np.int64).reshape(2, 3)
    obj = {"a": [w, (1, 2.5, "x", True)], "tied": w, 3: {"arr": arr, (1, 2): "tuple key"},
           "dtype": labkit.float64, "nan": float("nan")}
    path = tmp_path / "n.safetensors"
    labkit.save(obj, path)
    out = labkit.load(path)
    assert out["a"][0] is out["tied"]                       # stored once, one object back
    assert out["tied"].requires_grad and out["tied"].is_leaf
    _assert_same(out["tied"].detach(), w.detach())
    assert out["a"][1] == (1, 2.5, "x", True)
    assert isinstance(out[3]["arr"], np.ndarray)
    np.testing.assert_array_equal(out[3]["arr"], arr)
    assert out[3][(1, 2)] == "tuple key"
    assert out["dtype"] is labkit.float64 and math.isnan(out["nan"])


def test_single_tensor_and_file_objects():
    t = labkit.arange(5.0)
    buf = io.BytesIO()
    labkit.save(t, buf)
    buf.seek(0)
    _assert_same(labkit.load(buf), t)


def test_save_is_atomic_when_the_write_fails_midway(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    old = {"w": labkit.ones(1000)}
    labkit.save(old, path)
    before = path.read_bytes()
    real_write = serialization._write_bytes

    def failing_write(fh, data):
        real_write(fh, data[: len(data) // 2])        # half the bytes reach the disk...
        raise OSError(28, "No space left on device")  # ...then the disk fills up

    monkeypatch.setattr(serialization, "_write_bytes", failing_write)
    with pytest.raises(OSError, match="No space left"):
        labkit.save({"w": labkit.zeros(5000)}, path)
    with pytest.raises(OSError):
        labkit.save({"w": labkit.zeros(5000)}, tmp_path / "new.safetensors")
    assert path.read_bytes() == before                      # the old checkpoint is intact
    _assert_same(labkit.load(path)["w"], old["w"])
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]   # no temp file, no new file


def test_save_into_missing_directory_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        labkit.save({"w": labkit.ones(1)}, tmp_path / "nope" / "m.safetensors")


class _Evil:
    """Unpickling this would create a marker file (stands in for arbitrary code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [0, 2, pickle.DEFAULT_PROTOCOL])
def test_malicious_pickle_is_refused_without_running_code(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"w": _Evil(str(marker))}, protocol=protocol))
    with pytest.raises(UnsafeCheckpointError, match="(?s)pickle.*never unpickles.*save_file"):
        labkit.load(path, weights_only=False)
    assert not marker.exists()
    with pytest.raises(ValueError):                       # also catchable as ValueError
        labkit.load(path)
    with pytest.raises(pickle.UnpicklingError):           # ... or as torch's error type
        labkit.load(io.BytesIO(path.read_bytes()))
    assert not marker.exists()


def test_pytorch_pt_checkpoints_are_refused_with_a_recipe(tmp_path):
    sd = {"w": torch.randn(2)}
    zip_path, legacy_path = tmp_path / "m.pt", tmp_path / "legacy.pth"
    torch.save(sd, zip_path)
    torch.save(sd, legacy_path, _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError, match="zip archive.*torch.save"):
        labkit.load(zip_path)
    with pytest.raises(UnsafeCheckpointError, match="pickle"):
        labkit.load(legacy_path)


def test_truncated_and_corrupted_files_give_clear_errors(tmp_path):
    path = tmp_path / "m.safetensors"
    labkit.save(_state_dict(), path)
    data = path.read_bytes()
    cases = {
        "cut_data.safetensors": (data[:-7], "truncated"),
        "cut_header.safetensors": (data[:40], "truncated"),
        "tiny.safetensors": (data[:5], "truncated or empty"),
        "empty.safetensors": (b"", "truncated or empty"),
        "trailing.safetensors": (data + b"junk", "unexpected bytes"),
        "garbage.safetensors": (bytes(range(256)) * 4, "not a safetensors file"),
        "badjson.safetensors": (data[:8] + b"{" + b"\xff" * 20 + data[29:], "not valid JSON"),
    }
    for fname, (content, msg) in cases.items():
        p = tmp_path / fname
        p.write_bytes(content)
        with pytest.raises(ValueError, match=msg) as info:
            labkit.load(p)
        assert fname in str(info.value)
        with pytest.raises(ValueError, match=msg):
            labkit.load(io.BytesIO(content))


def test_load_arguments_like_pytorch(tmp_path):
    path = tmp_path / "m.safetensors"
    labkit.save({"w": labkit.ones(2)}, path)
    assert labkit.load(path, map_location="cpu", weights_only=True)["w"].tolist() == [1.0, 1.0]
    assert labkit.load(str(path), map_location=labkit.device("cpu"))["w"].shape == (2,)
    with pytest.raises(RuntimeError, match="CPU only"):
        labkit.load(path, map_location="cuda:0")


def test_unsupported_objects_are_refused_with_advice(tmp_path):
    with pytest.raises(TypeError, match=r"Linear.*obj\['model'\].*state_dict"):
        labkit.save({"model": labkit.nn.Linear(2, 2)}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="function"):
        labkit.save([lambda: 0], tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()
