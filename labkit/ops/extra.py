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
