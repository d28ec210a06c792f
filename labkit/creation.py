"""Tensor creation: tensor, as_tensor, from_numpy, zeros/ones/full/empty, arange, linspace, eye,
rand/randn/randint/randperm, the ``*_like`` family, and random in-place fills."""
import builtins
import math
import numbers

import numpy as np

from . import dtypes as D
from .autograd.function import Function
from .ops._common import cast, promote, shape_arg
from .ops._registry import method, register
from .random import _rng
from .tensor import _check_device, _CPU, _make, _to_array, PRINT_OPTS as P, Tensor
from .ops.inplace import _check_leaf


def _dt(dtype, default=None):
    if dtype is None:
        return (default or D.get_default_dtype()).np
    return D.as_dtype(dtype).np


def _finish(arr, requires_grad=False, device=None, layout=None):
    """Wrap a new array, checking the keywords every factory takes (PyTorch's names)."""
    _check_device(device)
    if layout is not None and layout != "strided":
        raise RuntimeError(f"labkit has only dense (strided) tensors; layout={layout!r} is not "
                           f"supported")
    t = _make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


# Every factory's keywords are PyTorch's, spelled out (no **kwargs): a misspelt keyword such as
# ``zeros(3, requries_grad=True)`` raises TypeError naming it, as in PyTorch.  ``out=`` is added
# by the op registry; ``pin_memory`` is accepted and means nothing on a CPU-only engine.

@register("tensor", method=False)
def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors)."""
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.clone().detach() rather than labkit.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    arr = np.array(_to_array(data, dtype), copy=True)
    return _finish(arr, requires_grad, device)


@register("as_tensor", method=False)
def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array / tensor when no conversion is needed."""
    if isinstance(data, Tensor) and (dtype is None or D.as_dtype(dtype) is data.dtype):
        _check_device(device)
        return data
    return _finish(_to_array(data, dtype), False, device)


@register("asarray", method=False)
def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """``obj`` as a tensor, sharing memory when it can (``copy=True`` forces a copy, ``copy=False``
    refuses one)."""
    if isinstance(obj, Tensor):
        arr = obj._np
    elif isinstance(obj, np.ndarray):
        arr = obj
    else:
        arr = None
    if arr is not None:
        if dtype is not None and D.as_dtype(dtype).np != arr.dtype:
            if copy is False:
                raise ValueError("asarray(copy=False): a dtype conversion needs a copy")
            arr = arr.astype(D.as_dtype(dtype).np)
        elif copy:
            arr = arr.copy()
        elif isinstance(obj, Tensor) and not requires_grad:
            _check_device(device)
            return obj
        return _finish(_to_array(arr), requires_grad, device)
    return _finish(_to_array(obj, dtype), requires_grad, device)


