// labkit stepper (anywidget front-end): replays a recorded forward + backward pass op by op.
// The whole tape is in the model state: stepping never talks to the kernel.
import { hideFallback } from "./fallback.js";
import { GraphCanvas, KIND_FILL, esc, fmt, statsHTML, sourceHTML, valuesText } from "./render.js";

function scalar(st) {
  return st && st.values && st.numel === 1 && typeof st.values[0] === "number" ? st.values[0] : null;
}

function short(st) {
  if (!st) return "";
  const s = scalar(st);
  if (s !== null) return fmt(s);
  return "|g|=" + fmt(st.norm);
}

function render({ model, el }) {
  const unhide = hideFallback(model);
  const data = model.get("data") || { nodes: [], edges: [], steps: [], tape: { forward: [], backward: [], tensors: {} }, layout: { nodes: {}, edges: [] } };
  const tape = data.tape, steps = data.steps, L = data.layout;
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const nfwd = tape.forward.length;
  // backward step index of each node (when it receives its gradient)
  const bstepOf = new Map();
  steps.forEach((s, i) => { if (s.phase === "backward" && s.node && !bstepOf.has(s.node)) bstepOf.set(s.node, i); });
  const fstepOf = new Map();
  steps.forEach((s, i) => { if (s.phase === "forward") fstepOf.set(s.node, i); });
  const producerOf = new Map();               // tensor id -> node id
  for (const n of data.nodes) if (n.tensor) producerOf.set(n.tensor, n.id);
  const tname = (tid) => {
    const t = tape.tensors[tid];
    if (t && t.name) return t.name;
    const p = producerOf.get(tid);
    return p ? (byId.get(p).label + " out") : tid;
  };

  let cur = Math.min(Math.max(0, model.get("step") || 0), Math.max(0, steps.length - 1));
  let timer = null;

  const root = document.createElement("div");
  root.className = "labkit-graph labkit-stepper";
  root.tabIndex = 0;
  root.dataset.title = model.get("title") || "";
  const title = model.get("title");
  const bar = document.createElement("div");
  bar.className = "labkit-graph-toolbar";
  bar.innerHTML = `${title ? `<b class="lk-title">${esc(title)}</b>` : ""}
    <button data-act="prev" title="previous step (left arrow)">&#9664; Prev</button>
    <button data-act="play" title="play / pause">Play</button>
    <button data-act="next" title="next step (right arrow)">Next &#9654;</button>
    <input type="range" class="lk-slider" min="0" max="${Math.max(0, steps.length - 1)}" value="${cur}">
    <span class="lk-pos"></span>
    <button data-act="fit" title="show the whole graph">Fit</button>`;
  const body = document.createElement("div");
  body.className = "labkit-graph-body";
  const main = document.createElement("div");
  main.className = "labkit-graph-main";
  const panel = document.createElement("div");
  panel.className = "labkit-graph-panel";
  body.append(main, panel);
  root.append(bar, body);
  el.appendChild(root);
  const slider = bar.querySelector(".lk-slider");
  const pos = bar.querySelector(".lk-pos");
  const playBtn = bar.querySelector('[data-act="play"]');

  const canvas = new GraphCanvas(main, { height: model.get("height") || 460, onSelect: () => {} });

  function scene() {
    const s = steps[cur] || { phase: "forward", node: null };
    const fwd = s.phase === "forward";
    const nodes = data.nodes.map((n) => {
      const p = L.nodes[n.id];
      let fill = KIND_FILL[n.kind] || "#fff", stroke = n.kind === "param" ? "#2563eb" : "#555", lw = 1, alpha = 1;
      let sub = n.shape ? (n.shape.length ? n.shape.join("x") : "scalar") : "";
      const fi = fstepOf.get(n.id);
      const computed = fi === undefined || fi <= cur;         // leaves exist from the start
      const bi = bstepOf.get(n.id);
      const hasGrad = !fwd && bi !== undefined && bi <= cur;
      if (fwd && !computed) alpha = 0.25;
      const v = scalar(n.value);
      if (computed && v !== null) sub = "= " + fmt(v);
      if (hasGrad) {
        fill = "#fef3c7";
        const g = scalar(n.grad);
        if (g !== null) sub = (v !== null ? fmt(v) + " " : "") + "g=" + fmt(g);
      }
      if (n.id === s.node) { stroke = "#f97316"; lw = 3; fill = fwd ? "#ffedd5" : "#fed7aa"; }
      return { id: n.id, x: p[0], y: p[1], w: p[2], h: p[3], label: n.label, sub, fill, stroke, lw, alpha };
    });
    const edges = L.edges.map((e) => {
      const [src, dst] = [e[0], e[1]];
      const ed = { pts: e.slice(2) };
      if (fwd) {
        const fi = fstepOf.get(dst);
        if (fi !== undefined && fi > cur) ed.alpha = 0.2;
        if (dst === s.node) {
          ed.color = "#2563eb"; ed.width = 2;
          const tid = data.edges.find((x) => x.source === src && x.target === dst)?.tensor;
          const val = tid && tape.tensors[tid] ? scalar(tape.tensors[tid].value) : null;
          if (val !== null) ed.label = fmt(val);
        }
      }
      if (!fwd && s.node && dst === s.node) {
        // the gradient this node sends to the input on this edge
        const b = tape.backward[s.entry];
        const edge = data.edges.find((x) => x.source === src && x.target === dst);
        if (b && edge) {
          const k = b.inputs.indexOf(edge.tensor);
          const g = k >= 0 ? b.grad_inputs[k] : null;
          ed.color = "#ea580c"; ed.width = 2;
          if (g) ed.label = "g=" + short(g);
        }
      }
      return ed;
    });
    canvas.setScene({ nodes, edges, width: L.width, height: L.height });
  }

  function tensorLine(tid, st, which) {
    const t = tape.tensors[tid] || {};
    const s = st || (which === "grad" ? t.grad : t.value);
    const vals = s && s.values ? `<pre class="lk-values">${esc(valuesText(s))}</pre>` : (s ? ` <span>mean ${fmt(s.mean)}, norm ${fmt(s.norm)}</span>` : "");
    return `<div class="lk-tensor"><b>${esc(tname(tid))}</b> <small>[${(t.shape || []).join(", ")}]</small>${vals}</div>`;
  }

  function panelHTML() {
    const s = steps[cur];
    if (!s) return `<div class="lk-hint">nothing was recorded</div>`;
    if (s.phase === "forward") {
      const f = tape.forward[s.entry];
      const ins = f.inputs.map((x) => typeof x === "string" ? tensorLine(x, null, "value") : `<div class="lk-tensor">constant <code>${esc(x.const)}</code></div>`).join("");
      const out = f.outputs.length ? tensorLine(f.outputs[0], null, "value") : "";
      return `<div class="lk-head"><span class="lk-phase lk-fwd">forward</span> <b class="lk-label">${esc(f.op)}</b></div>` +
        sourceHTML(f.source) +
        `<div class="lk-sec"><b>inputs</b>${ins}</div><div class="lk-sec"><b>output</b>${out}</div>` +
        (f.rule ? `<div class="lk-sec lk-rule"><b>its local derivative (used in backward)</b><div>${esc(f.rule)}</div></div>` : "");
    }
    const b = tape.backward[s.entry];
    const gout = b.grad_outputs[0];
    if (b.op === "AccumulateGrad") {
      const tid = b.outputs[0];
      return `<div class="lk-head"><span class="lk-phase lk-bwd">backward</span> <b class="lk-label">AccumulateGrad</b></div>` +
        `<div class="lk-sec lk-rule"><b>rule</b><div>${esc(b.rule || "")}</div></div>` +
        `<div class="lk-sec"><b>${esc(tname(tid))}.grad +=</b>${statsHTML("gradient arriving", gout, "#b45309")}</div>`;
    }
    const go = scalar(gout);
    const sends = b.inputs.map((tid, k) => {
      const g = b.grad_inputs[k];
      if (!tid || !g) return "";
      const gi = scalar(g);
      const local = go !== null && gi !== null && go !== 0 ? `<div class="lk-local">local derivative = ${fmt(gi)} / ${fmt(go)} = <b>${fmt(gi / go)}</b></div>` : "";
      return `<div class="lk-send">to <b>${esc(tname(tid))}</b>: ${g.values ? `<pre class="lk-values">${esc(valuesText(g))}</pre>` : `mean ${fmt(g.mean)}, norm ${fmt(g.norm)}`}${local}</div>`;
    }).join("");
    const f = tape.forward[fstepOf.get(s.node)] || null;
    return `<div class="lk-head"><span class="lk-phase lk-bwd">backward</span> <b class="lk-label">${esc(b.label)}</b></div>` +
      (f ? sourceHTML(f.source) : "") +
      `<div class="lk-sec lk-arrive"><b>gradient arriving (dLoss/d output)</b>${gout && gout.values ? `<pre class="lk-values">${esc(valuesText(gout))}</pre>` : statsHTML("", gout, "#b45309")}</div>` +
      `<div class="lk-sec lk-rule"><b>local derivative</b><div>${esc(b.rule || "(no rule text for this op)")}</div></div>` +
      `<div class="lk-sec"><b>sends to its inputs</b>${sends || " -"}</div>`;
  }

  function show(i, center = true) {
    cur = Math.min(Math.max(0, i), Math.max(0, steps.length - 1));
    const s = steps[cur];
    slider.value = String(cur);
    pos.textContent = s ? `step ${cur + 1} / ${steps.length} (${s.phase})` : "no steps";
    root.dataset.step = String(cur);
    root.dataset.phase = s ? s.phase : "";
    root.dataset.node = s && s.node ? s.node : "";
    root.dataset.label = s && s.node && byId.get(s.node) ? byId.get(s.node).label : "";
    scene();
    panel.innerHTML = panelHTML();
    if (center && s && s.node) canvas.centerOn(s.node, 0.5);
  }

  function stop() { if (timer) { clearInterval(timer); timer = null; } playBtn.textContent = "Play"; }
  function play() {
    if (timer) { stop(); return; }
    if (cur >= steps.length - 1) show(0);
    playBtn.textContent = "Pause";
    timer = setInterval(() => {
      if (cur >= steps.length - 1) { stop(); return; }
      show(cur + 1);
    }, Math.max(50, model.get("interval_ms") || 700));
  }

  bar.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-act]");
    if (!b) return;
    const act = b.dataset.act;
    if (act === "prev") { stop(); show(cur - 1); }
    else if (act === "next") { stop(); show(cur + 1); }
    else if (act === "play") play();
    else if (act === "fit") canvas.fit();
  });
  slider.addEventListener("input", () => { stop(); show(+slider.value); });
  root.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowRight") { stop(); show(cur + 1); ev.preventDefault(); }
    else if (ev.key === "ArrowLeft") { stop(); show(cur - 1); ev.preventDefault(); }
  });

  canvas.onFirstSize = () => { canvas.initialView(); show(cur); };
  canvas.initialView();
  show(cur, false);
  canvas.drawNow();
  root.dataset.forwardSteps = String(nfwd);
  el.labkitStepper = { show, canvas, get step() { return cur; } };
  return () => { unhide(); stop(); canvas.destroy(); delete el.labkitStepper; };
}

export default { render };
