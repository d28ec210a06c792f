"""Widget overhead benchmarks (issue #4): Monitor and watch on the workshop MLP loop, messages per
second under a 10,000-step loop, and graph layout time for 200 and 2,000 nodes.

    .venv/bin/python benchmarks/bench_viz.py [--steps 3000]

Run outside a notebook the widgets have no front-end, but everything the kernel does (throttling,
serialisation, hook work, comm messages through ipywidgets' no-op comm) still happens, which is
exactly the overhead being measured.  Loops are interleaved (plain, monitor, watch, plain, ...)
and the median of several rounds is reported, so machine noise hits all variants alike.
First paint of the graph view in Chromium is measured by tests/browser/test_jlab_graph.py and
written to $LABKIT_ARTIFACTS/browser/graph_timings.json.
"""
import argparse
import statistics
import time

import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader


def mlp_loop(steps, monitor=None, watch_model=None):
    lk.manual_seed(0)
    data = lk.datasets.spirals(n_samples=512, n_classes=3, seed=0)
    model = watch_model if watch_model is not None else nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    opt = lk.optim.SGD(model.parameters(), lr=0.05)
    loader = DataLoader(data, batch_size=32, shuffle=True)
    it = iter(())
    t0 = time.perf_counter()
    for step in range(steps):
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(loader)
            xb, yb = next(it)
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if monitor is not None:
            monitor.log(loss=loss.item())
    return time.perf_counter() - t0


def make_mlp():
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    mlp_loop(50)                                        # warm caches
    times = {"plain": [], "monitor": [], "watch(every=10)": []}
    for _ in range(args.rounds):
        times["plain"].append(mlp_loop(args.steps))
        mon = lk.viz.Monitor("bench")
        times["monitor"].append(mlp_loop(args.steps, monitor=mon))
        mon.close()
        m = make_mlp()
        w = lk.viz.watch(m, every=10)
        times["watch(every=10)"].append(mlp_loop(args.steps, watch_model=m))
        w.remove()
    base = statistics.median(times["plain"])
    print(f"workshop MLP (2-64-64-3, batch 32, SGD), {args.steps} steps, median of {args.rounds}")
    print(f"{'variant':<18}{'ms/step':>10}{'vs plain':>10}")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"{k:<18}{m / args.steps * 1e3:>10.3f}{m / base:>10.3f}")

    mon = lk.viz.Monitor("flood")
    t0 = time.perf_counter()
    for i in range(10_000):
        mon.log(loss=1.0 / (i + 1))
    el = time.perf_counter() - t0
    mon.close()
    print(f"\n10,000 log() calls in a tight loop: {el * 1e3:.1f} ms ({el / 1e4 * 1e6:.2f} us/call), "
          f"{mon.messages_sent} messages sent ({mon.messages_sent / el:.1f}/s; limit 10/s)")
    mon = lk.viz.Monitor("paced")
    t0 = time.perf_counter()
    for i in range(10_000):
        mon.log(loss=1.0 / (i + 1))
        t_end = time.perf_counter() + 0.0002            # ~0.2 ms of "training" per step
        while time.perf_counter() < t_end:
            pass
    el = time.perf_counter() - t0
    mon.close()
    print(f"10,000 steps of ~0.2 ms: {el:.2f} s, {mon.messages_sent} messages "
          f"({mon.messages_sent / el:.1f}/s)")

    from labkit.viz.graphview import graph
    for width, depth in ((4, 50), (4, 500)):        # ~200 and ~2,000 nodes
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(width, width), nn.Tanh()]
        model = nn.Sequential(*layers)
        x = lk.randn(8, width)
        loss = model(x).pow(2).mean()
        loss.backward()
        n_nodes = len(lk.graph.trace(loss, params=model)["nodes"])
        t0 = time.perf_counter()
        graph(loss, params=model)
        print(f"graph view, {n_nodes:>5} nodes: trace + modules + layout + widget state "
              f"{(time.perf_counter() - t0) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
