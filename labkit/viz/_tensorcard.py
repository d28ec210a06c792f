"""Tensor pictures without widgets: statistics, layout of the axes, colours, the static card.
Used by ``lk.viz.show`` (labkit/viz/_tensorview.py) and by IPython's HTML formatter for tensors;
light (NumPy only), so registering the formatter imports no widget library.

``lk.viz.show(t)``: look inside a tensor.

    lk.viz.show(W)                       # 2-D: a heatmap; hover a cell for its value and index
    lk.viz.show(feature_maps)            # [N, C, H, W]: a grid of the C maps, a slider for N
    v = lk.viz.show(W, title="W"); ...; v.update(W)   # live: redraws as W trains (throttled)

What it shows: a line with shape, dtype and statistics (min, max, mean, std, and how many values
are NaN, infinite or exactly zero); the last two axes as a heatmap; the axis before them as a grid
of small multiples; a slider for each axis before that.  Images ([3, H, W] / [H, W, 3] with values
in [0, 1] or 0..255) are drawn as images.  Signed data uses a diverging colour map centred at 0
(ColorBrewer's RdBu, safe for colour-blind readers); non-negative data uses viridis.  NaN cells
are magenta, infinite cells take the end colour of their sign and are listed in the stats line.

Large tensors are summarised: a heatmap panel never has more than ``max_side`` x ``max_side``
cells (blocks are averaged; a block with a NaN stays NaN) and the widget never receives more than
``max_cells`` values (the grid and the sliders show the first panels; the stats line covers the
whole tensor).

After ``import labkit.viz`` (or ``%load_ext labkit``) in IPython, a tensor that is a cell's last
expression also gets a static view (an HTML card: the stats line, a heatmap with hover titles,
PyTorch's own text underneath).  ``repr(t)`` and ``print(t)`` stay PyTorch's text.
"""
from __future__ import annotations

import base64
import html
import math
import struct
import zlib

import numpy as np

# ColorBrewer RdBu (reversed: negative blue, positive red) and viridis, as RGB stops.
DIVERGING = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"]
SEQUENTIAL = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
              "#6ece58", "#b5de2b", "#fde725"]
NAN_COLOR = "#ff00ff"


def _rgb(hexcol):
    return [int(hexcol[i:i + 2], 16) for i in (1, 3, 5)]


def to_numpy(t):
    """A labkit/torch tensor or array-like as a NumPy array (no gradient tracking)."""
    if hasattr(t, "_np"):
        return np.asarray(t._np)
    if hasattr(t, "detach"):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def _dtype_name(t, a):
    d = getattr(t, "dtype", None)
    return str(d) if d is not None else str(a.dtype)


def stats(a):
    """Statistics of the whole array: finite min/max/mean/std and NaN/Inf/zero counts."""
    a = np.asarray(a)
    out = {"numel": int(a.size), "nan": 0, "posinf": 0, "neginf": 0, "zero": 0,
           "min": None, "max": None, "mean": None, "std": None}
    if a.size == 0:
        return out
    if a.dtype == bool:
        a = a.astype(np.int8)
    if np.iscomplexobj(a):
        a = np.abs(a)
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        out["nan"] = int(nan.sum())
        out["posinf"] = int(np.isposinf(a).sum())
        out["neginf"] = int(np.isneginf(a).sum())
        fin = a[np.isfinite(a)]
    else:
        fin = a.ravel()
    out["zero"] = int(np.count_nonzero(a == 0))
    if fin.size:
        f = fin.astype(np.float64)
        out.update(min=float(f.min()), max=float(f.max()), mean=float(f.mean()),
                   std=float(f.std()))
    return out


def _fmt(v):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    return f"{v:.4g}"


