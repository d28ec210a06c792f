// labkit's shared line chart: one <canvas> for the curves, one overlay <canvas> for the hover
// crosshair and the zoom rectangle.  No dependencies; reused by every labkit widget that draws
// curves (Monitor, lr_find, watch, graph views).
//
//   const chart = new LineChart(parentEl, { title: "loss", xlabel: "step" });
//   chart.setSeries([{ id: "a", label: "train", color: PALETTE[0], xs: [], ys: [] }]);
//   series.xs.push(...); series.ys.push(...); chart.requestDraw();   // arrays are shared, not copied
//
// Interaction (all in the browser, works while the kernel is busy): hover shows the values at the
// nearest step; drag a rectangle to zoom; double-click resets.  Smoothing is TensorBoard's
// debiased exponential moving average; the raw curve stays visible underneath, faded.

export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

// line dash per split: train solid, validation dashed, anything else dotted
export function dashFor(split) {
  if (split === "train" || !split) return [];
  if (split === "val") return [6, 4];
  return [2, 3];
}

export function formatNumber(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) {
    return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
  }
  return String(Number(v.toPrecision(4)));
}

export function formatDuration(s) {
  if (!Number.isFinite(s) || s < 0) return "?";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(sec).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

// "nice" linear ticks (steps of 1, 2 or 5 times a power of ten)
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  let step = Math.pow(10, Math.floor(Math.log10(raw)));
  const err = raw / step;
  if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

// ticks for a log axis, given log10 bounds
export function logTicks(l0, l1) {
  const out = [];
  const k0 = Math.ceil(l0 - 1e-9), k1 = Math.floor(l1 + 1e-9);
  const every = Math.max(1, Math.ceil((k1 - k0 + 1) / 8));
  for (let k = k0; k <= k1; k += every) out.push(Number(`1e${k}`));
  if (out.length < 2) {                     // less than a decade visible: add 2x and 5x
    for (let k = Math.floor(l0); k <= Math.ceil(l1); k++) {
      for (const m of [2, 5]) {
        const v = Number(`${m}e${k}`);
        if (Math.log10(v) >= l0 && Math.log10(v) <= l1) out.push(v);
      }
    }
    out.sort((a, b) => a - b);
  }
  if (out.length < 2) {                     // a narrow range: plain ticks, placed on the log axis
    return niceTicks(Math.pow(10, l0), Math.pow(10, l1), 3).filter((v) => v > 0);
  }
  return out;
}

// TensorBoard's debiased EMA, extended incrementally: cache = {w, n, last, count, out}
export function smoothInto(ys, weight, cache) {
  if (!cache || cache.w !== weight || cache.n > ys.length) {
    cache = { w: weight, n: 0, last: 0, count: 0, out: [] };
  }
  let { last, count } = cache;
  const out = cache.out;
  for (let i = cache.n; i < ys.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) { out.push(y); continue; }
    last = last * weight + (1 - weight) * y;
    count += 1;
    out.push(weight === 0 ? y : last / (1 - Math.pow(weight, count)));
  }
  Object.assign(cache, { n: ys.length, last, count });
  return cache;
}

// index of the sample whose x is nearest to x (xs ascending)
export function nearestIndex(xs, x) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) return -1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid; else hi = mid;
  }
  return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
}

export function downloadDataURL(url, filename) {
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
}

const MARGIN = { left: 58, right: 14, top: 24, bottom: 34 };

export class LineChart {
  constructor(parent, opts = {}) {
    this.opts = Object.assign({ height: 220, title: "", xlabel: "step", xlog: false,
      ylog: false, smoothing: 0, minWidth: 240 }, opts);
    this.series = [];
    this.markers = [];
    this.view = null;          // {x0, x1, y0?, y1?} in data units while zoomed
    this.hover = null;         // pixel x of the mouse
    this.drag = null;          // {x0, y0, x1, y1} pixels while dragging
    this.root = document.createElement("div");
    this.root.className = "labkit-chart";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "labkit-chart-canvas";
    this.overlay = document.createElement("canvas");
    this.overlay.className = "labkit-chart-overlay";
    this.tip = document.createElement("div");
    this.tip.className = "labkit-chart-tip";
    this.tip.style.display = "none";
    this.root.append(this.canvas, this.overlay, this.tip);
    parent.appendChild(this.root);
    this._frame = 0;
    this._width = 0;
    this._bindEvents();
    if (typeof ResizeObserver !== "undefined") {
      this._ro = new ResizeObserver(() => this.requestDraw());
      this._ro.observe(this.root);
    }
    this.requestDraw();
  }

