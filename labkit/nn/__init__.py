"""``labkit.nn``: modules, layers, losses, ``functional``, ``init`` and ``utils``, with PyTorch's
names and semantics (``import labkit.nn as nn`` ~ ``import torch.nn as nn``)."""
from .parameter import Parameter, Buffer, UninitializedParameter, UninitializedBuffer
from .modules import *  # noqa: F401,F403
from .modules import __dict__ as _mods
from .modules.module import Module
from . import functional, init, utils, modules, parameter  # noqa: F401
from . import grad  # noqa: F401,E402  (torch.nn.grad; also nn.functional.grad)
functional.grad = grad

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "functional",
           "init", "utils"] + \
    [k for k, v in _mods.items() if isinstance(v, type) and issubclass(v, Module)]
del _mods
