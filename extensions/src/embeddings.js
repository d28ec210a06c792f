// labkit embedding view (anywidget front-end): the rows of an embedding table as points in their
// first two principal components (computed in Python, labkit/viz/_embeddings.py), labels next to
// the points when there are few, hover for the nearest point's label.
import { hideFallback } from "./fallback.js";
import { bytesOf, PALETTE } from "./chart.js";

const SIZE = 360, PAD = 28;

function render({ model, el }) {
  const unhide = hideFallback(model);
  const root = document.createElement("div");
  root.className = "labkit-widget labkit-embeddings";
  const head = document.createElement("div");
  head.className = "labkit-toolbar";
  const title = document.createElement("span");
  title.className = "labkit-title";
  const status = document.createElement("span");
  status.className = "labkit-progress-text";
  head.append(title, status);
  const canvas = document.createElement("canvas");
  const dpr = window.devicePixelRatio || 1;
  canvas.width = SIZE * dpr; canvas.height = SIZE * dpr;
  canvas.style.width = SIZE + "px"; canvas.style.height = SIZE + "px";
  canvas.style.cursor = "crosshair";
  const legend = document.createElement("div");
  legend.className = "labkit-legend";
  const tip = document.createElement("div");
  tip.className = "labkit-tensor-tip";
  root.append(head, canvas, legend, tip);
  el.appendChild(root);
  let P = new Float32Array(0), meta = {}, screen = [];

  function draw() {
    meta = model.get("meta") || {};
    P = new Float32Array(bytesOf(model.get("points")).slice().buffer);
    const labels = model.get("labels") || [], groups = model.get("groups") || [];
    const [x0, x1, y0, y1] = meta.extent || [-1, 1, -1, 1];
    const span = Math.max(x1 - x0, y1 - y0) || 1;
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    const sx = (x) => PAD + ((x - cx) / span + 0.5) * (SIZE - 2 * PAD);
    const sy = (y) => SIZE - PAD - ((y - cy) / span + 0.5) * (SIZE - 2 * PAD);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, SIZE, SIZE);
    const fg = getComputedStyle(root).color || "#222";
    ctx.strokeStyle = "rgba(128,128,128,0.35)";
    ctx.beginPath(); ctx.moveTo(sx(0), PAD / 2); ctx.lineTo(sx(0), SIZE - PAD / 2);
    ctx.moveTo(PAD / 2, sy(0)); ctx.lineTo(SIZE - PAD / 2, sy(0)); ctx.stroke();
    const n = P.length / 2;
    screen = [];
    const few = n <= 60;
    ctx.font = "11px sans-serif";
    for (let i = 0; i < n; i++) {
      const x = sx(P[2 * i]), y = sy(P[2 * i + 1]);
      screen.push([x, y]);
      ctx.fillStyle = PALETTE[(groups.length ? groups[i] : 0) % PALETTE.length];
      ctx.beginPath(); ctx.arc(x, y, 3.5, 0, 2 * Math.PI); ctx.fill();
      if (few) { ctx.fillStyle = fg; ctx.fillText(labels[i] || "", x + 5, y - 4); }
    }
    const ex = meta.explained || [0, 0];
    ctx.fillStyle = fg;
    ctx.fillText(`PC 1 (${(100 * ex[0]).toFixed(0)}% of variance)`, SIZE - PAD - 150, SIZE - 6);
    ctx.save(); ctx.translate(12, PAD + 110); ctx.rotate(-Math.PI / 2);
    ctx.fillText(`PC 2 (${(100 * ex[1]).toFixed(0)}%)`, 0, 0); ctx.restore();
    title.textContent = model.get("title") || "embedding (PCA)";
    status.textContent = `${meta.n} rows x ${meta.d} dims · ${meta.updates} updates`;
    legend.innerHTML = (meta.group_names || []).map((g, k) =>
      `<span class="labkit-legend-item"><span class="labkit-swatch" style="background:${PALETTE[k % PALETTE.length]}"></span>${String(g).replace(/[&<>]/g, "")}</span>`).join("");
    root.dataset.version = String(model.get("version"));
    root.dataset.points = String(n);
  }

  canvas.addEventListener("mousemove", (ev) => {
    const r = canvas.getBoundingClientRect();
    const mx = ev.clientX - r.left, my = ev.clientY - r.top;
    let best = -1, bd = 144;                     // within 12 px
    screen.forEach(([x, y], i) => { const d = (x - mx) ** 2 + (y - my) ** 2; if (d < bd) { bd = d; best = i; } });
    if (best < 0) { tip.style.display = "none"; root.dataset.hover = ""; return; }
    const labels = model.get("labels") || [];
    tip.textContent = `${labels[best]}  (${P[2 * best].toPrecision(3)}, ${P[2 * best + 1].toPrecision(3)})`;
    tip.style.display = "block";
    root.dataset.hover = labels[best];
  });
  model.on("change:version", draw);
  draw();
  el.labkitEmbeddings = { screen: () => screen };
  return () => { unhide(); model.off("change:version", draw); delete el.labkitEmbeddings; };
}

export default { render };
