"""More pooling and 3-D convolution, composed from Tensor ops: windows are gathered with
``index_select`` (one gather per spatial dim), then reduced (max / mean / power mean) or
contracted with the kernel by ``matmul``.  Adaptive max pooling, max unpooling, LP pooling,
``conv3d`` / ``conv_transpose3d``, ``max_pool3d`` / ``avg_pool3d`` / ``adaptive_avg_pool3d``."""
import numpy as np

import labkit as _lk
from ...tensor import _make
from ._common import _check_float, _integer_via_float64, _tuple
from .linear import _conv_checks, conv1d
from .padding import pad
from .pooling import (_adaptive_matrix, _avg_divisors, _pool_args, _pool_out, avg_pool1d,
                      avg_pool2d, max_pool1d, max_pool2d)


# ================================================================ window gathering
def _gather_windows(x, starts, offsets=None):
    """``x``'s last ``nd`` dims cut into windows: dim ``i`` is indexed by
    ``starts[i][:, None] + offsets[i][None, :]`` (o_i, k_i) (or by ``starts[i]`` itself when it is
    already (o_i, k_i)).  Returns ``(*lead, o_1..o_nd, k_1 * ... * k_nd)`` and the (o, k) index
    arrays used per dim."""
    nd = len(starts)
    lead = x.ndim - nd
    idxs = []
    for i in range(nd):
        idx = starts[i] if offsets is None else starts[i][:, None] + offsets[i][None, :]
        idxs.append(idx)
        d = lead + 2 * i
        x = x.index_select(d, _make(idx.reshape(-1).astype(np.int64)))
        shape = list(x.shape)
        x = x.reshape(shape[:d] + list(idx.shape) + shape[d + 1:])
    # now (*lead, o1, k1, o2, k2, ...): move the k's last
    perm = list(range(lead)) + [lead + 2 * i for i in range(nd)] + \
        [lead + 2 * i + 1 for i in range(nd)]
    x = x.permute(*perm)
    ks = [idx.shape[1] for idx in idxs]
    return x.reshape(list(x.shape[:lead + nd]) + [int(np.prod(ks))]), idxs


def _flat_positions(idxs, sizes):
    """Flat input index (row-major over the spatial dims) of each (output, window) element."""
    nd = len(idxs)
    flat = np.zeros([i.shape[0] for i in idxs] + [i.shape[1] for i in idxs], np.int64)
    for i, idx in enumerate(idxs):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = idx.shape
        stride = int(np.prod(sizes[i + 1:]))
        flat = flat + idx.reshape(shape) * stride
    return flat.reshape([i.shape[0] for i in idxs] + [-1])


def _batched(name, input, nd):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor for "
                           f"input, but got: {list(input.shape)}")
    return input.ndim == nd + 1


# ================================================================ adaptive max pooling
def _adaptive_bins(n, o):
    i = np.arange(o)
    start = (i * n) // o
    end = -(-((i + 1) * n) // o)
    k = int((end - start).max()) if o else 1
    idx = np.minimum(start[:, None] + np.arange(k)[None, :], end[:, None] - 1)
    return idx                                                    # repeats the last index


def _adaptive_max(name, input, output_size, return_indices, nd):
    _check_float(input, name)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(input.shape)}")
    sizes = list(input.shape[-nd:])
    outs = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * nd
    if len(outs) != nd:
        raise RuntimeError(f"{name}: internal error: output_size.size() must be {nd}")
    outs = [n if o is None else int(o) for n, o in zip(sizes, outs)]
    for i in range(input.ndim - nd):
        if input.shape[i] == 0 and i >= input.ndim - nd - 1:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")
    if any(n == 0 for n in sizes):
        raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(input.shape)}")
    bins = [_adaptive_bins(n, o) for n, o in zip(sizes, outs)]
    win, idxs = _gather_windows(input, bins)
    out, arg = win.max(-1)
    if not return_indices:
        return out
    flat = _flat_positions(idxs, sizes)                           # (o..., K)
    a = arg._np
    lead = a.shape[:a.ndim - nd]
    grid = np.broadcast_to(flat, lead + flat.shape)
    ind = np.take_along_axis(grid, a[..., None], -1)[..., 0]
    return out, _make(np.ascontiguousarray(ind))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over ``output_size`` adaptive bins of ``(N, C, L)`` (bin i covers
    ``[floor(i L / o), ceil((i + 1) L / o))``)."""
    return _adaptive_max("adaptive_max_pool1d", input, output_size, return_indices, 1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive ``(oh, ow)`` bins of ``(N, C, H, W)``; indices are flat ``h * W + w``."""
    return _adaptive_max("adaptive_max_pool2d", input, output_size, return_indices, 2)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over adaptive ``(od, oh, ow)`` bins of ``(N, C, D, H, W)``."""
    return _adaptive_max("adaptive_max_pool3d", input, output_size, return_indices, 3)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    # *_with_indices returns the indices whatever return_indices says, as PyTorch's does
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool3d(input, output_size, True)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of ``(N, C, D, H, W)`` to ``output_size`` (separable: one averaging matrix
    per spatial dim)."""
    _check_float(input, "adaptive_avg_pool3d")
    if input.ndim not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got "
                           f"{list(input.shape)}")
    outs = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * 3
    out = input
    for i in range(3):
        d = input.ndim - 3 + i
        n = input.shape[d]
        o = n if outs[i] is None else int(outs[i])
        m = _make(np.ascontiguousarray(_adaptive_matrix(n, o, input._np.dtype).T))
        out = (out.movedim(d, -1) @ m).movedim(-1, d)
    return out


