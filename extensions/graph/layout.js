// Layered graph layout: a line-by-line port of labkit/viz/layout.py (same steps, same
// tie-breaking, same order of float operations, so both give the same coordinates).  The
// browser uses it to re-layout after a module collapses or a toggle hides nodes, without the
// kernel.  Keep the two files in step; tests/browser/test_jlab_graph.py compares them.

export const NODE_H = 30.0;
export const LAYER_GAP = 40.0;
export const NODE_GAP = 16.0;
const DUMMY_W = 4.0;
const CHAR_W = 6.6;
const MARGIN = 10.0;

export function nodeWidth(label, shapeText = "") {
  const n = Math.max(label.length, shapeText.length);
  return Math.max(48, Math.ceil(n * CHAR_W + 16));
}

export function shapeText(shape) {
  if (shape === null || shape === undefined) return "";
  return shape.length ? shape.join("x") : "scalar";
}

function bitInversions(seq, size) {
  const tree = new Array(size + 1).fill(0);
  let inv = 0, seen = 0;
  for (const v of seq) {
    let i = v + 1, le = 0;
    while (i > 0) { le += tree[i]; i -= i & -i; }
    inv += seen - le;
    i = v + 1;
    while (i <= size) { tree[i] += 1; i += i & -i; }
    seen += 1;
  }
  return inv;
}