  setSeries(list) { this.series = list; this.requestDraw(); }
  setMarkers(list) { this.markers = list || []; this.requestDraw(); }
  setOptions(o) { Object.assign(this.opts, o); this.requestDraw(); }
  resetZoom() { this.view = null; this.requestDraw(); }

  requestDraw() {
    if (this._frame) return;
    const raf = typeof requestAnimationFrame === "function" && !document.hidden
      ? requestAnimationFrame : (f) => setTimeout(f, 16);
    this._frame = raf(() => { this._frame = 0; this.draw(); });
  }

  destroy() {
    if (this._ro) this._ro.disconnect();
    this.root.remove();
  }

  // ---- coordinates ----
  _tx(v) { return this.opts.xlog ? Math.log10(v) : v; }
  _ty(v) { return this.opts.ylog ? Math.log10(v) : v; }
  _okx(v) { return Number.isFinite(v) && (!this.opts.xlog || v > 0); }
  _oky(v) { return Number.isFinite(v) && (!this.opts.ylog || v > 0); }

  _visible() { return this.series.filter((s) => s.visible !== false && s.xs.length); }

  _smoothed(s) {
    const w = this.opts.smoothing;
    if (!(w > 0)) return s.ys;
    s._sm = smoothInto(s.ys, w, s._sm);
    return s._sm.out;
  }

  // data range in transformed units (log10 where the axis is logarithmic)
  _range() {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    const v = this.view;
    const xlo = v ? this._tx(v.x0) : -Infinity, xhi = v ? this._tx(v.x1) : Infinity;
    for (const s of this._visible()) {
      const ys = this._smoothed(s);
      for (let i = 0; i < s.xs.length; i++) {
        const x = s.xs[i];
        if (!this._okx(x)) continue;
        const tx = this._tx(x);
        if (tx < x0) x0 = tx;
        if (tx > x1) x1 = tx;
        if (tx < xlo || tx > xhi) continue;
        for (const y of [s.ys[i], ys[i]]) {
          if (!this._oky(y)) continue;
          const ty = this._ty(y);
          if (ty < y0) y0 = ty;
          if (ty > y1) y1 = ty;
        }
      }
    }
    if (v) { x0 = this._tx(v.x0); x1 = this._tx(v.x1); }
    if (v && v.y0 !== undefined) { y0 = this._ty(v.y0); y1 = this._ty(v.y1); }
    if (!(x1 >= x0)) return null;
    if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
    if (!(y1 >= y0)) { y0 = 0; y1 = 1; }
    if (y1 === y0) { const d = Math.abs(y0) * 0.1 || 0.5; y0 -= d; y1 += d; }
    if (!(v && v.y0 !== undefined)) { const pad = (y1 - y0) * 0.06; y0 -= pad; y1 += pad; }
    return { x0, x1, y0, y1 };
  }

  _layout() {
    const w = Math.max(this.opts.minWidth, this.root.clientWidth || 420);
    const h = this.opts.height;
    return { w, h, px0: MARGIN.left, px1: w - MARGIN.right, py0: MARGIN.top, py1: h - MARGIN.bottom };
  }

  _colors() {
    const cs = getComputedStyle(this.root);
    const fg = cs.color || "#333";
    return { fg, grid: "rgba(128,128,128,0.22)", axis: "rgba(128,128,128,0.7)" };
  }

