"""More of PyTorch's op set, written as composites of existing ops (no backward to write).

Each op here is built from differentiable labkit ops, so its gradient (and, where those ops have
one, its second derivative) comes for free.  Found by the OpInfo conformance suite
(scripts/conformance.py); docs/conformance.md lists what passes.
"""
import builtins

import numpy as np

from .. import dtypes as D
from ..tensor import Tensor, _make
from ._common import as_tensor_arg
from ._registry import register


# ---------------------------------------------------------------------------------- products

@register("inner")
def inner(input, other):
    """Sum over the last dims: ``inner(a, b)[i..., j...] = sum_k a[i..., k] * b[j..., k]``;
    a 0-d operand multiplies."""
    from .linalg import tensordot
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, dims=([input.ndim - 1], [other.ndim - 1]))


# ---------------------------------------------------------------------- linalg as methods
def _la(name):
    def fn(self, *args, **kwargs):
        from .. import linalg
        return getattr(linalg, name)(self, *args, **kwargs)
    return fn


def cholesky(input, upper=False):
    """``torch.cholesky`` (``upper`` positional); ``labkit.linalg.cholesky`` is the modern one."""
    from .. import linalg
    return linalg.cholesky(input, upper=upper)


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: ``linalg.pinv`` with singular values below ``rcond * largest`` cut."""
    from .. import linalg
    return linalg.pinv(input, rtol=rcond)


register("cholesky", function=False)(cholesky)
register("pinverse", function=False)(pinverse)
for _n, _target in (("logdet", "logdet"), ("det", "det"), ("slogdet", "slogdet"),
                    ("inverse", "inv")):
    register(_n, function=False)(_la(_target))
