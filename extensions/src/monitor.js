// labkit.viz.Monitor front-end (anywidget).
//
// Data flow
//   * `_data` (synced trait): the full history {seq, runs, series:[{run, split, metric, x, y}]}.
//     Python sets it rarely (end of a cell, end of track(), every few seconds in long loops), so a
//     saved notebook holds the final curves.
//   * custom messages {type: "append", seq, series: [[run, split, metric, n], ...], progress}
//     with ONE binary buffer: for each series n float64 steps then n float64 values.  Only new
//     points travel, at most ~10 messages per second.
//   * messages with seq <= _data.seq are already contained in _data and are ignored.
// The store lives per model (created in initialize), so views created later (a second display, a
// re-rendered output) see every point even though custom messages are not replayed.
import { hideFallback } from "./fallback.js";
import { LineChart, PALETTE, dashFor, formatNumber, formatDuration, downloadDataURL,
  composePNG, float64Of } from "./chart.js";

class Store {
  constructor() {
    this.series = new Map();   // "run\u0000split\u0000metric" -> {run, split, metric, xs, ys}
    this.metrics = [];         // in order of first appearance
    this.runs = [];
    this.seq = -1;
    this.messages = 0;
    this.progress = null;
    this.listeners = new Set();
  }
  emit(kind, arg) { for (const f of this.listeners) f(kind, arg); }
  ensure(run, split, metric) {
    const key = `${run}\u0000${split}\u0000${metric}`;
    let s = this.series.get(key);
    if (!s) {
      s = { key, run, split, metric, xs: [], ys: [] };
      this.series.set(key, s);
      if (!this.metrics.includes(metric)) this.metrics.push(metric);
      if (!this.runs.includes(run)) this.runs.push(run);
      this._structure = true;
    }
    return s;
  }
  load(data) {
    this.series.clear();
    this.metrics = [];
    this.runs = (data && data.runs) ? data.runs.slice() : [];
    for (const d of (data && data.series) || []) {
      const s = this.ensure(d.run, d.split, d.metric);
      s.xs = (d.x || []).map(Number);
      s.ys = (d.y || []).map((v) => (v === null ? NaN : Number(v)));
    }
    this.seq = data && data.seq !== undefined ? data.seq : -1;
    this.emit("reset");
  }
  append(msg, buffers) {
    if (msg.seq !== undefined && msg.seq <= this.seq) return;   // already in _data
    if (msg.seq !== undefined) this.seq = msg.seq;
    this.messages += 1;
    if (msg.progress) this.progress = msg.progress;
    this._structure = false;
    if (msg.series && msg.series.length) {
      const f = float64Of(buffers && buffers[0]);
      let o = 0;
      for (const [run, split, metric, n] of msg.series) {
        const s = this.ensure(run, split, metric);
        for (let i = 0; i < n; i++) s.xs.push(f[o + i]);
        for (let i = 0; i < n; i++) s.ys.push(f[o + n + i]);
        o += 2 * n;
      }
    }
    this.emit(this._structure ? "reset" : "append");
  }
  get points() { let n = 0; for (const s of this.series.values()) n += s.xs.length; return n; }
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function renderProgress(p) {
  if (!p || p.n === undefined) return null;
  const parts = [];
  if (p.desc) parts.push(String(p.desc));
  if (p.epochs > 1) parts.push(`epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs}`);
  parts.push(p.total ? `${p.n}/${p.total}` : `${p.n} it`);
  if (p.rate > 0) parts.push(p.rate >= 1 ? `${formatNumber(p.rate)} it/s` : `${formatNumber(1 / p.rate)} s/it`);
  parts.push(`elapsed ${formatDuration(p.elapsed)}`);
  if (p.status === "running" && p.total && p.rate > 0) parts.push(`ETA ${formatDuration((p.total - p.n) / p.rate)}`);
  if (p.status && p.status !== "running") parts.push(p.status);
  return { text: parts.join(" · "), frac: p.total ? Math.min(1, p.n / p.total) : null };
}

export default function () {
  const store = new Store();

  function initialize({ model }) {
    store.load(model.get("_data"));
    store.progress = model.get("_progress") || null;
    model.on("change:_data", () => store.load(model.get("_data")));
    model.on("change:_progress", () => { store.progress = model.get("_progress"); store.emit("progress"); });
    model.on("msg:custom", (msg, buffers) => {
      if (msg && msg.type === "append") store.append(msg, buffers);
    });
  }

  function render({ model, el: host }) {
    const unhide = hideFallback(model);
    const root = el("div", "labkit-widget labkit-monitor");
    host.appendChild(root);
    const head = el("div", "labkit-toolbar");
    const title = el("span", "labkit-title");
    const controls = el("span", "labkit-controls");
    head.append(title, controls);

    const smoothLabel = el("label", "labkit-control", "smoothing ");
    const smooth = el("input");
    Object.assign(smooth, { type: "range", min: "0", max: "0.99", step: "0.01" });
    smooth.className = "labkit-smoothing";
    const smoothVal = el("span", "labkit-smoothing-value");
    smoothLabel.append(smooth, smoothVal);

    const logLabel = el("label", "labkit-control");
    const logBox = el("input");
    logBox.type = "checkbox";
    logBox.className = "labkit-logy";
    logLabel.append(logBox, document.createTextNode(" log y"));

    const pngBtn = el("button", "labkit-button labkit-png", "⤓ PNG");
    pngBtn.title = "Save the charts as a PNG image";
    controls.append(smoothLabel, logLabel, pngBtn);

    const prog = el("div", "labkit-progress");
    const bar = el("div", "labkit-progress-bar");
    const fill = el("div", "labkit-progress-fill");
    bar.appendChild(fill);
    const progText = el("span", "labkit-progress-text");
    prog.append(bar, progText);

    const alertBox = el("div", "labkit-alerts");
    const legend = el("div", "labkit-legend");
    const panels = el("div", "labkit-panels");
    const hint = el("div", "labkit-hint", "hover for values · drag to zoom · double-click to reset");
    root.append(head, prog, alertBox, legend, panels, hint);

    function renderAlerts() {
      const list = model.get("alerts") || [];
      alertBox.textContent = "";
      for (const a of list) alertBox.appendChild(el("div", "labkit-alert", "⚠ " + a));
      alertBox.style.display = list.length ? "" : "none";
      root.dataset.alerts = String(list.length);
    }
    model.on("change:alerts", renderAlerts);
    renderAlerts();

    const hiddenRuns = new Set();
    let charts = new Map();     // metric -> LineChart

    const opts = () => ({
      smoothing: Number(model.get("smoothing")) || 0,
      ylog: !!model.get("log_y"),
      xlog: !!model.get("log_x"),
      xlabel: model.get("xlabel") || "step",
    });

    function colorOf(run) {
      const i = store.runs.indexOf(run);
      return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
    }

    function seriesFor(metric) {
      const multiRun = store.runs.length > 1;
      const out = [];
      for (const s of store.series.values()) {
        if (s.metric !== metric) continue;
        out.push({
          id: s.key, xs: s.xs, ys: s.ys, color: colorOf(s.run), dash: dashFor(s.split),
          label: (multiRun ? s.run + " " : "") + s.split, visible: !hiddenRuns.has(s.run),
        });
      }
      return out;
    }

    function rebuildLegend() {
      legend.textContent = "";
      if (store.runs.length > 1 || store.runs.some((r) => r !== "run 0" && r !== "default")) {
        for (const run of store.runs) {
          const item = el("span", "labkit-legend-item labkit-legend-run");
          item.dataset.run = run;
          const sw = el("span", "labkit-swatch");
          sw.style.background = colorOf(run);
          item.append(sw, document.createTextNode(run));
          if (hiddenRuns.has(run)) item.classList.add("labkit-off");
          item.title = "click to show/hide this run";
          item.addEventListener("click", () => {
            if (hiddenRuns.has(run)) hiddenRuns.delete(run); else hiddenRuns.add(run);
            rebuildLegend();
            for (const [m, c] of charts) c.setSeries(seriesFor(m));
          });
          legend.appendChild(item);
        }
      }
      const splits = [...new Set([...store.series.values()].map((s) => s.split))];
      if (splits.length > 1) {
        for (const sp of splits) {
          const item = el("span", "labkit-legend-item labkit-legend-split");
          const line = el("span", "labkit-dashline" + (sp === "train" ? "" : sp === "val" ? " labkit-dashed" : " labkit-dotted"));
          item.append(line, document.createTextNode(sp));
          legend.appendChild(item);
        }
      }
    }

    function rebuild() {
      for (const c of charts.values()) c.destroy();
      charts = new Map();
      panels.textContent = "";
      for (const metric of store.metrics) {
        const chart = new LineChart(panels, Object.assign({ title: metric, height: 210 }, opts()));
        chart.root.dataset.metric = metric;
        chart.setSeries(seriesFor(metric));
        charts.set(metric, chart);
      }
      if (!store.metrics.length) {
        const empty = el("div", "labkit-empty", "No metrics yet: call mon.log(loss=...) in your loop.");
        panels.appendChild(empty);
      }
      rebuildLegend();
      applyMarkers();
      updateStatus();
    }

    function updateStatus() {
      title.textContent = model.get("title") || "";
      smooth.value = String(model.get("smoothing") || 0);
      smoothVal.textContent = Number(model.get("smoothing") || 0).toFixed(2);
      logBox.checked = !!model.get("log_y");
      const p = renderProgress(store.progress);
      prog.style.display = p ? "" : "none";
      if (p) {
        progText.textContent = p.text;
        fill.style.width = p.frac === null ? "100%" : `${(100 * p.frac).toFixed(1)}%`;
        fill.classList.toggle("labkit-indeterminate", p.frac === null && store.progress.status === "running");
        root.dataset.step = String(store.progress.n);
        root.dataset.status = store.progress.status || "";
      }
      root.dataset.points = String(store.points);
      root.dataset.series = String(store.series.size);
      root.dataset.messages = String(store.messages);
      root.dataset.seq = String(store.seq);
    }

    // Keep the chart objects (and the user's zoom) when only the data changed; rebuild the
    // panels only when the set of metrics changed.
    function refresh() {
      const same = store.metrics.length === charts.size && store.metrics.every((m) => charts.has(m));
      if (!same) { rebuild(); return; }
      for (const [m, c] of charts) c.setSeries(seriesFor(m));
      rebuildLegend();
      updateStatus();
    }

    const onStore = (kind) => {
      if (kind === "reset") { refresh(); return; }
      if (kind === "append") for (const c of charts.values()) c.requestDraw();
      updateStatus();
    };
    store.listeners.add(onStore);

    const onOpts = () => { for (const c of charts.values()) c.setOptions(opts()); updateStatus(); };
    model.on("change:smoothing", onOpts);
    model.on("change:log_y", onOpts);
    model.on("change:log_x", onOpts);
    model.on("change:xlabel", onOpts);
    model.on("change:title", updateStatus);
    function applyMarkers() { for (const c of charts.values()) c.setMarkers(model.get("markers") || []); }
    model.on("change:markers", applyMarkers);

    smooth.addEventListener("input", () => {
      const v = Number(smooth.value);
      smoothVal.textContent = v.toFixed(2);
      for (const c of charts.values()) c.setOptions({ smoothing: v });
    });
    smooth.addEventListener("change", () => {   // sync back (processed once the kernel is idle)
      model.set("smoothing", Number(smooth.value));
      model.save_changes();
    });
    logBox.addEventListener("change", () => {
      for (const c of charts.values()) c.setOptions({ ylog: logBox.checked });
      model.set("log_y", logBox.checked);
      model.save_changes();
    });
    pngBtn.addEventListener("click", () => {
      const canvases = [...charts.values()].map((c) => { c.draw(); return c.canvas; });
      if (!canvases.length) return;
      const cs = getComputedStyle(root);
      const bg = cs.getPropertyValue("--jp-layout-color0").trim() || "#ffffff";
      const p = renderProgress(store.progress);
      const header = [model.get("title"), p && p.text].filter(Boolean).join(" — ") || " ";
      const legendItems = [];
      if (store.runs.length > 1) {
        for (const r of store.runs) if (!hiddenRuns.has(r)) legendItems.push({ label: r, color: colorOf(r) });
      }
      const splits = [...new Set([...store.series.values()].map((s) => s.split))];
      if (splits.length > 1) for (const sp of splits) legendItems.push({ label: sp, dash: dashFor(sp) });
      const url = composePNG(canvases, { columns: Math.min(2, canvases.length), header, legend: legendItems,
        background: bg, color: cs.color || "#222" });
      root.dataset.lastPng = String(url.length);
      downloadDataURL(url, (model.get("title") || "labkit-monitor").replace(/[^\w.-]+/g, "_") + ".png");
    });

    rebuild();
    return () => {
      unhide();
      store.listeners.delete(onStore);
      for (const c of charts.values()) c.destroy();
    };
  }

  return { initialize, render };
}
