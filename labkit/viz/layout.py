"""Layered (Sugiyama-style) graph layout in pure Python: no Graphviz, no system binary.

``layout(ids, edges, widths=None)`` places the nodes of a directed acyclic graph in layers so
that every edge points down, in four deterministic steps:

1. **Layering** by longest path, counted from the sinks: a node sits one layer above the highest
   of its consumers.  Every edge ``u -> v`` therefore goes down one or more layers, the graph's
   result (the loss) is at the bottom and each parameter sits right above the op that uses it
   (not at the very top, where a plain longest-path-from-sources layering would put it).
2. **Dummy nodes** split edges that span several layers, so they can be routed between nodes.
3. **Crossing reduction**: barycenter sweeps, down then up, ``sweeps`` times; ties keep the
   current order (stable sort), the ordering with the fewest crossings is kept.  Crossings are
   counted exactly (inversions, with a Fenwick tree).
4. **Coordinates**: each layer is pulled towards the mean x of its neighbours in the layer just
   placed, then made non-overlapping with the least total squared displacement (pool adjacent
   violators, an exact isotonic regression), alternately down and up.

This is the only implementation: the browser draws the layouts computed here (shipped in the widget
state for the standard views, or sent by the kernel for a view made by hand; see graphview).

Everything is deterministic: the result depends only on the order of ``ids`` and ``edges``.
"""
import math

__all__ = ["layout", "count_crossings", "node_width", "NODE_H", "LAYER_GAP", "NODE_GAP"]

NODE_H = 30.0          # node box height (two text lines)
LAYER_GAP = 40.0       # vertical gap between layers
NODE_GAP = 16.0        # minimum horizontal gap between boxes in a layer
DUMMY_W = 4.0          # width reserved for an edge passing through a layer
CHAR_W = 6.6           # width of one character of the 11px label font (estimate)
MARGIN = 10.0


def node_width(label, shape_text=""):
    """Box width for a node label ."""
    n = max(len(label), len(shape_text))
    return float(max(48, math.ceil(n * CHAR_W + 16)))


def _bit_inversions(seq, size):
    """Number of pairs i < j with seq[i] > seq[j] (Fenwick tree, O(n log size))."""
    tree = [0] * (size + 1)
    inv = 0
    seen = 0
    for v in seq:
        # count elements already seen that are > v  =  seen - (elements <= v)
        i = v + 1
        le = 0
        while i > 0:
            le += tree[i]
            i -= i & -i
        inv += seen - le
        i = v + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
        seen += 1
    return inv


def _crossings_between(upper, lower, pos, succ):
    pairs = []
    for u in upper:
        pu = pos[u]
        for v in succ[u]:
            if v in lower:
                pairs.append((pu, pos[v]))
    pairs.sort()
    return _bit_inversions([p[1] for p in pairs], len(lower))


def count_crossings(order, succ):
    """Edge crossings of a layered ordering (``order``: list of layers, each a list of vertices)."""
    pos = {}
    for layer in order:
        for i, v in enumerate(layer):
            pos[v] = i
    total = 0
    for k in range(len(order) - 1):
        lower = set(order[k + 1])
        total += _crossings_between(order[k], lower, pos, succ)
    return total