function pav(desired, offsets, weights) {
  const blocks = [];   // [mean, weight, count]
  for (let i = 0; i < desired.length; i++) {
    blocks.push([desired[i] - offsets[i], weights[i], 1]);
    while (blocks.length > 1 && blocks[blocks.length - 2][0] > blocks[blocks.length - 1][0]) {
      const [m2, w2, c2] = blocks.pop();
      const [m1, w1, c1] = blocks[blocks.length - 1];
      blocks[blocks.length - 1] = [(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2];
    }
  }
  const ys = [];
  for (const [m, , c] of blocks) for (let k = 0; k < c; k++) ys.push(m);
  return ys.map((y, i) => y + offsets[i]);
}

function pairCmp(a, b) { return a[0] - b[0] || a[1] - b[1]; }

export function layout(ids, edges, widths = {}, opts = {}) {
  const sweeps = opts.sweeps ?? 8, coordPasses = opts.coordPasses ?? 4;
  const nodeH = opts.nodeH ?? NODE_H, layerGap = opts.layerGap ?? LAYER_GAP;
  const nodeGap = opts.nodeGap ?? NODE_GAP;
  const n = ids.length;
  const index = new Map(ids.map((v, i) => [v, i]));
  const w = ids.map((v) => (widths[v] !== undefined ? +widths[v] : 80.0));
  let succ = ids.map(() => []), pred = ids.map(() => []);
  let kept = [];
  const seenE = new Set();
  for (const [s, t] of edges) {
    const a = index.get(s), b = index.get(t);
    if (a === undefined || b === undefined || a === b || seenE.has(a * n + b)) continue;
    seenE.add(a * n + b);
    succ[a].push(b); pred[b].push(a); kept.push([a, b]);
  }
  // 1. topological order
  const indeg = pred.map((p) => p.length);
  const queue = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i);
  const topo = [];
  let qi = 0;
  while (qi < queue.length) {
    const u = queue[qi++];
    topo.push(u);
    for (const v of succ[u]) { indeg[v] -= 1; if (indeg[v] === 0) queue.push(v); }
  }
  if (topo.length < n) {
    const done = new Set(topo);
    for (let i = 0; i < n; i++) if (!done.has(i)) topo.push(i);
    const rank = new Array(n);
    topo.forEach((v, k) => { rank[v] = k; });
    kept = kept.filter(([a, b]) => rank[a] < rank[b]);
    succ = ids.map(() => []); pred = ids.map(() => []);
    for (const [a, b] of kept) { succ[a].push(b); pred[b].push(a); }
  }
  // longest path from the sinks
  const height = new Array(n).fill(0);
  for (let k = topo.length - 1; k >= 0; k--) {
    const u = topo[k];
    let h = 0;
    for (const v of succ[u]) if (height[v] + 1 > h) h = height[v] + 1;
    height[u] = h;
  }
  let top = 0;
  for (const h of height) if (h > top) top = h;
  const layerOf = height.map((h) => top - h);
  const nlayers = n ? top + 1 : 0;
  // 2. dummies
  const vlayer = layerOf.slice(), vw = w.slice();
  const vsucc = ids.map(() => []), vpred = ids.map(() => []);
  const chains = [];
  for (const [a, b] of kept) {
    const span = layerOf[b] - layerOf[a];
    let prev = a;
    const chain = [];
    for (let k = 1; k < span; k++) {
      const d = vlayer.length;
      vlayer.push(layerOf[a] + k); vw.push(DUMMY_W); vsucc.push([]); vpred.push([]);
      vsucc[prev].push(d); vpred[d].push(prev); chain.push(d);
      prev = d;
    }
    vsucc[prev].push(b); vpred[b].push(prev);
    chains.push([a, b, chain]);
  }
  const nv = vlayer.length;
  // initial order: DFS from the sinks through predecessors
  let order = [];
  for (let k = 0; k < nlayers; k++) order.push([]);
  const placed = new Array(nv).fill(false);
  for (let s = 0; s < n; s++) {
    if (succ[s].length) continue;
    const stack = [s];
    while (stack.length) {
      const v = stack.pop();
      if (placed[v]) continue;
      placed[v] = true;
      order[vlayer[v]].push(v);
      for (let j = vpred[v].length - 1; j >= 0; j--) if (!placed[vpred[v][j]]) stack.push(vpred[v][j]);
    }
  }
  for (let v = 0; v < nv; v++) if (!placed[v]) { placed[v] = true; order[vlayer[v]].push(v); }
  // 3. barycenter sweeps
  const pos = new Array(nv).fill(0);
  const setPos = () => { for (const layer of order) layer.forEach((v, i) => { pos[v] = i; }); };
  setPos();
  const crossings = () => {
    let total = 0;
    for (let k = 0; k < nlayers - 1; k++) {
      const pairs = [];
      for (const u of order[k]) for (const v of vsucc[u]) pairs.push([pos[u], pos[v]]);
      pairs.sort(pairCmp);
      total += bitInversions(pairs.map((p) => p[1]), order[k + 1].length);
    }
    return total;
  };
  const reorder = (k, nbrs) => {
    const layer = order[k];
    const keys = layer.map((v, i) => {
      const ns = nbrs[v];
      if (!ns.length) return i;
      let s = 0.0;
      for (const u of ns) s += pos[u];
      return s / ns.length;
    });
    const idx = layer.map((_, i) => i).sort((a, b) => keys[a] - keys[b]);
    order[k] = idx.map((i) => layer[i]);
    order[k].forEach((v, i) => { pos[v] = i; });
  };
  let best = crossings();
  let bestOrder = order.map((l) => l.slice());
  for (let it = 0; it < sweeps; it++) {
    if (best === 0) break;
    for (let k = 1; k < nlayers; k++) reorder(k, vpred);
    for (let k = nlayers - 2; k >= 0; k--) reorder(k, vsucc);
    const c = crossings();
    if (c < best) { best = c; bestOrder = order.map((l) => l.slice()); }
  }
  order = bestOrder;
  setPos();
  // 4. x coordinates
  const x = new Array(nv).fill(0.0);
  const offsets = [];
  for (const layer of order) {
    const offs = [];
    let acc = 0.0, prevW = null;
    for (const v of layer) {
      if (prevW !== null) acc += prevW / 2.0 + vw[v] / 2.0 + nodeGap;
      offs.push(acc);
      prevW = vw[v];
    }
    offsets.push(offs);
    layer.forEach((v, i) => { x[v] = offs[i]; });
  }
  const depth = new Array(nv).fill(0);
  for (const u of topo) {
    let d = -1;
    for (const p of pred[u]) if (depth[p] > d) d = depth[p];
    depth[u] = d + 1;
  }
  for (const [a, , chain] of chains) for (const d of chain) depth[d] = depth[a];
  const mainIn = new Array(nv);
  for (let v = 0; v < nv; v++) {
    let ns = vpred[v];
    if (ns.length > 1) {
      let topD = -Infinity;
      for (const u of ns) if (depth[u] > topD) topD = depth[u];
      ns = ns.filter((u) => depth[u] === topD);
    }
    mainIn[v] = ns;
  }
  const side = new Array(nv).fill(false);
  const vtopo = [];
  for (const layer of order) for (const v of layer) vtopo.push(v);
  const byLayerDesc = vtopo.map((v, i) => [v, i])
    .sort((a, b) => (vlayer[b[0]] - vlayer[a[0]]) || (a[1] - b[1])).map((p) => p[0]);
  for (const u of byLayerDesc) {
    const ss = vsucc[u];
    side[u] = ss.length > 0 && ss.every((v) => side[v] || !mainIn[v].includes(u));
  }
  const place = (k, down) => {
    const layer = order[k];
    const desired = [], weights = [];
    for (const v of layer) {
      weights.push(side[v] ? 1.0 : 8.0);
      const ns = down ? (side[v] ? [] : mainIn[v]) : (side[v] ? vsucc[v] : []);
      if (ns.length) {
        let s = 0.0;
        for (const u of ns) s += x[u];
        desired.push(s / ns.length);
      } else desired.push(x[v]);
    }
    const xs = pav(desired, offsets[k], weights);
    layer.forEach((v, i) => { x[v] = xs[i]; });
  };
  for (let p = 0; p < coordPasses; p++) {
    if (p % 2 === 0) for (let k = 1; k < nlayers; k++) place(k, true);
    else for (let k = nlayers - 2; k >= 0; k--) place(k, false);
  }
  let minx = 0.0, maxx = 0.0, first = true;
  for (let v = 0; v < nv; v++) {
    const lo = x[v] - vw[v] / 2.0, hi = x[v] + vw[v] / 2.0;
    if (first || lo < minx) minx = lo;
    if (first || hi > maxx) maxx = hi;
    first = false;
  }
  const shift = MARGIN - minx;
  const step = nodeH + layerGap;
  const yOf = (l) => MARGIN + nodeH / 2.0 + l * step;
  const nodes = {};
  ids.forEach((v, i) => {
    nodes[v] = { x: x[i] + shift, y: yOf(vlayer[i]), w: vw[i], h: nodeH, layer: vlayer[i], order: pos[i] };
  });
  const outEdges = chains.map(([a, b, chain]) => {
    const pts = [[x[a] + shift, yOf(vlayer[a]) + nodeH / 2.0]];
    for (const d of chain) pts.push([x[d] + shift, yOf(vlayer[d])]);
    pts.push([x[b] + shift, yOf(vlayer[b]) - nodeH / 2.0]);
    return { source: ids[a], target: ids[b], points: pts };
  });
  return {
    nodes, edges: outEdges,
    width: n ? (maxx - minx) + 2 * MARGIN : 2 * MARGIN,
    height: n ? nlayers * step - layerGap + 2 * MARGIN : 2 * MARGIN,
    layers: nlayers, crossings: best, dummies: nv - n,
  };
}

