"""Anomaly detection: find the first op that produced NaN/Inf and name the user's source line.

PyTorch's anomaly mode stores a Python stack trace for every op (1.5-3x slower).  labkit records
only (file, line, function) of the user's frame, which every node already carries, and checks each
output with one vectorised pass; the error names the op, the line and, for backward, the forward
line that created the node.
"""
import linecache

import numpy as np

from . import function as F

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]


def is_anomaly_enabled():
    return F._anomaly.enabled


def _nonfinite(a):
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f" or a.size == 0:
        return False
    # sum is one fast pass; NaN/Inf propagate into it.  A finite sum can still overflow to inf,
    # so confirm with isfinite only when the cheap test fires.
    s = np.add.reduce(a, axis=None, dtype=np.float64)
    if np.isfinite(s):
        return False
    return not np.isfinite(a).all()


def _where(src):
    if not src:
        return "an unknown location"
    fname, line, func = src
    code = linecache.getline(fname, line).strip()
    return f'File "{fname}", line {line}, in {func}' + (f"\n    {code}" if code else "")


def check_forward(ctx, outs):
    if not F._anomaly.check_nan:
        return
    for i, o in enumerate(outs):
        if _nonfinite(o):
            src = ctx.source or F.user_frame_location()
            raise RuntimeError(f"Function '{ctx._fn.__name__}' (forward) produced non-finite values "
                               f"(nan or inf) in its output {i}, shape {list(o.shape)}.\n"
                               f"The op was called at: {_where(src)}")


def check_backward(node, grads):
    if not F._anomaly.check_nan:
        return
    for i, g in enumerate(grads):
        arr = g._np if isinstance(g, F._Tensor) else g
        if arr is not None and _nonfinite(np.asarray(arr)):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.\n"
                               f"The forward op that created it was called at: {_where(node.source)}")


class detect_anomaly:
    """Context manager: check every op's forward output and backward gradients for NaN/Inf."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = (F._anomaly.enabled, F._anomaly.check_nan)
        F._anomaly.enabled = True
        F._anomaly.check_nan = self.check_nan
        return self

    def __exit__(self, *exc):
        F._anomaly.enabled, F._anomaly.check_nan = self._prev
        return False


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(True)`` turns anomaly mode on now (or for a ``with`` block)."""

    def __init__(self, mode, check_nan=True):
        self._prev = (F._anomaly.enabled, F._anomaly.check_nan)
        F._anomaly.enabled = bool(mode)
        F._anomaly.check_nan = check_nan
        self.mode, self.check_nan = bool(mode), check_nan

    def __enter__(self):
        F._anomaly.enabled, F._anomaly.check_nan = self.mode, self.check_nan
        return self
