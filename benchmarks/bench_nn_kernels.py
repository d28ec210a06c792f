"""nn kernels and workshop models: labkit vs PyTorch (CPU), medians AND minimums, ratios per run.

    .venv/bin/python benchmarks/bench_nn_kernels.py                      # all cases, 1 thread
    .venv/bin/python benchmarks/bench_nn_kernels.py --threads 2          # BLAS/torch on 2 threads
    .venv/bin/python benchmarks/bench_nn_kernels.py --only lenet64 conv1 --rounds 7
    .venv/bin/python benchmarks/bench_nn_kernels.py --profile lenet64    # cProfile labkit

How it measures (shared/docs/performance.md: 2 shared cores, thread pools that fight):
- labkit and torch each run in their own worker process; the workers take turns (one times a case
  while the other waits on a pipe, 50 ms pause between turns, the order alternating per round);
- ``--threads N`` sets OPENBLAS/OMP/MKL_NUM_THREADS for both workers and torch.set_num_threads(N),
  so both libraries use the same number of BLAS threads (labkit's Numba kernels are serial);
- a turn runs the case 3 times untimed, then times single calls for ``--budget`` seconds (at least
  5) and reports their median and minimum; over the rounds the table shows the median of the
  medians, the minimum of the minimums, and two ratios labkit/torch: the median of the per-round
  median ratios and the ratio of the minimums (the machine is shared: the minimum is the figure
  least disturbed by other people's jobs);
- models start from the same weights (labkit's, copied with labkit.interop.to_torch) and get the
  same batch; a training step is zero_grad + forward + loss + backward + optimizer step.
Cases: the issue #3 training steps (mlp64, mlp512, lenet64, transformer, lstm) and the LeNet layers
one by one (conv1, pool1, conv2, pool2: forward + backward of that layer alone).
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

CASES = {
    "mlp64": ("MLP 784-256-256-10 ReLU, CE, SGD step, B=64", 0.8),
    "mlp512": ("MLP 784-256-256-10 ReLU, CE, SGD step, B=512", 0.8),
    "lenet64": ("LeNet CNN 28x28, CE, SGD(momentum) step, B=64", 1.0),
    "transformer": ("Transformer block E=64 H=2 T=64 B=32 causal fwd+bwd", 1.0),
    "lstm": ("LSTM in=64 hidden=128 T=32 B=32 fwd+bwd", 1.0),
    "conv1": ("  conv2d 1->6 k5 p2, 64x1x28x28, fwd+bwd (no input grad)", None),
    "pool1": ("  max_pool2d 2, 64x6x28x28, fwd+bwd", None),
    "conv2": ("  conv2d 6->16 k5, 64x6x14x14, fwd+bwd", None),
    "pool2": ("  max_pool2d 2, 64x16x10x10, fwd+bwd", None),
}


def build(lib, case):
    """A zero-argument callable running ``case`` once with ``lib`` ('labkit' or 'torch')."""
    import numpy as np
    import labkit
    import labkit.interop
    ln = labkit.nn
    if lib == "torch":
        import torch
        F = torch.nn.functional
        to = labkit.interop.to_torch
        T = torch.from_numpy
    else:
        torch = labkit
        F = labkit.nn.functional
        to = (lambda m: m)
        T = labkit.tensor
    rng = np.random.default_rng(0)
    labkit.manual_seed(0)

    def train_step(model, x, y, **kw):
        opt = torch.optim.SGD(model.parameters(), lr=0.01, **kw)

        def step():
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return step

    if case in ("mlp64", "mlp512"):
        B = 64 if case == "mlp64" else 512
        model = to(ln.Sequential(ln.Linear(784, 256), ln.ReLU(), ln.Linear(256, 256), ln.ReLU(),
                                 ln.Linear(256, 10)))
        return train_step(model, T(rng.standard_normal((B, 784), dtype=np.float32)),
                          T(rng.integers(0, 10, B)))
    if case == "lenet64":
        model = to(ln.Sequential(
            ln.Conv2d(1, 6, 5, padding=2), ln.ReLU(), ln.MaxPool2d(2),
            ln.Conv2d(6, 16, 5), ln.ReLU(), ln.MaxPool2d(2), ln.Flatten(),
            ln.Linear(16 * 5 * 5, 120), ln.ReLU(), ln.Linear(120, 84), ln.ReLU(),
            ln.Linear(84, 10)))
        return train_step(model, T(rng.standard_normal((64, 1, 28, 28), dtype=np.float32)),
                          T(rng.integers(0, 10, 64)), momentum=0.9)
    if case == "transformer":
        E, H, L, B = 64, 2, 64, 32
        block = to(ln.TransformerEncoderLayer(E, H, dim_feedforward=4 * E, dropout=0.0,
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
        rnn = to(ln.LSTM(I, Hd, batch_first=True))
        x = T(rng.standard_normal((B, L, I), dtype=np.float32)).requires_grad_()
        w = T(rng.standard_normal((B, L, Hd), dtype=np.float32))

        def step():
            rnn.zero_grad()
            x.grad = None
            ((rnn(x)[0] * w).sum()).backward()
        return step
    # single layers, forward + backward of a weighted sum
    if case in ("conv1", "conv2"):
        C, OC, S, p = (1, 6, 28, 2) if case == "conv1" else (6, 16, 14, 0)
        layer = to(ln.Conv2d(C, OC, 5, padding=p))
        x = T(rng.standard_normal((64, C, S, S), dtype=np.float32))
        if case == "conv2":
            x.requires_grad_()
        OS = S + 2 * p - 4
        w = T(rng.standard_normal((64, OC, OS, OS), dtype=np.float32))

        def step():
            layer.zero_grad()
            x.grad = None
            (layer(x) * w).sum().backward()
        return step
    if case in ("pool1", "pool2"):
        C, S = (6, 28) if case == "pool1" else (16, 10)
        x = T(rng.standard_normal((64, C, S, S), dtype=np.float32)).requires_grad_()
        w = T(rng.standard_normal((64, C, S // 2, S // 2), dtype=np.float32))

        def step():
            x.grad = None
            (F.max_pool2d(x, 2) * w).sum().backward()
        return step
    raise KeyError(case)


def worker(lib, threads):
    import labkit  # noqa: F401  (numba-free import; the torch worker imports torch after it)
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
    steps = {}
    print(json.dumps({"ready": lib}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        case = req["case"]
        if case not in steps:
            steps[case] = build(lib, case)
        med, mn, _ = time_calls(steps[case], req["budget"])
        print(json.dumps({"med": med, "min": mn}), flush=True)


def profile(case, n=50, top=30):
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
    print(f"\n=== cProfile, labkit, {case}, {n} calls (divide by {n})")
    pstats.Stats(pr).sort_stats("tottime").print_stats(top)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (both)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=0.3, help="seconds timed per turn")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--profile", nargs="*", default=None, help="cProfile labkit on these cases")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    t = str(args.threads)
    if args.worker:
        return worker(args.worker, args.threads)
    os.environ.update(OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t, MKL_NUM_THREADS=t)
    if args.profile is not None:
        # BLAS reads the variables at import: profile in a child with them set
        if os.environ.get("_BENCH_NN_CHILD"):
            for c in args.profile or ["lenet64"]:
                profile(c)
            return
        env = {**os.environ, "_BENCH_NN_CHILD": "1", "PYTHONPATH": ROOT}
        return subprocess.run([sys.executable] + sys.argv, env=env, cwd=ROOT).returncode
    cases = args.only or list(CASES)
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = {}
    for lib in ("labkit", "torch"):
        p = subprocess.Popen([sys.executable, __file__, "--worker", lib, "--threads", t],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                             cwd=ROOT)
        assert json.loads(p.stdout.readline())["ready"] == lib
        procs[lib] = p

    def ask(lib, case):
        p = procs[lib]
        p.stdin.write(json.dumps({"case": case, "budget": args.budget}) + "\n")
        p.stdin.flush()
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"the {lib} worker died on {case}")
        return json.loads(line)

    load0 = os.getloadavg()[0]
    res = {c: {"labkit": [], "torch": [], "ratio": []} for c in cases}
    for r in range(args.rounds):
        for c in cases:
            got = {}
            for lib in (("labkit", "torch") if r % 2 == 0 else ("torch", "labkit")):
                got[lib] = ask(lib, c)
                res[c][lib].append(got[lib])
                time.sleep(0.05)
            res[c]["ratio"].append(got["labkit"]["med"] / got["torch"]["med"])
    for p in procs.values():
        p.stdin.close()
        p.wait()
    print(f"\nbench_nn_kernels: threads={t}, {args.rounds} rounds, load average "
          f"{load0:.1f} -> {os.getloadavg()[0]:.1f}; times in ms, median / min; ratio = "
          f"labkit/torch (median of per-round ratios, ratio of minimums)")
    print(f"{'case':<58} {'labkit':>15} {'torch':>15} {'ratio':>11} target")
    for c in cases:
        desc, target = CASES[c]
        row = []
        for lib in ("labkit", "torch"):
            row.append((statistics.median(x["med"] for x in res[c][lib]),
                        min(x["min"] for x in res[c][lib])))
        rmed = statistics.median(res[c]["ratio"])
        rmin = row[0][1] / row[1][1]
        ok = "" if target is None else (f"<= {target} " + ("yes" if rmin <= target else "NO"))
        print(f"{desc:<58} {row[0][0] * 1e3:7.2f}/{row[0][1] * 1e3:6.2f} "
              f"{row[1][0] * 1e3:7.2f}/{row[1][1] * 1e3:6.2f} {rmed:5.2f}/{rmin:5.2f} {ok}")


if __name__ == "__main__":
    main()
