"""Python's operators on Tensor (``a + b``, ``a < b``, ``~m`` ...), mapped to the ops.
"""
import numpy as np

from .. import dtypes as D
from ._common import as_tensor_arg
from ._registry import method
from .elementwise import abs, add, div, floor_divide, mul, neg, pow, remainder, Sub, sub
from .logic import bitwise_and, bitwise_not, bitwise_or, bitwise_xor, eq, ge, gt, le, logical_and, logical_not, logical_or, logical_xor, lt, ne


# ---------------------------------------------------------------- operators on Tensor
def _r(fn):
    return lambda self, other: fn(other, self)


method("__add__")(add)
method("__radd__")(_r(add))
method("__sub__")(sub)
method("__rsub__")(lambda self, other: sub(other, self, _fn=Sub.variant("RsubBackward1")))
method("__mul__")(mul)
method("__rmul__")(_r(mul))
method("__truediv__")(div)
method("__rtruediv__")(_r(div))
method("__floordiv__")(floor_divide)
method("__rfloordiv__")(_r(floor_divide))
method("__mod__")(remainder)
method("__rmod__")(_r(remainder))
method("__pow__")(pow)
method("__rpow__")(_r(pow))
method("__neg__")(neg)
method("__pos__")(lambda self: self)
method("__abs__")(abs)
method("__eq__")(eq)
method("__ne__")(ne)
method("__lt__")(lt)
method("__le__")(le)
method("__gt__")(gt)
method("__ge__")(ge)


def _logic_or_bitwise(logical, bitwise):
    def op(self, other):
        o = as_tensor_arg(other)
        if self._np.dtype == np.bool_ and (getattr(o, "dtype", None) is D.bool or isinstance(o, bool)):
            return logical(self, other)
        return bitwise(self, other)
    return op


method("__and__", "__rand__")(_logic_or_bitwise(logical_and, bitwise_and))
method("__or__", "__ror__")(_logic_or_bitwise(logical_or, bitwise_or))
method("__xor__", "__rxor__")(_logic_or_bitwise(logical_xor, bitwise_xor))
method("__invert__")(lambda self: logical_not(self) if self._np.dtype == np.bool_ else bitwise_not(self))
