// A canvas that draws a laid-out graph (boxes, polylines, labels) with pan, zoom and hit
// testing.  Shared by the graph view and the stepper.  Only what is on screen is drawn, and
// labels only when they are legible, so 2,000+ nodes stay smooth.

export const KIND_FILL = { param: "#dbeafe", leaf: "#e5e7eb", input: "#f3f4f6", op: "#ffffff", group: "#fef3c7" };
// gradcheck result colours (same as CHECK_FILL in labkit/viz/graphview.py)
export const CHECK_FILL = { ok: "#86efac", kink: "#fcd34d", fail: "#dc2626", skipped: "#e5e7eb" };
// an op that raised in a failed forward pass (same as ERROR_FILL in labkit/viz/graphview.py)
export const ERROR_FILL = "#dc2626";

const STOPS = [[0.0, [68, 1, 84]], [0.25, [59, 82, 139]], [0.5, [33, 145, 140]],
  [0.75, [94, 201, 98]], [1.0, [253, 231, 37]]];

// Log-scale colour of a gradient norm between 10^lo and 10^hi (viridis-like; same as Python).
export function gradColor(norm, lo, hi) {
  if (norm === null || norm === undefined) return null;
  if (norm === 0) return "#cbd5e1";
  if (!isFinite(norm)) return "#dc2626";
  let t = hi <= lo ? 0.5 : (Math.log10(norm) - lo) / (hi - lo);
  t = Math.min(1, Math.max(0, t));
  for (let i = 0; i < STOPS.length - 1; i++) {
    const [t0, c0] = STOPS[i], [t1, c1] = STOPS[i + 1];
    if (t <= t1) {
      const f = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
      const c = c0.map((a, j) => Math.round(a + (c1[j] - a) * f));
      return "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");
    }
  }
  return "#fde725";
}

export function isDark(hex) {
  if (!hex || hex[0] !== "#" || hex.length !== 7) return false;
  const r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
  return 0.299 * r + 0.587 * g + 0.114 * b < 140;
}

export function fmt(v) {
  if (v === null || v === undefined) return "-";
  if (typeof v === "string") return v;
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e5)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));            // 4 significant digits
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

// scene: {nodes: [{id, x, y, w, h, label, sub, fill, stroke, lw, alpha, textColor}],
//         edges: [{pts: [x0, y0, ...], color, width, alpha, label}], width, height}
export class GraphCanvas {
  constructor(container, { height = 520, onSelect = () => {}, onDblClick = () => {} } = {}) {
    this.wrap = document.createElement("div");
    this.wrap.className = "labkit-graph-canvas-wrap";
    this.wrap.style.height = height + "px";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "labkit-graph-canvas";
    this.wrap.appendChild(this.canvas);
    container.appendChild(this.wrap);
    this.ctx = this.canvas.getContext("2d");
    this.scene = { nodes: [], edges: [], width: 0, height: 0 };
    this.k = 1; this.tx = 0; this.ty = 0;
    this.onSelect = onSelect; this.onDblClick = onDblClick;
    this.lastDrawMs = 0;
    this._raf = 0;
    this._bind();
    this._ro = new ResizeObserver(() => this.resize());
    this._ro.observe(this.wrap);
    this.resize();
  }

  destroy() {
    this._ro.disconnect();
    cancelAnimationFrame(this._raf);
    for (const [t, f, o] of this._listeners) this.canvas.removeEventListener(t, f, o);
  }

  size() { return [this.wrap.clientWidth || 600, this.wrap.clientHeight || 400]; }

