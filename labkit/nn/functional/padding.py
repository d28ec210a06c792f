"""Padding (constant, reflect, replicate, circular); interpolation lives in ``sampling``."""
import numpy as np

from ...autograd.function import Function


# ================================================================ pad
class ConstantPad(Function):
    raw = True
    derivative = "crop the gradient back to the unpadded region"
    node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        # pads: per dim (before, after), may be negative (cropping)
        grow = [(max(a, 0), max(b, 0)) for a, b in pads]
        y = np.pad(x, grow, constant_values=value)
        crop = tuple(slice(-min(a, 0), y.shape[i] + min(b, 0)) for i, (a, b) in enumerate(pads))
        ctx.pads = pads
        return np.ascontiguousarray(y[crop])

    @staticmethod
    def backward(ctx, g):
        pads = ctx.pads
        xp = ctx.xp
        neg = [(max(-a, 0), max(-b, 0)) for a, b in pads]
        gg = xp.pad(g, neg)
        sl = tuple(slice(max(a, 0), gg.shape[i] - max(b, 0)) for i, (a, b) in enumerate(pads))
        return xp.ascontiguousarray(gg[sl]), None, None


class IndexPad(Function):
    """reflect / replicate / circular padding: a gather along each padded dim."""
    raw = True
    derivative = "scatter-add the gradient back from the padded (repeated) positions"
    node_name = "ReflectionPadBackward0"

    @staticmethod
    def forward(ctx, x, indices):
        ctx.indices, ctx.shape = indices, x.shape
        for d, idx in indices:
            x = np.take(x, idx, axis=d)
        return x

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        shapes = [ctx.shape]
        for d, idx in ctx.indices[:-1]:
            s = list(shapes[-1])
            s[d] = len(idx)
            shapes.append(tuple(s))
        for (d, idx), shape in zip(reversed(ctx.indices), reversed(shapes)):
            out = xp.zeros(shape, dtype=g.dtype)
            xp.add.at(out, (slice(None),) * d + (idx,), g)
            g = out
        return g, None


def _pad_index(n, a, b, mode, dim, shape):
    i = np.arange(-a, n + b)
    if mode == "reflect":
        if a >= n or b >= n:
            raise RuntimeError(f"Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({a}, {b}) at dimension {dim} of "
                               f"input {list(shape)}")
        i = np.abs(i)
        i = np.where(i >= n, 2 * (n - 1) - i, i)
    elif mode == "replicate":
        i = np.clip(i, 0, n - 1)
    else:
        if a > n or b > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        # negative pads crop first; the cropped part is then wrapped (as PyTorch does)
        kept = np.arange(max(-a, 0), n - max(-b, 0))
        i = kept[np.mod(np.arange(-max(a, 0), len(kept) + max(b, 0)), max(len(kept), 1))]
    return i


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims: ``pad = (left, right, top, bottom, ...)`` starting from the last dim.

    Modes: ``'constant'`` (with ``value``, default 0; negative pads crop), ``'reflect'``,
    ``'replicate'``, ``'circular'``.
    """
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pads = [(0, 0)] * input.ndim
    for k in range(len(pad) // 2):
        pads[input.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    if mode == "constant":
        return ConstantPad.apply(input, pads, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    indices = []
    for d, (a, b) in enumerate(pads):
        if a or b:
            indices.append((d, _pad_index(input.shape[d], a, b, mode, d, input.shape)))
    if not indices:
        return input * 1
    return IndexPad.apply(input, indices)