# ================================================================ 3-D max / avg pooling
def _window_axes(n, k, s, p, d, ceil_mode):
    o = _pool_out(n, k, s, p, d, ceil_mode)
    return o, np.arange(o) * s, np.arange(k) * d


@_integer_via_float64("round")
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over ``(N, C, D, H, W)`` (or ``(C, D, H, W)``); indices are flat
    ``(d * H + h) * W + w``."""
    _check_float(input, "max_pool3d")
    _batched("max_pool3d", input, 3)
    k, s, p, d = _pool_args("max_pool3d", input, kernel_size, stride, padding, dilation, 3)
    sizes = list(input.shape[-3:])
    geo = [_window_axes(n, k[i], s[i], p[i], d[i], ceil_mode) for i, n in enumerate(sizes)]
    if any(g[0] <= 0 for g in geo):
        raise RuntimeError(f"max_pool3d: Given input size: ({'x'.join(map(str, input.shape[-4:]))}"
                           f"). Calculated output size: ({input.shape[-4]}x"
                           f"{'x'.join(str(g[0]) for g in geo)}). Output size is too small")
    # pad with -inf far enough for every window (ceil_mode windows may run past the padding)
    extra = [max(0, (g[0] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - sizes[i] - 2 * p[i])
             for i, g in enumerate(geo)]
    pads = []
    for i in reversed(range(3)):
        pads += [p[i], p[i] + extra[i]]
    xp = pad(input, pads, value=-float("inf"))
    win, idxs = _gather_windows(xp, [g[1] for g in geo], [g[2] for g in geo])
    out, arg = win.max(-1)
    if not return_indices:
        return out
    flat = _flat_positions([i - p[j] for j, i in enumerate(idxs)], sizes)
    a = arg._np
    grid = np.broadcast_to(flat, a.shape[:a.ndim - 3] + flat.shape)
    ind = np.take_along_axis(grid, a[..., None], -1)[..., 0]
    return out, _make(np.ascontiguousarray(ind))


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


@_integer_via_float64("trunc")
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling over ``(N, C, D, H, W)`` (``stride`` defaults to ``kernel_size``)."""
    _check_float(input, "avg_pool3d")
    _batched("avg_pool3d", input, 3)
    k, s, p, _ = _pool_args("avg_pool3d", input, kernel_size, stride, padding, 1, 3)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    sizes = list(input.shape[-3:])
    geo = [_window_axes(n, k[i], s[i], p[i], 1, ceil_mode) for i, n in enumerate(sizes)]
    if any(g[0] <= 0 for g in geo):
        raise RuntimeError(f"avg_pool3d: Given input size: ({'x'.join(map(str, input.shape[-4:]))}"
                           f"). Calculated output size: ({input.shape[-4]}x"
                           f"{'x'.join(str(g[0]) for g in geo)}). Output size is too small")
    extra = [max(0, (g[0] - 1) * s[i] + k[i] - sizes[i] - 2 * p[i]) for i, g in enumerate(geo)]
    pads = []
    for i in reversed(range(3)):
        pads += [p[i], p[i] + extra[i]]
    win, _ = _gather_windows(pad(input, pads), [g[1] for g in geo], [g[2] for g in geo])
    total = win.sum(-1)
    if divisor_override:
        return total / float(divisor_override)
    div = [_avg_divisors(n, k[i], s[i], p[i], geo[i][0], count_include_pad)
           for i, n in enumerate(sizes)]
    div = div[0][:, None, None] * div[1][None, :, None] * div[2][None, None, :]
    return total * _make((1.0 / div).astype(input._np.dtype))


