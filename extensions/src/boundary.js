// labkit.viz.boundary front-end (anywidget): the model's prediction over the plane, the data
// points on top, and one thumbnail per neuron of the first hidden layer (TF Playground style).
// Everything numeric is computed in Python and arrives as compact binary traits:
//   grid    uint8[res*res]            binary: P(class 1)*255; multiclass: argmax class, then
//                                     uint8[res*res] confidence (max probability)*255
//   neurons uint8[k*r*r]              activation scaled to [-1, 1] per neuron, 128 = 0
//   points  float32[n*2], labels float32[n]
// Rows run from the top of the plane (largest y) down, like an image.
import { PALETTE, bytesOf } from "./chart.js";
import { hideFallback } from "./fallback.js";

const NEG = [245, 147, 34];     // orange  (class 0 / negative activation)
const POS = [8, 119, 189];      // blue    (class 1 / positive activation)
const MID = [255, 255, 255];

function hexToRgb(h) {
  const n = parseInt(h.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function mix(a, b, t) { return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]; }

// value in [0, 1] -> orange .. white .. blue (lightened so points stay visible)
function diverging(t) {
  const c = t < 0.5 ? mix(NEG, MID, t * 2) : mix(MID, POS, (t - 0.5) * 2);
  return mix(c, MID, 0.25);
}

function classColor(k) { return hexToRgb(PALETTE[k % PALETTE.length]); }

function paintImage(canvas, res, pixel) {
  canvas.width = res;
  canvas.height = res;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(res, res);
  for (let i = 0; i < res * res; i++) {
    const [r, g, b] = pixel(i);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export default function () {
  function render({ model, el: host }) {
    const unhide = hideFallback(model);
    const root = document.createElement("div");
    root.className = "labkit-widget labkit-boundary";
    host.appendChild(root);
    const head = document.createElement("div");
    head.className = "labkit-toolbar";
    const title = document.createElement("span");
    title.className = "labkit-title";
    const status = document.createElement("span");
    status.className = "labkit-progress-text labkit-boundary-status";
    head.append(title, status);
    const body = document.createElement("div");
    body.className = "labkit-boundary-body";
    const main = document.createElement("div");
    main.className = "labkit-boundary-main";
    const SIZE = 300;
    const heat = document.createElement("canvas");     // res x res, scaled up by the browser
    const view = document.createElement("canvas");     // what is shown: heat + points
    view.className = "labkit-boundary-view";
    const dpr = window.devicePixelRatio || 1;
    view.width = SIZE * dpr; view.height = SIZE * dpr;
    view.style.width = SIZE + "px"; view.style.height = SIZE + "px";
    main.appendChild(view);
    const side = document.createElement("div");
    const caption = document.createElement("div");
    caption.className = "labkit-caption";
    const neurons = document.createElement("div");
    neurons.className = "labkit-neurons";
    side.append(caption, neurons);
    body.append(main, side);
    root.append(head, body);

    function drawHeat(meta) {
      const res = meta.res;
      const g = bytesOf(model.get("grid"));
      if (!res || g.length < res * res) return false;
      if (meta.kind === "multiclass") {
        const C = Math.max(2, meta.n_classes || 2);
        paintImage(heat, res, (i) => {
          const conf = g[res * res + i] / 255;
          const t = Math.max(0, Math.min(1, (conf - 1 / C) / (1 - 1 / C)));
          return mix(MID, classColor(g[i]), 0.15 + 0.55 * t);
        });
      } else {
        paintImage(heat, res, (i) => diverging(g[i] / 255));
      }
      return true;
    }

    function drawView() {
      const meta = model.get("meta") || {};
      const ctx = view.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, SIZE, SIZE);
      const ok = drawHeat(meta);
      if (ok) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(heat, 0, 0, SIZE, SIZE);
      }
      const [x0, x1, y0, y1] = meta.extent || [0, 1, 0, 1];
      const pts = bytesOf(model.get("points"));
      const lab = bytesOf(model.get("labels"));
      const P = new Float32Array(pts.slice().buffer);
      const Y = new Float32Array(lab.slice().buffer);
      const binary = meta.kind !== "multiclass";
      for (let i = 0; i < Y.length; i++) {
        const px = (P[2 * i] - x0) / (x1 - x0) * SIZE;
        const py = (y1 - P[2 * i + 1]) / (y1 - y0) * SIZE;
        const c = binary ? (Y[i] > 0.5 ? POS : NEG) : classColor(Math.round(Y[i]));
        ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
        ctx.strokeStyle = "rgba(255,255,255,0.9)";
        ctx.lineWidth = 1;
        ctx.beginPath(); ctx.arc(px, py, 3.2, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      }
      root.dataset.updates = String(meta.updates || 0);
      root.dataset.step = String(meta.step || 0);
      title.textContent = meta.title || "decision boundary";
      const bits = [`${meta.updates || 0} updates`, `forward calls ${meta.step || 0}`];
      if (meta.accuracy !== undefined && meta.accuracy !== null) bits.push(`train acc ${(100 * meta.accuracy).toFixed(1)}%`);
      status.textContent = bits.join(" · ");
    }

    function drawNeurons() {
      const meta = model.get("meta") || {};
      const k = meta.n_neurons || 0, r = meta.neuron_res || 0;
      const b = bytesOf(model.get("neurons"));
      neurons.textContent = "";
      caption.textContent = k ? `first hidden layer (${meta.layer || "?"}): ${k}${meta.n_hidden > k ? ` of ${meta.n_hidden}` : ""} neurons` : "";
      if (!k || b.length < k * r * r) return;
      for (let j = 0; j < k; j++) {
        const cell = document.createElement("div");
        cell.className = "labkit-neuron";
        const c = document.createElement("canvas");
        paintImage(c, r, (i) => diverging(b[j * r * r + i] / 255));
        cell.append(c, document.createTextNode(`h${j}`));
        neurons.appendChild(cell);
      }
    }

    const redraw = () => { drawView(); drawNeurons(); };
    model.on("change:meta", redraw);
    model.on("change:grid", drawView);
    model.on("change:points", drawView);
    model.on("change:neurons", drawNeurons);
    redraw();
    return () => { unhide(); root.remove(); };
  }
  return { render };
}