def _pav(desired, offsets, weights):
    """x_i >= x_{i-1} + (offsets_i - offsets_{i-1}) with least sum w_i (x_i - desired_i)^2."""
    # substitute y_i = x_i - offsets_i: y must be non-decreasing -> isotonic regression
    blocks = []                       # [weighted mean, weight, count]
    for d, o, wt in zip(desired, offsets, weights):
        blocks.append([d - o, wt, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks[-1]
            blocks[-1] = [(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2]
    ys = []
    for m, w, c in blocks:
        ys.extend([m] * c)
    return [y + o for y, o in zip(ys, offsets)]


def layout(ids, edges, widths=None, sweeps=8, coord_passes=4, node_h=NODE_H,
           layer_gap=LAYER_GAP, node_gap=NODE_GAP):
    """Lay out a DAG.

    Args:
        ids: node ids (strings), in a stable order.
        edges: ``(source, target)`` pairs (forward direction: source is computed first).
            Edges to unknown ids, self loops and duplicates are ignored.
        widths: ``{id: box width}``; default 80.

    Returns a JSON-ready dict: ``{"nodes": {id: {"x", "y", "w", "h", "layer", "order"}},
    "edges": [{"source", "target", "points": [[x, y], ...]}], "width", "height", "layers",
    "crossings", "dummies"}``; ``x, y`` is the box centre; edge points run from the bottom of the
    source box, through the dummy nodes, to the top of the target box.
    """
    n = len(ids)
    index = {v: i for i, v in enumerate(ids)}
    widths = widths or {}
    w = [float(widths.get(v, 80.0)) for v in ids]
    succ = [[] for _ in range(n)]
    pred = [[] for _ in range(n)]
    kept = []
    seen_e = set()
    for s, t in edges:
        a, b = index.get(s), index.get(t)
        if a is None or b is None or a == b or (a, b) in seen_e:
            continue
        seen_e.add((a, b))
        succ[a].append(b)
        pred[b].append(a)
        kept.append((a, b))

    # ---- 1. topological order (Kahn, ids order breaks ties); cycles: leftovers appended
    indeg = [len(p) for p in pred]
    queue = [i for i in range(n) if indeg[i] == 0]
    topo = []
    qi = 0
    while qi < len(queue):
        u = queue[qi]
        qi += 1
        topo.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                queue.append(v)
    if len(topo) < n:                       # not a DAG: drop edges that point backwards
        done = set(topo)
        topo.extend(i for i in range(n) if i not in done)
        rank = {v: k for k, v in enumerate(topo)}
        kept = [(a, b) for a, b in kept if rank[a] < rank[b]]
        succ = [[] for _ in range(n)]
        pred = [[] for _ in range(n)]
        for a, b in kept:
            succ[a].append(b)
            pred[b].append(a)

    # ---- longest path from the sinks
    height = [0] * n
    for u in reversed(topo):
        h = 0
        for v in succ[u]:
            if height[v] + 1 > h:
                h = height[v] + 1
        height[u] = h
    top = max(height) if n else 0
    layer_of = [top - h for h in height]
    nlayers = top + 1 if n else 0

    # ---- 2. dummy nodes: vertices n.. ; each long edge becomes a chain
    vlayer = list(layer_of)
    vw = list(w)
    vsucc = [[] for _ in range(n)]
    vpred = [[] for _ in range(n)]
    chains = []                              # (a, b, [dummy vertices])
    for a, b in kept:
        span = layer_of[b] - layer_of[a]
        prev = a
        chain = []
        for k in range(1, span):
            d = len(vlayer)
            vlayer.append(layer_of[a] + k)
            vw.append(DUMMY_W)
            vsucc.append([])
            vpred.append([])
            vsucc[prev].append(d)
            vpred[d].append(prev)
            chain.append(d)
            prev = d
        vsucc[prev].append(b)
        vpred[b].append(prev)
        chains.append((a, b, chain))
    nv = len(vlayer)

    # ---- initial order: DFS from the sinks (ids order), upwards through predecessors,
    #      so that a node's inputs are placed next to each other
    order = [[] for _ in range(nlayers)]
    placed = [False] * nv
    sinks = [i for i in range(n) if not succ[i]]
    for s in sinks:
        stack = [s]
        while stack:
            v = stack.pop()
            if placed[v]:
                continue
            placed[v] = True
            order[vlayer[v]].append(v)
            for p in reversed(vpred[v]):
                if not placed[p]:
                    stack.append(p)
    for v in range(nv):                      # anything unreachable from a sink (cycles)
        if not placed[v]:
            placed[v] = True
            order[vlayer[v]].append(v)

    # ---- 3. barycenter sweeps
    pos = [0] * nv
    for layer in order:
        for i, v in enumerate(layer):
            pos[v] = i

    def crossings():
        total = 0
        for k in range(nlayers - 1):
            pairs = []
            for u in order[k]:
                pu = pos[u]
                for v in vsucc[u]:
                    pairs.append((pu, pos[v]))
            pairs.sort()
            total += _bit_inversions([p[1] for p in pairs], len(order[k + 1]))
        return total

    def reorder(k, nbrs):
        layer = order[k]
        keys = []
        for i, v in enumerate(layer):
            ns = nbrs[v]
            if ns:
                s = 0.0
                for u in ns:
                    s += pos[u]
                keys.append(s / len(ns))
            else:
                keys.append(float(i))
        idx = sorted(range(len(layer)), key=lambda i: keys[i])
        order[k] = [layer[i] for i in idx]
        for i, v in enumerate(order[k]):
            pos[v] = i

    best = crossings()
    best_order = [list(l) for l in order]
    for _ in range(sweeps):
        if best == 0:
            break
        for k in range(1, nlayers):
            reorder(k, vpred)
        for k in range(nlayers - 2, -1, -1):
            reorder(k, vsucc)
        c = crossings()
        if c < best:
            best = c
            best_order = [list(l) for l in order]
    order = best_order
    for layer in order:
        for i, v in enumerate(layer):
            pos[v] = i

    # ---- 4. x coordinates
    x = [0.0] * nv
    offsets = []
    for layer in order:
        offs = []
        acc = 0.0
        prev_w = None
        for v in layer:
            if prev_w is not None:
                acc += prev_w / 2.0 + vw[v] / 2.0 + node_gap
            offs.append(acc)
            prev_w = vw[v]
        offsets.append(offs)
        for v, o in zip(layer, offs):
            x[v] = o

    # Each node's *main* inputs are those with the longest path from the sources (a dummy counts
    # as its edge's source).  A node is a *side* node when it only feeds other nodes as a
    # non-main input, directly or through other side nodes: a parameter, its W.t(), the dummies
    # of a skip connection.  The downward pass lines the main chain up under its main inputs;
    # the upward pass hangs each side node beside the node it feeds.  So parameters sit next
    # to the op that uses them instead of pulling the chain below it sideways.
    depth = [0] * nv
    for u in topo:
        d = -1
        for p in pred[u]:
            if depth[p] > d:
                d = depth[p]
        depth[u] = d + 1
    for a, b, chain in chains:
        for d in chain:
            depth[d] = depth[a]
    main_in = [None] * nv
    for v in range(nv):
        ns = vpred[v]
        if len(ns) > 1:
            top_d = max(depth[u] for u in ns)
            ns = [u for u in ns if depth[u] == top_d]
        main_in[v] = ns
    side = [False] * nv
    vtopo = []                                   # vertices in topological order (by layer)
    for layer in order:
        vtopo.extend(layer)
    for u in sorted(vtopo, key=lambda v: -vlayer[v]):
        ss = vsucc[u]
        side[u] = bool(ss) and all(side[v] or u not in main_in[v] for v in ss)

    def place(k, down):
        layer = order[k]
        desired = []
        weights = []
        for v in layer:
            # the nodes that move in this pass give way to the ones that stay (weight 1 vs 8)
            weights.append(1.0 if side[v] else 8.0)
            ns = (main_in[v] if not side[v] else ()) if down else (vsucc[v] if side[v] else ())
            if ns:
                s = 0.0
                for u in ns:
                    s += x[u]
                desired.append(s / len(ns))
            else:
                desired.append(x[v])
        xs = _pav(desired, offsets[k], weights)
        for v, xv in zip(layer, xs):
            x[v] = xv

    for p in range(coord_passes):
        if p % 2 == 0:
            for k in range(1, nlayers):
                place(k, True)
        else:
            for k in range(nlayers - 2, -1, -1):
                place(k, False)

    minx = 0.0
    maxx = 0.0
    first = True
    for v in range(nv):
        lo = x[v] - vw[v] / 2.0
        hi = x[v] + vw[v] / 2.0
        if first or lo < minx:
            minx = lo
        if first or hi > maxx:
            maxx = hi
        first = False
    shift = MARGIN - minx
    step = node_h + layer_gap

    def y_of(layer):
        return MARGIN + node_h / 2.0 + layer * step

    nodes = {}
    for i, v in enumerate(ids):
        nodes[v] = {"x": x[i] + shift, "y": y_of(vlayer[i]), "w": vw[i], "h": node_h,
                    "layer": vlayer[i], "order": pos[i]}
    out_edges = []
    for a, b, chain in chains:
        pts = [[x[a] + shift, y_of(vlayer[a]) + node_h / 2.0]]
        for d in chain:
            pts.append([x[d] + shift, y_of(vlayer[d])])
        pts.append([x[b] + shift, y_of(vlayer[b]) - node_h / 2.0])
        out_edges.append({"source": ids[a], "target": ids[b], "points": pts})
    return {"nodes": nodes, "edges": out_edges,
            "width": (maxx - minx) + 2 * MARGIN if n else 2 * MARGIN,
            "height": nlayers * step - layer_gap + 2 * MARGIN if n else 2 * MARGIN,
            "layers": nlayers, "crossings": best, "dummies": nv - n}