  _sizeCanvas(c, L) {
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(L.w * dpr) || c.height !== Math.round(L.h * dpr)) {
      c.width = Math.round(L.w * dpr);
      c.height = Math.round(L.h * dpr);
      c.style.width = L.w + "px";
      c.style.height = L.h + "px";
    }
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  // ---- drawing ----
  draw() {
    const L = this._layout();
    this._L = L;
    const ctx = this._sizeCanvas(this.canvas, L);
    this._sizeCanvas(this.overlay, L);
    ctx.clearRect(0, 0, L.w, L.h);
    const C = this._colors();
    const R = this._range();
    this._R = R;
    ctx.font = "11px var(--jp-ui-font-family, sans-serif)";
    ctx.fillStyle = C.fg;
    ctx.textBaseline = "alphabetic";
    if (this.opts.title) {
      ctx.font = "bold 12px var(--jp-ui-font-family, sans-serif)";
      ctx.textAlign = "left";
      ctx.fillText(this.opts.title, L.px0, 15);
      ctx.font = "11px var(--jp-ui-font-family, sans-serif)";
    }
    ctx.strokeStyle = C.axis;
    ctx.lineWidth = 1;
    ctx.strokeRect(L.px0 + 0.5, L.py0 + 0.5, L.px1 - L.px0, L.py1 - L.py0);
    let npts = 0;
    for (const s of this.series) npts += s.xs.length;
    this.root.dataset.points = String(npts);
    if (!R) {
      ctx.textAlign = "center";
      ctx.fillText("waiting for data…", (L.px0 + L.px1) / 2, (L.py0 + L.py1) / 2);
      return;
    }
    const X = (tx) => L.px0 + (tx - R.x0) / (R.x1 - R.x0) * (L.px1 - L.px0);
    const Y = (ty) => L.py1 - (ty - R.y0) / (R.y1 - R.y0) * (L.py1 - L.py0);
    this._X = X; this._Y = Y;

    // grid + tick labels
    const xt = this.opts.xlog ? logTicks(R.x0, R.x1) : niceTicks(R.x0, R.x1, Math.max(2, Math.floor((L.px1 - L.px0) / 90)));
    const yt = this.opts.ylog ? logTicks(R.y0, R.y1) : niceTicks(R.y0, R.y1, 4);
    ctx.strokeStyle = C.grid;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of xt) {
      const px = Math.round(X(this._tx(t))) + 0.5;
      if (px < L.px0 || px > L.px1) continue;
      ctx.beginPath(); ctx.moveTo(px, L.py0); ctx.lineTo(px, L.py1); ctx.stroke();
      ctx.fillText(formatNumber(t), px, L.py1 + 4);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of yt) {
      const py = Math.round(Y(this._ty(t))) + 0.5;
      if (py < L.py0 - 0.5 || py > L.py1 + 0.5) continue;
      ctx.beginPath(); ctx.moveTo(L.px0, py); ctx.lineTo(L.px1, py); ctx.stroke();
      ctx.fillText(formatNumber(t), L.px0 - 4, py);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(this.opts.xlabel + (this.view ? "  (zoomed: double-click to reset)" : ""),
      (L.px0 + L.px1) / 2, L.h - 2);

    // curves, clipped to the plot area
    ctx.save();
    ctx.beginPath();
    ctx.rect(L.px0, L.py0, L.px1 - L.px0, L.py1 - L.py0);
    ctx.clip();
    const smoothing = this.opts.smoothing > 0;
    for (const s of this._visible()) {
      ctx.setLineDash(s.dash || []);
      if (smoothing) {
        this._line(ctx, s.xs, s.ys, X, Y, s.color, 1, 0.25, L);
        this._line(ctx, s.xs, this._smoothed(s), X, Y, s.color, s.width || 1.8, 1, L);
      } else {
        this._line(ctx, s.xs, s.ys, X, Y, s.color, s.width || 1.6, 1, L);
      }
      if (s.xs.length === 1) {        // a single point is invisible as a line: draw a dot
        const x = s.xs[0], y = s.ys[0];
        if (this._okx(x) && this._oky(y)) {
          ctx.fillStyle = s.color;
          ctx.beginPath(); ctx.arc(X(this._tx(x)), Y(this._ty(y)), 2.5, 0, 2 * Math.PI); ctx.fill();
        }
      }
    }
    ctx.setLineDash([4, 3]);
    for (const m of this.markers) {
      if (!this._okx(m.x)) continue;
      const px = X(this._tx(m.x));
      ctx.strokeStyle = m.color || "#d62728";
      ctx.lineWidth = 1.2;
      ctx.beginPath(); ctx.moveTo(px, L.py0); ctx.lineTo(px, L.py1); ctx.stroke();
      if (m.label) {
        ctx.fillStyle = m.color || "#d62728";
        ctx.textAlign = px > (L.px0 + L.px1) / 2 ? "right" : "left";
        ctx.textBaseline = "top";
        ctx.fillText(m.label, px + (ctx.textAlign === "left" ? 4 : -4), L.py0 + 4);
      }
    }
    ctx.restore();
    this._drawOverlay();
  }

