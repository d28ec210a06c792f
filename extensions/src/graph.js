// labkit graph view (anywidget front-end).  Selection, pan/zoom and export run in the browser
// alone.  The layout has one home, Python (labkit/viz/layout.py): the widget state carries the
// layouts of the usual views (each depth of module collapsing, with and without leaves); any
// other view (one module collapsed by hand) is asked of the kernel and cached.
import { hideFallback } from "./fallback.js";
import { GraphCanvas, KIND_FILL, CHECK_FILL, ERROR_FILL, gradColor, isDark, esc, fmt, statsHTML, sourceHTML, download } from "./render.js";

function sameView(a, b) {
  return a.hide_leaves === b.hide_leaves && a.hide_nograd === b.hide_nograd &&
    JSON.stringify([...a.collapsed].sort()) === JSON.stringify([...b.collapsed].sort());
}

// Same key as labkit.viz.graphview.view_key.
export function viewKey(view) {
  return (view.hide_leaves ? "L" : "-") + (view.hide_nograd ? "N" : "-") + "|" + [...view.collapsed].sort().join(",");
}

function render({ model, el }) {
  const unhide = hideFallback(model);
  const t0 = performance.now();
  const data = model.get("data") || { nodes: [], edges: [], modules: [], view: { collapsed: [] }, layout: { nodes: {}, edges: [] } };
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const initialView = { collapsed: data.view?.collapsed || [], hide_leaves: !!data.view?.hide_leaves, hide_nograd: !!data.view?.hide_nograd };
  const view = { collapsed: new Set(initialView.collapsed), hide_leaves: initialView.hide_leaves, hide_nograd: initialView.hide_nograd };
  let colorBy = model.get("color_by") || "grad";
  let selected = null;
  let current = null;   // {vnodes, vedges, layout, source}

  // gradient colour scale over all nodes (log10 of the norm)
  const norms = new Map();
  for (const n of data.nodes) if (n.grad && typeof n.grad.norm === "number") norms.set(n.id, n.grad.norm);
  const logs = [...norms.values()].filter((v) => v > 0 && isFinite(v)).map(Math.log10);
  const lo = logs.length ? Math.min(...logs) : 0, hi = logs.length ? Math.max(...logs) : 0;

  // ---- DOM ----------------------------------------------------------------------------------
  const root = document.createElement("div");
  root.className = "labkit-graph";
  root.dataset.title = model.get("title") || "";
  const bar = document.createElement("div");
  bar.className = "labkit-graph-toolbar";
  const title = model.get("title");
  bar.innerHTML = `
    ${title ? `<b class="lk-title">${esc(title)}</b>` : ""}
    <span class="lk-count"></span>
    <button data-act="fit" title="show the whole graph">Fit</button>
    <button data-act="zin" title="zoom in">+</button><button data-act="zout" title="zoom out">&minus;</button>
    <label title="colour nodes by the norm of their gradient (log scale)"><input type="checkbox" data-opt="grad"> colour by grad</label>
    <label class="lk-checkopt" title="colour op nodes by gradcheck: green = the backward rule agrees with finite differences, amber = at a non-differentiable point, red = wrong"><input type="checkbox" data-opt="check"> gradcheck</label>
    <label title="hide leaf tensors and parameters"><input type="checkbox" data-opt="leaves"> hide leaves</label>
    <label title="hide inputs that need no gradient"><input type="checkbox" data-opt="nograd"> hide no-grad</label>
    <details class="lk-modules"><summary>modules</summary><div class="lk-modlist"></div></details>
    <button data-act="svg" title="download the current view as SVG">SVG</button>
    <button data-act="png" title="download the current view as PNG">PNG</button>
    <span class="lk-legend"></span>`;
  const body = document.createElement("div");
  body.className = "labkit-graph-body";
  const main = document.createElement("div");
  main.className = "labkit-graph-main";
  const panel = document.createElement("div");
  panel.className = "labkit-graph-panel";
  panel.innerHTML = `<div class="lk-hint">Click a node for its value and gradient. Drag to pan, wheel to zoom; double-click a module to expand it.</div>`;
  body.append(main, panel);
  root.append(bar, body);
  el.appendChild(root);

  const canvas = new GraphCanvas(main, {
    height: model.get("height") || 520,
    onSelect: (id) => select(id),
    onDblClick: (id) => {
      if (id.startsWith("g:")) { expandGroup(id); update(); }
    },
  });

  const checks = data.nodes.filter((n) => n.check);
  const syncColorChecks = () => {
    bar.querySelector('[data-opt="grad"]').checked = colorBy === "grad";
    bar.querySelector('[data-opt="check"]').checked = colorBy === "check";
    updateLegend();
  };
  syncColorChecks();
  if (!checks.length) bar.querySelector(".lk-checkopt").style.display = "none";
  else {
    const count = (st) => checks.filter((n) => n.check.status === st).length;
    root.dataset.checkFail = String(count("fail"));
    bar.querySelector(".lk-checkopt").title += ` (${count("ok")} ok, ${count("kink")} at kinks, ${count("fail")} wrong)`;
  }
  bar.querySelector('[data-opt="leaves"]').checked = view.hide_leaves;
  bar.querySelector('[data-opt="nograd"]').checked = view.hide_nograd;
  if (!data.nodes.some((n) => n.requires_grad === false)) bar.querySelector('[data-opt="nograd"]').parentElement.style.display = "none";
  function updateLegend() {
    const sw = (st, text) => `<span class="lk-swatch" style="background:${CHECK_FILL[st]}"></span><span>${text}</span>`;
    bar.querySelector(".lk-legend").innerHTML =
      colorBy === "check" ? `<span>gradcheck</span>${sw("ok", "ok")}${sw("kink", "at a kink")}${sw("fail", "wrong")}`
      : colorBy === "grad" && logs.length ? `<span>|grad| ${fmt(10 ** lo)}</span><span class="lk-ramp"></span><span>${fmt(10 ** hi)}</span>`
      : "";
  }

  // module list
  const modlist = bar.querySelector(".lk-modlist");
  const mods = data.modules || [];
  if (!mods.length) bar.querySelector(".lk-modules").style.display = "none";
  const maxDepth = mods.reduce((a, m) => Math.max(a, m.depth), -1);
  modlist.innerHTML = `<div><button data-act="collapse-top">collapse top level</button> <button data-act="expand-all">expand all</button></div>` +
    mods.map((m) => `<label style="padding-left:${m.depth * 12}px"><input type="checkbox" data-mod="${esc(m.path)}"> ${esc(m.path)} <small>(${m.count})</small></label>`).join("");
  // depth control: show modules down to depth d, each deeper one collapsed (d = all: expanded)
  const depthSel = document.createElement("label");
  depthSel.className = "lk-depth";
  depthSel.title = "how deep to open module blocks";
  depthSel.innerHTML = `depth <select data-opt="depth"><option value="all">all</option>` +
    Array.from({ length: maxDepth + 1 }, (_, d) => `<option value="${d}">${d}</option>`).join("") + `</select>`;
  if (maxDepth >= 0) bar.insertBefore(depthSel, bar.querySelector(".lk-modules"));
  const depthCollapsed = (d) => mods.filter((m) => m.depth === d).map((m) => m.path);
  const syncDepth = () => {
    const cur = [...view.collapsed].sort().join(",");
    let val = "";
    if (!cur) val = "all";
    for (let d = 0; d <= maxDepth; d++) if (depthCollapsed(d).sort().join(",") === cur) val = String(d);
    depthSel.querySelector("select").value = val;
  };
  const syncModChecks = () => {
    for (const cb of modlist.querySelectorAll("input[data-mod]")) cb.checked = view.collapsed.has(cb.dataset.mod);
  };

  // ---- scene --------------------------------------------------------------------------------
  function nodeStyle(v) {
    if (v.members) {
      let best = null;
      for (const m of v.members) { const g = norms.get(m); if (g !== undefined && (best === null || g > best)) best = g; }
      let fill = colorBy === "grad" && best !== null ? gradColor(best, lo, hi) : KIND_FILL.group;
      if (colorBy === "check") {      // a module shows its worst member
        const sts = v.members.map((m) => byId.get(m)?.check?.status);
        const worst = ["fail", "kink", "ok"].find((st) => sts.includes(st));
        if (worst) fill = CHECK_FILL[worst];
      }
      if (v.members.some((m) => byId.get(m)?.error)) fill = ERROR_FILL;   // holds the failed op
      return { fill, stroke: "#b45309", lw: 2, textColor: isDark(fill) ? "#fff" : "#111", label: v.label + " [+]" };
    }
    const n = byId.get(v.id);
    const g = colorBy === "grad" ? gradColor(norms.get(v.id), lo, hi)
      : colorBy === "check" && n.check ? CHECK_FILL[n.check.status] : null;
    const fill = n.error ? ERROR_FILL : g || KIND_FILL[n.kind] || "#fff";
    return { fill, stroke: n.kind === "param" ? "#2563eb" : n.kind === "input" ? "#9ca3af" : "#555",
      lw: n.kind === "param" ? 1.5 : 1, textColor: isDark(fill) ? "#fff" : "#111", label: v.label };
  }

  function buildScene() {
    const L = current.layout;
    const nodes = current.vnodes.map((v) => {
      const p = L.nodes[v.id];
      const st = nodeStyle(v);
      const sel = v.id === selected;
      return { id: v.id, x: p[0], y: p[1], w: p[2], h: p[3], label: st.label, sub: v.sub, fill: st.fill,
        stroke: sel ? "#f97316" : st.stroke, lw: sel ? 3 : st.lw, textColor: st.textColor };
    });
    const edges = L.edges.map((e) => {
      const hl = selected && (e[0] === selected || e[1] === selected);
      return hl ? { pts: e.slice(2), color: e[1] === selected ? "#f97316" : "#2563eb", width: 2 } : { pts: e.slice(2) };
    });
    canvas.setScene({ nodes, edges, width: L.width, height: L.height });
    root.dataset.nodes = String(nodes.length);
    root.dataset.edges = String(edges.length);
    root.dataset.layoutSource = current.source;
    bar.querySelector(".lk-count").textContent = `${nodes.length} nodes`;
  }

  // layouts by view key: those shipped in the state, then those the kernel sends back
  const views = new Map(Object.entries(data.views || {}));
  let waiting = null;
  const onMsg = (msg) => {
    if (!msg || msg.type !== "layout") return;
    views.set(msg.key, msg.view);
    if (waiting === msg.key) { waiting = null; update(); }
  };
  model.on("msg:custom", onMsg);

  function update(first = false) {
    const t = performance.now();
    const key = viewKey(view);
    const v = views.get(key);
    if (!v) {                        // not shipped: ask the kernel (Python lays it out)
      waiting = key;
      root.dataset.layoutSource = "waiting";
      bar.querySelector(".lk-count").textContent = "laying out...";
      model.send({ type: "layout", view: { collapsed: [...view.collapsed].sort(), hide_leaves: view.hide_leaves, hide_nograd: view.hide_nograd } });
      setTimeout(() => {
        if (waiting === key) bar.querySelector(".lk-count").textContent = "this view needs the kernel (run the cell again)";
      }, 3000);
      syncModChecks();
      return;
    }
    current = { vnodes: v.vnodes, layout: v.layout, source: data.views && key in data.views ? "python" : "kernel" };
    root.dataset.layoutMs = (performance.now() - t).toFixed(1);
    root.dataset.view = key;
    if (selected && !current.vnodes.some((x) => x.id === selected)) selected = null;
    buildScene();
    syncModChecks();
    syncDepth();
    if (first) canvas.initialView(data.roots && data.roots[0]);
    else canvas.fit();
  }

  // a group node stands for one module, or for a run of identical blocks (v.paths)
  function expandGroup(id) {
    const v = current.vnodes.find((x) => x.id === id);
    for (const p of (v && v.paths) || [id.slice(2)]) view.collapsed.delete(p);
  }

  // ---- details panel ------------------------------------------------------------------------
  function select(id) {
    selected = id;
    root.dataset.selected = id || "";
    buildScene();
    if (!id) { panel.innerHTML = `<div class="lk-hint">Click a node for its value and gradient.</div>`; return; }
    if (id.startsWith("g:")) {
      const v = current.vnodes.find((x) => x.id === id);
      const params = v.members.map((m) => byId.get(m)).filter((n) => n.kind === "param");
      panel.innerHTML = `<div class="lk-head"><b>${esc(v.label)}</b> <span class="lk-kind">module, ${v.members.length} nodes</span></div>` +
        `<button data-act="expand" data-group="${esc(v.id)}">expand</button>` +
        `<table class="lk-stats">${params.map((p) => `<tr><td>${esc(p.label)}</td><td>[${p.shape.join(", ")}]</td><td>|grad| ${fmt(p.grad ? p.grad.norm : null)}</td></tr>`).join("")}</table>`;
      return;
    }
    const n = byId.get(id);
    const ins = data.edges.filter((e) => e.target === id).sort((a, b) => a.index - b.index).map((e) => byId.get(e.source));
    const outs = data.edges.filter((e) => e.source === id).map((e) => byId.get(e.target));
    panel.innerHTML =
      `<div class="lk-head"><b class="lk-label">${esc(n.label)}</b> <span class="lk-kind">${esc(n.kind)}${n.module ? " in " + esc(n.module) : ""}</span></div>` +
      (n.error ? "" : `<div class="lk-sec">shape [${(n.shape || []).join(", ")}] ${esc(n.dtype || "")}${n.requires_grad === false ? " (needs no gradient)" : ""}</div>`) +
      (n.error ? `<div class="lk-sec lk-error"><b>this op raised</b><div>${esc(n.error)}</div>` +
        `<div>inputs: ${(n.input_shapes || []).map((x) => `[${esc(x)}]`).join(", ") || "-"}</div></div>` :
        n.rule ? `<div class="lk-sec lk-rule"><b>local derivative</b><div>${esc(n.rule)}</div></div>` : "") +
      (n.check ? `<div class="lk-sec lk-check lk-check-${esc(n.check.status)}"><b>gradcheck: ${esc(n.check.status)}</b>` +
        (n.check.error !== null ? ` (rel. error ${fmt(n.check.error)})` : "") +
        (n.check.detail ? `<div>${esc(n.check.detail)}</div>` : "") + `</div>` : "") +
      sourceHTML(n.source) +
      statsHTML("value", n.value, "#4b5563") +
      statsHTML("grad", n.grad, "#b45309") +
      `<div class="lk-sec lk-io"><b>inputs</b> ${ins.map((m) => `<a data-go="${esc(m.id)}">${esc(m.label)}</a>`).join(", ") || "-"}` +
      `<br><b>used by</b> ${outs.map((m) => `<a data-go="${esc(m.id)}">${esc(m.label)}</a>`).join(", ") || "-"}</div>`;
  }

  panel.addEventListener("click", (ev) => {
    const go = ev.target.closest("[data-go]");
    if (go) {
      let id = go.dataset.go;
      const r = current.vnodes.find((v) => v.id === id || (v.members && v.members.includes(id)));
      if (r) { select(r.id); canvas.centerOn(r.id); }
    }
    const ex = ev.target.closest('[data-act="expand"]');
    if (ex) { expandGroup(ex.dataset.group); update(); }
  });

  bar.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-act]");
    if (!b) return;
    const act = b.dataset.act;
    if (act === "fit") canvas.fit();
    else if (act === "zin") canvas.zoomBy(1.25);
    else if (act === "zout") canvas.zoomBy(0.8);
    else if (act === "svg") download("graph.svg", new Blob([canvas.toSVG()], { type: "image/svg+xml" }));
    else if (act === "png") canvas.toPNGCanvas().toBlob((blob) => download("graph.png", blob));
    else if (act === "collapse-top") {
      for (const m of mods) if (m.depth === 0) view.collapsed.add(m.path);
      update();
    } else if (act === "expand-all") { view.collapsed.clear(); update(); }
  });
  bar.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t.dataset.opt === "grad" || t.dataset.opt === "check") {
      colorBy = t.checked ? t.dataset.opt : "kind";
      syncColorChecks(); buildScene(); return;
    }
    if (t.dataset.opt === "depth") {
      view.collapsed.clear();
      if (t.value !== "all") for (const p of depthCollapsed(Number(t.value))) view.collapsed.add(p);
    } else if (t.dataset.opt === "leaves") view.hide_leaves = t.checked;
    else if (t.dataset.opt === "nograd") view.hide_nograd = t.checked;
    else if (t.dataset.mod) { if (t.checked) view.collapsed.add(t.dataset.mod); else view.collapsed.delete(t.dataset.mod); }
    else return;
    update();
  });
  const onColor = () => { colorBy = model.get("color_by"); syncColorChecks(); buildScene(); };
  model.on("change:color_by", onColor);

  // first paint: measured from render() to the end of the first canvas draw
  canvas.afterDraw = (ms) => {
    if (!root.dataset.firstPaintMs) {
      root.dataset.firstPaintMs = (performance.now() - t0).toFixed(1);
      root.dataset.firstDrawMs = ms.toFixed(1);
    }
    root.dataset.lastDrawMs = ms.toFixed(1);
    root.dataset.draws = String(canvas.drawCount);
  };
  update(true);
  canvas.onFirstSize = () => canvas.initialView(data.roots && data.roots[0]);
  canvas.drawNow();

  // hooks for tests and power users (the browser console): el.labkitGraph
  el.labkitGraph = {
    canvas, data, view, select,
    views, viewKey: () => viewKey(view),
    screenPos: (id) => canvas.screenPos(id),
    toSVG: () => canvas.toSVG(),
  };
  return () => { unhide(); model.off("change:color_by", onColor); model.off("msg:custom", onMsg); canvas.destroy(); delete el.labkitGraph; };
}

export default { render };
