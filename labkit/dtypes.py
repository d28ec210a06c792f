"""labkit dtypes: thin named wrappers around NumPy dtypes, with PyTorch's promotion rules.

``labkit.float32`` prints as ``labkit.float32`` and compares equal only to itself; ``.np`` is the
NumPy dtype that stores the data.  Promotion follows PyTorch, which differs from NumPy in two ways
that matter to users: Python scalars never widen a tensor of the same category
(``int64_tensor * 2.5`` is float32, not float64), and zero-dim tensors only count when they belong
to a higher category than the dimensioned operands.
"""
import builtins

import numpy as np

__all__ = ["dtype", "float32", "float64", "int64", "int32", "uint8", "bool", "float16", "float",
           "double", "half", "long", "int", "bfloat16",
           "get_default_dtype", "set_default_dtype", "result_type", "promote_types", "finfo",
           "iinfo"]


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_rank", "_cat")

    def __init__(self, name, np_dtype, category, rank):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = category == 2
        self.is_signed = name not in ("bool", "uint8")
        self.itemsize = self.np.itemsize
        self._cat = category          # 0 bool, 1 integer, 2 floating
        self._rank = rank             # order inside the category

    def __repr__(self):
        return f"labkit.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    @property
    def is_complex(self):
        return False


bool = dtype("bool", np.bool_, 0, 0)   # noqa: A001  (shadows builtin inside this module only)
uint8 = dtype("uint8", np.uint8, 1, 0)
int32 = dtype("int32", np.int32, 1, 1)
int64 = dtype("int64", np.int64, 1, 2)
float16 = dtype("float16", np.float16, 2, 0)
float32 = dtype("float32", np.float32, 2, 1)
float64 = dtype("float64", np.float64, 2, 2)

_ALL = (bool, uint8, int32, int64, float16, float32, float64)

# PyTorch's bfloat16 exists as a name so that code mentioning it fails with a clear message when
# it uses it (not with an AttributeError at ``labkit.bfloat16``): NumPy, labkit's storage, has no
# bfloat16.
bfloat16 = dtype("bfloat16", np.float32, 2, 1)
_NO_BFLOAT16 = ("labkit has no bfloat16 (its storage, NumPy, has no such type). Use float32 "
                "instead: dtype=labkit.float32 or x.float() (float16, x.half(), also halves the "
                "memory); convert bfloat16 data to float32 before handing it to labkit (in "
                "PyTorch: t.float()).")
_FROM_NP = {d.np: d for d in _ALL}
_FROM_NAME = {d.name: d for d in _ALL}
float = float32    # noqa: A001   PyTorch aliases: labkit.float, labkit.double, labkit.long ...
double = float64
half = float16
long = int64
int = int32        # noqa: A001
_FROM_NAME.update({"float": float32, "double": float64, "long": int64, "int": int32,
                   "half": float16})


def _by_name(name):
    return _FROM_NAME[name]


_default_float = [float32]


def get_default_dtype():
    return _default_float[0]


def set_default_dtype(d):
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float[0] = d


def from_numpy_dtype(npd):
    try:
        return _FROM_NP[npd]
    except KeyError:
        raise TypeError(f"labkit has no dtype for NumPy dtype {npd}; supported: "
                        + ", ".join(d.name for d in _ALL)) from None


def as_dtype(d):
    """Accept a labkit dtype, a NumPy dtype/type, a Python type or a name; return a labkit dtype."""
    if isinstance(d, dtype):
        if d is bfloat16:
            raise TypeError(_NO_BFLOAT16)
        return d
    if d == "bfloat16":
        raise TypeError(_NO_BFLOAT16)
    if d is builtins.float:          # PyTorch: the Python float type means float64
        return float64
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    if isinstance(d, str) and d in _FROM_NAME:
        return _FROM_NAME[d]
    try:
        return from_numpy_dtype(np.dtype(d))
    except TypeError:
        raise TypeError(f"{d!r} is not a dtype labkit understands; use one of "
                        + ", ".join("labkit." + x.name for x in _ALL)) from None


