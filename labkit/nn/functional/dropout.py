"""Dropout (elementwise and whole channels) and embedding lookups."""
import numpy as np

import labkit as _lk
from ...autograd import grad_mode
from ...autograd.function import Function
from ...random import _rng
from ...tensor import _make, Tensor
from ._common import _inplace_result


# ================================================================ dropout / embedding
class Dropout(Function):
    raw = True
    derivative = "dropped elements get 0, kept ones G / (1 - p)"
    node_name = "NativeDropoutBackward0"

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.xp.asarray(ctx.mask), None


def _dropout_mask(shape, p, dtype):
    keep = _rng().random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (only when
    ``training``)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        r = input * 0.0
    else:
        r = Dropout.apply(input, _dropout_mask(input.shape, p, input._np.dtype))
    return _inplace_result(input, r) if inplace else r


def _feature_dropout(input, p, training, inplace, batched_ndim, name):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if input.ndim not in (batched_ndim, batched_ndim - 1):
        raise RuntimeError(f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but "
                           f"received a {input.ndim}D input")
    nlead = 2 if input.ndim == batched_ndim else 1
    shape = tuple(input.shape[:nlead]) + (1,) * (input.ndim - nlead)
    mask = _dropout_mask(shape, p, input._np.dtype) if p < 1 else np.zeros(shape,
                                                                          input._np.dtype)
    r = Dropout.apply(input, mask)
    return _inplace_result(input, r) if inplace else r


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (feature maps) of ``(N, C, H, W)`` with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 4, "dropout2d")


class Embedding(Function):
    raw = True
    derivative = "scatter-add G into the rows of the table that were looked up"
    node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, idx, w, padding_idx, scale_grad_by_freq):
        ctx.idx, ctx.p = idx, (w.shape, padding_idx, scale_grad_by_freq)
        return np.take(w, idx, axis=0)

    @staticmethod
    def backward(ctx, g):
        shape, padding_idx, scale = ctx.p
        xp = ctx.xp
        idx = ctx.idx.reshape(-1)
        g2 = g.reshape(-1, shape[1])
        gw = xp.zeros(shape, dtype=g.dtype)
        if scale:
            counts = np.bincount(idx, minlength=shape[0])
            g2 = g2 / xp.astype(xp.asarray(counts[idx][:, None]), g.dtype)
        xp.add.at(gw, idx, g2)
        if padding_idx is not None:
            gw[padding_idx] = 0
        return None, gw, None, None


def _dense_grad_only(name, sparse):
    # sparse=True asks for a sparse weight gradient; labkit has dense tensors only, so the
    # gradient comes dense, with the same values (PyTorch's OpInfo samples check exactly that),
    # and says so rather than silently
    if sparse:
        import warnings
        warnings.warn(f"{name}(sparse=True): labkit has no sparse tensors, so the weight's "
                      f"gradient is dense (the same values); optimizers that need a sparse "
                      f"gradient (SparseAdam) are not available", UserWarning, stacklevel=3)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (``(num_embeddings, dim)``) at the integer ``input``.

    ``padding_idx`` rows get no gradient; ``max_norm`` renormalises the looked-up rows in place.
    """
    _dense_grad_only("embedding", sparse)
    if not isinstance(input, Tensor):
        input = _lk.tensor(input)
    if input._np.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} instead "
                           f"(convert with .long())")
    n = weight.shape[0]
    idx = input._np.astype(np.int64, copy=False)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)].ravel()[0]
        raise IndexError(f"index out of range in self: index {bad} with an embedding table of "
                         f"{n} rows (valid indices are 0..{n - 1})")
    idx = np.where(idx < 0, idx + n, idx)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    if max_norm is not None:
        with grad_mode.no_grad():
            rows = np.unique(idx)
            w = weight._np
            norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            w[rows] *= scale[:, None].astype(w.dtype)
            weight._vc[0] += 1
    return Embedding.apply(_make(idx), weight, padding_idx, bool(scale_grad_by_freq))


def one_hot(tensor, num_classes=-1):
    """``(*)`` integer classes -> ``(*, num_classes)`` int64 one-hot."""
    return _lk.one_hot(tensor, num_classes)