  resize() {
    if (this.wrap.clientWidth > 0 && !this._hadSize) {
      this._hadSize = true;            // attached to the page at last: redo the first view
      if (this.onFirstSize) this.onFirstSize();
    }
    const [w, h] = this.size();
    const dpr = window.devicePixelRatio || 1;
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(w * dpr));
    this.canvas.height = Math.max(1, Math.round(h * dpr));
    this.canvas.style.width = w + "px";
    this.canvas.style.height = h + "px";
    this.draw();
  }

  setScene(scene) {
    this.scene = scene;
    this.byId = new Map(scene.nodes.map((n) => [n.id, n]));
    for (const e of scene.edges) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let i = 0; i < e.pts.length; i += 2) {
        x0 = Math.min(x0, e.pts[i]); x1 = Math.max(x1, e.pts[i]);
        y0 = Math.min(y0, e.pts[i + 1]); y1 = Math.max(y1, e.pts[i + 1]);
      }
      e.bbox = [x0, y0, x1, y1];
    }
    this.draw();
  }

  // Whole graph in view (zoom capped at 1.5).
  fit() {
    const [cw, ch] = this.size();
    const W = this.scene.width || 1, H = this.scene.height || 1;
    this.k = Math.min(cw / W, ch / H, 1.5);
    this.tx = (cw - W * this.k) / 2;
    this.ty = (ch - H * this.k) / 2;
    this.draw();
  }

  // A readable first view: the whole graph if it fits at a legible zoom, else the bottom
  // (where the loss is) at a legible zoom.
  initialView(focusId) {
    const [cw, ch] = this.size();
    const W = this.scene.width || 1, H = this.scene.height || 1;
    const kFit = Math.min(cw / W, ch / H, 1.2);
    if (kFit >= 0.45) { this.fit(); return; }
    this.k = Math.max(0.45, Math.min(1, cw / W));
    const n = focusId && this.byId.get(focusId);
    const fx = n ? n.x : W / 2, fy = n ? n.y : H;
    this.tx = cw / 2 - fx * this.k;
    this.ty = ch - 60 - fy * this.k;
    this.draw();
  }

  centerOn(id, minK = 0.6) {
    const n = this.byId && this.byId.get(id);
    if (!n) return;
    const [cw, ch] = this.size();
    if (this.k < minK) this.k = minK;
    const sx = n.x * this.k + this.tx, sy = n.y * this.k + this.ty;
    if (sx < 40 || sx > cw - 40 || sy < 30 || sy > ch - 30) {
      this.tx = cw / 2 - n.x * this.k;
      this.ty = ch / 2 - n.y * this.k;
    }
    this.draw();
  }

  zoomBy(f, cx, cy) {
    const [cw, ch] = this.size();
    if (cx === undefined) { cx = cw / 2; cy = ch / 2; }
    const k2 = Math.min(8, Math.max(0.002, this.k * f));
    this.tx = cx - (cx - this.tx) * (k2 / this.k);
    this.ty = cy - (cy - this.ty) * (k2 / this.k);
    this.k = k2;
    this.draw();
  }

  draw() {
    if (this._raf) return;
    this._raf = requestAnimationFrame(() => { this._raf = 0; this.drawNow(); });
  }

  drawNow() {
    const t0 = performance.now();
    const ctx = this.ctx, dpr = this.dpr || 1, k = this.k;
    const [cw, ch] = this.size();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    // the notebook's background (dark themes too); exports (toSVG, toPNGCanvas) stay white
    ctx.fillStyle = getComputedStyle(this.wrap).getPropertyValue("--jp-layout-color0").trim() || "#ffffff";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.paint(ctx, dpr * k, dpr * this.tx, dpr * this.ty,
      [-this.tx / k, -this.ty / k, (cw - this.tx) / k, (ch - this.ty) / k], k);
    this.lastDrawMs = performance.now() - t0;
    this.drawCount = (this.drawCount || 0) + 1;
    if (this.afterDraw) this.afterDraw(this.lastDrawMs);
  }

  // Draw the scene with world->device transform (s, ox, oy), culling to the world rect view.
  paint(ctx, s, ox, oy, view, k) {
    const [vx0, vy0, vx1, vy1] = view;
    ctx.setTransform(s, 0, 0, s, ox, oy);
    const inView = (x0, y0, x1, y1) => x1 >= vx0 && x0 <= vx1 && y1 >= vy0 && y0 <= vy1;
    // edges: default ones in one path, styled ones one by one
    ctx.lineWidth = 1 / Math.max(k, 0.25);
    ctx.strokeStyle = "#9ca3af";
    ctx.globalAlpha = 1;
    ctx.beginPath();
    const special = [];
    const arrows = k > 0.3;
    for (const e of this.scene.edges) {
      const b = e.bbox;
      if (!inView(b[0], b[1], b[2], b[3])) continue;
      if (e.color || e.alpha !== undefined || e.width) { special.push(e); continue; }
      this._poly(ctx, e.pts);
    }
    ctx.stroke();
    if (arrows) {
      ctx.fillStyle = "#9ca3af";
      ctx.beginPath();
      for (const e of this.scene.edges) if (!e.color && e.alpha === undefined && !e.width && inView(...e.bbox)) this._arrow(ctx, e.pts);
      ctx.fill();
    }
    for (const e of special) {
      ctx.globalAlpha = e.alpha ?? 1;
      ctx.strokeStyle = e.color || "#9ca3af";
      ctx.lineWidth = (e.width || 1) / Math.max(k, 0.25);
      ctx.beginPath(); this._poly(ctx, e.pts); ctx.stroke();
      if (arrows) { ctx.fillStyle = ctx.strokeStyle; ctx.beginPath(); this._arrow(ctx, e.pts); ctx.fill(); }
    }
    ctx.globalAlpha = 1;
    // nodes
    const text = k * 11 >= 6.5;
    const visible = [];
    for (const n of this.scene.nodes) {
      if (!inView(n.x - n.w / 2, n.y - n.h / 2, n.x + n.w / 2, n.y + n.h / 2)) continue;
      visible.push(n);
      ctx.globalAlpha = n.alpha ?? 1;
      ctx.fillStyle = n.fill || "#fff";
      ctx.beginPath();
      // at tiny zoom every node stays at least 3 px, so a fitted 2,000-node graph is visible
      const w = Math.max(n.w, 3 / k), h = Math.max(n.h, 3 / k);
      if (k > 0.25 && ctx.roundRect) ctx.roundRect(n.x - w / 2, n.y - h / 2, w, h, 4);
      else ctx.rect(n.x - w / 2, n.y - h / 2, w, h);
      ctx.fill();
      ctx.lineWidth = (n.lw || 1) / Math.max(k, 0.5);
      ctx.strokeStyle = n.stroke || "#555";
      ctx.stroke();
    }
    if (text) {
      ctx.textAlign = "center";
      ctx.textBaseline = "alphabetic";
      for (const n of visible) {
        ctx.globalAlpha = n.alpha ?? 1;
        ctx.fillStyle = n.textColor || "#111";
        ctx.font = "11px monospace";
        ctx.fillText(n.label, n.x, n.y - 2);
        ctx.font = "9px monospace";
        ctx.fillText(n.sub || "", n.x, n.y + 10);
      }
      ctx.globalAlpha = 1;
      ctx.font = "10px sans-serif";
      for (const e of this.scene.edges) {
        if (!e.label || !inView(...e.bbox)) continue;
        // 35% of the way along the first segment: edges meet at their target, not at their source
        const x = e.pts[0] + 0.35 * (e.pts[2] - e.pts[0]), y = e.pts[1] + 0.35 * (e.pts[3] - e.pts[1]);
        const wd = ctx.measureText(e.label).width + 6;
        ctx.fillStyle = "rgba(255,255,255,0.9)";
        ctx.fillRect(x - wd / 2, y - 7, wd, 13);
        ctx.fillStyle = e.color || "#333";
        ctx.fillText(e.label, x, y + 3);
      }
    }
    ctx.globalAlpha = 1;
  }

  _poly(ctx, p) {
    ctx.moveTo(p[0], p[1]);
    for (let i = 2; i < p.length; i += 2) ctx.lineTo(p[i], p[i + 1]);
  }

  _arrow(ctx, p) {
    const n = p.length;
    const x1 = p[n - 2], y1 = p[n - 1], x0 = p[n - 4], y0 = p[n - 3];
    const a = Math.atan2(y1 - y0, x1 - x0), L = 6;
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - L * Math.cos(a - 0.4), y1 - L * Math.sin(a - 0.4));
    ctx.lineTo(x1 - L * Math.cos(a + 0.4), y1 - L * Math.sin(a + 0.4));
    ctx.closePath();
  }

  hit(px, py) {
    const x = (px - this.tx) / this.k, y = (py - this.ty) / this.k;
    const ns = this.scene.nodes;
    for (let i = ns.length - 1; i >= 0; i--) {
      const n = ns[i];
      if (Math.abs(x - n.x) <= n.w / 2 && Math.abs(y - n.y) <= n.h / 2) return n.id;
    }
    return null;
  }

  // screen position (CSS px, relative to the canvas) of a node's centre: used by tests
  screenPos(id) {
    const n = this.byId && this.byId.get(id);
    return n ? [n.x * this.k + this.tx, n.y * this.k + this.ty] : null;
  }

  _bind() {
    const c = this.canvas;
    this._listeners = [];
    const on = (t, f, o) => { c.addEventListener(t, f, o); this._listeners.push([t, f, o]); };
    let drag = null;
    on("pointerdown", (ev) => {
      drag = { x: ev.clientX, y: ev.clientY, tx: this.tx, ty: this.ty, moved: false };
      c.setPointerCapture?.(ev.pointerId);
    });
    on("pointermove", (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) { this.tx = drag.tx + dx; this.ty = drag.ty + dy; this.draw(); }
    });
    on("pointerup", (ev) => {
      const d = drag; drag = null;
      if (d && !d.moved) {
        const r = c.getBoundingClientRect();
        this.onSelect(this.hit(ev.clientX - r.left, ev.clientY - r.top));
      }
    });
    on("dblclick", (ev) => {
      const r = c.getBoundingClientRect();
      const id = this.hit(ev.clientX - r.left, ev.clientY - r.top);
      if (id) this.onDblClick(id);
    });
    on("wheel", (ev) => {
      ev.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomBy(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
  }

  // ---- export ----------------------------------------------------------------------------
  toSVG() {
    const { nodes, edges, width: W, height: H } = this.scene;
    const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(W)}" height="${Math.ceil(H)}" ` +
      `viewBox="0 0 ${Math.ceil(W)} ${Math.ceil(H)}" font-family="monospace" font-size="11">`,
      `<rect width="${Math.ceil(W)}" height="${Math.ceil(H)}" fill="#ffffff"/>`];
    for (const e of edges) {
      const pts = [];
      for (let i = 0; i < e.pts.length; i += 2) pts.push(`${e.pts[i].toFixed(1)},${e.pts[i + 1].toFixed(1)}`);
      out.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${e.color || "#9ca3af"}" ` +
        `stroke-opacity="${e.alpha ?? 1}" stroke-width="${e.width || 1}"/>`);
    }
    for (const n of nodes) {
      out.push(`<g opacity="${n.alpha ?? 1}"><title>${esc(n.label)} ${esc(n.sub || "")}</title>` +
        `<rect x="${(n.x - n.w / 2).toFixed(1)}" y="${(n.y - n.h / 2).toFixed(1)}" width="${n.w}" height="${n.h}" ` +
        `rx="4" fill="${n.fill || "#fff"}" stroke="${n.stroke || "#555"}" stroke-width="${n.lw || 1}"/>` +
        `<text x="${n.x.toFixed(1)}" y="${(n.y - 2).toFixed(1)}" text-anchor="middle" fill="${n.textColor || "#111"}">${esc(n.label)}</text>` +
        `<text x="${n.x.toFixed(1)}" y="${(n.y + 10).toFixed(1)}" text-anchor="middle" font-size="9" fill="${n.textColor || "#111"}">${esc(n.sub || "")}</text></g>`);
    }
    out.push("</svg>");
    return out.join("");
  }

  toPNGCanvas(maxSide = 8192) {
    const { width: W, height: H } = this.scene;
    const s = Math.min(2, maxSide / Math.max(W, H, 1));
    const c = document.createElement("canvas");
    c.width = Math.max(1, Math.ceil(W * s)); c.height = Math.max(1, Math.ceil(H * s));
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
    this.paint(ctx, s, 0, 0, [0, 0, W, H], s);
    return c;
  }
}

