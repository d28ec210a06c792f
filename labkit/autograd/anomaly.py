"""Anomaly detection: find the first op that produced NaN/Inf and name the user's source line.

PyTorch's anomaly mode stores a Python stack trace for every op (1.5-3x slower).  labkit records
only (file, line, function) of the user's frame, which every node already carries, and checks each
output with one vectorised pass (forward: NaN; backward: NaN or Inf); the error names the op, the line and, for backward, the forward
line that created the node.
"""
import linecache
import os
import sys

import numpy as np

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]


class _Anomaly:
    __slots__ = ("enabled", "check_nan")     # every op reads them: slots are the fastest read

    def __init__(self):
        self.enabled = False
        self.check_nan = True


_anomaly = _Anomaly()


class _SourceCapture:
    """Whether node creation records where in *user* code the op was called.

    Off by default: it costs about a microsecond per op.  ``detect_anomaly`` turns it on (so a
    NaN found in backward can name the forward line), and so do ``labkit.graph.capture_source(True)``
    and ``labkit.graph.record()`` (the graph views show the line of each node).
    """
    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = False


_source = _SourceCapture()
_LABKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_is_lib_file = {}       # co_filename -> True when the file belongs to labkit (a small cache)


def _in_labkit(filename):
    r = _is_lib_file.get(filename)
    if r is None:
        r = _is_lib_file[filename] = os.path.abspath(filename).startswith(_LABKIT_DIR)
    return r


def _user_frame(depth):
    """(code, lineno) of the first frame outside labkit, ``depth`` frames above the caller."""
    f = sys._getframe(depth)
    lib = _is_lib_file
    while f is not None:
        code = f.f_code
        inside = lib.get(code.co_filename)
        if inside is None:
            inside = _in_labkit(code.co_filename)
        if not inside:
            return (code, f.f_lineno)
        f = f.f_back
    return None


def user_frame_location():
    """(filename, lineno, function) of the first stack frame outside labkit, or None."""
    src = _user_frame(2)
    return None if src is None else (src[0].co_filename, src[1], src[0].co_name)


def is_anomaly_enabled():
    return _anomaly.enabled


def _bad_values(a, allow_inf=False):
    """'nan' / 'inf' when ``a`` holds such values (``allow_inf``: only NaN counts), else None."""
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f" or a.size == 0:
        return None
    # One fast pass: NaN and Inf propagate into a sum.  A finite array can still overflow the
    # sum to inf, so the exact test runs only when the cheap one fires.
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.add.reduce(a, axis=None)
    if np.isfinite(s):
        return None
    if np.isnan(a).any():
        return "nan"
    if not allow_inf and np.isinf(a).any():
        return "inf"
    return None


def _where(src):
    if not src:
        return "an unknown location"
    fname, line, func = src
    code = linecache.getline(fname, line).strip()
    return f'File "{fname}", line {line}, in {func}' + (f"\n    {code}" if code else "")


def check_forward(ctx, outs):
    """NaN in an op's output.  Inf is allowed here: ``masked_fill(mask, -inf)`` before a softmax
    is intended, and an Inf that matters turns into NaN at a later op, which is then named."""
    if not _anomaly.check_nan:
        return
    for i, o in enumerate(outs):
        if _bad_values(o, allow_inf=True):
            src = ctx.source or user_frame_location()
            raise RuntimeError(f"Function '{ctx._fn.__name__}' (forward) produced nan values in "
                               f"its output {i} (shape {list(o.shape)}).\n"
                               f"The op was called at: {_where(src)}")


def check_backward(node, grads):
    if not _anomaly.check_nan:
        return
    for i, g in enumerate(grads):
        arr = getattr(g, "_np", g)          # a Tensor's array, or the array itself
        bad = None if arr is None else _bad_values(np.asarray(arr))
        if bad:
            src = node.source
            where = (_where(src) if src else
                     "an unknown line (the forward pass ran before anomaly detection was turned "
                     "on: enable it before the forward pass to see the line)")
            raise RuntimeError(f"Function '{node.name()}' returned {bad} values in its {i}th output "
                               f"(shape {list(np.shape(arr))}).\n"
                               f"The forward op that created it was called at: {where}")


_source_before = [False]      # source capture setting to restore when anomaly mode ends


def _set_mode(enabled, check_nan):
    """Turn anomaly mode on/off; while on, nodes record the user's source line."""
    if enabled and not _anomaly.enabled:
        _source_before[0] = _source.enabled
        _source.enabled = True
    elif not enabled and _anomaly.enabled:
        _source.enabled = _source_before[0]
    _anomaly.enabled = bool(enabled)
    _anomaly.check_nan = bool(check_nan)


class detect_anomaly:
    """Check every op's forward output and backward gradients for NaN/Inf (context manager or
    decorator).  The error names the op and the user's source line::

        with labkit.autograd.detect_anomaly():
            loss = model(x).log().mean()     # the line is named if a NaN appears here...
            loss.backward()                  # ...or in the gradient of any op created above
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = (_anomaly.enabled, _anomaly.check_nan)
        _set_mode(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set_mode(*self._prev)
        return False

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)(self.check_nan):
                return func(*args, **kwargs)
        return wrapper


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(True)`` turns anomaly mode on now (or for a ``with`` block)."""

    def __init__(self, mode, check_nan=True):
        self._prev = (_anomaly.enabled, _anomaly.check_nan)
        self.mode, self.check_nan = bool(mode), check_nan
        _set_mode(self.mode, check_nan)

    def __enter__(self):
        return self

    def __call__(self, func):
        raise TypeError("set_detect_anomaly(mode) is a function or a `with` block; use "
                        "@labkit.autograd.detect_anomaly() to decorate a function")