# ================================================================ LP pooling
def _lp_finish(out, norm_type, kprod):
    return (_lk.sign(out) * out.abs().relu()).mul(kprod).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling ``(sum over the window of x^p)^(1/p)`` over ``(N, C, L)``."""
    k = _tuple(kernel_size, 1)[0]
    if norm_type == float("inf"):
        return max_pool1d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool1d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp_finish(out, norm_type, k)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over ``(N, C, H, W)``."""
    kh, kw = _tuple(kernel_size, 2)
    if norm_type == float("inf"):
        return max_pool2d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool2d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp_finish(out, norm_type, kh * kw)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over ``(N, C, D, H, W)``."""
    kd, kh, kw = _tuple(kernel_size, 3)
    if norm_type == float("inf"):
        return max_pool3d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool3d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool3d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp_finish(out, norm_type, kd * kh * kw)


# ================================================================ max unpooling
def _unpool_output_size(input, k, s, p, output_size):
    nd = len(k)
    default = [(input.shape[-nd + i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(nd)]
    if output_size is None:
        ret = default
    else:
        output_size = [int(v) for v in output_size]
        if len(output_size) == nd + 2:
            output_size = output_size[2:]
        if len(output_size) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                             f"elements, but it has a length of '{len(output_size)}'")
        for i in range(nd):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < output_size[i] < hi:
                raise ValueError(f'invalid output_size "{output_size}" (dim {i} must be between '
                                 f'{lo} and {hi})')
        ret = output_size
    for i in range(nd):
        if ret[i] < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{i}]={ret[i]}")
    return ret


def _max_unpool(name, input, indices, kernel_size, stride, padding, output_size, nd):
    k = _tuple(kernel_size, nd, "kernel_size")
    s = k if stride is None else _tuple(stride, nd, "stride")
    p = _tuple(padding, nd, "padding")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(input.shape)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    out_sp = _unpool_output_size(input, k, s, p, output_size)
    total = int(np.prod(out_sp))
    lead = list(input.shape[:input.ndim - nd])
    n_in = int(np.prod(input.shape[input.ndim - nd:]))
    idx = indices._np.reshape(lead + [n_in]).astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        bad = idx[(idx < 0) | (idx >= total)].ravel()[0]
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, out_sp))}")
    flat = input.reshape(lead + [n_in])
    out = _lk.zeros(lead + [total], dtype=input.dtype).scatter(len(lead), _make(idx), flat)
    return out.reshape(lead + out_sp)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of :func:`max_pool1d`: put each value back at its ``indices``, zeros elsewhere."""
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding,
                       output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of :func:`max_pool2d` (with ``return_indices=True``)."""
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding,
                       output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of :func:`max_pool3d` (with ``return_indices=True``)."""
    return _max_unpool("max_unpool3d", input, indices, kernel_size, stride, padding,
                       output_size, 3)