def stats_line(shape, dtype, st):
    """One line of plain words: shape, dtype, range, mean/std and the special values."""
    parts = [f"shape ({', '.join(map(str, shape))})" if shape else "scalar", dtype,
             f"{st['numel']:,} values"]
    if st["min"] is not None:
        parts.append(f"min {_fmt(st['min'])}  max {_fmt(st['max'])}  mean {_fmt(st['mean'])}  "
                     f"std {_fmt(st['std'])}")
    specials = []
    n = max(st["numel"], 1)
    for key, word in (("nan", "NaN"), ("posinf", "+inf"), ("neginf", "-inf")):
        if st[key]:
            specials.append(f"{st[key]:,} {word}")
    if st["zero"]:
        specials.append(f"{100 * st['zero'] / n:.0f}% zeros")
    if specials:
        parts.append(", ".join(specials))
    return "  |  ".join(parts)


def _block_reduce(a, fr, fc):
    """Average blocks of fr x fc cells over the last two axes (NaN propagates: a block with a
    NaN is NaN; infinities of one sign stay infinite)."""
    if fr == 1 and fc == 1:
        return a
    R, C = a.shape[-2:]
    R2, C2 = math.ceil(R / fr), math.ceil(C / fc)
    pad = [(0, 0)] * (a.ndim - 2) + [(0, R2 * fr - R), (0, C2 * fc - C)]
    with np.errstate(invalid="ignore"):
        p = np.pad(a.astype(np.float64), pad, constant_values=np.nan)
        b = p.reshape(a.shape[:-2] + (R2, fr, C2, fc))
        # padded cells are NaN: average the real ones only (a real NaN still poisons the block)
        real = np.zeros((R2 * fr, C2 * fc), dtype=bool)
        real[:R, :C] = True
        real = real.reshape(R2, fr, C2, fc)
        cnt = real.sum(axis=(1, 3))
        vals = np.where(real, b, 0.0)
        nan = (np.isnan(b) & real).any(axis=(-3, -1))
        out = vals.sum(axis=(-3, -1)) / cnt
        out[nan] = np.nan
    return out


def is_image(a, as_image=None):
    """'chw' / 'hwc' / None: whether the last axes look like RGB(A) images with values in
    [0, 1] (float) or 0..255 (integers)."""
    if as_image is False or a.ndim < 3:
        return None
    if a.dtype.kind == "f":
        fin = a[np.isfinite(a)]
        ok = fin.size == a.size and (fin.size == 0 or (fin.min() >= 0 and fin.max() <= 1))
    elif a.dtype.kind in "ui":
        ok = a.size == 0 or (a.min() >= 0 and a.max() <= 255)
    else:
        ok = False
    if not ok and as_image is None:
        return None
    if a.shape[-3] == 3:
        return "chw"
    if a.shape[-1] in (3, 4):
        return "hwc"
    if a.shape[-3] == 4:
        return "chw"
    return None


