"""Fractional max pooling (Graham, 2014): windows of a fixed size whose starts advance by a
pseudo-random, non-integer stride, so the output size can be any fraction of the input's.

For output position ``i`` of a dim with input size ``n``, window ``k`` and output size ``o``, the
start is ``int((i + u) * a) - int(u * a)`` with ``a = (n - k) / (o - 1)`` and ``u`` one uniform
sample per (batch, channel, dim); the last window ends at the input's end.  Passing
``_random_samples`` (shape ``(N, C, nd)``) makes it deterministic, and gives PyTorch's numbers.
"""
import numpy as np

from ...creation import rand
from ...tensor import _make
from ._common import _check_float

__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]


def _starts(u, n, k, o, dtype):
    """(..., o) window starts for samples ``u`` (...,), computed in ``dtype`` as PyTorch does."""
    out = np.empty(u.shape + (o,), np.int64)
    if o > 1:
        alpha = dtype.type(n - k) / dtype.type(o - 1)
        i = np.arange(o - 1, dtype=dtype)
        u = u.astype(dtype)[..., None]
        out[..., :-1] = ((i + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)
    if o > 0:
        out[..., -1] = n - k
    return out


def _fractional(name, input, kernel_size, output_size, output_ratio, return_indices, samples,
                nd):
    _check_float(input, name)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    ks = list(kernel_size) if isinstance(kernel_size, (tuple, list)) else [kernel_size] * nd
    sizes = list(input.shape[-nd:])
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output_size or an "
                             f"output_ratio")
        ratio = list(output_ratio) if isinstance(output_ratio, (tuple, list)) else \
            [output_ratio] * nd
        outs = [int(n * r) for n, r in zip(sizes, ratio)]
    else:
        outs = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * nd
    for n, k, o in zip(sizes, ks, outs):
        if o + k - 1 > n or (nd == 3 and o + k - 1 == n):     # (PyTorch's 3-D check is strict)
            raise RuntimeError(f"{name}(): pool size {k} too large relative to input size {n} "
                               f"for output size {o} (needs output_size + kernel_size - 1 <= "
                               f"input size, < for 3-D)")
    batched = input.ndim == nd + 2
    x = input if batched else input.unsqueeze(0)
    N, C = x.shape[0], x.shape[1]
    if samples is None:
        samples = rand(N, C, nd, dtype=input.dtype)
    u = samples._np
    if u.shape != (N, C, nd):
        raise RuntimeError(f"{name}(): expected _random_samples of shape {[N, C, nd]}, got "
                           f"{list(u.shape)}")
    dt = input._np.dtype
    # flat spatial position of every (n, c, out..., window...) element
    flat = np.zeros((N, C) + tuple(outs) + tuple(ks), np.int64)
    for d in range(nd):
        sample = u[..., 1 - d] if nd == 2 else u[..., d]     # (ATen's 2-D kernel: W's first)
        st = _starts(sample, sizes[d], ks[d], outs[d], dt)               # (N, C, o_d)
        pos = st[..., :, None] + np.arange(ks[d])                         # (N, C, o_d, k_d)
        shape = [N, C] + [1] * (2 * nd)
        shape[2 + d], shape[2 + nd + d] = outs[d], ks[d]
        flat = flat + pos.reshape(shape) * int(np.prod(sizes[d + 1:]))
    flat = flat.reshape(N, C, -1)
    win = x.reshape(N, C, -1).gather(2, _make(flat))
    win = win.reshape([N, C] + outs + [int(np.prod(ks))])
    out, arg = win.max(-1)
    ind = np.take_along_axis(flat.reshape([N, C] + outs + [-1]), arg._np[..., None], -1)[..., 0]
    ind = _make(np.ascontiguousarray(ind))
    if not batched:
        out, ind = out.squeeze(0), ind.squeeze(0)
    return (out, ind) if return_indices else out


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """``(values, indices)``: indices are flat positions in each ``H * W`` plane."""
    return _fractional("fractional_max_pool2d", input, kernel_size, output_size, output_ratio,
                       True, _random_samples, 2)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    return _fractional("fractional_max_pool2d", input, kernel_size, output_size, output_ratio,
                       return_indices, _random_samples, 2)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional("fractional_max_pool3d", input, kernel_size, output_size, output_ratio,
                       True, _random_samples, 3)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    return _fractional("fractional_max_pool3d", input, kernel_size, output_size, output_ratio,
                       return_indices, _random_samples, 3)