@register("from_numpy", method=False)
def from_numpy(ndarray):
    """A tensor sharing memory with ``ndarray`` (writes show in both)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype not in D._FROM_NP:
        raise TypeError(f"can't convert np.ndarray of type numpy.{ndarray.dtype}. The only "
                        f"supported types are: float64, float32, float16, int64, int32, uint8, "
                        f"and bool.")
    return _make(ndarray)


def _shape(sizes, size=None):
    """Sizes given as ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``, checked."""
    if size is not None:
        if sizes:
            raise TypeError("sizes given twice: both positionally and as size=")
        sizes = (size,)
    shape = shape_arg(sizes)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


@register("zeros", method=False)
def zeros(*sizes, size=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    return _finish(np.zeros(_shape(sizes, size), _dt(dtype)), requires_grad, device, layout)


@register("ones", method=False)
def ones(*sizes, size=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    return _finish(np.ones(_shape(sizes, size), _dt(dtype)), requires_grad, device, layout)


@register("empty", method=False)
def empty(*sizes, size=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    return _finish(np.empty(_shape(sizes, size), _dt(dtype)), requires_grad, device, layout)


def _fill_dtype(fill_value, dtype):
    if dtype is None:
        if isinstance(fill_value, bool):
            return D.bool
        if isinstance(fill_value, numbers.Integral):
            return D.int64
    return dtype


@register("full", method=False)
def full(size, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    dt = _dt(_fill_dtype(fill_value, dtype))
    return _finish(np.full(shape_arg((size,)), fill_value, dtype=dt), requires_grad, device,
                   layout)


def _like(make, name):
    def fn(input, *, dtype=None, layout=None, device=None, requires_grad=False,
           memory_format=None, pin_memory=False):
        return make(input.shape, dtype=input.dtype if dtype is None else dtype, layout=layout,
                    device=device, requires_grad=requires_grad)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{make.__name__}`` with ``input``'s shape (and dtype unless ``dtype`` is given)."
    register(name, method=False)(fn)
    return fn


zeros_like = _like(zeros, "zeros_like")
ones_like = _like(ones, "ones_like")
empty_like = _like(empty, "empty_like")


@register("full_like", method=False)
def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, pin_memory=False):
    return full(input.shape, fill_value, dtype=input.dtype if dtype is None else dtype,
                layout=layout, requires_grad=requires_grad, device=device)


@register("arange", method=False)
def arange(start, end=None, step=1, *, dtype=None, layout=None, device=None, requires_grad=False,
           pin_memory=False):
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError(f"upper bound and lower bound inconsistent with step sign: "
                           f"arange({vals[0]}, {vals[1]}, {vals[2]}) would be empty; use a "
                           f"{'negative' if vals[1] < vals[0] else 'positive'} step")
    if dtype is None:
        dtype = D.int64 if all(isinstance(v, numbers.Integral) for v in vals) else D.get_default_dtype()
    if not D.as_dtype(dtype).is_floating_point:   # integer ranges count in integers, as torch
        vals = [int(v) for v in vals]
        if vals[2] == 0:
            raise RuntimeError("step must be nonzero")
    n = builtins.max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    arr = (vals[0] + np.arange(n, dtype=np.float64) * vals[2]) if D.as_dtype(dtype).is_floating_point \
        else np.arange(vals[0], vals[1], vals[2])
    return _finish(arr.astype(_dt(dtype)), requires_grad, device, layout)


def _ends(start, end, dtype):
    """The end points as numbers; truncated first for an integer dtype, as torch does."""
    ends = [v.item() if isinstance(v, Tensor) else v for v in (start, end)]
    if dtype is not None and not D.as_dtype(dtype).is_floating_point:
        ends = [int(v) for v in ends]
    return ends


@register("linspace", method=False)
def linspace(start, end, steps, *, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    arr = np.linspace(*_ends(start, end, dtype), int(steps))
    return _finish(arr.astype(_dt(dtype)), requires_grad, device, layout)


@register("logspace", method=False)
def logspace(start, end, steps, base=10.0, *, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    arr = np.logspace(*_ends(start, end, dtype), int(steps), base=base)
    return _finish(arr.astype(_dt(dtype)), requires_grad, device, layout)


@register("eye", method=False)
def eye(n, m=None, *, dtype=None, layout=None, device=None, requires_grad=False,
        pin_memory=False):
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad, device, layout)


def _draw_uniform(rng, shape, npd):
    return rng.random(shape, dtype=npd if npd in (np.float32, np.float64) else np.float64).astype(npd, copy=False)


def _draw_normal(rng, shape, npd):
    return rng.standard_normal(shape, dtype=npd if npd in (np.float32, np.float64) else np.float64).astype(npd, copy=False)


def _random_float(npd, name):
    if np.dtype(npd).kind != "f":
        raise RuntimeError(f"\"{name}\" not implemented for '{D._FROM_NP[np.dtype(npd)].name}': "
                           f"{name} draws floating-point numbers (use randint for integers)")
    return npd


@register("rand", method=False)
def rand(*sizes, size=None, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """Uniform numbers in [0, 1)."""
    npd = _random_float(_dt(dtype), "check_uniform_bounds")
    return _finish(_draw_uniform(_rng(generator), _shape(sizes, size), npd), requires_grad, device,
                   layout)


@register("randn", method=False)
def randn(*sizes, size=None, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    """Standard normal numbers."""
    npd = _random_float(_dt(dtype), "normal_kernel_cpu")
    return _finish(_draw_normal(_rng(generator), _shape(sizes, size), npd), requires_grad, device,
                   layout)


def _random_like(make, name):
    def fn(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
           memory_format=None, pin_memory=False):
        return make(input.shape, generator=generator,
                    dtype=input.dtype if dtype is None else dtype, layout=layout,
                    device=device, requires_grad=requires_grad)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{make.__name__}`` with ``input``'s shape (and dtype unless ``dtype`` is given)."
    register(name, method=False)(fn)
    return fn


rand_like = _random_like(rand, "rand_like")
randn_like = _random_like(randn, "randn_like")


@register("randint", method=False)
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``."""
    if size is None:                        # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:                      # randint(high, size=...)
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    arr = _rng(generator).integers(low, high, size=shape_arg((size,)))
    return _finish(arr.astype(_dt(dtype, D.int64)), requires_grad, device, layout)


