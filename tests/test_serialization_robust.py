"""Checkpoint defects found by probing, each reproduced: stale temp files of a killed save,
file modes (umask, kept on overwrite), saving through a symlink, crafted labkit.structure
metadata (always the documented ValueError naming the file), bfloat16 tensors (load as float32)."""
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import labkit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_killed_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    path = tmp_path / "model.safetensors"
    code = textwrap.dedent(f"""
        import os, sys, labkit, labkit.serialization as S
        real = S._write_bytes
        def slow(fh, data):
            fh.write(bytes(data)[:1000]); fh.flush()
            print("writing", flush=True)
            import time; time.sleep(60)
        S._write_bytes = slow
        labkit.save({{"w": labkit.zeros(100000)}}, {str(path)!r})
    """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        temps = [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
        assert len(temps) == 1 and temps[0].startswith(".model.safetensors.")
        # a save while the other process still runs leaves its temp file alone
        labkit.save({"w": labkit.ones(3)}, path)
        assert temps[0] in os.listdir(tmp_path)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert temps[0] in os.listdir(tmp_path)              # killed: the temp file stays ...
    (tmp_path / ".other.safetensors.123.abc.tmp").write_bytes(b"x")
    labkit.save({"w": labkit.ones(3)}, path)             # ... until the next save of the target
    assert sorted(os.listdir(tmp_path)) == [".other.safetensors.123.abc.tmp",
                                            "model.safetensors"]
    assert labkit.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_new_files_follow_the_umask_and_overwrites_keep_the_mode(tmp_path):
    old = os.umask(0o022)
    try:
        p = tmp_path / "new.safetensors"
        labkit.save({"w": labkit.ones(2)}, p)
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644
        os.umask(0o077)
        q = tmp_path / "private.safetensors"
        labkit.save({"w": labkit.ones(2)}, q)
        assert stat.S_IMODE(os.stat(q).st_mode) == 0o600
        os.chmod(p, 0o664)                                 # an existing file keeps its mode
        labkit.save({"w": labkit.zeros(2)}, p)
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o664
        assert labkit.load(p)["w"].tolist() == [0.0, 0.0]
    finally:
        os.umask(old)


def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    target = real_dir / "v1.safetensors"
    labkit.save({"w": labkit.ones(2)}, target)
    link = tmp_path / "latest.safetensors"
    os.symlink(target, link)
    labkit.save({"w": labkit.full((2,), 7.0)}, link)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert labkit.load(target)["w"].tolist() == [7.0, 7.0]
    assert labkit.load(link)["w"].tolist() == [7.0, 7.0]
    assert sorted(os.listdir(tmp_path)) == ["latest.safetensors", "store"]
    # a dangling link: the file it names is created
    dangling = tmp_path / "next.safetensors"
    os.symlink(real_dir / "v2.safetensors", dangling)
    labkit.save({"w": labkit.ones(1)}, dangling)
    assert os.path.islink(dangling) and (real_dir / "v2.safetensors").is_file()


def _write_crafted(path, structure_json, tensors=None):
    """A safetensors file with the given raw labkit.structure metadata."""
    from safetensors.numpy import save_file
    save_file(tensors or {"a": np.zeros(2, np.float32)}, str(path),
              metadata={"labkit.format": "1", "labkit.structure": structure_json})


@pytest.mark.parametrize("structure", [
    "[" * 100000 + "]" * 100000,                                   # deep: RecursionError before
    '{"__tuple__": [' * 300 + "1" + "]}" * 300,                   # deep but valid JSON
    '{"__ndarray__": "missing"}',                                  # KeyError before
    '{"__dtype__": "complex512"}',                                 # TypeError before
    '{"__dtype__": 5}',
    '{"__dict__": [[{"__dict__": []}, 1]]}',                       # unhashable key
    '{"__dict__": [[1]]}',
    '{"__dict__": 3}',
    '{"__tuple__": 5}',
    '{"__float__": "1e999999x"}',
    '{"__tensor__": ["a"]}',
    '{"__tensor__": "a", "requires_grad": true, "__tuple__": []}',
    '{"__set__": [[1, 2]]}',
    '{"something": 1}',
    '{"__dict__": [], "type": "defaultdict"}',
])
def test_crafted_structure_metadata_gives_the_documented_value_error(tmp_path, structure):
    path = tmp_path / "crafted.safetensors"
    _write_crafted(path, structure)
    with pytest.raises(ValueError, match="crafted.safetensors"):
        labkit.load(path)
    with open(path, "rb") as fh:                                   # file objects too
        with pytest.raises(ValueError, match="corrupted"):
            labkit.load(fh)


def test_requires_grad_on_an_integer_tensor_is_refused(tmp_path):
    path = tmp_path / "ints.safetensors"
    _write_crafted(path, '{"__tensor__": "a", "requires_grad": true}',
                   {"a": np.zeros(2, np.int64)})
    with pytest.raises(ValueError, match="ints.safetensors.*requires_grad"):
        labkit.load(path)


def _bf16_file(path, values, extra=None):
    """A safetensors file with a BF16 tensor, written byte by byte as the format says."""
    f32 = np.asarray(values, np.float32)
    bf16 = (f32.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = {"w": {"dtype": "BF16", "shape": list(f32.shape), "data_offsets": [0, len(bf16)]}}
    body = bf16
    if extra is not None:
        header["b"] = {"dtype": "F32", "shape": [len(extra)],
                       "data_offsets": [len(body), len(body) + 4 * len(extra)]}
        body += np.asarray(extra, "<f4").tobytes()
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)


def test_bfloat16_tensors_load_as_float32_exactly(tmp_path):
    path = tmp_path / "bf16.safetensors"
    vals = [[1.0, -2.5, 3.140625], [0.0, 1e-3, 65280.0]]      # all exact bfloat16 values
    exact = np.asarray(vals, np.float32)
    exact = ((exact.view(np.uint32) >> 16) << 16).view(np.float32)
    _bf16_file(path, vals, extra=[4.0, 5.0])
    sd = labkit.load(path)
    assert list(sd) == ["w", "b"] and sd["w"].dtype == labkit.float32
    np.testing.assert_array_equal(sd["w"].numpy(), exact)
    assert sd["b"].tolist() == [4.0, 5.0]
    with open(path, "rb") as fh:
        np.testing.assert_array_equal(labkit.load(fh)["w"].numpy(), exact)


def test_bfloat16_from_pytorch_and_unsupported_dtypes(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    t = torch.randn(4, 3).to(torch.bfloat16)
    path = tmp_path / "hf.safetensors"
    save_file({"weight": t, "bias": torch.ones(3)}, str(path))
    sd = labkit.load(path)
    np.testing.assert_array_equal(sd["weight"].numpy(), t.float().numpy())
    save_file({"w": torch.zeros(2, dtype=torch.float8_e4m3fn)}, str(tmp_path / "f8.safetensors"))
    with pytest.raises(ValueError, match="f8.safetensors.*F8_E4M3.*does not support"):
        labkit.load(tmp_path / "f8.safetensors")
