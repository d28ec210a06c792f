"""labkit vs NumPy vs PyTorch (CPU): per-op overhead, fused elementwise, matmul, start-up costs.

    .venv/bin/python benchmarks/bench_engine.py            # full run, ~2-3 minutes
    .venv/bin/python benchmarks/bench_engine.py --quick    # fewer rounds and sizes, ~1 minute

How it measures (the machine is small and shared, see shared/docs/performance.md):
- labkit and NumPy run in one worker process, **interleaved call by call** (labkit, numpy,
  labkit, ...), so a burst of load hits both and ``lk/np`` stays stable.  That is fair here:
  labkit's matmul *is* NumPy's BLAS and labkit's kernels are serial Numba, so the two share no
  competing thread pool (kernels/__init__.py explains the serial policy).
- PyTorch runs in its own worker process (its OpenMP/MKL threads must not meet OpenBLAS's or
  Numba's, and torch is never imported next to Numba).  The workers take turns: the driver asks
  one to time one case, waits for the answer, pauses briefly (idle BLAS/OpenMP threads stop
  spinning), then asks the other; each case is repeated over several rounds, alternating who
  starts.  ``lk/torch`` is therefore more sensitive to load than ``lk/np``.
- a turn calls the case once untimed (compilation, caches), then times calls for ~0.2 s
  (at least 3) and reports the median; the table shows the median over rounds;
- the columns ``lk/np`` and ``lk/torch`` are time ratios: below 1 labkit is faster.
- inputs are float32 and allocated outside the timed region; outputs are allocated by the op, as
  in user code (so 1e7-element results pay page faults unless a buffer is reused).
Start-up numbers (import time, first call of each op, warm-up) come from fresh subprocesses.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _harness import time_calls  # noqa: E402  (benchmarks/ is on sys.path: the script's folder)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PAUSE = 0.1                  # seconds between turns (idle OpenBLAS threads spin ~0.1 s)

# ------------------------------------------------------------------------------ cases
# name -> (group, sizes, target description, (ratio column, max ratio) or None)
CASES = {
    "add tiny (4,), requires_grad": ("overhead", [4], "lk/torch <= 1.0", ("torch", 1.0)),
    "(w*x+b).sum().backward() tiny": ("overhead", [4], "lk/torch <= 0.85", ("torch", 0.85)),
    "addcmul c+a*b": ("elementwise", [10**6, 10**7], "lk/np <= 0.5 (2x NumPy)", ("np", 0.5)),
    "exp": ("elementwise", [10**6, 10**7], "lk/np <= 1.0", ("np", 1.0)),
    "exp, output pool off": ("elementwise", [10**7], "(labkit only: pool effect)", None),
    "sigmoid": ("elementwise", [10**6, 10**7], "", None),
    "tanh": ("elementwise", [10**6, 10**7], "", None),
    "gelu fwd+bwd": ("elementwise", [10**6, 10**7], "", None),
    "softmax rows of 1000": ("elementwise", [10**6, 10**7], "", None),
    "matmul n x n": ("matmul", [256, 512, 1024, 2048], "lk/np <= 1.11 (0.9x NumPy)", ("np", 1.11)),
}
LIBS = ("labkit", "numpy", "torch")
WORKERS = ("labkit", "torch")        # numpy is timed inside the labkit worker


def _build(lib, case, n):
    """Return a zero-argument callable running the case once, or a string (why it is skipped)."""
    import numpy as np
    rng = np.random.default_rng(0)

    def arr(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    if lib == "torch":
        import torch
        F = torch.nn.functional
        T = torch.from_numpy
    elif lib == "labkit":
        import labkit as torch
        import labkit.nn.functional as F

        def T(a):
            return torch.tensor(a)
    if case == "add tiny (4,), requires_grad":
        a, b = arr(4), arr(4)
        if lib == "numpy":
            return lambda: a + b
        ta, tb = T(a).requires_grad_(), T(b).requires_grad_()
        return lambda: ta + tb
    if case == "(w*x+b).sum().backward() tiny":
        if lib == "numpy":
            return "no autograd"
        w, x, b = (T(arr(4)).requires_grad_() for _ in range(3))

        def step():
            (w * x + b).sum().backward()
        return step
    if case == "addcmul c+a*b":
        a, b, c = arr(n), arr(n), arr(n)
        if lib == "numpy":
            return lambda: a * b + c
        ta, tb, tc = T(a), T(b), T(c)
        return lambda: torch.addcmul(tc, ta, tb)
    if case == "exp, output pool off":
        if lib != "labkit":
            return "labkit only"
        from labkit import kernels as K
        K.POOL_MIN_BYTES = 1 << 62
        tx = T(arr(n))
        return lambda: torch.exp(tx)
    if case in ("exp", "sigmoid", "tanh"):
        x = arr(n)
        if lib == "numpy":
            return {"exp": lambda: np.exp(x), "tanh": lambda: np.tanh(x),
                    "sigmoid": lambda: 1 / (1 + np.exp(-x))}[case]
        tx = T(x)
        fn = getattr(torch, case)
        return lambda: fn(tx)
    if case == "gelu fwd+bwd":
        if lib == "numpy":
            return "no erf in NumPy"
        x, g = arr(n), arr(n)
        tg = T(g)
        if lib == "labkit" and not hasattr(F, "gelu"):
            from labkit import kernels as K
            return lambda: (K.unary("gelu", x), K.binary("gelu_backward", g, x))
        tx = T(x).requires_grad_()

        def fb():
            F.gelu(tx).backward(tg)
            tx.grad = None
        return fb
    if case == "softmax rows of 1000":
        x = arr(n // 1000, 1000)
        if lib == "numpy":
            def sm():
                e = np.exp(x - x.max(axis=-1, keepdims=True))
                return e / e.sum(axis=-1, keepdims=True)
            return sm
        tx = T(x)
        return lambda: torch.softmax(tx, dim=-1)
    if case == "matmul n x n":
        a, b = arr(n, n), arr(n, n)
        if lib == "numpy":
            return lambda: a @ b
        ta, tb = T(a), T(b)
        return lambda: torch.matmul(ta, tb)
    return "unknown case"


def _time(fn, budget):
    med, _, n = time_calls(fn, budget, warmup=1, min_calls=3)
    return med, n


def _time_pair(f, g, budget):
    """Medians of f and g timed alternately (f, g, f, g, ...)."""
    f()
    g()
    tf, tg = [], []
    end = time.perf_counter() + 2 * budget
    while len(tf) < 3 or (time.perf_counter() < end and len(tf) < 100000):
        t = time.perf_counter()
        f()
        t1 = time.perf_counter()
        g()
        t2 = time.perf_counter()
        tf.append(t1 - t)
        tg.append(t2 - t1)
    return statistics.median(tf), statistics.median(tg)


def worker(lib, torch_threads=0):
    """Serve timing requests on stdin (one JSON object a line) until EOF."""
    if lib == "torch":
        import torch
        if torch_threads:
            torch.set_num_threads(torch_threads)
    elif lib == "labkit":
        import labkit  # noqa: F401
        from labkit import kernels as K
        global POOL_MIN_DEFAULT
        POOL_MIN_DEFAULT = K.POOL_MIN_BYTES
    import numpy  # noqa: F401
    built = {}
    print(json.dumps({"ready": lib}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        key = (req["case"], req["n"])
        if key not in built:
            built.clear()                             # free the previous case's arrays
            if lib == "labkit":
                from labkit import kernels as K
                K.POOL_MIN_BYTES = POOL_MIN_DEFAULT
            built[key] = (_build(lib, *key), _build("numpy", *key) if lib == "labkit" else "")
        fn, fn_np = built[key]
        res = {}
        if callable(fn) and callable(fn_np):
            res["labkit"], res["numpy"] = _time_pair(fn, fn_np, req["budget"])
        elif callable(fn):
            res[lib] = _time(fn, req["budget"])[0]
        print(json.dumps(res), flush=True)


# ------------------------------------------------------------------------------ start-up costs
def _py(code, env=None, timeout=300):
    e = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    e.update(env or {})
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e,
                       timeout=timeout, cwd=ROOT)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


_IMPORT = "import time, json; t=time.perf_counter(); import {m}; print(json.dumps(time.perf_counter()-t))"

_FIRST_CALLS = r"""
import json, time
import numpy as np
t = time.perf_counter(); import labkit; import labkit.nn.functional as F; t_imp = time.perf_counter() - t
x = labkit.randn(8, 16, requires_grad=True)
ops = [("tanh", lambda: x.tanh()), ("sigmoid", lambda: x.sigmoid()), ("exp", lambda: x.exp()),
       ("gelu", lambda: F.gelu(x)), ("softmax", lambda: x.softmax(-1)),
       ("log_softmax", lambda: x.log_softmax(-1)), ("addcmul", lambda: labkit.addcmul(x, x, x)),
       ("lerp", lambda: labkit.lerp(x, x, 0.3)),
       ("tanh backward", lambda: x.tanh().sum().backward()),
       ("gelu backward", lambda: F.gelu(x).sum().backward()),
       ("softmax backward", lambda: x.softmax(-1)[:, 0].sum().backward()),
       ("matmul", lambda: x @ x.T)]
