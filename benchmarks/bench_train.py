"""Training-step time, time to accuracy and memory: labkit vs PyTorch (CPU), same model, same batch.

    .venv/bin/python benchmarks/bench_train.py                 # ~2 minutes
    .venv/bin/python benchmarks/bench_train.py --quick         # ~1 minute
    .venv/bin/python benchmarks/bench_train.py --threads 1     # BLAS / torch limited to 1 thread
    .venv/bin/python benchmarks/bench_train.py --only mlp64 lstm --profile   # cProfile labkit

How it measures (see shared/docs/performance.md: 2 shared cores, thread pools that fight):
- each library runs in its own worker process (torch never meets Numba's or OpenBLAS's threads);
  the workers take turns: the driver asks one to time a case, waits, pauses 50 ms, asks the other;
  every case is repeated over several rounds and the table shows the median of the rounds;
- a turn runs the step 3 times untimed (compilation, caches), then times steps for ~0.25 s (at
  least 5) and reports their median;
- the same model is built from the same initial weights (labkit's, copied into torch with
  labkit.interop.to_torch) and fed the same batch; a step is zero_grad + forward + loss +
  backward (+ optimizer step where the case says so);
- "time to 97%" trains the digits CNN of tests/test_train_e2e.py (normalised inputs, AdamW 3e-3,
  batch 64, shuffled) until the test accuracy, checked after each epoch, reaches 97%: wall time
  from the first step, including the evaluations, excluding imports and the data set load;
- memory (fresh worker per library and measurement):
  * peak step memory = the process's peak RSS during 200 MLP steps (B=512, the largest case)
    minus its RSS just before them, the peak reset with /proc/self/clear_refs ("5"), the
    model, data and one warm-up step already in place; plus, for labkit only, tracemalloc's peak
    over one step (NumPy reports its array allocations to tracemalloc; torch's allocator does not);
  * flat memory = RSS after 1,000 and after 10,000 MLP steps (B=64); growth = the difference.
Ratios are labkit / torch time (below 1: labkit is faster).

Results: the latest table, with the method behind it, is in benchmarks/README.md ("Threads");
the threading policy it supports is at the top of labkit/kernels/__init__.py.  Profile any
case with ``--profile --only CASE`` (cProfile of labkit, 30 steps).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from _harness import time_calls  # noqa: E402  (benchmarks/ is on sys.path: the script's folder)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PAUSE = 0.05

# name -> (description, target ratio or None, torch reference on a quiet machine)
CASES = {
    "mlp64": ("MLP 784-256-256-10 ReLU, CE, SGD step, B=64", 0.8, "0.91 ms"),
    "mlp512": ("MLP 784-256-256-10 ReLU, CE, SGD step, B=512", 0.8, "3.26 ms"),
    "overhead": ("MLP 4-4-4-10, B=64 (no real math: framework overhead per step)", None, ""),
    "lenet64": ("LeNet-5 CNN 28x28, CE, SGD step, B=64", 1.0, "3.5 ms"),
    "transformer": ("Transformer block E=64 2 heads T=64 B=32, causal, fwd+bwd", 1.0, "8-11 ms"),
    "lstm": ("LSTM in=64 hidden=128 T=32 B=32, fwd+bwd", 1.0, ""),
}


# ------------------------------------------------------------------------------ models
def _mods(lib):
    if lib == "torch":
        import torch
        return torch, torch.nn, torch.nn.functional
    import labkit
    return labkit, labkit.nn, labkit.nn.functional


def _to(lib, lk_model):
    if lib == "torch":
        import labkit.interop
        return labkit.interop.to_torch(lk_model)
    return lk_model


def numpy_mlp(case):
    """The MLP step written by hand in NumPy (the floor for an engine that calls NumPy's BLAS):
    the same shapes, float32, in-place updates, no autograd."""
    import numpy as np
    B = 64 if case == "mlp64" else 512
    rng = np.random.default_rng(0)
    sizes = [(784, 256), (256, 256), (256, 10)]
    Ws = [rng.uniform(-i ** -0.5, i ** -0.5, (o, i)).astype(np.float32) for i, o in sizes]
    bs = [np.zeros(o, np.float32) for _, o in sizes]
    x = rng.standard_normal((B, 784), dtype=np.float32)
    y = rng.integers(0, 10, B)
    lr = np.float32(0.01)

    def step():
        acts = [x]
        for k, (W, b) in enumerate(zip(Ws, bs)):
            h = acts[-1] @ W.T
            h += b
            if k < 2:
                np.maximum(h, 0, out=h)
            acts.append(h)
        z = acts[-1]
        z -= z.max(1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(1, keepdims=True)              # softmax; loss = mean(-log p[y])
        z[np.arange(B), y] -= 1
        g = z
        g *= np.float32(1 / B)
        for k in (2, 1, 0):
            gW, gb = g.T @ acts[k], g.sum(0)
            if k:
                g = g @ Ws[k]
                g *= acts[k] > 0
            Ws[k] -= lr * gW
            bs[k] -= lr * gb
    return step


def build(lib, case):
    """A zero-argument callable doing one training step of ``case`` with ``lib``."""
    import numpy as np
    if lib == "numpy":
        return numpy_mlp(case)
    import labkit
    torch, nn, F = _mods(lib)
    rng = np.random.default_rng(0)
    labkit.manual_seed(0)
    T = (lambda a: torch.from_numpy(a)) if lib == "torch" else (lambda a: labkit.tensor(a))
    ln = labkit.nn
    if case in ("mlp64", "mlp512", "overhead"):
        B = 512 if case == "mlp512" else 64
        I, Hd = (4, 4) if case == "overhead" else (784, 256)
        model = _to(lib, ln.Sequential(ln.Linear(I, Hd), ln.ReLU(), ln.Linear(Hd, Hd),
                                       ln.ReLU(), ln.Linear(Hd, 10)))
        x = T(rng.standard_normal((B, I), dtype=np.float32))
        y = T(rng.integers(0, 10, B))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def step():
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return step
    if case == "lenet64":
        model = _to(lib, ln.Sequential(
            ln.Conv2d(1, 6, 5, padding=2), ln.ReLU(), ln.MaxPool2d(2),
            ln.Conv2d(6, 16, 5), ln.ReLU(), ln.MaxPool2d(2), ln.Flatten(),
            ln.Linear(16 * 5 * 5, 120), ln.ReLU(), ln.Linear(120, 84), ln.ReLU(),
            ln.Linear(84, 10)))
        x = T(rng.standard_normal((64, 1, 28, 28), dtype=np.float32))
        y = T(rng.integers(0, 10, 64))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return step
    if case == "transformer":
        E, H, L, B = 64, 2, 64, 32
        block = _to(lib, ln.TransformerEncoderLayer(E, H, dim_feedforward=4 * E, dropout=0.0,
                                                     batch_first=True))
        mask = T(np.triu(np.full((L, L), -np.inf, np.float32), 1))
        x = T(rng.standard_normal((B, L, E), dtype=np.float32)).requires_grad_()
        w = T(rng.standard_normal((B, L, E), dtype=np.float32))

        def step():
            block.zero_grad()
            x.grad = None
            ((block(x, src_mask=mask, is_causal=True) * w).sum()).backward()
        return step
    if case == "lstm":
        B, L, I, Hd = 32, 32, 64, 128
        rnn = _to(lib, ln.LSTM(I, Hd, batch_first=True))
        x = T(rng.standard_normal((B, L, I), dtype=np.float32)).requires_grad_()
        w = T(rng.standard_normal((B, L, Hd), dtype=np.float32))

        def step():
            rnn.zero_grad()
            x.grad = None
            ((rnn(x)[0] * w).sum()).backward()
        return step
    raise KeyError(case)


def _threads(lib, n):
    if n:
        if lib == "torch":
            import torch
            torch.set_num_threads(n)


def worker(lib, threads):
    if lib != "numpy":
        import labkit  # noqa: F401  (numba-free import; torch workers import torch after it)
    _threads(lib, threads)
    steps = {}
    print(json.dumps({"ready": lib}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        case = req["case"]
        if case not in steps:
            steps[case] = build(lib, case)
        t, _, k = time_calls(steps[case], req["budget"])
        print(json.dumps({"t": t, "k": k}), flush=True)


# ------------------------------------------------------------------------------ one-shot jobs
def digits_to_97(lib, threads, max_epochs=30):
    import numpy as np
    import labkit
    import labkit.datasets as D
    _threads(lib, threads)
    torch, nn, F = _mods(lib)
    train, test = D.digits(split=0.8, seed=0)
    m, s = train.X.mean(), train.X.std()
    Xtr, Xte = ((train.X - m) / s).numpy(), ((test.X - m) / s).numpy()
    ytr, yte = train.y.numpy(), test.y.numpy()
    T = (lambda a: torch.from_numpy(a)) if lib == "torch" else (lambda a: labkit.tensor(a))
    ds = (torch.utils.data.TensorDataset(T(Xtr), T(ytr)))
    Xte, yte = T(Xte), T(yte)
    torch.manual_seed(0)
    labkit.manual_seed(0)
    ln = labkit.nn
    model = _to(lib, ln.Sequential(ln.Conv2d(1, 16, 3, padding=1), ln.ReLU(), ln.MaxPool2d(2),
                                   ln.Flatten(), ln.Linear(16 * 4 * 4, 10)))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
    t0 = time.perf_counter()
    acc = 0.0
    for epoch in range(1, max_epochs + 1):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = (model(Xte).argmax(1) == yte).float().mean().item()
        if acc >= 0.97:
            break
    return {"seconds": time.perf_counter() - t0, "epochs": epoch, "acc": acc}


def _rss():
    with open("/proc/self/status") as fh:
        d = dict(line.split(":", 1) for line in fh)
    return int(d["VmRSS"].split()[0]) * 1024, int(d["VmHWM"].split()[0]) * 1024


def peak_memory(lib, threads):
    import gc
    _threads(lib, threads)
    step = build(lib, "mlp512")
    step()
    gc.collect()
    base, _ = _rss()
    with open("/proc/self/clear_refs", "w") as fh:     # reset VmHWM to the current RSS
        fh.write("5")
    for _ in range(200):
        step()
    _, hwm = _rss()
    out = {"rss_peak_delta": hwm - base}
    if lib == "labkit":
        import tracemalloc
        tracemalloc.start()
        step()
        tracemalloc.reset_peak()
        cur0 = tracemalloc.get_traced_memory()[0]
        step()
        cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["tracemalloc_peak"] = peak - cur0
    return out


def flat_memory(lib, threads, steps=10_000):
    import gc
    _threads(lib, threads)
    step = build(lib, "mlp64")
    t0 = time.perf_counter()
    for i in range(steps):
        step()
        if i + 1 == 1000:
            gc.collect()
            r1000 = _rss()[0]
    gc.collect()
    return {"rss_1000": r1000, "rss_end": _rss()[0], "steps": steps,
            "seconds": time.perf_counter() - t0}


def _job(name, lib, threads, env):
    code = (f"import sys, json; sys.path.insert(0, {HERE!r}); sys.path.insert(0, {ROOT!r}); "
            f"import bench_train as b; print(json.dumps(b.{name}({lib!r}, {threads})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=600)
    if r.returncode:
        raise RuntimeError(f"{name}({lib}) failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ profiling
def profile(case, n=30, top=25):
    import cProfile
    import pstats
    step = build("labkit", case)
    for _ in range(3):
        step()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        step()
    pr.disable()
    print(f"\n=== cProfile, labkit, {case}, {n} steps (per-step times: divide by {n})")
    pstats.Stats(pr).sort_stats("tottime").print_stats(top)


# ------------------------------------------------------------------------------ driver
def _env(threads):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if threads:
        env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads), LABKIT_NUM_THREADS=str(threads))
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, skip 10k-step memory")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--budget", type=float, default=0.25, help="seconds timed per turn")
    ap.add_argument("--threads", type=int, default=0,
                    help="limit labkit/BLAS/OpenMP/torch threads (0: each library's default)")
    ap.add_argument("--only", nargs="*", default=None, help="cases to time (default: all)")
    ap.add_argument("--no-extra", action="store_true", help="skip digits and memory jobs")
    ap.add_argument("--profile", action="store_true", help="cProfile labkit on the cases")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.threads)
    cases = args.only or list(CASES)
    if args.profile:
        for c in cases:
            profile(c)
        return
    rounds = args.rounds or (3 if args.quick else 5)
    env = _env(args.threads)
    procs = {}
    for lib in ("labkit", "torch", "numpy"):
        p = subprocess.Popen([sys.executable, __file__, "--worker", lib, "--threads",
                              str(args.threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env, cwd=ROOT)
        assert json.loads(p.stdout.readline())["ready"] == lib
        procs[lib] = p

    def ask(lib, case):
        p = procs[lib]
        p.stdin.write(json.dumps({"case": case, "budget": args.budget}) + "\n")
        p.stdin.flush()
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"the {lib} worker died on {case}")
        return json.loads(line)["t"]

    times = {c: {"labkit": [], "torch": [], "numpy": []} for c in cases}
    ratios = {c: [] for c in cases}
    np_ratios = {c: [] for c in cases}
    for r in range(rounds):
        for c in cases:
            libs = ("labkit", "torch", "numpy") if c.startswith("mlp") else ("labkit", "torch")
            order = libs if r % 2 == 0 else libs[::-1]
            got = {}
            for lib in order:
                got[lib] = ask(lib, c)
                times[c][lib].append(got[lib])
                time.sleep(PAUSE)
            ratios[c].append(got["labkit"] / got["torch"])
            if "numpy" in got:
                np_ratios[c].append(got["numpy"] / got["torch"])
    for p in procs.values():
        p.stdin.close()
        p.wait()

    print(f"\nbench_train: {rounds} rounds, threads={'default' if not args.threads else args.threads}"
          f", medians (ratio = labkit/torch; median of the per-round ratios)")
    print(f"{'case':<58} {'labkit':>9} {'torch':>9} {'ratio':>6} {'target':>7}  ok")
    for c in cases:
        desc, target, ref = CASES[c]
        tl, tt = statistics.median(times[c]["labkit"]), statistics.median(times[c]["torch"])
        ratio = statistics.median(ratios[c])
        ok = "" if target is None else ("yes" if ratio <= target else "NO")
        print(f"{desc:<58} {tl * 1e3:7.2f}ms {tt * 1e3:7.2f}ms {ratio:6.2f} "
              f"{'<= ' + str(target) if target else '':>7}  {ok}")
        if np_ratios[c]:
            tn = statistics.median(times[c]["numpy"])
            print(f"{'  the same step in hand-written NumPy (numpy/torch)':<58} {tn * 1e3:7.2f}ms "
                  f"{'':>9} {statistics.median(np_ratios[c]):6.2f}")
    if args.no_extra:
        return
    print()
    d = {lib: _job("digits_to_97", lib, args.threads, env) for lib in ("labkit", "torch")}
    print(f"{'digits CNN to 97% test accuracy (wall, epochs)':<58} "
          f"{d['labkit']['seconds']:8.2f}s {d['torch']['seconds']:8.2f}s "
          f"{d['labkit']['seconds'] / d['torch']['seconds']:6.2f}   "
          f"(epochs {d['labkit']['epochs']} / {d['torch']['epochs']}, acc "
          f"{d['labkit']['acc']:.3f} / {d['torch']['acc']:.3f})")
    m = {lib: _job("peak_memory", lib, args.threads, env) for lib in ("labkit", "torch")}
    mb = 1 / 2 ** 20
    print(f"{'MLP B=512 step: peak RSS above the steady state':<58} "
          f"{m['labkit']['rss_peak_delta'] * mb:7.2f}MB {m['torch']['rss_peak_delta'] * mb:7.2f}MB"
          f"   (labkit tracemalloc peak per step: {m['labkit']['tracemalloc_peak'] * mb:.2f} MB)")
    if not args.quick:
        f = {lib: _job("flat_memory", lib, args.threads, env) for lib in ("labkit", "torch")}
        print(f"{'MLP B=64, RSS growth from step 1,000 to 10,000':<58} "
              f"{(f['labkit']['rss_end'] - f['labkit']['rss_1000']) * mb:7.2f}MB "
              f"{(f['torch']['rss_end'] - f['torch']['rss_1000']) * mb:7.2f}MB   (RSS at 10k: "
              f"{f['labkit']['rss_end'] * mb:.0f} / {f['torch']['rss_end'] * mb:.0f} MB; "
              f"{f['labkit']['seconds']:.1f} s / {f['torch']['seconds']:.1f} s for 10k steps)")


if __name__ == "__main__":
    main()
