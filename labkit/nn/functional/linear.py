"""Linear layers and convolutions: linear, bilinear, conv1d/2d, conv_transpose1d/2d, unfold/fold."""
import numpy as np

import labkit as _lk
from ...autograd.function import Function
from ...kernels import gemm
from ...kernels import nn as NK
from ...ops.linalg import check_same_dtype
from ._common import _check_float, _integer_via_float64, _same_dtype, _tuple
from .padding import pad


# ================================================================ linear
class Linear(Function):
    """``y = x @ W^T + b`` in one node (one BLAS call forward, two backward)."""
    raw = True
    derivative = "y = x W^T + b: dx = G W, dW = G^T x, db = sum of G over the batch"
    node_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b):
        # (..., in) inputs go through BLAS as one 2-D product: NumPy's batched matmul with the
        # transposed weight would otherwise take a plain loop (~100x slower).
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = gemm.matmul(x2, w.T, bias=b)
        ctx.save_for_backward(x, w)
        return y.reshape(x.shape[:-1] + (w.shape[0],)) if x.ndim != 2 else y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])                 # (..., out) as one 2-D product (BLAS)
        gx = (g2 @ w).reshape(x.shape) if nx else None
        gw = g2.mT @ x.reshape(-1, x.shape[-1]) if nw else None
        gb = ctx.xp.sum(g2, axis=0) if nb else None
        return gx, gw, gb

    @staticmethod
    def fused_backward(ctx, g):
        """The same rule with the products on labkit's threads (``kernels.gemm``)."""
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        gx = gemm.matmul(g2, w).reshape(x.shape) if nx else None
        gw = gemm.matmul(g2.T, x.reshape(-1, x.shape[-1])) if nw else None
        gb = gemm.sum_rows(g2) if nb else None
        return gx, gw, gb


def linear(input, weight, bias=None):
    """Apply ``y = x W^T + b``.

    Args:
        input: ``(*, in_features)``
        weight: ``(out_features, in_features)``
        bias: ``(out_features)`` or None

    Returns:
        ``(*, out_features)``
    """
    if input.ndim == 0:
        raise RuntimeError("linear: input must have at least 1 dimension, got a 0-d tensor")
    if input.shape[-1] != weight.shape[-1]:
        rows = input.numel() // input.shape[-1] if input.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
            f"{weight.shape[-1]}x{weight.shape[0]}): the input's last dim is "
            f"{input.shape[-1]} but the layer expects in_features={weight.shape[-1]} "
            f"(input shape {list(input.shape)}, weight shape {list(weight.shape)})")
    check_same_dtype(input, weight, "mm" if bias is None else "addmm")   # PyTorch's two wordings
    return (Linear if bias is not None or input.ndim != 2 else _LINEAR_NO_BIAS).apply(
        input, weight, bias)


_LINEAR_NO_BIAS = Linear.variant("MmBackward0")          # PyTorch's name for x @ W^T alone


def bilinear(input1, input2, weight, bias=None):
    """``y_k = x1^T W_k x2 + b_k``; weight ``(out, in1, in2)``."""
    y = _lk.einsum("...i,kij,...j->...k", input1, weight, input2)
    return y if bias is None else y + bias


# ================================================================ convolution
def _conv_out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