@register("randint_like", method=False)
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None, pin_memory=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype,
                   layout=layout, device=device, requires_grad=requires_grad)


@register("randperm", method=False)
def randperm(n, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    return _finish(_rng(generator).permutation(int(n)).astype(_dt(dtype, D.int64)),
                   requires_grad, device, layout)


@register("normal", method=False)
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """Normal samples, in PyTorch's four forms.

    * ``normal(mean, std, size)`` with numbers: a new tensor of ``size`` (``dtype``,
      ``requires_grad`` ... as for ``randn``);
    * ``normal(mean_tensor, std_tensor)``, ``normal(mean_tensor, std=1.0)``,
      ``normal(mean, std_tensor)``: one sample per element (shapes broadcast), in the tensors'
      dtype; on the graph, but (as in PyTorch) passing zero gradients to ``mean`` and ``std``.
    """
    tensors = isinstance(mean, Tensor) or isinstance(std, Tensor)
    if tensors:
        if size is not None or dtype is not None or requires_grad or layout is not None:
            raise TypeError("normal(): size, dtype, layout and requires_grad go with a mean and "
                            "std given as numbers; with tensors the samples take their shape and "
                            "dtype")
        _check_device(device)
        if isinstance(std, Tensor) and (std._np < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        m, s, dt = promote(mean, std)
        shape = np.broadcast_shapes(np.shape(_arr(m)), np.shape(_arr(s)))
        eps = _draw_normal(_rng(generator), shape, dt.np)
        # PyTorch's node names: NormalBackward1 (tensor mean), 2 (tensor std), 3 (both)
        which = (1 if isinstance(mean, Tensor) else 0) + (2 if isinstance(std, Tensor) else 0)
        return Normal.variant(f"NormalBackward{which}").apply(m, s, eps)
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments: with mean and "
                        "std given as numbers, pass a size, e.g. normal(0.0, 1.0, (3, 4))")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    npd = _random_float(_dt(dtype), "normal_kernel_cpu")
    arr = (mean + std * _draw_normal(_rng(generator), shape_arg((size,)), np.float64)).astype(npd)
    return _finish(arr, requires_grad, device, layout)


def _arr(x):
    return x._np if isinstance(x, Tensor) else x


class Normal(Function):
    """``mean + std * eps`` for a drawn ``eps``; PyTorch gives mean and std zero gradients (a
    sample is not reparameterised: write ``mean + std * randn_like(std)`` for that)."""
    raw = True
    derivative = "zero for mean and std, as in PyTorch: a drawn sample passes no gradient back"

    @staticmethod
    def forward(ctx, mean, std, eps):
        return np.asarray(mean + std * eps, dtype=eps.dtype)

    @staticmethod
    def backward(ctx, g):
        z = ctx.xp.zeros_like(g)
        return z, z, None


@register("bernoulli")
def bernoulli(input, p=None, *, generator=None):
    prob = input._np if p is None else p
    return _make((_rng(generator).random(input.shape) < prob).astype(input._np.dtype))


@register("multinomial")
def multinomial(input, num_samples, replacement=False, *, generator=None):
    p = input._np.astype(np.float64)
    if (p < 0).any() or not np.isfinite(p).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    rng = _rng(generator)
    out = []
    for r in rows:
        s = r.sum()
        if s <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > (r > 0).sum():
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        out.append(rng.choice(len(r), size=num_samples, replace=replacement, p=r / s))
    res = np.array(out, dtype=np.int64)
    return _make(res.reshape(p.shape[:-1] + (num_samples,)))


# ---- in-place random fills (used by nn.init) -----------------------------------------------
def _fill(self, arr):
    _check_leaf(self)
    self._np[...] = arr
    self._vc[0] += 1
    return self


@method("uniform_")
def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    # PyTorch's parameters are ``from`` and ``to`` (``from`` is a Python keyword: positional)
    return _fill(self, _rng(generator).uniform(from_, to, self.shape))


@method("normal_")
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _fill(self, mean + std * _rng(generator).standard_normal(self.shape))


@method("bernoulli_")
def bernoulli_(self, p=0.5, *, generator=None):
    return _fill(self, _rng(generator).random(self.shape) < p)


@method("random_")
def random_(self, from_=None, to=None, *, generator=None):
    if from_ is None:                             # random_(): [0, 2^mantissa] or the int range
        a = self._np
        from_, to = 0, (2 ** (np.finfo(a.dtype).nmant + 1) + 1 if a.dtype.kind == "f"
                        else 2 if a.dtype.kind == "b" else int(np.iinfo(a.dtype).max) + 1)
    elif to is None:                              # random_(to): [0, to)
        from_, to = 0, from_
    return _fill(self, _rng(generator).integers(from_, to, self.shape, dtype=np.int64
                                                if to <= 2 ** 63 - 1 else np.uint64))


@method("exponential_")
def exponential_(self, lambd=1.0, *, generator=None):
    return _fill(self, _rng(generator).exponential(1.0 / lambd, self.shape))


# ---- dtype conversion methods ------------------------------------------------------------------
@method("to")
def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None,
       other=None):
    """``x.to(dtype)``, ``x.to(device)``, ``x.to(device, dtype)``, ``x.to(other)``; a cast to an
    integer or bool dtype leaves the graph (only floating-point tensors have gradients)."""
    flags = []
    for a in args + ((other,) if other is not None else ()):     # to(other=t): t's dtype
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, bool):                 # to(dtype, non_blocking, copy) positionally
            flags.append(a)
        elif isinstance(a, D.dtype) or (not isinstance(a, str) and a in (float, int, bool)):
            dtype = a
        else:
            _check_device(a)
    if len(flags) == 2:
        copy = flags[1]
    _check_device(device)
    if dtype is None:
        return self.clone() if copy else self
    r = cast(self, D.as_dtype(dtype))
    return r.clone() if (copy and r is self) else r


