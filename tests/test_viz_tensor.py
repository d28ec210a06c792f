"""lk.viz.show and the static tensor view, without a kernel: statistics vs NumPy/PyTorch, the
layout of the axes, the bound on what is sent, block means, colours, the static card, the IPython
formatter (repr stays PyTorch's text) and the treescope registration."""
import base64
import math
import re
import struct
import types
import zlib

import numpy as np
import pytest
import torch

import labkit as lk
from labkit.viz import _tensorcard as TC
from labkit.viz._tensorview import TensorView, show


def decode_png(data):
    """(H, W, 3) uint8 from an 8-bit RGB PNG written without filters (ours)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w, h = 8, b"", None, None
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        if tag == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, 3)


def test_stats_match_numpy_and_torch():
    a = np.array([[1.0, np.nan, 0.0], [np.inf, -2.0, 0.0], [-np.inf, 3.5, 7.0]], dtype=np.float32)
    st = TC.stats(a)
    t = torch.tensor(a)
    assert st["nan"] == int(torch.isnan(t).sum()) == 1
    assert st["posinf"] == int(torch.isposinf(t).sum()) and st["neginf"] == 1
    assert st["zero"] == int((t == 0).sum()) == 2
    fin = t[torch.isfinite(t)].double()
    assert st["min"] == fin.min().item() and st["max"] == fin.max().item()
    assert st["mean"] == pytest.approx(fin.mean().item())
    assert st["std"] == pytest.approx(fin.std(unbiased=False).item())
    line = TC.stats_line([3, 3], "float32", st)
    assert "1 NaN" in line and "1 +inf" in line and "1 -inf" in line and "22% zeros" in line
    assert TC.stats(np.zeros((0, 3)))["min"] is None


def test_small_matrix_is_sent_exactly_with_a_diverging_map_centred_at_zero():
    x = lk.randn(5, 7)
    v = show(x, title="x")
    m = v.meta
    got = np.frombuffer(v.values, dtype="<f4").reshape(1, 5, 7)
    np.testing.assert_array_equal(got[0], x.numpy())
    assert m["stride"] == [1, 1] and m["grid"] is None and m["sliders"] == []
    assert m["diverging"] and m["vmin"] == -m["vmax"] == -float(np.abs(x.numpy()).max())
    assert m["ramp"] == TC.DIVERGING
    # 0 maps to the centre colour, the extremes to the ends
    rgb = TC.colorize(np.array([[0.0, m["vmin"], m["vmax"], np.nan]]), m)[0]
    assert [list(c) for c in rgb] == [TC._rgb(TC.DIVERGING[3]), TC._rgb(TC.DIVERGING[0]),
                                       TC._rgb(TC.DIVERGING[-1]), TC._rgb(TC.NAN_COLOR)]
    assert "shape (5, 7)" in v.summary and "labkit.float32" in v.summary


def test_colour_maps_are_readable_without_hue():
    """Colour-blind safe: the diverging map gets darker away from 0 on both sides, viridis gets
    lighter monotonically, so both read by lightness alone."""
    lum = lambda h: 0.299 * TC._rgb(h)[0] + 0.587 * TC._rgb(h)[1] + 0.114 * TC._rgb(h)[2]  # noqa
    d = [lum(c) for c in TC.DIVERGING]
    mid = len(d) // 2
    assert all(d[i] < d[i + 1] for i in range(mid)) and all(d[i] > d[i + 1] for i in range(mid, len(d) - 1))
    s = [lum(c) for c in TC.SEQUENTIAL]
    assert all(a < b for a, b in zip(s, s[1:]))
    nonneg = show(lk.rand(4, 4) + 1).meta
    assert not nonneg["diverging"] and nonneg["ramp"] == TC.SEQUENTIAL


def test_4d_grid_and_sliders_and_3d_grid():
    x = lk.randn(2, 3, 6, 5)
    v = show(x)
    m = v.meta
    assert m["grid"] == {"axis": 1, "size": 3, "shown": 3}
    assert m["sliders"] == [{"axis": 0, "size": 2, "shown": 2}]
    np.testing.assert_array_equal(np.frombuffer(v.values, "<f4").reshape(2, 3, 6, 5), x.numpy())
    m3 = show(lk.randn(4, 6, 5)).meta
    assert m3["grid"] == {"axis": 0, "size": 4, "shown": 4} and m3["sliders"] == []


def test_large_tensors_are_summarised_with_block_means():
    a = np.random.default_rng(0).standard_normal((300, 257)).astype(np.float32)
    a[0, 0] = np.nan
    meta, vals = TC.plan(a, max_side=64)
    fr, fc = meta["stride"]
    assert (fr, fc) == (5, 5) and vals.shape == (1, 60, 52)
    assert np.isnan(vals[0, 0, 0])                                # a NaN poisons its block
    assert vals[0, 3, 7] == pytest.approx(a[15:20, 35:40].mean(), rel=1e-5)
    assert vals[0, 59, 51] == pytest.approx(a[295:300, 255:257].mean(), rel=1e-5)  # partial block
    # the browser never receives more than max_cells values, however many slices there are
    big = lk.randn(20, 40, 32, 32)
    v = show(big, max_cells=20000)
    assert len(v.values) // 4 <= 20000
    assert v.meta["sliders"][0]["shown"] < 20 and v.meta["grid"]["shown"] <= 40
    assert "shape (20, 40, 32, 32)" in v.summary and "819,200 values" in v.summary
    assert f"std {TC._fmt(float(big.numpy().astype(np.float64).std()))}" in v.summary


def test_images_are_shown_as_images():
    img = lk.rand(3, 8, 6)
    v = show(img)
    assert v.meta["image"] == "chw"
    np.testing.assert_allclose(np.frombuffer(v.values, "<f4").reshape(1, 8, 6, 3),
                               np.moveaxis(img.numpy(), 0, -1)[None], rtol=1e-6)
    u8 = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    meta, vals = TC.plan(u8)
    assert meta["image"] == "hwc" and vals.max() == pytest.approx(59 / 255)
    assert TC.plan(lk.randn(3, 8, 6).numpy())[0]["image"] is None          # signed: a heatmap
    batch = show(lk.rand(2, 3, 8, 8)).meta                                  # a batch of images
    assert batch["image"] == "chw" and batch["grid"] == {"axis": 0, "size": 2, "shown": 2}
    assert show(lk.rand(2, 3, 8, 8), as_image=False).meta["image"] is None


def test_static_card_small_table_with_hover_and_pytorch_text():
    x = lk.tensor([[1.0, float("nan")], [float("inf"), 0.0]])
    h = TC.card_html(x)
    titles = re.findall(r'<td title="([^"]+)"', h)
    assert titles == ["[0, 0] = 1", "[0, 1] = nan", "[1, 0] = inf", "[1, 1] = 0"]
    assert ">NaN</td>" in h and ">∞</td>" in h and ">0</td>" in h
    assert "1 NaN, 1 +inf, 25% zeros" in h
    assert "<pre" in h and "tensor([[1., nan]," in h


def test_static_card_large_is_a_png_of_the_grid():
    x = lk.randn(2, 4, 10, 12)
    h = TC.card_html(x)
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', h).group(1))
    rgb = decode_png(png)
    meta, vals = TC.plan(x.numpy())
    k = max(1, min(24, 160 // 12))
    # the first panel, top-left cell, is the colour of x[0, 0, 0, 0]
    want = TC.colorize(vals[0, 0], meta)[0, 0]
    assert list(rgb[0, 0]) == list(want) and list(rgb[k - 1, k - 1]) == list(want)
    assert rgb.shape[1] == 4 * 12 * k + 3 * 4                              # 4 panels + gaps
    assert "index 0 of axes 0" in h


def test_widget_update_is_throttled_and_flushed_at_cell_end():
    w = lk.zeros(3, 3)
    v = show(w, max_rate=1000.0)
    assert v.updates == 1
    v.max_rate = 1e-3                                  # one update per 1000 s
    w2 = lk.ones(3, 3)
    assert v.update(w2) is False and v.updates == 1
    v._on_cell_end()                                   # the end of the cell sends the last one
    assert v.updates == 2
    np.testing.assert_array_equal(np.frombuffer(v.values, "<f4"), np.ones(9, dtype=np.float32))
    fb = v.fallback_bundle()["text/html"]
    assert f"labkit-fallback-{v._fallback_key}" in fb and "labkit-tensor-card" in fb
    state = v.get_state()
    assert state["meta"]["shape"] == [3, 3] and state["version"] == 2
    with pytest.raises(ValueError):
        show(w, max_cells=0)


def test_ipython_formatter_keeps_repr_pytorch_text():
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    try:
        assert TC.register_ipython(shell)
        m = lk.tensor([[1.0, -2.5], [3.0, 4.0]])
        data, _ = shell.display_formatter.format(m)
        assert data["text/plain"] == repr(m) == repr(torch.tensor([[1.0, -2.5], [3.0, 4.0]]))
        assert "labkit-tensor-card" in data["text/html"] and "shape (2, 2)" in data["text/html"]
        data, _ = shell.display_formatter.format(lk.tensor(3.0))        # a scalar stays text
        assert "text/html" not in data and data["text/plain"] == "tensor(3.)"
        p = lk.nn.Parameter(lk.randn(4, 4))                              # subclasses too
        assert "labkit-tensor-card" in shell.display_formatter.format(p)[0]["text/html"]
        TC.unregister_ipython(shell)
        assert "text/html" not in shell.display_formatter.format(m)[0]
    finally:
        TC.unregister_ipython(shell)
        InteractiveShell.clear_instance()


def test_treescope_registration():
    """treescope is not a dependency: if it is installed its real registry is used, otherwise a
    stand-in with the same registry shape checks that labkit tensors reach the NumPy adapter."""
    try:
        import treescope
    except ImportError:
        treescope = None
    if treescope is not None:
        assert TC.register_treescope(treescope)
        reg = treescope.type_registries.NDARRAY_ADAPTER_REGISTRY
        ad = reg[lk.Tensor]
        assert tuple(ad.get_axis_info_for_array_data(lk.randn(2, 3))) is not None
        return
    calls = []

    class NumpyAdapter:
        def get_array_summary(self, array, fast):
            calls.append(type(array))
            return f"np.ndarray summary {array.shape}"

        def should_autovisualize(self, array):
            calls.append(type(array))
            return True

    registry = {np.ndarray: NumpyAdapter()}
    rendered = []
    handlers = {np.ndarray: lambda node, path, sr: rendered.append((type(node), node.shape, path))}
    fake = types.SimpleNamespace(type_registries=types.SimpleNamespace(
        NDARRAY_ADAPTER_REGISTRY=registry, TREESCOPE_HANDLER_REGISTRY=handlers,
        update_registries_for_imports=lambda: None))
    assert TC.register_treescope(fake)
    ad = registry[lk.Tensor]
    assert ad.get_array_summary(lk.randn(2, 3), fast=True) == "labkit.Tensor summary (2, 3)"
    assert ad.should_autovisualize(lk.zeros(1)) is True
    assert calls == [np.ndarray, np.ndarray]
    handlers[lk.Tensor](lk.zeros(4, 5), "x", None)
    assert rendered == [(np.ndarray, (4, 5), "x")]
    assert TC.register_treescope(types.SimpleNamespace(type_registries=types.SimpleNamespace(
        NDARRAY_ADAPTER_REGISTRY={}))) is False


def test_a_view_rendering_asks_for_the_throttled_update():
    """Each front-end view sends {"type": "sync"} when it renders (marimo has no end-of-cell
    hook): a throttled update waiting in the kernel is sent then."""
    v = show(lk.zeros(2, 2), max_rate=1e-3)
    v.update(lk.ones(2, 2))
    assert v.updates == 1
    v._handle_custom_msg({"type": "sync"}, [])
    assert v.updates == 2
    np.testing.assert_array_equal(np.frombuffer(v.values, "<f4"), np.ones(4, np.float32))


def test_plain_import_in_a_notebook_shows_the_tensor_card():
    """``import labkit as torch`` alone: a 2-D tensor as a cell's last expression shows the static
    card beside PyTorch's text; a scalar stays text only; ``repr`` is unchanged."""
    import nbclient
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (
        "import labkit as torch\nt = torch.arange(12.).reshape(3, 4)\nt",
        "torch.tensor(2.5)",
        "print(repr(t))")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    card = nb.cells[0].outputs[0]["data"]
    assert card["text/plain"].startswith("tensor([[ 0.,  1.,  2.,  3.],")
    assert "labkit-tensor-card" in card["text/html"]
    assert set(nb.cells[1].outputs[0]["data"]) == {"text/plain"}
    assert nb.cells[2].outputs[0]["text"].startswith("tensor([[ 0.,  1.,  2.,  3.],")