# ================================================================ 3-D convolution
def _conv_nd(input, weight, bias, stride, padding, dilation, groups, nd):
    """Convolution by windows + one batched matmul per group (batched input ``(N, C, ...)``)."""
    N, C = input.shape[:2]
    O = weight.shape[0]
    g = groups
    ks = list(weight.shape[2:])
    sizes = list(input.shape[2:])
    pads = []
    for i in reversed(range(nd)):
        pads += [padding[i], padding[i]]
    x = pad(input, pads) if any(padding) else input
    starts, offs = [], []
    for i in range(nd):
        n = sizes[i] + 2 * padding[i]
        o = (n - dilation[i] * (ks[i] - 1) - 1) // stride[i] + 1
        starts.append(np.arange(o) * stride[i])
        offs.append(np.arange(ks[i]) * dilation[i])
    win, _ = _gather_windows(x, starts, offs)                      # (N, C, o..., K)
    outs = list(win.shape[2:2 + nd])
    L = int(np.prod(outs))
    K = win.shape[-1]
    cols = win.reshape(N, g, C // g, L, K).permute(0, 1, 2, 4, 3).reshape(N, g, C // g * K, L)
    w = weight.reshape(g, O // g, C // g * K)
    y = (w @ cols).reshape([N, O] + outs)
    if bias is not None:
        y = y + bias.reshape([1, O] + [1] * nd)
    return y


@_integer_via_float64("round")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution of ``(N, C_in, D, H, W)`` (or unbatched) with weight
    ``(C_out, C_in / groups, kD, kH, kW)``; ``padding`` may be ``'valid'`` or ``'same'``."""
    _conv_checks("conv3d", input, weight, bias, groups, 3)
    stride = _tuple(stride, 3, "stride")
    dilation = _tuple(dilation, 3, "dilation")
    unbatched = input.ndim == 4
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pads = []
            for i in reversed(range(3)):
                total = dilation[i] * (weight.shape[2 + i] - 1)
                pads += [total // 2, total - total // 2]
            input = pad(input, pads)
            padding = (0, 0, 0)
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of "
                             f"{{'valid', 'same'}}")
    padding = _tuple(padding, 3, "padding")
    sizes = input.shape[2:]
    for i in range(3):
        if sizes[i] + 2 * padding[i] < dilation[i] * (weight.shape[2 + i] - 1) + 1:
            raise RuntimeError(
                f"Calculated padded input size per channel: "
                f"({' x '.join(str(sizes[j] + 2 * padding[j]) for j in range(3))}). Kernel size: "
                f"({' x '.join(str(v) for v in weight.shape[2:])}). Kernel size can't be greater "
                f"than actual input size")
    out = _conv_nd(input, weight, bias, stride, padding, dilation, int(groups), 3)
    return out.squeeze(0) if unbatched else out


@_integer_via_float64("round")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 3-D convolution (the gradient of :func:`conv3d` with respect to its input):
    weight ``(C_in, C_out / groups, kD, kH, kW)``; output size
    ``(D - 1) s - 2 p + d (k - 1) + output_padding + 1``."""
    _check_float(input, "conv_transpose3d")
    if input.ndim not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, "
                           f"but got input of size: {list(input.shape)}")
    if weight.ndim != 5:
        raise RuntimeError(f"conv_transpose3d: weight must be 5-D, got shape "
                           f"{list(weight.shape)}")
    g = int(groups)
    s = _tuple(stride, 3, "stride")
    p = _tuple(padding, 3, "padding")
    op = _tuple(output_padding, 3, "output_padding")
    d = _tuple(dilation, 3, "dilation")
    for i in range(3):
        if op[i] >= s[i] and op[i] >= d[i]:
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               f"but got output_padding={list(op)}, stride={list(s)}, "
                               f"dilation={list(d)}")
    unbatched = input.ndim == 4
    if unbatched:
        input = input.unsqueeze(0)
    N, Cin = input.shape[:2]
    if Cin != weight.shape[0] or Cin % g:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {weight.shape[0]} channels, but "
                           f"got {Cin} channels instead")
    Cout = weight.shape[1] * g
    ks = list(weight.shape[2:])
    x = input
    for i in range(3):                                  # insert s-1 zeros between elements
        if s[i] > 1:
            dim = 2 + i
            n = x.shape[dim]
            xe = x.unsqueeze(dim + 1)
            pw = [0, 0] * (x.ndim - dim - 1) + [0, s[i] - 1]
            xe = pad(xe, pw)
            shape = list(x.shape)
            shape[dim] = n * s[i]
            x = xe.reshape(shape).narrow(dim, 0, (n - 1) * s[i] + 1) if n else \
                xe.reshape(shape)
    pads = []
    for i in reversed(range(3)):
        e = d[i] * (ks[i] - 1) - p[i]
        pads += [e, e + op[i]]
    outs = [x.shape[2 + i] + pads[2 * (2 - i)] + pads[2 * (2 - i) + 1] - d[i] * (ks[i] - 1)
            for i in range(3)]
    if min(outs) <= 0:
        raise RuntimeError(f"Given input size per channel: "
                           f"({' x '.join(str(v) for v in input.shape[2:])}). Calculated output "
                           f"size per channel: ({' x '.join(str(v) for v in outs)}). Output size "
                           f"is too small")
    x = pad(x, pads)
    w = weight.reshape([g, Cin // g, Cout // g] + ks).transpose(1, 2)
    w = w.reshape([Cout, Cin // g] + ks).flip([2, 3, 4])
    out = _conv_nd(x, w, bias, (1, 1, 1), (0, 0, 0), d, g, 3)
    return out.squeeze(0) if unbatched else out


def conv_tbc(input, weight, bias, pad=0):
    """1-D convolution in time-batch-channel layout: ``input`` ``(T, B, C_in)``, ``weight``
    ``(k, C_in, C_out)``, ``bias`` ``(C_out)``, ``pad`` zeros on both ends of time."""
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.ndim != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=int(pad))
    return out.permute(2, 0, 1)