  // draw one polyline; above ~3 points per pixel column, draw each column's min/max instead
  _line(ctx, xs, ys, X, Y, color, width, alpha, L) {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.globalAlpha = alpha;
    ctx.beginPath();
    const decimate = xs.length > 3 * (L.px1 - L.px0);
    let pen = false, col = null, lo = 0, hi = 0, last = 0;
    const flush = () => {
      if (col === null) return;
      if (lo !== hi) { ctx.lineTo(col, lo); ctx.lineTo(col, hi); }
      ctx.lineTo(col, last);
    };
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i], y = ys[i];
      if (!this._okx(x) || !this._oky(y)) { flush(); col = null; pen = false; continue; }
      const px = X(this._tx(x)), py = Y(this._ty(y));
      if (!pen) { ctx.moveTo(px, py); pen = true; col = decimate ? Math.round(px) : null; lo = hi = last = py; continue; }
      if (!decimate) { ctx.lineTo(px, py); continue; }
      const c = Math.round(px);
      if (c === col) { lo = Math.min(lo, py); hi = Math.max(hi, py); last = py; continue; }
      flush();
      ctx.lineTo(px, py);
      col = c; lo = hi = last = py;
    }
    flush();
    ctx.stroke();
    ctx.globalAlpha = 1;
  }

  _drawOverlay() {
    const L = this._L;
    if (!L) return;
    const ctx = this._sizeCanvas(this.overlay, L);
    ctx.clearRect(0, 0, L.w, L.h);
    if (this.drag) {
      const d = this.drag;
      ctx.fillStyle = "rgba(31,119,180,0.12)";
      ctx.strokeStyle = "rgba(31,119,180,0.8)";
      const x = Math.min(d.x0, d.x1), y = Math.min(d.y0, d.y1);
      ctx.fillRect(x, y, Math.abs(d.x1 - d.x0), Math.abs(d.y1 - d.y0));
      ctx.strokeRect(x + 0.5, y + 0.5, Math.abs(d.x1 - d.x0), Math.abs(d.y1 - d.y0));
    }
    if (this.hover === null || !this._R) { this.tip.style.display = "none"; return; }
    const R = this._R;
    const tx = R.x0 + (this.hover - L.px0) / (L.px1 - L.px0) * (R.x1 - R.x0);
    const x = this.opts.xlog ? Math.pow(10, tx) : tx;
    const rows = [];
    let snapped = null;
    for (const s of this._visible()) {
      const i = nearestIndex(s.xs, x);
      if (i < 0) continue;
      const ys = this._smoothed(s);
      const xv = s.xs[i], yv = ys[i];
      if (snapped === null || Math.abs(this._tx(xv) - tx) < Math.abs(this._tx(snapped) - tx)) snapped = xv;
      rows.push({ s, xv, yv, raw: s.ys[i] });
    }
    if (!rows.length) { this.tip.style.display = "none"; return; }
    const X = this._X, Y = this._Y;
    ctx.strokeStyle = "rgba(128,128,128,0.6)";
    ctx.beginPath();
    const sx = X(this._tx(snapped));
    ctx.moveTo(sx, L.py0); ctx.lineTo(sx, L.py1); ctx.stroke();
    for (const r of rows) {
      if (!this._okx(r.xv) || !this._oky(r.yv)) continue;
      ctx.fillStyle = r.s.color;
      ctx.beginPath(); ctx.arc(X(this._tx(r.xv)), Y(this._ty(r.yv)), 3, 0, 2 * Math.PI); ctx.fill();
    }
    const sm = this.opts.smoothing > 0;
    const lines = [`<b>${this.opts.xlabel} ${formatNumber(snapped)}</b>`].concat(rows.map((r) =>
      `<span style="color:${r.s.color}">●</span> ${r.s.label}: ${formatNumber(r.yv)}` +
      (sm ? ` <span class="labkit-dim">(raw ${formatNumber(r.raw)})</span>` : "")));
    this.tip.innerHTML = lines.join("<br>");
    this.tip.style.display = "block";
    const left = sx + 12 + 180 > L.w ? Math.max(0, sx - 190) : sx + 12;
    this.tip.style.left = left + "px";
    this.tip.style.top = L.py0 + 4 + "px";
  }

  _bindEvents() {
    const pos = (e) => {
      const r = this.overlay.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    const inPlot = (x, y) => this._L && x >= this._L.px0 && x <= this._L.px1 && y >= this._L.py0 && y <= this._L.py1;
    this.overlay.addEventListener("mousemove", (e) => {
      const [x, y] = pos(e);
      if (this.drag) { this.drag.x1 = x; this.drag.y1 = y; }
      this.hover = inPlot(x, y) ? x : null;
      this._drawOverlay();
    });
    this.overlay.addEventListener("mouseleave", () => { this.hover = null; this._drawOverlay(); });
    this.overlay.addEventListener("mousedown", (e) => {
      const [x, y] = pos(e);
      if (e.button !== 0 || !inPlot(x, y)) return;
      this.drag = { x0: x, y0: y, x1: x, y1: y };
      e.preventDefault();
    });
    const finish = () => {
      const d = this.drag;
      this.drag = null;
      if (!d || !this._R) { this._drawOverlay(); return; }
      const L = this._L, R = this._R;
      const clampX = (p) => Math.min(L.px1, Math.max(L.px0, p));
      const clampY = (p) => Math.min(L.py1, Math.max(L.py0, p));
      const dx = Math.abs(d.x1 - d.x0), dy = Math.abs(d.y1 - d.y0);
      if (dx < 5) { this._drawOverlay(); return; }
      const ix = (p) => R.x0 + (clampX(p) - L.px0) / (L.px1 - L.px0) * (R.x1 - R.x0);
      const iy = (p) => R.y0 + (L.py1 - clampY(p)) / (L.py1 - L.py0) * (R.y1 - R.y0);
      const ux = (t) => (this.opts.xlog ? Math.pow(10, t) : t);
      const uy = (t) => (this.opts.ylog ? Math.pow(10, t) : t);
      const v = { x0: ux(ix(Math.min(d.x0, d.x1))), x1: ux(ix(Math.max(d.x0, d.x1))) };
      if (dy >= 5) { v.y0 = uy(iy(Math.max(d.y0, d.y1))); v.y1 = uy(iy(Math.min(d.y0, d.y1))); }
      this.view = v;
      this.root.dataset.zoomed = "1";
      this.draw();
      if (this.opts.onZoom) this.opts.onZoom(v);
    };
    this.overlay.addEventListener("mouseup", finish);
    this.overlay.addEventListener("mouseleave", () => { if (this.drag) finish(); });
    this.overlay.addEventListener("dblclick", () => {
      this.view = null;
      this.root.dataset.zoomed = "0";
      this.draw();
      if (this.opts.onZoom) this.opts.onZoom(null);
    });
  }
}