def plan(a, *, max_side=128, max_cells=65536, max_panels=64, as_image=None):
    """How a tensor is laid out on screen, and the (bounded) values to send.

    Returns ``(meta, values)``: ``values`` is a float32 array ``[*sliders_shown, panels, R, C]``
    (or ``[*sliders_shown, panels, R, C, 3]`` for images, in 0..1), with at most ``max_cells``
    heatmap cells; ``meta`` describes the axes, the sampling and the colour scale."""
    a = np.asarray(a)
    if np.iscomplexobj(a):
        a = np.abs(a)
    if a.dtype == bool:
        a = a.astype(np.float32)
    shape = list(a.shape)
    image = is_image(a, as_image)
    if image == "chw":
        a = np.moveaxis(a, -3, -1)
    if image:
        integer = a.dtype.kind in "ui"
        a = a[..., :3].astype(np.float64)
        if integer or (a.size and np.nanmax(a) > 1):
            a = a / 255.0
        core = a.shape[:-1]
    else:
        core = a.shape
    if len(core) == 0:
        core2 = (1, 1)
    elif len(core) == 1:
        core2 = (1, core[0])
    else:
        core2 = core
    lead = core2[:-2]                 # axes in front of the heatmap
    R, C = core2[-2:]
    arr = a.reshape(tuple(core2) + ((3,) if image else ()))
    grid_axis = len(lead) - 1 if lead else None
    n_grid = lead[-1] if lead else 1
    slider_sizes = list(lead[:-1]) if lead else []
    fr, fc = max(1, math.ceil(R / max_side)), max(1, math.ceil(C / max_side))
    r2, c2 = math.ceil(R / fr), math.ceil(C / fc)
    per_panel = r2 * c2
    panels = max(1, min(n_grid, max_panels, max_cells // max(per_panel, 1)))
    budget = max(1, max_cells // (per_panel * panels))
    shown = []
    for s in slider_sizes:              # the first slider axes get what the budget allows
        k = max(1, min(s, budget))
        shown.append(k)
        budget = max(1, budget // k)
    idx = tuple(slice(0, k) for k in shown) + ((slice(0, panels),) if lead else ())
    sub = arr[idx] if idx else arr
    if image:
        sub = np.moveaxis(_block_reduce(np.moveaxis(sub, -1, 0), fr, fc), 0, -1)
        if not lead:
            sub = sub[None]
        vals = np.clip(sub, 0, 1).astype(np.float32)
    else:
        sub = _block_reduce(sub, fr, fc)
        if not lead:
            sub = sub[None]
        vals = sub.astype(np.float32)
    fin = a[np.isfinite(a)] if a.dtype.kind == "f" else a.ravel()
    lo = float(fin.min()) if fin.size else 0.0
    hi = float(fin.max()) if fin.size else 0.0
    diverging = (not image) and lo < 0
    if diverging:
        m = max(abs(lo), abs(hi)) or 1.0
        vmin, vmax = -m, m
    else:
        vmin, vmax = (lo, hi if hi > lo else lo + 1.0)
    axes = list(range(len(shape)))
    meta = {"shape": shape, "rows": R, "cols": C, "stride": [fr, fc],
            "panel_rows": r2, "panel_cols": c2,
            "grid": {"axis": grid_axis, "size": int(n_grid), "shown": int(panels)} if lead else None,
            "sliders": [{"axis": i, "size": int(s), "shown": int(k)}
                        for i, (s, k) in enumerate(zip(slider_sizes, shown))],
            "image": image, "diverging": diverging, "vmin": vmin, "vmax": vmax,
            "ramp": DIVERGING if diverging else SEQUENTIAL, "nan_color": NAN_COLOR,
            "axes": axes}
    return meta, vals


# ------------------------------------------------------------------------------ colouring
def colorize(vals, meta):
    """uint8 RGB of a heatmap slice (Python's colouring; the browser reads the same ramp)."""
    if meta["image"]:
        return np.round(np.nan_to_num(vals, nan=0.0) * 255).astype(np.uint8)
    ramp = np.array([_rgb(c) for c in meta["ramp"]], dtype=np.float64)
    lo, hi = meta["vmin"], meta["vmax"]
    with np.errstate(invalid="ignore"):
        t = (np.clip(vals, lo, hi) - lo) / (hi - lo if hi > lo else 1.0)
    t = np.nan_to_num(t, nan=0.5)
    pos = t * (len(ramp) - 1)
    i0 = np.clip(np.floor(pos).astype(int), 0, len(ramp) - 2)
    f = (pos - i0)[..., None]
    rgb = ramp[i0] * (1 - f) + ramp[i0 + 1] * f
    rgb[np.isnan(vals)] = _rgb(meta["nan_color"])
    return np.round(rgb).astype(np.uint8)


def png_bytes(rgb):
    """A minimal PNG encoder (zlib only) for an (H, W, 3) uint8 array."""
    h, w = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def grid_picture(vals, meta, panel_px=160, max_panels=16, gap=4):
    """The first slider position as one RGB picture: the panels side by side (nearest-neighbour
    scaled so each panel is about ``panel_px`` wide)."""
    v = vals.reshape((-1,) + vals.shape[-3 - (1 if meta["image"] else 0):])[0]
    n = min(v.shape[0], max_panels)
    r, c = meta["panel_rows"], meta["panel_cols"]
    k = max(1, min(24, panel_px // max(r, c)))
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    H, W = rows * (r * k + gap) - gap, cols * (c * k + gap) - gap
    out = np.full((H, W, 3), 255, dtype=np.uint8)
    for p in range(n):
        tile = colorize(v[p], meta)
        tile = np.repeat(np.repeat(tile, k, axis=0), k, axis=1)
        y, x = (p // cols) * (r * k + gap), (p % cols) * (c * k + gap)
        out[y:y + r * k, x:x + c * k] = tile
    return out


def card_html(t, *, title="", max_table=24, text=None, key=None, **plan_kw):
    """The static view (no JavaScript): stats line, then the heatmap (an HTML table with a hover
    title per cell when small, else a PNG), then PyTorch's text in a <details>."""
    a = to_numpy(t)
    st = stats(a)
    meta, vals = plan(a, **plan_kw)
    line = stats_line(list(a.shape), _dtype_name(t, a), st)
    head = (f'<div style="font:12px monospace;margin:2px 0">'
            f'{"<b>" + html.escape(title) + "</b>  " if title else ""}{html.escape(line)}</div>')
    body = ""
    if a.size:
        r, c = meta["panel_rows"], meta["panel_cols"]
        single = meta["grid"] is None and not meta["sliders"] and not meta["image"]
        if single and r <= max_table and c <= max_table and meta["stride"] == [1, 1]:
            rgb = colorize(vals[0], meta)
            rows = []
            two_d = a.ndim >= 2
            for i in range(r):
                cells = []
                for j in range(c):
                    v = float(vals[0, i, j])
                    idx = f"[{i}, {j}]" if two_d else f"[{j}]"
                    mark = ("NaN" if math.isnan(v) else "∞" if math.isinf(v) and v > 0 else
                            "-∞" if math.isinf(v) else "0" if v == 0 else "")
                    col = "#%02x%02x%02x" % tuple(rgb[i, j])
                    r_, g_, b_ = (int(x) for x in rgb[i, j])
                    fg = "#fff" if 0.299 * r_ + 0.587 * g_ + 0.114 * b_ < 128 else "#111"
                    cells.append(f'<td title="{idx} = {v:.6g}" style="background:{col};color:{fg};'
                                 f'width:16px;height:16px;padding:0;text-align:center;'
                                 f'font:9px monospace">{mark}</td>')
                rows.append("<tr>" + "".join(cells) + "</tr>")
            body = ('<table class="labkit-tensor-table" style="border-collapse:collapse;'
                    'margin:2px 0">' + "".join(rows) + "</table>")
        else:
            png = base64.b64encode(png_bytes(grid_picture(vals, meta))).decode("ascii")
            note = []
            if meta["stride"] != [1, 1]:
                note.append(f"each cell is the mean of a {meta['stride'][0]}x{meta['stride'][1]}"
                            f" block")
            g = meta["grid"]
            if g and g["shown"] < g["size"]:
                note.append(f"first {min(g['shown'], 16)} of {g['size']} along axis {g['axis']}")
            elif g and g["shown"] > 16:
                note.append(f"first 16 of {g['size']} along axis {g['axis']}")
            if meta["sliders"]:
                note.append("index 0 of axes " + ", ".join(str(s["axis"]) for s in meta["sliders"]))
            body = (f'<img alt="tensor heatmap" src="data:image/png;base64,{png}" '
                    f'style="image-rendering:pixelated;max-width:100%"/>'
                    + (f'<div style="font:11px sans-serif;color:#666">{html.escape("; ".join(note))}'
                       f'</div>' if note else ""))
        if not meta["image"]:
            body += (f'<div style="font:11px sans-serif;color:#666">colour: '
                     f'{"blue &lt; 0 &lt; red" if meta["diverging"] else "viridis"}, '
                     f'{_fmt(meta["vmin"])} .. {_fmt(meta["vmax"])}; NaN magenta</div>')
    pre = html.escape(text if text is not None else repr(t))
    foot = (f'<details><summary style="font:11px sans-serif">text</summary>'
            f'<pre style="font-size:11px">{pre}</pre></details>')
    return f'<div class="labkit-tensor-card">{head}{body}{foot}</div>'


# ------------------------------------------------------------------ IPython and treescope
def tensor_html(t):
    """IPython's text/html formatter for labkit tensors: the static card for tensors with at
    least 2 dimensions or more than 16 values (a small vector or a scalar stays text only)."""
    try:
        if t.dim() < 2 and t.numel() <= 16:
            return None
        return card_html(t)
    except Exception:          # a formatter must never break displaying the tensor
        return None


def register_ipython(shell=None):
    """Register :func:`tensor_html` for labkit tensors with IPython's HTML formatter.  Returns
    True when registered (idempotent; nothing happens outside IPython)."""
    if shell is None:
        import sys
        ipy = sys.modules.get("IPython")          # not imported: not inside IPython
        if ipy is None:
            return False
        shell = ipy.get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    from ..tensor import Tensor
    shell.display_formatter.formatters["text/html"].for_type(Tensor, tensor_html)
    return True


def unregister_ipython(shell):
    from ..tensor import Tensor
    try:
        shell.display_formatter.formatters["text/html"].pop(Tensor)
    except KeyError:
        pass


def register_treescope(treescope=None):
    """If treescope is installed, let it show labkit tensors like NumPy arrays: an adapter in its
    array registry (what its array visualiser uses) that converts to NumPy and defers to
    treescope's own NumPy adapter, and a handler in its handler registry (the text rendering).
    Returns True when registered.  (treescope is not a labkit dependency.)"""
    if treescope is None:
        try:
            import treescope
        except ImportError:
            return False
    regs = treescope.type_registries
    update = getattr(regs, "update_registries_for_imports", None)
    if update is not None:
        update()                       # treescope sets up its NumPy support lazily
    registry = regs.NDARRAY_ADAPTER_REGISTRY
    base = registry.get(np.ndarray)
    if base is None:
        return False
    from ..tensor import Tensor

    class LabkitArrayAdapter(type(base)):
        """labkit tensors through treescope's NumPy adapter."""

    def wrap(name):
        method = getattr(type(base), name)

        def f(self, *args, **kwargs):
            args = [to_numpy(a) if isinstance(a, Tensor) else a for a in args]
            return method(self, *args, **kwargs)
        f.__name__ = name
        return f

    for name in dir(type(base)):
        if name.startswith("get_") or name == "should_autovisualize":
            setattr(LabkitArrayAdapter, name, wrap(name))
    summary = LabkitArrayAdapter.__dict__.get("get_array_summary")
    if summary is not None:                  # "np.ndarray float32(3, 4) ..." -> "labkit.Tensor ..."
        def get_array_summary(self, array, *args, **kwargs):
            return summary(self, array, *args, **kwargs).replace("np.ndarray", "labkit.Tensor", 1)
        LabkitArrayAdapter.get_array_summary = get_array_summary
    registry[Tensor] = LabkitArrayAdapter()
    # the text rendering: treescope's NumPy handler on the tensor's values
    handlers = getattr(regs, "TREESCOPE_HANDLER_REGISTRY", None)
    np_handler = handlers.get(np.ndarray) if handlers is not None else None
    if np_handler is not None:
        def render_labkit_tensor(node, path, subtree_renderer):
            return np_handler(to_numpy(node), path, subtree_renderer)
        handlers[Tensor] = render_labkit_tensor
    return True
