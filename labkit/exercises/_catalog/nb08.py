"""The exercises of notebook 08_cnn_digits."""
import numpy as np

from .. import solutions as S
from .base import Exercise, _np, _rng


def _conv_cases():
    return [lambda: (28, 3, 1, 0, 1), lambda: (32, 3, 1, 1, 1), lambda: (32, 5, 2, 2, 1),
            lambda: (15, 3, 2, 0, 1), lambda: (64, 3, 1, 2, 2)]


def _conv_size_hint(args, got, want, k):
    size, ks, stride, pad, dil = args
    if got == size - ks + 1:
        return ("that ignores padding, stride and dilation: out = (size + 2*padding - "
                "dilation*(kernel_size - 1) - 1) // stride + 1")
    return ("out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1; "
            "check padding and stride are used and that you round down")


def _correlate_cases():
    def f(seed, h, w, kh, kw):
        def g():
            r = _rng(seed)
            return (r.normal(size=(h, w)), r.normal(size=(kh, kw)))
        return g
    return [f(0, 5, 5, 3, 3), f(1, 6, 8, 2, 3)]


def _correlate_diag(args, got, want, k):
    x, w = args
    g = _np(got)
    if g.shape == want.shape and np.allclose(g, S.correlate2d(x, w[::-1, ::-1]), atol=1e-6):
        return ("you flipped the kernel (a textbook convolution): conv2d in PyTorch and labkit is a "
                "cross-correlation, out[i, j] = sum(x[i:i+kh, j:j+kw] * w)")
    if g.shape != want.shape:
        return (f"for a {x.shape} input and a {w.shape} kernel (no padding, stride 1) the output "
                f"is (H - kh + 1, W - kw + 1) = {want.shape}")
    return None


EXERCISES = [
    Exercise("conv_output_size", "08_cnn_digits", "Output size of a convolution",
             "def conv_output_size(size, kernel_size, stride, padding, dilation) -> int",
             _conv_cases(), S.conv_output_size, diagnose=(_conv_size_hint,), atol=0,
             hints=["padding adds 2*padding pixels; a dilated kernel spans dilation*(k-1)+1 pixels",
                    "count the positions the kernel fits in, stepping by stride: round down (//)"]),
    Exercise("correlate2d", "08_cnn_digits", "A 2-D convolution by hand",
             "def correlate2d(x, w): x (H, W), w (kh, kw) NumPy arrays -> (H-kh+1, W-kw+1): "
             "out[i, j] = sum(x[i:i+kh, j:j+kw] * w)",
             _correlate_cases(), S.correlate2d, diagnose=(_correlate_diag,),
             hints=["the output has one value per position of the kernel inside x",
                    "out[i, j] = (x[i:i+kh, j:j+kw] * w).sum(); two loops over i and j",
                    "no flipping: PyTorch's conv2d is a cross-correlation"]),
]
