"""Tensor creation: tensor, as_tensor, from_numpy, zeros/ones/full/empty, arange, linspace, eye,
rand/randn/randint/randperm, the ``*_like`` family, and random in-place fills."""
import builtins
import math
import numbers

import numpy as np

from . import dtypes as D
from .ops._common import shape_arg
from .ops._registry import method, register
from .random import _rng
from .tensor import Tensor, _check_device, _make, _to_array


def _dt(dtype, default=None):
    if dtype is None:
        return (default or D.get_default_dtype()).np
    return D.as_dtype(dtype).np


def _finish(arr, requires_grad, device=None):
    _check_device(device)
    t = _make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


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


@register("as_tensor", "asarray", method=False)
def as_tensor(data, dtype=None, device=None, **kw):
    """Like ``tensor`` but shares memory with a NumPy array / tensor when no conversion is needed."""
    if isinstance(data, Tensor) and (dtype is None or D.as_dtype(dtype) is data.dtype):
        return data
    return _finish(_to_array(data, dtype), kw.get("requires_grad", False), device)


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


def _sized(npfn, name):
    def fn(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
           pin_memory=False, memory_format=None, generator=None):
        shape = shape_arg(size)
        for s in shape:
            if s < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                                   f"{list(shape)}")
        return _finish(npfn(shape, _dt(dtype)), requires_grad, device)
    fn.__name__ = name
    register(name, method=False)(fn)
    return fn


zeros = _sized(np.zeros, "zeros")
ones = _sized(np.ones, "ones")
empty = _sized(np.empty, "empty")


@register("full", method=False)
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, **kw):
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = D.bool
        elif isinstance(fill_value, numbers.Integral):
            dtype = D.int64
    return _finish(np.full(shape_arg((size,)), fill_value, dtype=_dt(dtype)), requires_grad, device)


def _like(fn_shape):
    def deco(name):
        def fn(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, **kw):
            dt = input.dtype if dtype is None else D.as_dtype(dtype)
            return fn_shape(input.shape, dt, requires_grad, device, kw)
        fn.__name__ = name
        register(name, method=False)(fn)
        return fn
    return deco


zeros_like = _like(lambda s, dt, rg, dev, kw: zeros(s, dtype=dt, requires_grad=rg, device=dev))("zeros_like")
ones_like = _like(lambda s, dt, rg, dev, kw: ones(s, dtype=dt, requires_grad=rg, device=dev))("ones_like")
empty_like = _like(lambda s, dt, rg, dev, kw: empty(s, dtype=dt, requires_grad=rg, device=dev))("empty_like")
rand_like = _like(lambda s, dt, rg, dev, kw: rand(s, dtype=dt, requires_grad=rg, device=dev))("rand_like")
randn_like = _like(lambda s, dt, rg, dev, kw: randn(s, dtype=dt, requires_grad=rg, device=dev))("randn_like")


@register("full_like", method=False)
def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, **kw):
    return full(input.shape, fill_value, dtype=input.dtype if dtype is None else dtype,
                requires_grad=requires_grad, device=device)


@register("randint_like", method=False)
def randint_like(input, low=0, high=None, *, dtype=None, **kw):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype)


@register("arange", method=False)
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, **kw):
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
    return _finish(arr.astype(_dt(dtype)), requires_grad, device)


@register("linspace", method=False)
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, **kw):
    if dtype is not None and not D.as_dtype(dtype).is_floating_point:
        start, end = _int_endpoint(start), _int_endpoint(end)   # torch truncates the ends first
    start, end = _endpoint(start), _endpoint(end)
    return _finish(np.linspace(start, end, int(steps)).astype(_dt(dtype)), requires_grad, device)


@register("logspace", method=False)
def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False, **kw):
    if dtype is not None and not D.as_dtype(dtype).is_floating_point:
        start, end = _int_endpoint(start), _int_endpoint(end)
    start, end = _endpoint(start), _endpoint(end)
    return _finish(np.logspace(start, end, int(steps), base=base).astype(_dt(dtype)), requires_grad,
                   device)


def _endpoint(v):
    """A 0-d tensor end point as a Python number (computed in double, as PyTorch)."""
    return v.item() if isinstance(v, Tensor) else v


def _int_endpoint(v):
    return int(v.item() if isinstance(v, Tensor) else v)


@register("eye", method=False)
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, **kw):
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad, device)


def _rand_sized(draw, name, default=None):
    def fn(*size, generator=None, dtype=None, device=None, requires_grad=False, **kw):
        shape = shape_arg(size)
        npd = _dt(dtype, default)
        return _finish(np.asarray(draw(_rng(generator), shape, npd)), requires_grad, device)
    fn.__name__ = name
    register(name, method=False)(fn)
    return fn


def _draw_uniform(rng, shape, npd):
    return rng.random(shape, dtype=npd if npd in (np.float32, np.float64) else np.float64).astype(npd, copy=False)


