"""``labkit.fft`` (~ ``torch.fft``): only what needs no complex numbers (labkit has none):
``fftshift``/``ifftshift`` and the sample frequencies ``fftfreq``/``rfftfreq``."""
import numpy as np

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


def fftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False, **kw):
    import labkit
    return labkit.tensor(np.fft.fftfreq(n, d), dtype=dtype or labkit.get_default_dtype(),
                         requires_grad=requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False, **kw):
    import labkit
    return labkit.tensor(np.fft.rfftfreq(n, d), dtype=dtype or labkit.get_default_dtype(),
                         requires_grad=requires_grad)


from . import scope as _scope  # noqa: E402


def __getattr__(name):
    # fft, rfft, irfft ...: complex in or out; labkit.scope says so (an AttributeError)
    raise _scope.error("labkit.fft", "fft." + name)
