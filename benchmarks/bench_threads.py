"""Do 2 threads pay for labkit's elementwise kernels in a realistic loop?  (threading policy)

    .venv/bin/python benchmarks/bench_threads.py        # ~1-2 minutes

A training step alternates BLAS (NumPy's OpenBLAS, 2 threads) with elementwise kernels.  This
times ``x @ W`` (128x512x512) followed by tanh on n elements, and an MLP-like
``tanh(x @ W1) @ W2``, with the kernel compiled four ways, each configuration in its own process
(Numba's threading layer is chosen once per process):

  serial       @njit                     (what labkit ships)
  workqueue    @njit(parallel=True), NUMBA_THREADING_LAYER=workqueue
  omp-passive  @njit(parallel=True), omp layer, OMP_WAIT_POLICY=PASSIVE
  omp          @njit(parallel=True), omp layer (Numba's default here: TBB is not installed)

``--openblas-timeout`` reruns with OPENBLAS_THREAD_TIMEOUT=4 in the environment (OpenBLAS's idle
threads stop spinning sooner; a user can set it before starting Python, a library cannot).
The conclusion is recorded at the top of labkit/kernels/__init__.py.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONFIGS = ("serial", "workqueue", "omp-passive", "omp")

_CHILD = r'''
import os, sys, time, tempfile
cfg = sys.argv[1]
if cfg.startswith("omp"):
    os.environ["NUMBA_THREADING_LAYER"] = "omp"
    if cfg == "omp-passive":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
elif cfg == "workqueue":
    os.environ["NUMBA_THREADING_LAYER"] = "workqueue"
import numpy as np
from numba import njit, prange
from labkit.kernels import jit as J
f32 = np.float32

@njit(fastmath=J.FM, error_model="numpy", nogil=True, parallel=True)
def tanh_par(x, out):
    for i in prange(x.size):
        out[i] = J._tanh32(x[i])

kern = J.tanh if cfg == "serial" else tanh_par

def med(f, budget=0.6):
    f(); f()
    ts = []; end = time.perf_counter() + budget
    while len(ts) < 5 or (time.perf_counter() < end and len(ts) < 2000):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2] * 1e3

rng = np.random.default_rng(0)
x = rng.standard_normal((128, 512), dtype=f32); W = rng.standard_normal((512, 512), dtype=f32)
res = []
for n in (10**5, 10**6, 4 * 10**6):
    h = rng.standard_normal(n, dtype=f32); o = np.empty_like(h)
    def loop():
        x @ W
        kern(h, o)
    res.append(("x@W + tanh(n=%.0e)" % n, med(lambda: kern(h, o)), med(loop)))
xs = rng.standard_normal((64, 256), dtype=f32); W1 = rng.standard_normal((256, 256), dtype=f32) * .06
def mlp():
    a = xs @ W1
    o = np.empty_like(a)
    kern(a.reshape(-1), o.reshape(-1))
    return o @ W1
res.append(("tanh(x@W1)@W2 B=64 H=256", float("nan"), med(mlp)))
for name, alone, loop in res:
    print(f"{name}|{alone:.3f}|{loop:.3f}")
'''


def main():
    env = dict(os.environ, PYTHONPATH=ROOT)
    if "--openblas-timeout" in sys.argv:
        env["OPENBLAS_THREAD_TIMEOUT"] = "4"
    rounds = 2
    results = {}
    for r in range(rounds):
        for cfg in CONFIGS if r % 2 == 0 else CONFIGS[::-1]:
            out = subprocess.run([sys.executable, "-c", _CHILD, cfg], env=env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=300)
            if out.returncode:
                print(out.stderr[-1500:], file=sys.stderr)
                continue
            for line in out.stdout.strip().splitlines():
                name, alone, loop = line.split("|")
                results.setdefault(name, {}).setdefault(cfg, []).append((float(alone), float(loop)))
    print(f"median ms over {rounds} processes per config: kernel alone / in the loop with BLAS")
    print(f"{'case':28s}" + "".join(f"{c:>20s}" for c in CONFIGS))
    for name, per in results.items():
        cells = []
        for c in CONFIGS:
            v = sorted(per.get(c, []))
            if not v:
                cells.append(f"{'-':>20s}")
                continue
            alone = sorted(a for a, _ in v)[len(v) // 2]
            loop = sorted(b for _, b in v)[len(v) // 2]
            cell = f"{loop:.3f}" if alone != alone else f"{alone:.3f} / {loop:.3f}"
            cells.append(f"{cell:>20s}")
        print(f"{name:28s}" + "".join(cells))


if __name__ == "__main__":
    main()