// Stack several canvases (charts) into one PNG data URL, with an optional header line.
export function composePNG(canvases, { columns = 1, header = "", legend = [], background = "#ffffff", color = "#222" } = {}) {
  const dpr = window.devicePixelRatio || 1;
  const cw = Math.max(...canvases.map((c) => c.width));
  const ch = Math.max(...canvases.map((c) => c.height));
  const rows = Math.ceil(canvases.length / columns);
  const head = header ? Math.round(22 * dpr) : 0;
  const out = document.createElement("canvas");
  out.width = cw * Math.min(columns, canvases.length);
  out.height = head + ch * rows;
  const ctx = out.getContext("2d");
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, out.width, out.height);
  if (header) {
    ctx.fillStyle = color;
    ctx.font = `${Math.round(12 * dpr)}px sans-serif`;
    ctx.textBaseline = "middle";
    ctx.fillText(header, 8 * dpr, head / 2);
    let x = 16 * dpr + ctx.measureText(header).width;
    for (const item of legend) {           // coloured line + label per run / split
      ctx.strokeStyle = item.color || color;
      ctx.lineWidth = 2 * dpr;
      ctx.setLineDash((item.dash || []).map((d) => d * dpr));
      ctx.beginPath(); ctx.moveTo(x, head / 2); ctx.lineTo(x + 18 * dpr, head / 2); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = color;
      ctx.fillText(item.label, x + 22 * dpr, head / 2);
      x += 34 * dpr + ctx.measureText(item.label).width;
    }
  }
  canvases.forEach((c, i) => {
    ctx.drawImage(c, (i % columns) * cw, head + Math.floor(i / columns) * ch);
  });
  return out.toDataURL("image/png");
}

// DataView / ArrayBuffer / typed array -> Uint8Array without copying
export function bytesOf(v) {
  if (!v) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return new Uint8Array(0);
}

// little-endian float64 values from a binary buffer (copied: the offset may be unaligned)
export function float64Of(v) {
  const b = bytesOf(v);
  return new Float64Array(b.slice().buffer);
}