def _conv(name, dt):
    def conv(self, memory_format=None):
        return to(self, dt)
    conv.__name__ = name
    conv.__doc__ = f"This tensor as {dt!r} (itself when it already is)."
    method(name)(conv)


_conv("float", D.float32)
_conv("double", D.float64)
_conv("half", D.float16)
_conv("long", D.int64)
_conv("int", D.int32)
_conv("bool", D.bool)
_conv("byte", D.uint8)


@method("bfloat16")
def bfloat16(self, memory_format=None):
    return to(self, D.bfloat16)          # raises the clear "labkit has no bfloat16" TypeError


class _LegacyTensorType(type):
    """``labkit.FloatTensor``, ``labkit.LongTensor`` ...: PyTorch's legacy tensor types.

    ``isinstance(x, labkit.LongTensor)`` checks the dtype, ``x.type(labkit.LongTensor)`` casts,
    ``labkit.LongTensor([1, 2])`` builds a tensor of that dtype and ``labkit.FloatTensor(2, 3)`` an
    uninitialised one.
    """

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        _check_device(device)
        if not args:
            return _make(np.empty((0,), cls.dtype.np))
        if builtins.all(isinstance(a, numbers.Integral) for a in args):
            return _make(np.empty(_shape(args), cls.dtype.np))
        if len(args) == 1:
            if isinstance(args[0], Tensor):
                return to(args[0], cls.dtype)
            return _make(np.array(_to_array(args[0], cls.dtype), copy=True))
        raise TypeError(f"{cls.__name__}() takes data (a list/array) or sizes (ints)")

    def __repr__(cls):
        return f"<class 'labkit.{cls.__name__}'>"


def _legacy(name, dt):
    return _LegacyTensorType(name, (), {"dtype": dt, "__module__": "labkit"})


