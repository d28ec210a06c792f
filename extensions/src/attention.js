// labkit attention viewer (anywidget front-end): one heatmap per head, token strips, hover a
// token to see what it attends to (its row) and what attends to it (its column), causal masks
// hatched, a slider for the batch element.  Python (labkit/viz/_attention.py) sends the weights
// as float32 [batch, heads, Tq, Tk] and the tokens; everything here is drawing.
import { hideFallback } from "./fallback.js";
import { bytesOf } from "./chart.js";

const LO = [247, 251, 255], HI = [8, 48, 107];       // ColorBrewer Blues ends (light -> dark)
const ROW = "#ea580c", COL = "#7c3aed";            // outline of "attends to" / "attended by"

export function cellColor(v, vmax) {
  if (!isFinite(v)) return [255, 0, 255];
  const t = Math.max(0, Math.min(1, v / (vmax || 1)));
  return LO.map((a, j) => Math.round(a + (HI[j] - a) * t));
}

function render({ model, el }) {
  const unhide = hideFallback(model);
  const root = document.createElement("div");
  root.className = "labkit-widget labkit-attention";
  const head = document.createElement("div");
  head.className = "labkit-toolbar";
  const title = document.createElement("span");
  title.className = "labkit-title";
  const status = document.createElement("span");
  status.className = "labkit-progress-text";
  head.append(title, status);
  const batchRow = document.createElement("label");
  batchRow.className = "labkit-control";
  const batch = document.createElement("input");
  Object.assign(batch, { type: "range", min: "0", step: "1", value: "0" });
  batch.dataset.opt = "batch";
  const batchText = document.createElement("span");
  batchRow.append("sequence ", batch, batchText);
  const strips = document.createElement("div");
  strips.className = "labkit-attn-strips";
  const heads = document.createElement("div");
  heads.className = "labkit-attn-heads";
  const tip = document.createElement("div");
  tip.className = "labkit-tensor-tip";
  root.append(head, batchRow, strips, heads, tip);
  el.appendChild(root);

  let meta = {}, W = new Float32Array(0);
  let b = 0, focus = null, pinnedHead = null;
  const canvases = [];

  const at = (h, i, j) => W[(((b * meta.heads) + h) * meta.tq_shown + i) * meta.tk_shown + j];
  const mean = (i, j) => { let s = 0; for (let h = 0; h < meta.heads; h++) s += at(h, i, j); return s / meta.heads; };
  const weightOf = (i, j) => pinnedHead === null ? mean(i, j) : at(pinnedHead, i, j);

  function stripHTML() {
    strips.textContent = "";
    const mk = (label, toks, side) => {
      const row = document.createElement("div");
      row.className = "labkit-attn-strip";
      row.dataset.side = side;
      const lab = document.createElement("span");
      lab.className = "labkit-attn-label";
      lab.textContent = label;
      row.appendChild(lab);
      toks.forEach((t, i) => {
        const s = document.createElement("span");
        s.className = "labkit-attn-token";
        s.textContent = t;
        s.dataset.i = String(i);
        s.addEventListener("mouseenter", () => setFocus({ side, i }));
        s.addEventListener("mouseleave", () => setFocus(null));
        row.appendChild(s);
      });
      strips.appendChild(row);
    };
    mk("query", meta.q_tokens, "q");
    mk("key", meta.k_tokens, "k");
  }

  function shadeStrips() {
    const q = strips.querySelector('[data-side="q"]'), k = strips.querySelector('[data-side="k"]');
    for (const s of [...q.querySelectorAll(".labkit-attn-token"), ...k.querySelectorAll(".labkit-attn-token")]) {
      s.style.background = ""; s.style.color = ""; s.classList.remove("labkit-attn-focus"); delete s.dataset.w;
    }
    if (!focus) { root.dataset.focus = ""; return; }
    const i = focus.i;
    root.dataset.focus = `${focus.side}${i}`;
    const shade = (s, w) => {
      const c = cellColor(w, meta.vmax);
      s.style.background = `rgb(${c[0]},${c[1]},${c[2]})`;
      s.style.color = w / (meta.vmax || 1) > 0.55 ? "#fff" : "";
      s.dataset.w = w.toFixed(4);
    };
    if (focus.side === "q") {              // query i: what it attends to = row i over the keys
      q.querySelectorAll(".labkit-attn-token")[i].classList.add("labkit-attn-focus");
      k.querySelectorAll(".labkit-attn-token").forEach((s, j) => shade(s, weightOf(i, j)));
    } else {                               // key i: what attends to it = column i over queries
      k.querySelectorAll(".labkit-attn-token")[i].classList.add("labkit-attn-focus");
      q.querySelectorAll(".labkit-attn-token").forEach((s, j) => shade(s, weightOf(j, i)));
    }
  }

  function drawHead(h) {
    const c = canvases[h];
    const tq = meta.tq_shown, tk = meta.tk_shown;
    const cell = Math.max(3, Math.min(22, Math.floor(220 / Math.max(tq, tk))));
    c.width = tk * cell; c.height = tq * cell;
    const ctx = c.getContext("2d");
    for (let i = 0; i < tq; i++) for (let j = 0; j < tk; j++) {
      if (meta.causal && j > i) {            // masked: hatched grey
        ctx.fillStyle = "#e5e7eb"; ctx.fillRect(j * cell, i * cell, cell, cell);
        ctx.strokeStyle = "#c4c7cc"; ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(j * cell, (i + 1) * cell); ctx.lineTo((j + 1) * cell, i * cell); ctx.stroke();
        continue;
      }
      const col = cellColor(at(h, i, j), meta.vmax);
      ctx.fillStyle = `rgb(${col[0]},${col[1]},${col[2]})`;
      ctx.fillRect(j * cell, i * cell, cell, cell);
    }
    if (focus) {
      ctx.lineWidth = 2;
      if (focus.side === "q") { ctx.strokeStyle = ROW; ctx.strokeRect(1, focus.i * cell + 1, tk * cell - 2, cell - 2); }
      else { ctx.strokeStyle = COL; ctx.strokeRect(focus.i * cell + 1, 1, cell - 2, tq * cell - 2); }
    }
    c.dataset.cell = String(cell);
  }

  function setFocus(f) {
    focus = f;
    shadeStrips();
    for (let h = 0; h < canvases.length; h++) drawHead(h);
  }

  function buildHeads() {
    heads.textContent = "";
    canvases.length = 0;
    for (let h = 0; h < meta.heads; h++) {
      const box = document.createElement("div");
      box.className = "labkit-attn-head" + (pinnedHead === h ? " labkit-attn-pinned" : "");
      const cap = document.createElement("div");
      cap.className = "labkit-caption";
      cap.textContent = `head ${h}`;
      const c = document.createElement("canvas");
      c.dataset.head = String(h);
      c.addEventListener("mousemove", (ev) => {
        const cell = Number(c.dataset.cell), r = c.getBoundingClientRect();
        const j = Math.floor((ev.clientX - r.left) / (r.width / meta.tk_shown));
        const i = Math.floor((ev.clientY - r.top) / (r.height / meta.tq_shown));
        if (i < 0 || j < 0 || i >= meta.tq_shown || j >= meta.tk_shown || !cell) return;
        const masked = meta.causal && j > i;
        tip.textContent = `head ${h}: "${meta.q_tokens[i]}" -> "${meta.k_tokens[j]}" = ${masked ? "masked" : at(h, i, j).toPrecision(4)}`;
        tip.style.display = "block";
        root.dataset.hover = tip.textContent;
      });
      c.addEventListener("click", () => {           // pin a head: the strips show its weights
        pinnedHead = pinnedHead === h ? null : h;
        root.dataset.pinned = pinnedHead === null ? "" : String(pinnedHead);
        for (const bx of heads.querySelectorAll(".labkit-attn-head")) bx.classList.toggle("labkit-attn-pinned", bx.querySelector("canvas").dataset.head === String(pinnedHead));
        shadeStrips();
      });
      box.append(cap, c);
      heads.appendChild(box);
      canvases.push(c);
      drawHead(h);
    }
  }

  function refresh() {
    meta = model.get("meta") || {};
    W = new Float32Array(bytesOf(model.get("weights")).slice().buffer);
    if (!meta.heads) { status.textContent = "no weights yet"; return; }
    title.textContent = model.get("title") || "attention";
    b = Math.min(b, meta.batch_shown - 1);
    batch.max = String(meta.batch_shown - 1);
    batch.value = String(b);
    batchRow.style.display = meta.batch > 1 ? "" : "none";
    batchText.textContent = ` ${b} of ${meta.batch}`;
    const bits = [`${meta.heads} heads`, `${meta.tq} x ${meta.tk} tokens`];
    if (meta.causal) bits.push("causal mask");
    if (meta.tq_shown < meta.tq || meta.tk_shown < meta.tk) bits.push(`first ${meta.tq_shown} shown`);
    bits.push(`${meta.updates} updates`);
    status.textContent = bits.join(" · ");
    root.dataset.version = String(model.get("version"));
    root.dataset.heads = String(meta.heads);
    root.dataset.causal = String(!!meta.causal);
    stripHTML();
    buildHeads();
    shadeStrips();
  }
  batch.addEventListener("input", () => { b = Number(batch.value); batchText.textContent = ` ${b} of ${meta.batch}`; buildHeads(); shadeStrips(); });
  model.on("change:version", refresh);
  refresh();
  el.labkitAttention = { weight: (h, i, j) => at(h, i, j), setFocus, meta: () => meta };
  return () => { unhide(); model.off("change:version", refresh); delete el.labkitAttention; };
}

export default { render };
