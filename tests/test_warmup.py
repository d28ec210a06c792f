"""labkit.warmup: discovers every kernel, compiles into an empty cache, loads from it next time."""
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
from numba import njit

import labkit
from labkit import kernels as K
from labkit import warmup as W

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.skipif(not K.USE_JIT, reason="LABKIT_JIT=0")

_SCRIPT = """
import json, time
t0 = time.perf_counter()
import labkit
rep = labkit.warmup(verbose=False)
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "report": [[s.module, s.name, s.status] for s in rep]}))
"""


# After warm-up, real float32 work must not compile anything new: the WARMUP examples have the
# run-time types (dtype, ndim, layout, np.float32 vs float, int64 vs bool).
_SIGNATURES = """
import json
import labkit
import labkit.nn as nn
import labkit.nn.functional as F
from labkit import warmup as W
labkit.warmup(verbose=False)
sigs = lambda: {m.__name__ + "." + n: len(d.signatures) for m, n, d in W.discover()
                if W.example(m, n) is not None}
before = sigs()
x = labkit.randn(4, 8, requires_grad=True)
y = (x.exp().sum() + x.sigmoid().sum() + x.tanh().sum() + F.gelu(x).sum() + F.silu(x).sum()
     + x.softmax(-1)[:, 0].sum() + x.log_softmax(-1)[:, 1].sum() + x.relu().sum()
     + labkit.addcmul(x, x, x, value=0.5).sum() + labkit.lerp(x, x * 2, 0.3).sum())
y.backward()
model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.LayerNorm(8), nn.Linear(8, 3))
xb, yb = labkit.randn(2, 1, 4, 4), labkit.tensor([0, 2])
for opt in (labkit.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
            labkit.optim.Adam(model.parameters()), labkit.optim.AdamW(model.parameters()),
            labkit.optim.RMSprop(model.parameters()), labkit.optim.Adagrad(model.parameters()),
            labkit.optim.Adadelta(model.parameters())):
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
after = sigs()
print(json.dumps({k: [before[k], after[k]] for k in after if after[k] != before[k]}))
"""


def _run(code, cache_dir, *args, **env):
    e = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=ROOT, **env)
    return subprocess.run([sys.executable, *args] + ([code] if code else []), cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=240)


def test_cold_then_warm_cache(tmp_path):
    cold = _run(_SCRIPT, tmp_path, "-c")
    assert cold.returncode == 0, cold.stderr
    first = json.loads(cold.stdout)
    with_example = [r for r in first["report"] if r[2] != "no example"]
    assert len(with_example) >= len(K.jit_module().WARMUP)
    assert all(r[2] == "compiled" for r in with_example), with_example

    warm = _run(_SCRIPT, tmp_path, "-c")
    assert warm.returncode == 0, warm.stderr
    second = json.loads(warm.stdout)
    assert [r[:2] for r in second["report"]] == [r[:2] for r in first["report"]]
    bad = [r for r in second["report"] if r[2] not in ("cached", "no example")]
    assert not bad, bad
    # loading from the cache must be much cheaper than compiling (ratio, not absolute time)
    assert second["seconds"] * 3 < first["seconds"], (first["seconds"], second["seconds"])

    new = _run(_SIGNATURES, tmp_path, "-c")
    assert new.returncode == 0, new.stderr
    assert json.loads(new.stdout.strip().splitlines()[-1]) == {}, "compiled after warm-up"

    cli = _run(None, tmp_path, "-m", "labkit", "warmup")
    assert cli.returncode == 0, cli.stderr
    assert "labkit warmup:" in cli.stderr and " cached" in cli.stderr
    assert "compiled" not in cli.stderr.split("labkit warmup:")[-1]


def test_every_kernel_declares_a_warmup_example():
    missing = [f"{m.__name__}.{n}" for m, n, d in W.discover() if W.example(m, n) is None]
    assert not missing, ("kernels without a WARMUP example (see the labkit/warmup.py docstring): "
                         + ", ".join(missing))


def test_discover_finds_public_module_level_kernels_only():
    found = {(m.__name__.rsplit(".", 1)[-1], n) for m, n, d in W.discover()}
    jit = K.jit_module()
    assert {("jit", n) for n in jit.WARMUP} <= found
    assert not any(n.startswith("_") for _, n in found)      # helpers such as _exp32
    assert len(found) == len(W.discover())                    # imported helpers not counted twice


def test_statuses_for_missing_failing_and_fresh_examples():
    @njit
    def add_one(x, out):
        for i in range(x.size):
            out[i] = x[i] + 1

    mod = types.ModuleType("fake_kernels")
    mod.__name__ = "labkit.kernels.fake_kernels"
    mod.WARMUP = {"good": lambda: [(np.zeros(2, np.float32), np.zeros(2, np.float32)),
                                   (np.zeros(2), np.zeros(2))],
                  "bad": lambda: (np.zeros(2, np.float32),)}          # wrong arity
    assert W._warm_one(mod, "good", add_one).status == "compiled"
    assert len(add_one.overloads) == 2                                 # both signatures
    assert W._warm_one(mod, "good", add_one).status == "ready"
    assert W._warm_one(mod, "bad", add_one).status.startswith("error: TypeError")
    assert W._warm_one(mod, "other", add_one).status == "no example"


def test_verbose_prints_progress_and_summary(capsys):
    report = labkit.warmup(verbose=True)
    err = capsys.readouterr().err
    assert f"[{len(report)}/{len(report)}]" in err and "labkit warmup:" in err
    assert not any(s.status.startswith("error") for s in report)


def test_jit_disabled_means_nothing_to_warm(tmp_path):
    r = _run("import labkit; print(len(labkit.warmup()))", tmp_path, "-c", LABKIT_JIT="0")
    assert r.returncode == 0 and r.stdout.strip() == "0" and "nothing to do" in r.stderr
