"""Widget overhead benchmarks (issues #4, #13): Monitor, watch, activations and a live tensor view
on the workshop MLP loop; the attention viewer on a small attention model; the embedding view on
an embedding model; messages per second under a 10,000-step loop; graph view build time for 200
and 2,000 nodes.  Every variant runs at its default settings; the target is <= 5% over plain.

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


def mlp_loop(steps, monitor=None, watch_model=None, each_step=None):
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
        if each_step is not None:
            each_step(model)
    return time.perf_counter() - t0


class AttnModel(nn.Module):
    """A one-layer self-attention regressor over sequences of 8 tokens."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        h = self.attn(x, x, x, need_weights=True, average_attn_weights=False)[0]
        return self.head(h).mean(dim=1)


class EmbModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.head = nn.Linear(16, 1)

    def forward(self, idx):
        return self.head(self.emb(idx).mean(dim=1))


def seq_loop(model, make_x, steps):
    lk.manual_seed(0)
    opt = lk.optim.SGD(model.parameters(), lr=0.01)
    x, y = make_x(), lk.randn(32, 1)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def table(title, times, steps):
    base = statistics.median(times["plain"])
    print(title)
    print(f"{'variant':<30}{'ms/step':>10}{'vs plain':>10}")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"{k:<30}{m / steps * 1e3:>10.3f}{m / base:>10.3f}")


def make_mlp():
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    mlp_loop(50)                                        # warm caches
    times = {"plain": [], "monitor": [], "watch(every=10)": [], "activations(every=10)": [],
             "show(W0) + update every step": []}
    for _ in range(args.rounds):
        times["plain"].append(mlp_loop(args.steps))
        mon = lk.viz.Monitor("bench")
        times["monitor"].append(mlp_loop(args.steps, monitor=mon))
        mon.close()
        m = make_mlp()
        w = lk.viz.watch(m, every=10)
        times["watch(every=10)"].append(mlp_loop(args.steps, watch_model=m))
        w.remove()
        m = make_mlp()
        a = lk.viz.activations(m)
        times["activations(every=10)"].append(mlp_loop(args.steps, watch_model=m))
        a.close()
        m = make_mlp()
        v = lk.viz.show(m[0].weight)
        times["show(W0) + update every step"].append(
            mlp_loop(args.steps, watch_model=m, each_step=lambda mm: v.update(mm[0].weight)))
        v.close()
    table(f"workshop MLP (2-64-64-3, batch 32, SGD), {args.steps} steps, median of {args.rounds}",
          times, args.steps)

    steps = max(200, args.steps // 5)
    seq = lambda: lk.randn(32, 8, 16)                           # noqa: E731
    idx = lambda: lk.randint(0, 50, (32, 8))                    # noqa: E731
    seq_loop(AttnModel(), seq, 20)
    times = {"plain": [], "attention(model)": []}
    etimes = {"plain": [], "embeddings(emb)": []}
    for _ in range(args.rounds):
        times["plain"].append(seq_loop(AttnModel(), seq, steps))
        m = AttnModel()
        view = lk.viz.attention(m)
        times["attention(model)"].append(seq_loop(m, seq, steps))
        view.close()
        etimes["plain"].append(seq_loop(EmbModel(), idx, steps))
        m = EmbModel()
        view = lk.viz.embeddings(m.emb)
        etimes["embeddings(emb)"].append(seq_loop(m, idx, steps))
        view.close()
    print()
    table(f"self-attention (batch 32, 8 tokens, 16 dims, 2 heads), {steps} steps", times, steps)
    print()
    table(f"embedding model (50 x 16, batch 32 x 8), {steps} steps", etimes, steps)

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
