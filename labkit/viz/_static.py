"""Static pictures of line charts, for places where widgets cannot render (nbconvert HTML, GitHub,
a notebook opened without its kernel in an old front-end).

``panels`` is a list of ``(title, [line, ...])`` with ``line = dict(label, x, y, color, dashed)``.
PNG via matplotlib's object API (no pyplot: the user's backend and figures are untouched);
an inline SVG when matplotlib is not installed.
"""
from __future__ import annotations

import base64
import html
import io
import math


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def png_base64(panels, *, title="", xlabel="step", log_x=False, log_y=False, markers=()):
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    n = len(panels)
    cols = min(2, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.6 * cols, 2.9 * rows), dpi=80)
    FigureCanvasAgg(fig)
    for i, (name, lines) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        for ln in lines:
            ax.plot(ln["x"], ln["y"], color=ln["color"], lw=1.4,
                    ls="--" if ln.get("dashed") else "-", label=ln["label"],
                    marker="o" if len(ln["x"]) <= 3 else None, ms=4)   # a lone point shows
        for m in markers:
            ax.axvline(m["x"], color=m.get("color", "#d62728"), ls=":", lw=1.2)
            if m.get("label"):
                ax.annotate(m["label"], (m["x"], 1), xycoords=("data", "axes fraction"),
                            xytext=(3, -12), textcoords="offset points", fontsize=8,
                            color=m.get("color", "#d62728"))
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
        if log_x:
            ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
        if len(lines) > 1:
            ax.legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def svg_html(panels, *, title="", xlabel="step", log_x=False, log_y=False, markers=(),
             width=380, height=200):
    """A dependency-free SVG version (one small chart per panel) wrapped in HTML."""
    tx = (lambda v: math.log10(v) if v > 0 else None) if log_x else (lambda v: v)
    ty = (lambda v: math.log10(v) if v > 0 else None) if log_y else (lambda v: v)
    left, right, top, bottom = 46, 8, 20, 22
    parts = ['<div class="labkit-static" style="font-family:sans-serif;font-size:11px">']
    if title:
        parts.append(f"<div><b>{html.escape(title)}</b></div>")
    for name, lines in panels:
        pts = [[(tx(x), ty(y)) for x, y in zip(ln["x"], ln["y"])
                if y is not None and math.isfinite(y)] for ln in lines]
        flat = [p for ps in pts for p in ps if p[0] is not None and p[1] is not None]
        svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'style="margin:2px">',
               f'<text x="{left}" y="13" font-weight="bold">{html.escape(name)}</text>',
               f'<rect x="{left}" y="{top}" width="{width - left - right}" '
               f'height="{height - top - bottom}" fill="none" stroke="#999"/>']
        if flat:
            x0 = min(p[0] for p in flat); x1 = max(p[0] for p in flat)
            y0 = min(p[1] for p in flat); y1 = max(p[1] for p in flat)
            x1 = x1 if x1 > x0 else x0 + 1
            y1 = y1 if y1 > y0 else y0 + 1
            X = lambda v: left + (v - x0) / (x1 - x0) * (width - left - right)  # noqa: E731
            Y = lambda v: height - bottom - (v - y0) / (y1 - y0) * (height - top - bottom)  # noqa: E731
            for ln, ps in zip(lines, pts):
                d = " ".join(f"{X(a):.1f},{Y(b):.1f}" for a, b in ps
                             if a is not None and b is not None)
                dash = ' stroke-dasharray="5,3"' if ln.get("dashed") else ""
                svg.append(f'<polyline fill="none" stroke="{ln["color"]}" stroke-width="1.5"'
                           f'{dash} points="{d}"><title>{html.escape(ln["label"])}</title>'
                           f'</polyline>')
            fmt = lambda v, log: f"{10 ** v:.3g}" if log else f"{v:.4g}"  # noqa: E731
            svg.append(f'<text x="{left - 3}" y="{top + 8}" text-anchor="end">{fmt(y1, log_y)}</text>')
            svg.append(f'<text x="{left - 3}" y="{height - bottom}" text-anchor="end">'
                       f'{fmt(y0, log_y)}</text>')
            svg.append(f'<text x="{left}" y="{height - 6}">{fmt(x0, log_x)}</text>')
            svg.append(f'<text x="{width - right}" y="{height - 6}" text-anchor="end">'
                       f'{html.escape(xlabel)} {fmt(x1, log_x)}</text>')
        svg.append("</svg>")
        parts.append("".join(svg))
    parts.append("</div>")
    return "".join(parts)
