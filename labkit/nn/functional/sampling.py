"""Resampling: ``interpolate`` (every mode, 1-D to 3-D), ``grid_sample`` and ``affine_grid``.

Interpolation is separable: each spatial dim is multiplied by a fixed ``(n_out, n_in)`` weight
matrix (linear, cubic, area) or indexed (nearest), so the gradient is the transposed matrix and
comes from ``matmul``.  ``grid_sample`` gathers the neighbours of each sampling point and weighs
them with Tensor ops on the grid, so it is differentiable in both the input and the grid.
"""
import math
import warnings

import numpy as np

import labkit as _lk
from ...tensor import _make
from ._common import _check_float
from .pooling import _adaptive_matrix


# ================================================================ interpolate
def _interp_scale(n_in, n_out, scale_factor, align_corners):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    if scale_factor is not None:
        return 1.0 / scale_factor
    return n_in / n_out


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) matrix of linear interpolation weights (PyTorch's source-index rule)."""
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    l1 = src - i0
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.arange(n_out), i0), 1 - l1)
    np.add.at(m, (np.arange(n_out), i1), l1)
    return m.astype(dtype)


_CUBIC_A = -0.75


def _cubic_weights(t):
    """The four cubic-convolution weights (taps at -1, 0, 1, 2) for fractional offsets ``t``."""
    a = _CUBIC_A

    def near(x):                                       # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):                                        # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_matrix(n_in, n_out, scale, align_corners, dtype):
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else (dst + 0.5) * scale - 0.5     # not clamped at 0
    i0 = np.floor(src).astype(np.int64)
    t = src - i0
    m = np.zeros((n_out, n_in), np.float64)
    for k, w in enumerate(_cubic_weights(t)):
        np.add.at(m, (np.arange(n_out), np.clip(i0 - 1 + k, 0, n_in - 1)), w)
    return m.astype(dtype)


def _aa_filter(mode, x):
    """Antialiasing kernels (PIL's): the triangle, or the cubic with a = -0.5."""
    x = np.abs(x)
    if mode == "bilinear":
        return np.maximum(1 - x, 0)
    a = -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _antialias_matrix(n_in, n_out, scale, mode, dtype):
    """When shrinking (``scale`` > 1) the kernel is stretched by ``scale`` so every input pixel
    contributes (a low-pass filter); the weights of each output are normalised to sum to 1."""
    size = 2 if mode == "bilinear" else 4
    support = size * 0.5 * scale if scale >= 1 else size * 0.5
    inv = 1.0 / scale if scale >= 1 else 1.0
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        c = scale * (i + 0.5)
        lo, hi = max(int(c - support + 0.5), 0), min(int(c + support + 0.5), n_in)
        w = _aa_filter(mode, (np.arange(lo, hi) - c + 0.5) * inv)
        m[i, lo:hi] = w / w.sum() if w.sum() != 0 else w
    return m.astype(dtype)


def _apply_matrix(x, dim, m):
    if dim == x.ndim - 1:
        return x @ _make(np.ascontiguousarray(m.T))
    if dim == x.ndim - 2:
        return _make(m) @ x
    return (x.movedim(dim, -1) @ _make(np.ascontiguousarray(m.T))).movedim(-1, dim)


