"""Quiet floating point, as in PyTorch.

PyTorch computes IEEE results without a word: ``1/0`` is ``inf``, ``log(0)`` is ``-inf``, ``0/0``
is ``nan``, a cast to float16 that overflows is ``inf``.  NumPy prints a RuntimeWarning for each.
labkit switches NumPy's floating-point error reports off around every op's forward (in
``Function.apply``), around every backward pass (``run_backward``) and in the few places that
compute outside them (in-place fast paths, casts in ``tensor()``, ``out=``); the user's own NumPy
code keeps NumPy's settings.

``with quiet():`` is ``np.errstate(all="ignore")`` at a third of the cost; ``silence()`` /
``restore(token)`` are the bare calls for the per-op hot path; ``@quietly`` wraps a function.
(NumPy 2 keeps this state in a context variable, so each thread has its own.)
"""
import functools

import numpy as np

try:                                    # NumPy >= 2: the error state is one context variable
    from numpy._core._ufunc_config import _extobj_contextvar as _state, _make_extobj
    _IGNORE = _make_extobj(all="ignore")
    # C-level callables (no Python frame): the per-op hot path pays two C calls, nothing more
    silence = functools.partial(_state.set, _IGNORE)    # -> token
    restore = _state.reset                              # restore(token)
except ImportError:                     # pragma: no cover - older NumPy
    def silence():
        e = np.errstate(all="ignore")
        e.__enter__()
        return e

    def restore(token):
        token.__exit__(None, None, None)


class quiet:
    """``with quiet():`` NumPy computes without floating-point warnings inside."""
    __slots__ = ("_token",)

    def __enter__(self):
        self._token = silence()

    def __exit__(self, *exc):
        restore(self._token)


def quietly(fn):
    """``fn`` run without NumPy's floating-point warnings."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        token = silence()
        try:
            return fn(*args, **kwargs)
        finally:
            restore(token)
    return run
