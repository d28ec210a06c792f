"""Scaling table: bench_train's workloads at 1, 2, 4 ... threads, labkit and PyTorch side by side.

    .venv/bin/python benchmarks/bench_threads.py                     # 1 and 2 threads here, ~3 min
    .venv/bin/python benchmarks/bench_threads.py --threads 1 2 4 8   # on a bigger machine
    .venv/bin/python benchmarks/bench_threads.py --load 2            # + 2 busy processes

For each thread count, one labkit and one torch worker of ``bench_train.py`` (``--threads N``:
``LABKIT_NUM_THREADS``, ``torch.set_num_threads``, OpenBLAS/OpenMP/MKL variables) take turns on
each case, several rounds, medians -- the same method as ``bench_train.py``.  The table shows the
step times, the ratio labkit/torch, and each library's speed-up over its own one-thread time.

``--load K`` starts K processes that spin on the CPU for the whole run: a laptop in a workshop
runs a browser, a notebook server and a video call next to the training loop, and thread pools
that spin while waiting for a descheduled thread fall apart there.
The results and the policy drawn from them are at the top of ``labkit/kernels/__init__.py``.
"""
import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_train as B  # noqa: E402

CASES = ("mlp64", "mlp512", "lenet64", "transformer", "lstm")


def _spin():
    while True:
        pass


def _workers(threads):
    env = B._env(threads)
    procs = {}
    for lib in ("labkit", "torch"):
        p = subprocess.Popen([sys.executable, B.__file__, "--worker", lib, "--threads",
                              str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env, cwd=B.ROOT)
        assert json.loads(p.stdout.readline())["ready"] == lib
        procs[lib] = p
    return procs


def _ask(p, case, budget):
    p.stdin.write(json.dumps({"case": case, "budget": budget}) + "\n")
    p.stdin.flush()
    line = p.stdout.readline()
    if not line:
        raise RuntimeError(f"a worker died on {case}")
    return json.loads(line)["t"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="*", default=None,
                    help="thread counts (default: 1, 2, 4 ... up to the cores here)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=0.25, help="seconds timed per turn")
    ap.add_argument("--only", nargs="*", default=None, help="cases (default: all)")
    ap.add_argument("--load", type=int, default=0, help="busy processes running alongside")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    counts = args.threads or [t for t in (1, 2, 4, 8, 16, 32) if t <= cores]
    cases = args.only or list(CASES)
    spinners = [mp.Process(target=_spin, daemon=True) for _ in range(args.load)]
    for s in spinners:
        s.start()
    times = {}                                   # (case, threads, lib) -> [seconds]
    try:
        for t in counts:
            procs = _workers(t)
            for r in range(args.rounds):
                for c in cases:
                    for lib in (("labkit", "torch") if r % 2 == 0 else ("torch", "labkit")):
                        times.setdefault((c, t, lib), []).append(_ask(procs[lib], c,
                                                                      args.budget))
                        time.sleep(B.PAUSE)
            for p in procs.values():
                p.stdin.close()
                p.wait()
    finally:
        for s in spinners:
            s.terminate()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nbench_threads: {cores} cores, {args.load} busy processes alongside, "
          f"{args.rounds} rounds, medians; speed-up = own 1-thread time / time")
    head = f"{'case':<13}{'threads':>8}{'labkit':>10}{'torch':>10}{'ratio':>7}"
    print(head + (f"{'labkit x':>10}{'torch x':>9}" if counts[0] == 1 else ""))
    for c in cases:
        for t in counts:
            lk, tt = med[(c, t, "labkit")], med[(c, t, "torch")]
            line = f"{c:<13}{t:>8}{lk * 1e3:8.2f}ms{tt * 1e3:8.2f}ms{lk / tt:7.2f}"
            if counts[0] == 1:
                line += (f"{med[(c, 1, 'labkit')] / lk:10.2f}"
                         f"{med[(c, 1, 'torch')] / tt:9.2f}")
            print(line)


if __name__ == "__main__":
    main()