def promote_types(type1, type2):
    """The smallest dtype both ``type1`` and ``type2`` convert to (PyTorch's table for our
    dtypes)."""
    a, b = type1, type2
    if a is b:
        return a
    if a._cat != b._cat:
        return a if a._cat > b._cat else b
    if a is uint8 or b is uint8:          # uint8 with a signed int widens (torch: int16; we: int32+)
        other = b if a is uint8 else a
        return other if other._rank > 0 else int32
    return a if a._rank >= b._rank else b


def _scalar_category(x):
    t = type(x)
    if t is builtins.bool or t is np.bool_:
        return 0
    if t is builtins.int or isinstance(x, np.integer):
        return 1
    return 2


def result_type(tensor=None, other=None, *, scalar=None, scalar1=None, scalar2=None,
                tensor1=None, tensor2=None):
    """The dtype an op on two operands (tensors or numbers) gives; PyTorch's overloads name them
    (tensor, other), (scalar, tensor), (scalar1, scalar2) and (tensor1, tensor2)."""
    given = [v for v in (tensor, other, scalar, scalar1, scalar2, tensor1, tensor2)
             if v is not None]
    if len(given) != 2:
        raise TypeError(f"result_type() takes two operands (a tensor or a number each), got "
                        f"{len(given)}")
    return _result_type(*given)


def _result_type(*operands):
    """PyTorch's ``result_type`` over tensors and Python scalars.

    Three tiers: dimensioned tensors, then zero-dim tensors, then Python scalars.  A lower tier
    only changes the result when it brings a higher category (bool < integer < floating), and a
    scalar of a higher category yields that category's default dtype.
    """
    dim_t = zero_t = None
    scalar_cat = -1
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        elif x is not None:
            scalar_cat = max(scalar_cat, _scalar_category(x))
    res = dim_t
    if zero_t is not None:
        res = zero_t if res is None else (promote_types(res, zero_t) if zero_t._cat > res._cat else res)
    if scalar_cat >= 0:
        sd = (bool, int64, get_default_dtype())[scalar_cat]
        if res is None:
            res = sd
        elif scalar_cat > res._cat:
            res = sd
    return res if res is not None else get_default_dtype()


class finfo:
    """Machine limits of a floating-point dtype (``labkit.finfo(labkit.float32).eps``, ``.min``,
    ``.max``, ``.tiny``, ``.resolution``, ``.bits``), as ``torch.finfo``."""

    def __init__(self, type=None):
        d = get_default_dtype() if type is None else as_dtype(type)
        if not d.is_floating_point:
            raise TypeError("labkit.finfo() requires a floating point input type. Use "
                            "labkit.iinfo to handle 'labkit.finfo'")
        f = np.finfo(d.np)
        self.bits, self.dtype = builtins.int(f.bits), d.name
        self.eps, self.max, self.min = builtins.float(f.eps), builtins.float(f.max), builtins.float(f.min)
        self.tiny = self.smallest_normal = builtins.float(f.smallest_normal)
        self.resolution = 10.0 ** -builtins.int(f.precision)

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    __hash__ = object.__hash__

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``labkit.iinfo(labkit.int64).max``, ``.min``, ``.bits``)."""

    def __init__(self, type):
        d = as_dtype(type)
        if d is bool:                  # labkit.bool (this module shadows the builtin)
            raise TypeError("labkit.bool is not supported by labkit.iinfo")
        if d.is_floating_point:
            raise TypeError("labkit.iinfo() requires an integer input type. Use labkit.finfo to "
                            "handle 'labkit.iinfo'")
        i = np.iinfo(d.np)
        self.bits, self.min, self.max = builtins.int(i.bits), builtins.int(i.min), builtins.int(i.max)
        self.dtype = d.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    __hash__ = object.__hash__

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
