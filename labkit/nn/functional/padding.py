"""Padding (constant, reflect, replicate, circular); interpolation lives in ``sampling``."""
import numpy as np

from ...autograd.function import Function
from ...ops.extra_shape import ConstantPad, pad_pairs


# ================================================================ pad
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
    pads = pad_pairs(input, pad)
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