class Conv2d(Function):
    """2-D convolution as im2col (a Numba kernel) + one batched matrix product per group.

    ``cols`` (N, C*KH*KW, OH*OW) holds, per image, one row per (input channel, kernel offset): the
    input pixel that offset sees at each output pixel.  ``W (OC, C*KH*KW) @ cols[n]`` is image n's
    output, already in (OC, OH*OW) order, so the batched product writes NCHW directly.  Backward
    reuses the saved ``cols`` for the weight gradient and scatters ``W^T @ grad`` back with col2im.
    """
    raw = True
    derivative = ("dx = transposed convolution of G with the kernels; dW = correlation of x with G; "
                  "db = sum of G")
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        N, C, H, W = x.shape
        OC, Cg, KH, KW = w.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        OH, OW = _conv_out(H, KH, sh, ph, dh), _conv_out(W, KW, sw, pw, dw)
        x_in, x = x, np.ascontiguousarray(x)
        cols = NK.im2col(x, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, pooled=True)  # (N, C*KK, P)
        wm = w.reshape(OC, Cg * KH * KW)
        y = np.empty((N, OC, OH * OW), x.dtype)
        if groups == 1:
            gemm.matmul(wm, cols, out=y, bias=b, bias_axis=0)
            b = None                                 # added
        else:
            ocg, rows = OC // groups, Cg * KH * KW
            for g in range(groups):
                np.matmul(wm[g * ocg:(g + 1) * ocg], cols[:, g * rows:(g + 1) * rows],
                          out=y[:, g * ocg:(g + 1) * ocg])
        if b is not None:
            y += b[:, None]
        ctx.save_for_backward(x_in, w, cols)       # freed by the engine after backward
        ctx.geom = (KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, groups)
        return y.reshape(N, OC, OH, OW)

    @staticmethod
    def backward(ctx, g):
        """The rule with unfold / fold and grouped matrix products (any order of derivative)."""
        x, w, _ = ctx.saved_tensors
        KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, groups = ctx.geom
        nx, nw, nb = ctx.needs_input_grad[:3]
        xp = ctx.xp
        N, OC = g.shape[:2]
        geom = ((KH, KW), (dh, dw), (ph, pw), (sh, sw), OH, OW)
        g4 = g.reshape(N, groups, OC // groups, OH * OW)            # (N, G, OC/G, L)
        gx = gw = gb = None
        if nw:
            cols = Unfold.call(ctx, x, *geom).reshape(N, groups, -1, OH * OW)
            gw = xp.sum(g4 @ cols.mT, axis=0).reshape(w.shape)
        if nx:
            w3 = w.reshape(groups, OC // groups, -1)                 # (G, OC/G, C/G*KH*KW)
            gcols = (w3.mT @ g4).reshape(N, -1, OH * OW)
            gx = _Fold.call(ctx, gcols, x.shape, *geom)
        if nb:
            gb = xp.sum(g, axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None

    @staticmethod
    def fused_backward(ctx, g):
        """Reuses the ``cols`` saved by forward and writes into pooled buffers."""
        x, w, cols = ctx.saved_tensors
        KH, KW, sh, sw, ph, pw, dh, dw, OH, OW, groups = ctx.geom
        nx, nw, nb = ctx.needs_input_grad[:3]
        N, OC = g.shape[:2]
        Cg = w.shape[1]
        g3 = g.reshape(N, OC, OH * OW)
        wm = w.reshape(OC, Cg * KH * KW)
        gx = gw = gb = None
        ocg, rows = OC // groups, Cg * KH * KW
        if nw:
            # gw[o, k] = sum over images n and pixels p of g[n, o, p] * cols[n, k, p]: per-image
            # products (small-matrix BLAS kernels), then a sum over the batch
            gw = np.empty_like(wm)
            for gi in range(groups):
                o, r = slice(gi * ocg, (gi + 1) * ocg), slice(gi * rows, (gi + 1) * rows)
                gw[o] = gemm.matmul(cols[:, r], g3[:, o].transpose(0, 2, 1)).sum(axis=0).T
            gw = gw.reshape(w.shape)
        if nx:
            gcols = NK.empty(cols.shape, cols.dtype)                       # (N, C*KK, OH*OW)
            if groups == 1:
                gemm.matmul(wm.T, g3, out=gcols)
            else:
                for gi in range(groups):
                    o, r = slice(gi * ocg, (gi + 1) * ocg), slice(gi * rows, (gi + 1) * rows)
                    np.matmul(wm[o].T, g3[:, o], out=gcols[:, r])
            gx = NK.col2im(gcols, x.shape, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
        if nb:
            gb = g3.sum(axis=(0, 2))
        return gx, gw, gb, None, None, None, None


def _conv_checks(name, input, weight, bias, groups, nd):
    _check_float(input, name)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{name}: weight must be {nd + 2}-D, got shape {list(weight.shape)}")
    _same_dtype(name, input, weight)
    C = input.shape[-nd - 1]
    if weight.shape[0] % groups:
        raise RuntimeError(f"{name}: out_channels ({weight.shape[0]}) must be divisible by "
                           f"groups ({groups})")
    if C != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got {C} "
            f"channels instead")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"{name}: bias must have shape [{weight.shape[0]}], got "
                           f"{list(bias.shape)}")


def _same_padding(input, weight, dilation, nd):
    """Padding for ``padding='same'``: symmetric part (per dim) and an extra right pad."""
    pads, extra = [], []
    for i in range(nd):
        total = dilation[i] * (weight.shape[2 + i] - 1)
        pads.append(total // 2)
        extra.append(total - 2 * (total // 2))
    if any(extra):
        pad_arg = []
        for i in reversed(range(nd)):
            pad_arg += [0, extra[i]]
        input = pad(input, pad_arg)
    return input, tuple(pads)


@_integer_via_float64("round")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in every DL library).

    Args:
        input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``
        weight: ``(C_out, C_in / groups, kH, kW)``
        bias: ``(C_out)`` or None
        stride, padding, dilation: int or pair; ``padding`` may also be ``'valid'`` or ``'same'``
        groups (int): split channels into groups convolved separately

    Shape:
        Output ``(N, C_out, H_out, W_out)`` with
        ``H_out = floor((H + 2 * padding - dilation * (kH - 1) - 1) / stride + 1)``.
    """
    _conv_checks("conv2d", input, weight, bias, groups, 2)
    stride = _tuple(stride, 2, "stride")
    dilation = _tuple(dilation, 2, "dilation")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            input, padding = _same_padding(input, weight, dilation, 2)
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of "
                             f"{{'valid', 'same'}}")
    padding = _tuple(padding, 2, "padding")
    H, W = input.shape[2:]
    for i, n in enumerate((H, W)):
        if n + 2 * padding[i] < dilation[i] * (weight.shape[2 + i] - 1) + 1:
            raise RuntimeError(
                f"Calculated padded input size per channel: ({H + 2 * padding[0]} x "
                f"{W + 2 * padding[1]}). Kernel size: ({weight.shape[2]} x {weight.shape[3]}). "
                f"Kernel size can't be greater than actual input size")
    out = Conv2d.apply(input, weight, bias, stride, padding, dilation, int(groups))
    return out.squeeze(0) if unbatched else out


@_integer_via_float64("round")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over ``(N, C_in, L)`` with weight ``(C_out, C_in / groups, k)``."""
    _conv_checks("conv1d", input, weight, bias, groups, 1)
    unbatched = input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    s = _tuple(stride, 1, "stride")[0]
    d = _tuple(dilation, 1, "dilation")[0]
    if isinstance(padding, str):
        if padding == "same" and s != 1:
            raise ValueError("padding='same' is not supported for strided convolutions")
        p = padding
    else:
        p = (0, _tuple(padding, 1, "padding")[0])
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), p, (1, d), groups)
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


class ConvTranspose2d(Function):
    """Transposed convolution: the adjoint of Conv2d (``col2im(W^T @ x)``)."""
    raw = True
    derivative = "the gradient of a transposed convolution is a convolution (and vice versa)"
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, groups, dilation):
        N, Cin, H, W = x.shape
        _, Cog, KH, KW = w.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + output_padding[0] + 1
        OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + output_padding[1] + 1
        Cout = Cog * groups
        cig, rows = Cin // groups, Cog * KH * KW
        x3 = np.ascontiguousarray(x).reshape(N, Cin, H * W)
        wm = w.reshape(Cin, rows)
        cols = np.empty((N, Cout * KH * KW, H * W), x.dtype)
        for gi in range(groups):
            np.matmul(wm[gi * cig:(gi + 1) * cig].T, x3[:, gi * cig:(gi + 1) * cig],
                      out=cols[:, gi * rows:(gi + 1) * rows])
        y = NK.col2im(cols, (N, Cout, OH, OW), KH, KW, sh, sw, ph, pw, dh, dw, H, W)
        if b is not None:
            y += b[:, None, None]
        ctx.save_for_backward(w, x)
        ctx.geom = (N, Cin, H, W, KH, KW, sh, sw, ph, pw, dh, dw, groups)
        return y

    @staticmethod
    def backward(ctx, g):
        """The rule with unfold and grouped matrix products (any order of derivative)."""
        w, x = ctx.saved_tensors
        N, Cin, H, W, KH, KW, sh, sw, ph, pw, dh, dw, groups = ctx.geom
        nx, nw, nb = ctx.needs_input_grad[:3]
        xp = ctx.xp
        gcols = Unfold.call(ctx, g, (KH, KW), (dh, dw), (ph, pw), (sh, sw), H, W)
        gcols = gcols.reshape(N, groups, -1, H * W)              # (N, G, C_out/G*KH*KW, H*W)
        gx = gw = gb = None
        if nx:
            w3 = w.reshape(groups, Cin // groups, -1)
            gx = (w3 @ gcols).reshape(N, Cin, H, W)
        if nw:
            x4 = x.reshape(N, groups, Cin // groups, H * W)
            gw = xp.sum(x4 @ gcols.mT, axis=0).reshape(w.shape)
        if nb:
            gb = xp.sum(g, axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def fused_backward(ctx, g):
        w, x = ctx.saved_tensors
        N, Cin, H, W, KH, KW, sh, sw, ph, pw, dh, dw, groups = ctx.geom
        nx, nw, nb = ctx.needs_input_grad[:3]
        Cog = w.shape[1]
        cig, rows = Cin // groups, Cog * KH * KW
        gcols = NK.im2col(np.ascontiguousarray(g), KH, KW, sh, sw, ph, pw, dh, dw, H, W)
        wm = w.reshape(Cin, rows)
        gx = gw = gb = None
        if nx:
            gx = np.empty((N, Cin, H * W), g.dtype)
            for gi in range(groups):
                np.matmul(wm[gi * cig:(gi + 1) * cig], gcols[:, gi * rows:(gi + 1) * rows],
                          out=gx[:, gi * cig:(gi + 1) * cig])
            gx = gx.reshape(N, Cin, H, W)
        if nw:
            x3 = x.reshape(N, Cin, H * W)
            gw = np.empty_like(wm)
            for gi in range(groups):
                gw[gi * cig:(gi + 1) * cig] = np.matmul(
                    x3[:, gi * cig:(gi + 1) * cig],
                    gcols[:, gi * rows:(gi + 1) * rows].transpose(0, 2, 1)).sum(axis=0)
            gw = gw.reshape(w.shape)
        if nb:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None, None


@_integer_via_float64("round")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution ("deconvolution"), weight ``(C_in, C_out / groups, kH, kW)``.

    Output size: ``(H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1``.
    """
    _check_float(input, "conv_transpose2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, "
                           f"but got input of size: {list(input.shape)}")
    _same_dtype("conv_transpose2d", input, weight)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {weight.shape[0]} channels, but got "
                           f"{input.shape[1]} channels instead")
    stride, padding = _tuple(stride, 2, "stride"), _tuple(padding, 2, "padding")
    output_padding, dilation = _tuple(output_padding, 2, "output_padding"), \
        _tuple(dilation, 2, "dilation")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               f"but got output_padding={tuple(output_padding)}, stride="
                               f"{tuple(stride)}, dilation={tuple(dilation)}")
    out = ConvTranspose2d.apply(input, weight, bias, stride, padding, output_padding, int(groups),
                                dilation)
    return out.squeeze(0) if unbatched else out


@_integer_via_float64("round")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution over ``(N, C_in, L)``."""
    unbatched = input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    out = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias,
                           (1, _tuple(stride, 1)[0]), (0, _tuple(padding, 1)[0]),
                           (0, _tuple(output_padding, 1)[0]), groups, (1, _tuple(dilation, 1)[0]))
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


class Unfold(Function):
    raw = True
    derivative = "fold (sum) the gradient patches back onto the image"
    node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, k, d, p, s, OH, OW):
        ctx.geom = (x.shape, k, d, p, s, OH, OW)
        return NK.im2col(np.ascontiguousarray(x), k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1],
                         OH, OW)                                # (N, C*kH*kW, L): unfold's layout

    @staticmethod
    def backward(ctx, g):
        shape, k, d, p, s, OH, OW = ctx.geom
        return (_Fold.call(ctx, g, shape, k, d, p, s, OH, OW),) + (None,) * 6


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks (im2col): ``(N, C, H, W) -> (N, C * kH * kW, L)``.

    ``conv2d(x, w) == (w.view(OC, -1) @ unfold(x, k)).view(N, OC, OH, OW)``.
    """
    if input.ndim != 4:
        raise NotImplementedError(f"Input Error: Only 4D input Tensors are supported (got "
                                  f"{input.ndim}D)")
    k, d = _tuple(kernel_size, 2), _tuple(dilation, 2)
    p, s = _tuple(padding, 2), _tuple(stride, 2)
    OH = _conv_out(input.shape[2], k[0], s[0], p[0], d[0])
    OW = _conv_out(input.shape[3], k[1], s[1], p[1], d[1])
    return Unfold.apply(input, k, d, p, s, OH, OW)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Inverse of :func:`unfold` (sums overlapping values): ``(N, C*kH*kW, L) -> (N, C, H, W)``."""
    H, W = _tuple(output_size, 2)
    k, d = _tuple(kernel_size, 2), _tuple(dilation, 2)
    p, s = _tuple(padding, 2), _tuple(stride, 2)
    N, CK, L = input.shape
    C = CK // (k[0] * k[1])
    OH, OW = _conv_out(H, k[0], s[0], p[0], d[0]), _conv_out(W, k[1], s[1], p[1], d[1])
    if OH * OW != L:
        raise RuntimeError(f"Given output_size=({H}, {W}), kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {OH} * {OW} = "
                           f"{OH * OW}, but got input.size(2)={L}.")
    # fold is the adjoint of unfold: take the vector-Jacobian product of unfold
    return _Fold.apply(input, (N, C, H, W), k, d, p, s, OH, OW)


class _Fold(Function):
    raw = True
    derivative = "unfold the gradient into patches (fold's adjoint)"
    node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, x, shape, k, d, p, s, OH, OW):
        ctx.geom = (k, d, p, s, OH, OW)
        return NK.col2im(np.ascontiguousarray(x), shape, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], OH, OW)

    @staticmethod
    def backward(ctx, g):
        k, d, p, s, OH, OW = ctx.geom
        return (Unfold.call(ctx, g, k, d, p, s, OH, OW),) + (None,) * 7