FloatTensor = _legacy("FloatTensor", D.float32)
DoubleTensor = _legacy("DoubleTensor", D.float64)
HalfTensor = _legacy("HalfTensor", D.float16)
LongTensor = _legacy("LongTensor", D.int64)
IntTensor = _legacy("IntTensor", D.int32)
BoolTensor = _legacy("BoolTensor", D.bool)
ByteTensor = _legacy("ByteTensor", D.uint8)
LEGACY_TYPES = {t.__name__: t for t in (FloatTensor, DoubleTensor, HalfTensor, LongTensor,
                                        IntTensor, BoolTensor, ByteTensor)}


@method("type")
def type_(self, dtype=None, non_blocking=False):
    """``x.type()`` names the type ('labkit.FloatTensor'); ``x.type(labkit.LongTensor)``,
    ``x.type('torch.LongTensor')`` or ``x.type(labkit.int64)`` cast.  ``non_blocking`` (here
    and in ``to``) overlaps copies with a GPU; on the CPU it has no effect."""
    if dtype is None:
        return next(f"labkit.{n}" for n, t in LEGACY_TYPES.items() if t.dtype is self.dtype)
    if isinstance(dtype, str) and dtype.rpartition(".")[2] in LEGACY_TYPES:
        dtype = LEGACY_TYPES[dtype.rpartition(".")[2]]
    if isinstance(dtype, _LegacyTensorType):
        dtype = dtype.dtype
    return to(self, dtype)


@method("type_as")
def type_as(self, other):
    return to(self, other.dtype)


def _new(make):
    def fn(self, *args, size=None, dtype=None, layout=None, device=None, requires_grad=False,
           pin_memory=False):
        return make(*args, size=size, dtype=dtype or self.dtype, layout=layout, device=device,
                    requires_grad=requires_grad)
    fn.__name__ = "new_" + make.__name__
    fn.__doc__ = f"``{make.__name__}(*size)`` with this tensor's dtype (unless ``dtype`` is given)."
    method(fn.__name__)(fn)
    return fn


new_zeros = _new(zeros)
new_ones = _new(ones)
new_empty = _new(empty)


@method("new_full")
def new_full(self, size, fill_value, *, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    return full(size, fill_value, dtype=dtype or self.dtype, layout=layout, device=device,
                requires_grad=requires_grad)


@method("new_tensor")
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    # no layout=/pin_memory=: PyTorch's docs list them, its new_tensor refuses them (TypeError)
    return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


# ---- default device ----------------------------------------------------------------------------
def get_default_device():
    """Where new tensors go: always the CPU in labkit."""
    return _CPU


def set_default_device(device):
    """Accepts ``'cpu'`` (and None); any other device raises labkit's CPU-only message."""
    _check_device(device)


# ---- printing ------------------------------------------------------------------------------------
@register("set_printoptions", method=False)
def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """How tensors print (PyTorch's options): ``profile`` is 'default', 'short' or 'full'."""
    if profile == "default":
        P.precision, P.threshold, P.edgeitems, P.linewidth = 4, 1000, 3, 80
    elif profile == "short":
        P.precision, P.threshold, P.edgeitems, P.linewidth = 2, 1000, 2, 80
    elif profile == "full":
        P.precision, P.threshold, P.edgeitems, P.linewidth = 4, math.inf, 3, 80
    elif profile is not None:
        raise ValueError(f"profile must be 'default', 'short' or 'full', got {profile!r}")
    if precision is not None:
        P.precision = int(precision)
    if threshold is not None:
        P.threshold = threshold
    if edgeitems is not None:
        P.edgeitems = int(edgeitems)
    if linewidth is not None:
        P.linewidth = int(linewidth)
    P.sci_mode = sci_mode


@register("tril_indices", method=False)
def tril_indices(row, col, offset=0, *, dtype=None, layout=None, device=None,
                 requires_grad=False, pin_memory=False):
    """Indices (2, N) of the lower triangle of a row x col matrix, row by row."""
    r, c = np.tril_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_dt(dtype, D.int64)), requires_grad, device, layout)


@register("triu_indices", method=False)
def triu_indices(row, col, offset=0, *, dtype=None, layout=None, device=None,
                 requires_grad=False, pin_memory=False):
    r, c = np.triu_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_dt(dtype, D.int64)), requires_grad, device, layout)