_MODES = "nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact"


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.

    Modes: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D), ``'bilinear'`` /
    ``'bicubic'`` (4-D), ``'trilinear'`` (5-D), ``'area'`` (adaptive average pooling).
    ``align_corners`` (interpolating modes only) maps the corner pixels' centres onto each other.
    Give either ``size`` or ``scale_factor``; with ``scale_factor`` the source positions use the
    given scale unless ``recompute_scale_factor=True``.  ``antialias=True`` (bilinear / bicubic)
    low-pass filters when shrinking, as PIL and torchvision's ``Resize`` do.
    """
    nd = input.ndim - 2
    if nd not in (1, 2, 3):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: {_MODES} (got {mode})")
    interp_modes = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif mode in interp_modes:
        if interp_modes[mode] != nd:
            raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                      f"{interp_modes[mode] + 2}D input")
        align_corners = bool(align_corners)
    else:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: {_MODES} (got {mode})")
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and "
                         "requires a 4-D tensor as input")
    in_sizes = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nd:
                raise ValueError(f"Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{in_sizes} and output size of {size}. Please provide input "
                                 f"tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 f"(o1, o2, ...,oK) format.")
            out_sizes = [int(s) for s in size]
        else:
            out_sizes = [int(size)] * nd
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        scales = [None] * nd
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != nd:
                raise ValueError(f"Input and scale_factor must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{in_sizes} and scale_factor of shape {scale_factor}. Please "
                                 f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 f"scale_factor in (s1, s2, ...,sK) format.")
            sf = [float(s) for s in scale_factor]
        else:
            sf = [float(scale_factor)] * nd
        out_sizes = [int(math.floor(n * s)) for n, s in zip(in_sizes, sf)]
        scales = [None if recompute_scale_factor else s for s in sf]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if min(in_sizes + out_sizes) <= 0:
        names = ["D", "H", "W"][3 - nd:]

        def dims(v):
            return ", ".join(f"{n}: {x}" for n, x in zip(names, v))
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({dims(in_sizes)}) output ({dims(out_sizes)})")
    if mode == "area":
        scales = [None] * nd
    out = input
    dt = input._np.dtype
    for k in range(nd):
        dim = 2 + k
        n_in, n_out = in_sizes[k], out_sizes[k]
        if antialias:
            m = _antialias_matrix(n_in, n_out, _interp_scale(n_in, n_out, scales[k],
                                                             align_corners), mode, dt)
        elif mode in ("linear", "bilinear", "trilinear"):
            m = _linear_matrix(n_in, n_out, _interp_scale(n_in, n_out, scales[k], align_corners),
                               align_corners, dt)
        elif mode == "bicubic":
            m = _cubic_matrix(n_in, n_out, _interp_scale(n_in, n_out, scales[k], align_corners),
                              align_corners, dt)
        elif mode == "area":
            m = _adaptive_matrix(n_in, n_out, dt)
        else:
            scale = _interp_scale(n_in, n_out, scales[k], False)
            dst = np.arange(n_out)
            src = np.floor(dst * scale) if mode == "nearest" else np.floor((dst + 0.5) * scale)
            src = np.minimum(src.astype(np.int64), n_in - 1)
            out = out.index_select(dim, _make(src))
            continue
        out = _apply_matrix(out, dim, m)
    return out if out is not input else input * 1


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate` (kept for old code)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ================================================================ grid_sample / affine_grid
GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}


def _unnormalize(g, n, align_corners):
    return (g + 1) / 2 * (n - 1) if align_corners else ((g + 1) * n - 1) / 2


def _reflect(x, lo, hi):
    """Reflect coordinates into ``[lo, hi]`` (Tensor ops, so the gradient flips sign on odd
    reflections as PyTorch's does)."""
    if lo == hi:
        return x * 0 + lo
    span = hi - lo
    d = (x - lo).abs()
    flips = np.floor(d._np / span)
    extra = d - _make(flips * span)
    return _lk.where(_make(flips % 2 == 0), extra + lo, span - extra + lo)


def _pad_coord(x, n, padding_mode, align_corners):
    if padding_mode == "border":
        return x.clamp(0, n - 1)
    if padding_mode == "reflection":
        x = _reflect(x, 0, n - 1) if align_corners else _reflect(x, -0.5, n - 0.5)
        return x.clamp(0, n - 1)
    return x


def _gather_points(flat, idx_list, sizes, valid):
    """Values of ``flat`` ``(N, C, prod(sizes))`` at integer points (per-dim index arrays of shape
    ``(N, P)``), zero where not ``valid``."""
    lin = np.zeros_like(idx_list[0])
    for i, n in enumerate(sizes):
        lin = lin * n + np.clip(idx_list[i], 0, n - 1)
    N, C = flat.shape[:2]
    g = _make(np.broadcast_to(lin[:, None, :], (N, C, lin.shape[1])).astype(np.int64))
    vals = flat.gather(2, g)
    if valid is not None and not valid.all():
        vals = vals * _make(valid[:, None, :].astype(flat._np.dtype))
    return vals


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` ``(N, C, H, W)`` at the points ``grid`` ``(N, H_out, W_out, 2)`` (x, y in
    [-1, 1]); 5-D inputs take ``(N, D_out, H_out, W_out, 3)`` grids.

    Modes ``'bilinear'`` (trilinear in 5-D), ``'nearest'``, ``'bicubic'`` (4-D); padding
    ``'zeros'``, ``'border'``, ``'reflection'``.  Differentiable in ``input`` and ``grid``.
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", stacklevel=2)
        align_corners = False
    _check_float(input, "grid_sample")
    nd = input.ndim - 2
    if nd not in (2, 3) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {list(input.shape)} and "
                           f"grid with sizes {list(grid.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if grid._np.dtype != input._np.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have the same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}")
    N, C = input.shape[:2]
    sizes = list(input.shape[2:])                      # (H, W) or (D, H, W)
    out_sp = list(grid.shape[1:-1])
    P = int(np.prod(out_sp))
    g = grid.reshape(N, P, nd)
    # the grid's last dim is (x, y[, z]): reverse it to the input's dim order (.., H, W)
    coords = [_unnormalize(g[:, :, nd - 1 - i], sizes[i], align_corners) for i in range(nd)]
    flat = input.reshape(N, C, int(np.prod(sizes)))
    if mode == "bicubic":
        out = _bicubic_sample(flat, coords, sizes, padding_mode, align_corners)
        return out.reshape([N, C] + out_sp)
    coords = [_pad_coord(c, n, padding_mode, align_corners) for c, n in zip(coords, sizes)]
    if mode == "nearest":
        idx = [np.round(c._np).astype(np.int64) for c in coords]      # half to even
        valid = np.ones((N, P), bool)
        for i, n in enumerate(sizes):
            valid &= (idx[i] >= 0) & (idx[i] < n)
        return _gather_points(flat, idx, sizes, valid).reshape([N, C] + out_sp)
    lo = [np.floor(c._np).astype(np.int64) for c in coords]
    frac = [c - _make(lo_.astype(c._np.dtype)) for c, lo_ in zip(coords, lo)]
    out = None
    for corner in range(2 ** nd):
        bits = [(corner >> (nd - 1 - i)) & 1 for i in range(nd)]
        idx = [lo[i] + bits[i] for i in range(nd)]
        w = None
        valid = np.ones((N, P), bool)
        for i in range(nd):
            wi = frac[i] if bits[i] else 1 - frac[i]
            w = wi if w is None else w * wi
            valid &= (idx[i] >= 0) & (idx[i] < sizes[i])
        term = _gather_points(flat, idx, sizes, valid) * w.unsqueeze(1)
        out = term if out is None else out + term
    return out.reshape([N, C] + out_sp)


def _bicubic_sample(flat, coords, sizes, padding_mode, align_corners):
    N, P = coords[0].shape
    lo = [np.floor(c._np).astype(np.int64) for c in coords]
    t = [c - _make(lo_.astype(c._np.dtype)) for c, lo_ in zip(coords, lo)]
    wy, wx = _cubic_weights(t[0]), _cubic_weights(t[1])
    out = None
    for a in range(4):
        for b in range(4):
            iy, ix = lo[0] - 1 + a, lo[1] - 1 + b
            if padding_mode == "zeros":
                valid = (iy >= 0) & (iy < sizes[0]) & (ix >= 0) & (ix < sizes[1])
                pts = [iy, ix]
            else:
                valid = None
                pts = []
                for i, n in zip((iy, ix), sizes):
                    c = _make(i.astype(np.float64))
                    pts.append(_pad_coord(c, n, padding_mode, align_corners)._np.astype(np.int64))
            term = _gather_points(flat, pts, sizes, valid) * (wy[a] * wx[b]).unsqueeze(1)
            out = term if out is None else out + term
    return out


def _base_coords(n, align_corners, dtype):
    if n <= 1:
        return np.zeros(max(n, 1), dtype)
    r = np.linspace(-1, 1, n)
    return (r if align_corners else r * (n - 1) / n).astype(dtype)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of an affine map: ``theta`` ``(N, 2, 3)`` for ``size = (N, C, H, W)``
    (``(N, 3, 4)`` for ``(N, C, D, H, W)``) gives ``(N, H, W, 2)`` (x, y) points for
    :func:`grid_sample`."""
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", stacklevel=2)
        align_corners = False
    if theta._np.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(s) for s in size]
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{_lk.Size(size)}. Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{_lk.Size(size)}. Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {_lk.Size(size)}")
    dt = theta._np.dtype
    axes = [_base_coords(n, align_corners, dt) for n in spatial]   # (D,) H, W
    mesh = np.meshgrid(*axes, indexing="ij")
    # base points (x, y[, z], 1): x runs along W (the last spatial dim)
    base = np.stack([m for m in reversed(mesh)] + [np.ones_like(mesh[0])], -1)
    base = base.reshape(-1, len(spatial) + 1)
    out = _make(np.ascontiguousarray(base)) @ theta.transpose(1, 2)     # (N, P, nd)
    return out.reshape([size[0]] + spatial + [len(spatial)])
