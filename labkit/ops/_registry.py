"""Attach ops to ``Tensor`` (as methods) and to the ``labkit`` namespace (as functions).

An op module writes::

    @register("exp", method=True)
    def exp(input): ...

and ``labkit.exp(x)`` and ``x.exp()`` both exist.  ``labkit/__init__.py`` exports every
registered function, so adding an op never means editing the Tensor class.
"""
from ..tensor import Tensor

FUNCTIONS = {}


def register(*names, method=True, function=True):
    def deco(fn):
        for n in names:
            if function:
                FUNCTIONS[n] = fn
            if method:
                setattr(Tensor, n, fn)
        return fn
    return deco


def method(*names):
    """Register as Tensor method only (e.g. ``view``, dunders)."""
    return register(*names, method=True, function=False)