res = {"import labkit": t_imp}
for name, f in ops:
    t = time.perf_counter(); f(); res[name] = time.perf_counter() - t
print(json.dumps(res))
"""

_WARMUP = ("import json, time; t=time.perf_counter(); import labkit; r = labkit.warmup(verbose=False);"
           " print(json.dumps([time.perf_counter()-t, len(r),"
           " sum(s.status == 'no example' for s in r)]))")


def startup(rounds):
    out = {}
    for m in ("numpy", "labkit", "torch"):
        out[f"import {m}"] = statistics.median(_py(_IMPORT.format(m=m)) for _ in range(rounds))
    firsts = [_py(_FIRST_CALLS) for _ in range(max(2, rounds // 2))]
    out["first calls"] = {k: statistics.median(f[k] for f in firsts) for k in firsts[0]}
    colds, warms = [], []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as d:
            colds.append(_py(_WARMUP, {"NUMBA_CACHE_DIR": d}))
            warms.append(_py(_WARMUP, {"NUMBA_CACHE_DIR": d}))
    out["warmup cold"] = statistics.median(c[0] for c in colds)
    out["warmup warm"] = statistics.median(w[0] for w in warms)
    out["warmup kernels"] = colds[0][1]
    out["warmup without example"] = colds[0][2]
    return out


# ------------------------------------------------------------------------------ driver
def _fmt_t(t):
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def _fmt_n(case, n):
    if CASES[case][0] == "matmul":
        return f"n={n}"
    return f"{n:.0e}".replace("+0", "") if n >= 1000 else f"({n},)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", choices=LIBS)
    ap.add_argument("--quick", action="store_true", help="2 rounds, 1e6 / n<=1024 only")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--budget", type=float, default=0.2, help="seconds of timing per turn")
    ap.add_argument("--only", default="", help="comma-separated substrings of case names")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for BLAS and torch in the workers (0: library defaults); "
                         "1 gives stable numbers on a loaded machine")
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.threads)
    rounds = args.rounds or (2 if args.quick else 3)

    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # as in scripts/lab's kernels: NumPy's products alternate with labkit's here, and OpenBLAS's
    # threads spinning after each would take labkit's cores (kernels/__init__.py)
    env.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    if args.threads:                      # read by OpenBLAS / OpenMP when the worker starts
        for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[k] = str(args.threads)
    procs = {}
    for lib in WORKERS:
        p = subprocess.Popen([sys.executable, __file__, "--worker", lib,
                              "--threads", str(args.threads)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        procs[lib] = p
    for lib, p in procs.items():
        assert json.loads(p.stdout.readline())["ready"] == lib

    def ask(lib, case, n):
        p = procs[lib]
        p.stdin.write(json.dumps({"case": case, "n": n, "budget": args.budget}) + "\n")
        p.stdin.flush()
        r = json.loads(p.stdout.readline())
        time.sleep(PAUSE)
        return r

    only = [s for s in args.only.split(",") if s]
    t_start = time.perf_counter()
    load0 = os.getloadavg()[0]
    rows = []
    for case, (group, sizes, target, check) in CASES.items():
        if only and not any(s in case for s in only):
            continue
        if args.quick:
            sizes = [s for s in sizes if s <= 10**6 and not (group == "matmul" and s > 1024)]
        for n in sizes:
            times = {lib: [] for lib in LIBS}
            for r in range(rounds):
                order = WORKERS if r % 2 == 0 else WORKERS[::-1]   # take turns, alternate start
                for w in order:
                    for lib, t in ask(w, case, n).items():
                        times[lib].append(t)
            med = {lib: (statistics.median(v) if v else None) for lib, v in times.items()}
            rows.append((case, n, med, target, check))
            print(f"  ... {case} {_fmt_n(case, n)}: " + ", ".join(
                f"{lib} {_fmt_t(med[lib])}" for lib in LIBS), file=sys.stderr, flush=True)
    for p in procs.values():
        p.stdin.close()
        p.wait()

    print(f"\nlabkit benchmark ({rounds} rounds, medians; ratios are time ratios, < 1 = labkit "
          f"faster); load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end on "
          f"{os.cpu_count()} CPUs; BLAS/torch threads: {args.threads or 'default'}\n")
    hdr = f"{'case':32s} {'size':>7s} {'labkit':>10s} {'numpy':>10s} {'torch':>10s} " \
          f"{'lk/np':>6s} {'lk/torch':>8s}  target"
    print(hdr)
    print("-" * len(hdr) + "-" * 12)
    for case, n, med, target, check in rows:
        lk, npt, tt = med["labkit"], med["numpy"], med["torch"]
        rn = lk / npt if lk and npt else None
        rt = lk / tt if lk and tt else None
        verdict = ""
        if check:
            r = rn if check[0] == "np" else rt
            verdict = "" if r is None else ("  ok" if r <= check[1] else "  MISSED")
        print(f"{case:32s} {_fmt_n(case, n):>7s} {_fmt_t(lk):>10s} {_fmt_t(npt):>10s} "
              f"{_fmt_t(tt):>10s} {'-' if rn is None else f'{rn:.2f}':>6s} "
              f"{'-' if rt is None else f'{rt:.2f}':>8s}  {target}{verdict}")

    if not args.no_startup:
        s = startup(3 if args.quick else 5)
        print("\nstart-up (fresh processes, medians)")
        imp = s["import labkit"]
        print(f"  import labkit       {_fmt_t(imp):>9s}   (numpy {_fmt_t(s['import numpy'])}, "
              f"torch {_fmt_t(s['import torch'])})  target <= 0.5 s"
              f"{'  ok' if imp <= 0.5 else '  MISSED'}")
        fc = dict(s["first calls"])
        fc.pop("import labkit")
        first = next(iter(fc))
        rest = {k: v for k, v in fc.items() if k != first}
        print(f"  first op in process ({first}, imports Numba, loads its cache): "
              f"{_fmt_t(fc[first])}  target <= 50 ms{'  ok' if fc[first] <= 0.05 else '  MISSED'}")
        worst = max(rest, key=rest.get)
        print(f"  first call of each later op (warm cache): median {_fmt_t(statistics.median(rest.values()))}, "
              f"max {_fmt_t(rest[worst])} ({worst})  target <= 50 ms"
              f"{'  ok' if rest[worst] <= 0.05 else '  MISSED'}")
        print("    " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in fc.items()) + "  (ms)")
        print(f"  labkit.warmup(): cold cache {_fmt_t(s['warmup cold'])}, warm cache "
              f"{_fmt_t(s['warmup warm'])} (process start-up excluded, imports included; "
              f"{s['warmup kernels']} kernels, {s['warmup without example']} without a WARMUP example)")
    print(f"\n(total {time.perf_counter() - t_start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
