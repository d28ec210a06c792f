// labkit tensor view (anywidget front-end): stats line, heatmap panels (the last two axes), a
// grid over the axis before them, a slider per earlier axis, hover for value and index.
// Python (labkit/viz/_tensorcard.py) decides the layout, the sampling and the colour ramp; this
// file only paints what it is sent, so the two pictures agree.
import { hideFallback } from "./fallback.js";
import { bytesOf } from "./chart.js";

const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));

export function colorOf(v, meta, dark) {
  if (Number.isNaN(v)) return hex(meta.nan_color || "#ff00ff");
  const ramp = meta.ramp.map(hex);
  if (dark && meta.diverging) ramp[(ramp.length - 1) / 2] = [58, 58, 58];   // a dark centre
  const lo = meta.vmin, hi = meta.vmax;
  let t = (Math.min(hi, Math.max(lo, v)) - lo) / (hi > lo ? hi - lo : 1);
  const pos = t * (ramp.length - 1);
  const i0 = Math.min(ramp.length - 2, Math.max(0, Math.floor(pos)));
  const f = pos - i0;
  return ramp[i0].map((a, j) => Math.round(a * (1 - f) + ramp[i0 + 1][j] * f));
}

function fmt(v) {
  if (v === null || v === undefined) return "-";
  if (Number.isNaN(v)) return "NaN";
  if (!isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a < 1e-4 || a >= 1e5 ? v.toExponential(3) : String(Number(v.toPrecision(5)));
}

function render({ model, el }) {
  const unhide = hideFallback(model);
  const root = document.createElement("div");
  root.className = "labkit-widget labkit-tensor";
  const head = document.createElement("div");
  head.className = "labkit-toolbar";
  const summary = document.createElement("div");
  summary.className = "labkit-tensor-summary";
  const controls = document.createElement("div");
  controls.className = "labkit-tensor-sliders";
  const gridEl = document.createElement("div");
  gridEl.className = "labkit-tensor-grid";
  const tip = document.createElement("div");
  tip.className = "labkit-tensor-tip";
  const legend = document.createElement("div");
  legend.className = "labkit-tensor-legend";
  root.append(head, summary, controls, gridEl, legend, tip);
  el.appendChild(root);
  const pos = [];           // slider positions
  let vals = new Float32Array(0);
  let meta = {};

  function isDarkTheme() {
    const bg = getComputedStyle(root).getPropertyValue("--jp-layout-color0").trim();
    const m = bg.match(/^#([0-9a-f]{6})$/i) || null;
    let rgb = null;
    if (m) rgb = hex("#" + m[1]);
    else { const r = bg.match(/rgb\((\d+),\s*(\d+),\s*(\d+)/); if (r) rgb = [+r[1], +r[2], +r[3]]; }
    return !!rgb && 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 128;
  }

  function sliceOffset() {          // start of the current slider position in `vals`
    const sl = meta.sliders || [];
    const g = meta.grid ? meta.grid.shown : 1;
    const per = g * meta.panel_rows * meta.panel_cols * (meta.image ? 3 : 1);
    let k = 0;
    for (let i = 0; i < sl.length; i++) k = k * sl[i].shown + Math.min(pos[i] || 0, sl[i].shown - 1);
    return k * per;
  }

  function buildSliders() {
    controls.textContent = "";
    (meta.sliders || []).forEach((s, i) => {
      if (pos[i] === undefined) pos[i] = 0;
      const lab = document.createElement("label");
      lab.className = "labkit-control";
      const input = document.createElement("input");
      Object.assign(input, { type: "range", min: "0", max: String(s.shown - 1), step: "1", value: String(Math.min(pos[i], s.shown - 1)) });
      input.dataset.axis = String(s.axis);
      const out = document.createElement("span");
      const label = () => { out.textContent = `axis ${s.axis}: ${pos[i]}` + (s.shown < s.size ? ` (first ${s.shown} of ${s.size})` : ` of ${s.size}`); };
      input.addEventListener("input", () => { pos[i] = Number(input.value); label(); paint(); });
      label();
      lab.append(input, out);
      controls.appendChild(lab);
    });
  }

  function paint() {
    gridEl.textContent = "";
    const R = meta.panel_rows, C = meta.panel_cols;
    if (!R || !C) return;
    const n = meta.grid ? meta.grid.shown : 1;
    const ch = meta.image ? 3 : 1;
    const off = sliceOffset();
    const dark = isDarkTheme();
    const scale = Math.max(1, Math.min(24, Math.floor((n > 1 ? 140 : 360) / Math.max(R, C))));
    root.dataset.panels = String(n);
    root.dataset.offset = String(off);
    for (let p = 0; p < n; p++) {
      const cell = document.createElement("div");
      cell.className = "labkit-tensor-panel";
      const c = document.createElement("canvas");
      c.width = C; c.height = R;
      c.style.width = C * scale + "px"; c.style.height = R * scale + "px";
      c.style.imageRendering = "pixelated";
      const ctx = c.getContext("2d");
      const img = ctx.createImageData(C, R);
      const base = off + p * R * C * ch;
      for (let i = 0; i < R * C; i++) {
        let rgb;
        if (meta.image) rgb = [0, 1, 2].map((j) => Math.round(255 * (vals[base + 3 * i + j] || 0)));
        else rgb = colorOf(vals[base + i], meta, dark);
        img.data[4 * i] = rgb[0]; img.data[4 * i + 1] = rgb[1]; img.data[4 * i + 2] = rgb[2]; img.data[4 * i + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      c.dataset.panel = String(p);
      c.addEventListener("mousemove", (ev) => hover(ev, c, p, base, scale));
      c.addEventListener("mouseleave", () => { tip.style.display = "none"; root.dataset.hover = ""; });
      cell.appendChild(c);
      if (n > 1) {
        const cap = document.createElement("div");
        cap.className = "labkit-caption";
        cap.textContent = `[${meta.grid.axis}] = ${p}`;
        cell.appendChild(cap);
      }
      gridEl.appendChild(cell);
    }
    if (meta.grid && meta.grid.shown < meta.grid.size) {
      const more = document.createElement("div");
      more.className = "labkit-caption";
      more.textContent = `first ${meta.grid.shown} of ${meta.grid.size} along axis ${meta.grid.axis}`;
      gridEl.appendChild(more);
    }
  }

  function indexText(p, r, c) {
    // the full index into the original tensor, with the block range when cells were averaged
    const [fr, fc] = meta.stride;
    const idx = [];
    (meta.sliders || []).forEach((s, i) => idx.push(String(pos[i] || 0)));
    if (meta.grid) idx.push(String(p));
    const rng = (k, f, n) => f === 1 ? String(k) : `${k * f}:${Math.min(n, (k + 1) * f)}`;
    const core = meta.shape.length - (meta.image ? 1 : 0);
    if (core >= 2) idx.push(rng(r, fr, meta.rows));
    if (core >= 1) idx.push(rng(c, fc, meta.cols));
    return `[${idx.join(", ")}]`;
  }

  function hover(ev, canvas, p, base, scale) {
    const rect = canvas.getBoundingClientRect();
    const c = Math.floor((ev.clientX - rect.left) / (rect.width / meta.panel_cols));
    const r = Math.floor((ev.clientY - rect.top) / (rect.height / meta.panel_rows));
    if (r < 0 || c < 0 || r >= meta.panel_rows || c >= meta.panel_cols) return;
    const i = r * meta.panel_cols + c;
    let text;
    const idx = indexText(p, r, c);
    if (meta.image) text = `${idx} = rgb(${[0, 1, 2].map((j) => fmt(vals[base + 3 * i + j])).join(", ")})`;
    else {
      const v = vals[base + i];
      const avg = meta.stride[0] > 1 || meta.stride[1] > 1;
      text = `${idx} = ${fmt(v)}${avg ? " (block mean)" : ""}`;
    }
    tip.textContent = text;
    tip.style.display = "block";
    root.dataset.hover = text;
  }

  function legendHTML() {
    if (meta.image) return "image (RGB)";
    const stops = meta.ramp.map((h, i) => `${h} ${(100 * i / (meta.ramp.length - 1)).toFixed(0)}%`).join(",");
    return `<span>${fmt(meta.vmin)}</span><span class="labkit-tensor-ramp" style="background:linear-gradient(90deg,${stops})"></span>` +
      `<span>${fmt(meta.vmax)}</span><span class="labkit-swatch" style="background:${meta.nan_color}"></span><span>NaN</span>` +
      (meta.diverging ? `<span>(centred at 0)</span>` : "");
  }

  function refresh() {
    meta = model.get("meta") || {};
    const b = bytesOf(model.get("values"));
    vals = new Float32Array(b.slice().buffer);
    const title = model.get("title");
    head.innerHTML = "";
    if (title) { const t = document.createElement("span"); t.className = "labkit-title"; t.textContent = title; head.appendChild(t); }
    summary.textContent = model.get("summary") || "";
    root.dataset.version = String(model.get("version"));
    root.dataset.shape = JSON.stringify(meta.shape || []);
    legend.innerHTML = legendHTML();
    buildSliders();
    paint();
  }
  model.on("change:version", refresh);
  refresh();
  el.labkitTensor = { colorOf: (v, dark = false) => colorOf(v, meta, dark), isDark: isDarkTheme,
    meta: () => meta, pos, repaint: paint };
  return () => { unhide(); model.off("change:version", refresh); delete el.labkitTensor; };
}

export default { render };
