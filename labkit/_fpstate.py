"""Quiet floating point, as in PyTorch.

PyTorch computes IEEE results without a word: ``1/0`` is ``inf``, ``log(0)`` is ``-inf``, ``0/0``
is ``nan``, a cast to float16 that overflows is ``inf``.  NumPy prints a RuntimeWarning for each.
labkit switches NumPy's floating-point error reports off around every op's forward (in
``Function.apply``) and around every backward pass (``run_backward``), the two places all of its
NumPy arithmetic runs through; the user's own NumPy code keeps NumPy's settings.

``quiet()`` is ``np.errstate(all="ignore")``; ``silence()`` / ``restore(token)`` do the same for
the per-op hot path at a sixth of the cost (NumPy keeps this state in a context variable).
"""
import numpy as np

try:                                    # NumPy >= 2: the error state is one context variable
    from numpy._core._ufunc_config import _extobj_contextvar as _state, _make_extobj
    _IGNORE = _make_extobj(all="ignore")

    def silence():
        return _state.set(_IGNORE)

    def restore(token):
        _state.reset(token)
except ImportError:                     # pragma: no cover - older NumPy
    def silence():
        e = np.errstate(all="ignore")
        e.__enter__()
        return e

    def restore(token):
        token.__exit__(None, None, None)


def quiet():
    """A context manager: NumPy computes without floating-point warnings inside it."""
    return np.errstate(all="ignore")