// The graph as drawn (port of visible_graph in labkit/viz/graphview.py).
export function visibleGraph(nodes, edges, collapsed = [], hideLeaves = false, hideNograd = false) {
  const coll = [...new Set(collapsed)].sort((a, b) => {
    const da = a.split(".").length, db = b.split(".").length;
    return da - db || (a < b ? -1 : a > b ? 1 : 0);
  });
  const groupOf = (m) => {
    if (!m) return null;
    for (const p of coll) if (m === p || m.startsWith(p + ".")) return p;
    return null;
  };
  const rep = new Map();
  const vnodes = [];
  const groups = new Map();
  for (const nd of nodes) {
    if (hideLeaves && (nd.kind === "leaf" || nd.kind === "param")) continue;
    if (hideNograd && nd.requires_grad === false) continue;
    const g = groupOf(nd.module || "");
    if (g === null) {
      rep.set(nd.id, nd.id);
      vnodes.push({ id: nd.id, label: nd.label, sub: shapeText(nd.shape), w: nd.w, members: null });
    } else {
      const gid = "g:" + g;
      rep.set(nd.id, gid);
      if (!groups.has(gid)) {
        const gn = { id: gid, label: g, sub: "", w: 0.0, members: [] };
        groups.set(gid, gn);
        vnodes.push(gn);
      }
      groups.get(gid).members.push(nd.id);
    }
  }
  for (const g of groups.values()) {
    g.sub = `${g.members.length} nodes`;
    g.w = nodeWidth(g.label + " [+]", g.sub);
  }
  const vedges = [];
  const seen = new Set();
  for (const e of edges) {
    const a = rep.get(e.source), b = rep.get(e.target);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a + "\u0000" + b;
    if (seen.has(key)) continue;
    seen.add(key);
    vedges.push([a, b]);
  }
  return { vnodes, vedges };
}

// Same packing as pack_layout() in graphview.py (rounded to 2 decimals).
export function packLayout(lay) {
  const r = (v) => Math.round(v * 100) / 100;
  const nodes = {};
  for (const [k, d] of Object.entries(lay.nodes)) nodes[k] = [r(d.x), r(d.y), r(d.w), r(d.h), d.layer];
  return {
    nodes,
    edges: lay.edges.map((e) => [e.source, e.target, ...e.points.flatMap((p) => [r(p[0]), r(p[1])])]),
    width: r(lay.width), height: r(lay.height), crossings: lay.crossings,
  };
}