def _draw_normal(rng, shape, npd):
    return rng.standard_normal(shape, dtype=npd if npd in (np.float32, np.float64) else np.float64).astype(npd, copy=False)


rand = _rand_sized(_draw_uniform, "rand")
randn = _rand_sized(_draw_normal, "randn")


@register("randint", method=False)
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, **kw):
    if size is None:                        # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    arr = _rng(generator).integers(low, high, size=shape_arg((size,)))
    return _finish(arr.astype(_dt(dtype, D.int64)), requires_grad, device)


@register("randperm", method=False)
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, **kw):
    return _finish(_rng(generator).permutation(int(n)).astype(_dt(dtype, D.int64)),
                   requires_grad, device)


@register("normal", method=False)
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, **kw):
    m = mean._np if isinstance(mean, Tensor) else mean
    s = std._np if isinstance(std, Tensor) else std
    shape = shape_arg((size,)) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    npd = mean._np.dtype if isinstance(mean, Tensor) else _dt(dtype)
    return _make((m + s * _rng(generator).standard_normal(shape)).astype(npd))


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
    from .ops.inplace import _check_leaf
    _check_leaf(self)
    self._np[...] = arr
    self._vc[0] += 1
    return self


@method("uniform_")
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    return _fill(self, _rng(generator).uniform(a, b, self.shape))


@method("normal_")
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _fill(self, mean + std * _rng(generator).standard_normal(self.shape))


@method("bernoulli_")
def bernoulli_(self, p=0.5, *, generator=None):
    return _fill(self, _rng(generator).random(self.shape) < p)


@method("random_")
def random_(self, low=0, high=None, *, generator=None):
    if high is None:
        low, high = 0, low
    return _fill(self, _rng(generator).integers(low, high, self.shape))


@method("exponential_")
def exponential_(self, lambd=1.0, *, generator=None):
    return _fill(self, _rng(generator).exponential(1.0 / lambd, self.shape))


# ---- dtype conversion methods ------------------------------------------------------------------
@method("to")
def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, **kw):
    from .ops._common import cast
    flags = []
    for a in args:
        if isinstance(a, bool):                  # to(device, dtype, non_blocking, copy)
            flags.append(a)
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, D.dtype) or (not isinstance(a, str) and a in (float, int, bool)):
            dtype = a
        else:
            _check_device(a)
    _check_device(device)
    if len(flags) > 1:
        copy = flags[1]
    if dtype is None:
        return self.clone() if copy else self
    r = cast(self, D.as_dtype(dtype))
    return r.clone() if (copy and r is self) else r


def _conv(name, dt):
    method(name)(lambda self, memory_format=None: to(self, dt))


_conv("float", D.float32)
_conv("double", D.float64)
_conv("half", D.float16)
_conv("long", D.int64)
_conv("int", D.int32)
_conv("bool", D.bool)
_conv("byte", D.uint8)


@method("type")
def type_(self, dtype=None, **kw):
    if dtype is None:
        return {"float32": "labkit.FloatTensor", "float64": "labkit.DoubleTensor",
                "int64": "labkit.LongTensor", "int32": "labkit.IntTensor",
                "bool": "labkit.BoolTensor", "uint8": "labkit.ByteTensor",
                "float16": "labkit.HalfTensor"}[self.dtype.name]
    return to(self, dtype)


@method("type_as")
def type_as(self, other):
    return to(self, other.dtype)


@method("new_zeros")
def new_zeros(self, *size, dtype=None, **kw):
    return zeros(*size, dtype=dtype or self.dtype)


@method("new_ones")
def new_ones(self, *size, dtype=None, **kw):
    return ones(*size, dtype=dtype or self.dtype)


@method("new_full")
def new_full(self, size, fill_value, dtype=None, **kw):
    return full(size, fill_value, dtype=dtype or self.dtype)


@method("new_empty")
def new_empty(self, *size, dtype=None, **kw):
    return empty(*size, dtype=dtype or self.dtype)


@method("new_tensor")
def new_tensor(self, data, dtype=None, **kw):
    return tensor(data, dtype=dtype or self.dtype)


# ---- printing ------------------------------------------------------------------------------------
@register("set_printoptions", method=False)
def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """How tensors print (PyTorch's options): ``profile`` is 'default', 'short' or 'full'."""
    from .tensor import PRINT_OPTS as P
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
def tril_indices(row, col, offset=0, *, dtype=None, device=None, **kw):
    """Indices (2, N) of the lower triangle of a row x col matrix, row by row."""
    r, c = np.tril_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_dt(dtype, D.int64)), False, device)


@register("triu_indices", method=False)
def triu_indices(row, col, offset=0, *, dtype=None, device=None, **kw):
    r, c = np.triu_indices(row, offset, col)
    return _finish(np.stack([r, c]).astype(_dt(dtype, D.int64)), False, device)
