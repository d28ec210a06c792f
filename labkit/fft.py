"""``labkit.fft`` (~ ``torch.fft``): only what needs no complex numbers (labkit has none):
``fftshift``/``ifftshift`` and the sample frequencies ``fftfreq``/``rfftfreq``."""
import numpy as np

from .creation import _finish
from .dtypes import as_dtype, get_default_dtype
from .ops._registry import with_out as _with_out

__all__ = ["fftshift", "ifftshift", "fftfreq", "rfftfreq"]


def _shift(input, dim, sign):
    dims = tuple(range(input.ndim)) if dim is None else \
        ((dim,) if isinstance(dim, int) else tuple(dim))
    if not dims:
        return input.clone()
    shifts = tuple(sign * (input.shape[d] // 2) if sign > 0 else -(input.shape[d] // 2)
                   for d in dims)
    return input.roll(shifts, dims)


def fftshift(input, dim=None):
    """Move the zero frequency to the middle (roll by n // 2 along each dim)."""
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    """The inverse of ``fftshift``."""
    return _shift(input, dim, -1)


def _freqs(values, dtype, layout, device, requires_grad):
    return _finish(values.astype(as_dtype(dtype or get_default_dtype()).np), requires_grad,
                   device, layout)


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies ``[0, 1, ..., n//2 - 1, -n//2, ..., -1] / (d n)``."""
    return _freqs(np.fft.fftfreq(n, d), dtype, layout, device, requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The non-negative sample frequencies ``[0, 1, ..., n//2] / (d n)``."""
    return _freqs(np.fft.rfftfreq(n, d), dtype, layout, device, requires_grad)


def _add_out():
    g = globals()
    for name in ("fftfreq", "rfftfreq"):
        g[name] = _with_out(g[name], "fft." + name)


_add_out()


from . import scope as _scope  # noqa: E402


def __getattr__(name):
    # fft, rfft, irfft ...: complex in or out; labkit.scope says so (an AttributeError)
    raise _scope.error("labkit.fft", "fft." + name)