export function download(name, blobOrUrl) {
  const a = document.createElement("a");
  const url = typeof blobOrUrl === "string" ? blobOrUrl : URL.createObjectURL(blobOrUrl);
  a.href = url; a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  if (typeof blobOrUrl !== "string") setTimeout(() => URL.revokeObjectURL(url), 5000);
}

// A small histogram as inline SVG.
export function histSVG(hist, color = "#4b5563", w = 220, h = 50) {
  if (!hist || !hist.counts || !hist.counts.length) return "";
  const c = hist.counts, m = Math.max(...c, 1), bw = w / c.length;
  let bars = "";
  c.forEach((v, i) => {
    const bh = (v / m) * (h - 12);
    bars += `<rect x="${(i * bw).toFixed(1)}" y="${(h - 12 - bh).toFixed(1)}" width="${Math.max(bw - 1, 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${color}"/>`;
  });
  const e = hist.edges;
  return `<svg class="labkit-hist" width="${w}" height="${h}">${bars}` +
    `<text x="0" y="${h - 1}" font-size="9">${esc(fmt(e[0]))}</text>` +
    `<text x="${w}" y="${h - 1}" font-size="9" text-anchor="end">${esc(fmt(e[e.length - 1]))}</text></svg>`;
}

// Statistics table (+ histogram, + values when small) as HTML.
export function statsHTML(title, st, color) {
  if (!st) return `<div class="lk-sec"><b>${esc(title)}</b>: <i>not recorded</i></div>`;
  const rows = [["shape", "[" + (st.shape || []).join(", ") + "]"], ["mean", fmt(st.mean)], ["std", fmt(st.std)],
    ["min", fmt(st.min)], ["max", fmt(st.max)], ["norm", fmt(st.norm)], ["zeros", st.zero_frac === undefined ? "-" : (st.zero_frac * 100).toFixed(1) + "%"]];
  if (st.nonfinite) rows.push(["non-finite", `<span class="lk-bad">${st.nonfinite}</span>`]);
  let html = `<div class="lk-sec" data-stat="${esc(title)}"><b>${esc(title)}</b><table class="lk-stats">` +
    rows.map(([k, v]) => `<tr><td>${k}</td><td data-k="${k}">${k === "non-finite" ? v : esc(v)}</td></tr>`).join("") + "</table>";
  html += histSVG(st.hist, color);
  if (st.values) html += `<div class="lk-values">${esc(valuesText(st))}</div>`;
  return html + "</div>";
}

export function valuesText(st) {
  if (!st || !st.values) return "";
  const v = st.values.map(fmt);
  if (!st.shape || st.shape.length === 0) return v[0];
  if (st.shape.length === 2 && st.shape[1] > 0) {
    const rows = [];
    for (let i = 0; i < st.shape[0]; i++) rows.push("[" + v.slice(i * st.shape[1], (i + 1) * st.shape[1]).join(", ") + "]");
    return "[" + rows.join(",\n ") + "]";
  }
  return "[" + v.join(", ") + "]";
}

export function sourceHTML(src) {
  if (!src) return "";
  const file = String(src.file || "").split("/").slice(-1)[0];
  return `<div class="lk-sec lk-source"><b>source</b> <span class="lk-file">${esc(file)}:${src.line}</span>` +
    (src.func ? ` in <code>${esc(src.func)}</code>` : "") +
    (src.code ? `<pre>${esc(src.code)}</pre>` : "") + "</div>";
}

export { esc };
