"""The rest of ``torch``'s top-level namespace that means something for dense real CPU tensors.

``labkit/__init__.py`` exports ``NAMES``.  Most entries are thin: the in-place functions
(``labkit.exp_(x)`` is ``x.exp_()``) come from one table, predicates and settings answer for a
real CPU engine (``is_complex`` is False, ``get_device`` is -1), deprecated spellings warn or
raise as PyTorch does, and a few are small composites (``vander``, ``range``, the windows,
``segment_reduce``).  ``vmap`` maps a function over a dimension by looping and stacking, which
gives PyTorch's results (and gradients) at the cost of one call per slice.
"""
import builtins
import math
import numbers
import warnings

import numpy as np

from . import dtypes as D
from . import linalg as LA
from .autograd.anomaly import _anomaly, _set_mode
from .creation import arange, empty, tensor
from .ops.shape import cat, stack, vstack
from .ops._registry import _with_out
from .random import _rng
from .tensor import Tensor, _check_device, _make

NAMES = {}


def _export(fn, name=None, out=False):
    name = name or fn.__name__
    NAMES[name] = _with_out(fn, name) if out else fn
    return fn


def _export_out(fn):
    return _export(fn, out=True)


# ---------------------------------------------------------------- in-place functions
# torch.exp_(x) is x.exp_(): one table, one generated function each
INPLACE = """abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_
asinh_ atan_ atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ erf_ erfc_
exp2_ exp_ expm1_ fill_ fix_ floor_ frac_ gcd_ i0_ index_put_ lcm_ ldexp_ log10_ log1p_ log2_
log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ relu_ round_ rsqrt_ sigmoid_ sin_
sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_ detach_ conj_physical_ resize_as_""".split()


def _inplace_function(name):
    def fn(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``labkit.{name}(x, ...)`` is ``x.{name}(...)``: modifies ``x`` in place."
    return fn


for _n in INPLACE:
    _export(_inplace_function(_n))


# ---------------------------------------------------------------- questions about a tensor
@_export
def is_complex(input):
    return input.is_complex()


@_export
def is_signed(input):
    return input.is_signed()


@_export
def is_nonzero(input):
    """``True`` when the single value of ``input`` is not zero (one element only)."""
    return input.is_nonzero()


@_export
def is_same_size(input, other):
    return input.is_same_size(other)


@_export
def is_conj(input):
    return False                 # real tensors: conj() is the tensor itself, never a lazy view


@_export
def is_neg(input):
    return False


@_export
def is_inference(input):
    return input.is_inference()


@_export
def is_distributed(input):
    return False


@_export
def is_storage(obj, /):
    return False                 # labkit has no Storage objects (see labkit.scope)


@_export
def get_device(input):
    return -1                    # PyTorch's answer for a CPU tensor


@_export
def can_cast(from_, to):
    """Whether PyTorch's type promotion allows casting ``from_`` into ``to`` (no float -> int,
    no int/float -> bool)."""
    return from_._cat <= to._cat


@_export
def typename(obj, /):
    """``'labkit.FloatTensor'`` for a tensor, else the object's module-qualified type name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", None) or type(obj).__module__
    qual = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return qual if module in (None, "builtins") else f"{module}.{qual}"


# ---------------------------------------------------------------- real tensors: conj & co.
@_export
def detach(input):
    return input.detach()


@_export
def adjoint(input):
    return input.adjoint()


@_export
def conj(input):
    return input              # PyTorch returns the tensor itself for real dtypes


@_export
def resolve_conj(input):
    return input


@_export
def resolve_neg(input):
    return input


@_export
def real(input):
    return input.real


@_export
def imag(input):
    return input.imag


def conj_physical(input):
    return input.conj_physical()


def fix(input):
    return input.fix()


_export(conj_physical, out=True)
_export(fix, out=True)


# ---------------------------------------------------------------- settings
class _Settings:
    interop_threads = 1
    warn_always = False


@_export
def get_num_interop_threads():
    """Threads for running independent ops at once: labkit runs ops one after another (1)."""
    return _Settings.interop_threads


@_export
def set_num_interop_threads(int):        # noqa: A002  (PyTorch's parameter name)
    n = builtins.int(int)
    if n < 1:
        raise RuntimeError(f"Number of inter-op threads must be positive, got {n}")
    _Settings.interop_threads = n


@_export
def init_num_threads():
    """Nothing to initialise: labkit's thread pools (BLAS, Numba) start themselves."""


@_export
def set_flush_denormal(mode):
    """PyTorch flushes denormal floats to zero on request; NumPy cannot, so turning it on fails
    (``False``) and turning it off (labkit's only mode) succeeds (``True``)."""
    return not mode


@_export
def is_warn_always_enabled():
    return _Settings.warn_always


@_export
def set_warn_always(b, /):
    _Settings.warn_always = bool(b)


@_export
def is_anomaly_enabled():
    return _anomaly.enabled


@_export
def is_anomaly_check_nan_enabled():
    return _anomaly.check_nan


@_export
def set_anomaly_enabled(enabled, check_nan=True):
    _set_mode(enabled, check_nan)


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


@_export
def set_deterministic_debug_mode(debug_mode):
    """0/'default', 1/'warn', 2/'error': ``use_deterministic_algorithms`` in one number."""
    from .backends import use_deterministic_algorithms
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, numbers.Integral) or debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


@_export
def get_deterministic_debug_mode():
    from .backends import (are_deterministic_algorithms_enabled,
                           is_deterministic_algorithms_warn_only_enabled)
    if not are_deterministic_algorithms_enabled():
        return 0
    return 1 if is_deterministic_algorithms_warn_only_enabled() else 2


@_export
def is_vulkan_available():
    return False


@_export
def set_default_tensor_type(t, /):
    """Deprecated in PyTorch (use ``set_default_dtype``): ``FloatTensor``/``DoubleTensor`` (or
    their names) set the default floating dtype."""
    name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
    name = name.rsplit(".", 1)[-1]
    dt = {"FloatTensor": D.float32, "DoubleTensor": D.float64, "HalfTensor": D.float16}.get(name)
    if dt is None:
        raise TypeError(f"set_default_tensor_type: only floating-point types are supported as the "
                        f"default type (FloatTensor, DoubleTensor, HalfTensor), got {t!r}")
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() instead", UserWarning, stacklevel=2)
    D.set_default_dtype(dt)


# ---------------------------------------------------------------- creation
def _no_pin(pin_memory, device=None):
    _check_device(device)                       # a CUDA device raises, as everywhere in labkit
    if pin_memory:
        raise NotImplementedError("pin_memory=True: pinned memory only speeds up copies to a GPU; "
                                  "labkit tensors live on the CPU (drop the argument)")


def _factory_dtype(dtype):
    return D.get_default_dtype() if dtype is None else dtype


@_export
def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """An uninitialised tensor with the given element strides (as ``x.stride()`` reports)."""
    _no_pin(pin_memory, device)
    size, stride = tuple(builtins.int(s) for s in size), tuple(builtins.int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} sizes, "
                           f"{len(stride)} strides")
    npd = D.as_dtype(_factory_dtype(dtype)).np
    extent = 1 + builtins.sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    buf = np.empty(extent, dtype=npd)
    arr = np.lib.stride_tricks.as_strided(buf, size, tuple(s * npd.itemsize for s in stride))
    return _make(arr, requires_grad)


@_export
def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    """An uninitialised tensor of ``size`` laid out in memory in the order ``physical_layout``
    (``(0, 2, 3, 1)``: channels last)."""
    _no_pin(pin_memory, device)
    size, perm = tuple(size), tuple(physical_layout)
    if sorted(perm) != list(builtins.range(len(size))):
        raise RuntimeError(f"physical_layout {list(perm)} is not a permutation of the "
                           f"{len(size)} dimensions")
    phys = np.empty([size[p] for p in perm], dtype=D.as_dtype(_factory_dtype(dtype)).np)
    return _make(phys.transpose(np.argsort(perm)), requires_grad)


@_export
def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor sharing the memory of an object with the buffer protocol (``bytearray``,
    ``array.array``, ``memoryview``)."""
    npd = D.as_dtype(dtype).np
    nbytes = len(memoryview(buffer).cast("B"))
    if offset < 0 or offset >= nbytes:
        raise ValueError(f"both buffer length ({nbytes}) and offset ({offset}) must be positive "
                         f"and offset smaller than length")
    if count == 0 or (count < 0 and (nbytes - offset) % npd.itemsize):
        raise ValueError(f"buffer length ({nbytes - offset} after offset) must be a multiple of "
                         f"the element size ({npd.itemsize}) and count must be non-zero")
    arr = np.frombuffer(buffer, dtype=npd, count=count, offset=offset)
    if not arr.flags.writeable:
        warnings.warn("The given buffer is not writable: writing to the tensor is undefined "
                      "(as in PyTorch). Copy it first (bytearray(buffer)).", UserWarning,
                      stacklevel=2)
        arr = arr.view()
        arr.flags.writeable = False
    return _make(arr, requires_grad)


@_export
def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor sharing memory with any DLPack producer (a NumPy array, a PyTorch CPU tensor)."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    kw = {} if copy is None else {"copy": copy}
    arr = np.from_dlpack(ext_tensor, **kw)
    if arr.dtype not in D._FROM_NP:
        raise TypeError(f"from_dlpack: labkit has no dtype for {arr.dtype}")
    return _make(arr)


@_export
def to_dlpack(tensor):
    """A DLPack capsule of ``tensor`` (consumers such as ``torch.from_dlpack`` share its memory)."""
    return tensor.__dlpack__()


@_export
def range(start=0, end=None, step=1, *, out=None, dtype=None,  # noqa: A001
          layout=None, device=None, pin_memory=False, requires_grad=False):
    """Deprecated in PyTorch: like ``arange`` but **including** ``end``; floating by default."""
    _no_pin(pin_memory, device)
    warnings.warn("torch.range is deprecated and will be removed in a future release because its "
                  "behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = builtins.int(math.floor((end - start) / step)) + 1
    dt = _factory_dtype(dtype) if out is None or dtype is not None else out.dtype
    res = (arange(n, dtype=D.float64) * step + start).to(dt)
    res.requires_grad_(requires_grad)
    if out is not None:
        out._np = res._np.copy()
        return out
    return res


@_export
def vander(x, N=None, increasing=False):
    """Columns ``x**(N-1), ..., x, 1`` (``increasing=True``: ``1, x, ..., x**(N-1)``)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x.dtype in (D.bool, D.uint8, D.int32):
        x = x.long()
    if n == 0:
        return empty(x.shape[0], 0, dtype=x.dtype)
    cols = [x.new_ones(x.shape[0], 1)] + ([x.unsqueeze(1).expand(x.shape[0], n - 1)]
                                          if n > 1 else [])
    res = cat(cols, 1).cumprod(1)
    return res if increasing else res.flip(1)


def row_stack(tensors):
    return vstack(tensors)


_export(row_stack, out=True)


def _window(name, values, dtype, requires_grad, device=None):
    _check_device(device)
    dt = _factory_dtype(dtype)
    if not D.as_dtype(dt).is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    return tensor(np.asarray(values, np.float64), dtype=dt, requires_grad=requires_grad)


def _window_len(name, n):
    if n < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={n}")


def _cosine_grid(name, window_length, periodic):
    """Positions ``2 pi n / (M - 1)`` with M = N + 1 for a periodic window (then cut to N)."""
    _window_len(name, window_length)
    m = window_length + 1 if periodic else window_length
    return 2 * math.pi * np.arange(window_length, dtype=np.float64) / builtins.max(m - 1, 1)


@_export
def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):
    """The triangle ``1 - |2n / (M - 1) - 1|``."""
    t = _cosine_grid("bartlett_window", window_length, periodic) / math.pi
    w = 1 - np.abs(t - 1) if window_length > 1 else np.ones(window_length)
    return _window("bartlett_window", w, dtype, requires_grad, device)


@_export
def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):
    """``0.42 - 0.5 cos(2 pi n / (M - 1)) + 0.08 cos(4 pi n / (M - 1))``."""
    t = _cosine_grid("blackman_window", window_length, periodic)
    w = 0.42 - 0.5 * np.cos(t) + 0.08 * np.cos(2 * t) if window_length > 1 else \
        np.ones(window_length)
    return _window("blackman_window", w, dtype, requires_grad, device)


@_export
def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                requires_grad=False):
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, device=device,
                          requires_grad=requires_grad)


@_export
def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, pin_memory=False, requires_grad=False):
    """``alpha - beta * cos(2 pi n / (N - 1))`` (periodic: the window of N + 1 points, cut)."""
    _no_pin(pin_memory, device)
    _window_len("hamming_window", window_length)
    if window_length == 1:
        return _window("hamming_window", [1.0], dtype, requires_grad, device)
    m = window_length + 1 if periodic else window_length
    n = np.arange(window_length, dtype=np.float64)
    return _window("hamming_window", alpha - beta * np.cos(2 * math.pi * n / (m - 1)), dtype,
                   requires_grad, device)


@_export
def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, requires_grad=False):
    _window_len("kaiser_window", window_length)
    if window_length <= 1:
        return _window("kaiser_window", [1.0] * window_length, dtype, requires_grad, device)
    m = window_length + 1 if periodic else window_length
    return _window("kaiser_window", np.kaiser(m, beta)[:window_length], dtype, requires_grad,
                   device)


# ---------------------------------------------------------------- linear algebra
def chain_matmul(*matrices):
    """Deprecated: ``linalg.multi_dot(matrices)`` (the product in the cheapest order)."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=3)
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    if len(matrices) == 1:
        if matrices[0].ndim != 2:
            raise RuntimeError(f"chain_matmul(): Tensor dimension is {matrices[0].ndim}, "
                               f"expected 2 instead.")
        return matrices[0].clone()
    return LA.multi_dot(list(matrices))


def frobenius_norm(input, dim, keepdim=False):
    """``sqrt(sum(x**2))`` over ``dim`` (kept for old code: ``linalg.vector_norm``)."""
    warnings.warn("frobenius_norm is deprecated (as in PyTorch); use "
                  "linalg.vector_norm(A, 2., dim, keepdim) instead", UserWarning, stacklevel=3)
    return LA.vector_norm(input, 2, dim, keepdim)


def nuclear_norm(input, dim=None, keepdim=False):
    """The sum of singular values (``linalg.matrix_norm(A, 'nuc')``); ``nuclear_norm(A, True)``
    keeps the reduced dims, as in PyTorch."""
    warnings.warn("nuclear_norm is deprecated (as in PyTorch); use "
                  "linalg.matrix_norm(A, 'nuc', dim, keepdim) instead", UserWarning, stacklevel=3)
    if isinstance(dim, builtins.bool):
        dim, keepdim = None, dim
    if input.ndim != 2 and dim is None:
        raise RuntimeError(f"Expected a tensor with 2 dimensions, but got a tensor with "
                           f"{input.ndim} dimensions instead.")
    return LA.matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)


for _f in (chain_matmul, frobenius_norm, nuclear_norm):
    _export(_f, out=True)


def _removed(name):
    raise RuntimeError(f"This function was deprecated since version 1.9 and is now removed "
                       f"(in PyTorch too). {REMOVED[name]}")


REMOVED = {
    "lstsq": "Use labkit.linalg.lstsq(A, B) (note the reversed arguments: torch.lstsq(B, A)); "
             "the solution is .solution.",
    "solve": "Use labkit.linalg.solve(A, B) (note the reversed arguments: torch.solve(B, A)).",
    "symeig": "Use labkit.linalg.eigh(A, UPLO='U' if upper else 'L') for eigenvalues and "
              "eigenvectors, or labkit.linalg.eigvalsh(A) for eigenvalues only.",
    "eig": "labkit has no complex numbers; for a symmetric matrix use labkit.linalg.eigh(A).",
    "matrix_rank": "Use labkit.linalg.matrix_rank(A) (its 'symmetric' is now 'hermitian').",
}


@_export
def lstsq(input, A, *, out=None):
    """Removed from PyTorch: ``linalg.lstsq(A, B)``."""
    _removed("lstsq")


@_export
def solve(input, A, *, out=None):
    """Removed from PyTorch: ``linalg.solve(A, B)``."""
    _removed("solve")


@_export
def symeig(input, eigenvectors=False, upper=True, *, out=None):
    """Removed from PyTorch: ``linalg.eigh`` / ``linalg.eigvalsh``."""
    _removed("symeig")


@_export
def eig(self, eigenvectors=False, *, e=None, v=None):  # (the removed function's names)
    """Removed from PyTorch: ``linalg.eig`` (complex; labkit: ``linalg.eigh`` for symmetric)."""
    _removed("eig")


@_export
def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    """Removed from PyTorch: ``linalg.matrix_rank``."""
    _removed("matrix_rank")


# ---------------------------------------------------------------- copies of views
def select_copy(input, dim, index):
    return input.select(dim, index).clone()


def slice_copy(input, dim=0, start=None, end=None, step=1):
    idx = [builtins.slice(None)] * input.ndim
    idx[dim] = builtins.slice(start, end, step)
    return input[tuple(idx)].clone()


def split_copy(input, split_size, dim=0):
    return tuple(t.clone() for t in input.split(split_size, dim))


def detach_copy(input):
    return input.detach().clone()


for _f in (select_copy, slice_copy, split_copy, detach_copy):
    _export(_f, out=True)


# ---------------------------------------------------------------- random
@_export_out
def binomial(count, prob, generator=None):
    """Draws from Binomial(count, prob), elementwise (same dtype as ``count``; no gradient)."""
    c, p = np.broadcast_arrays(count._np, prob._np)
    if np.any((p < 0) | (p > 1)) or np.any(c < 0):
        raise RuntimeError("binomial: count must be >= 0 and prob in [0, 1]")
    return _make(_rng(generator).binomial(c.astype(np.int64), p).astype(count._np.dtype))


@_export_out
def poisson(input, generator=None):
    """Draws from Poisson(rate = input), elementwise (same dtype; no gradient)."""
    if np.any(input._np < 0):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return _make(_rng(generator).poisson(input._np).astype(input._np.dtype))


# ---------------------------------------------------------------- segments, control flow
_SEG_EMPTY = {"sum": 0.0, "prod": 1.0, "mean": math.nan, "max": -math.inf, "min": math.inf}


@_export_out
def segment_reduce(data, reduce, *, lengths=None, indices=None, offsets=None, axis=0,
                   unsafe=False, initial=None):
    """Reduce consecutive segments of ``data`` along ``axis`` (lengths or offsets give them)."""
    if reduce not in _SEG_EMPTY:
        raise RuntimeError(f"reduce argument must be one of sum, prod, mean, max, min, got "
                           f"{reduce}")
    if indices is not None:
        raise NotImplementedError("segment_reduce(indices=) is not supported by PyTorch either; "
                                  "pass lengths= or offsets=")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce: either lengths or offsets must be given")
    if lengths is None:
        off = np.asarray(offsets._np if isinstance(offsets, Tensor) else offsets)
        lengths_np = np.diff(off, axis=-1)
    else:
        lengths_np = np.asarray(lengths._np if isinstance(lengths, Tensor) else lengths)
    if lengths_np.ndim != 1:
        raise NotImplementedError("segment_reduce: labkit supports 1-D lengths/offsets only")
    axis = axis % data.ndim
    if not unsafe and (np.any(lengths_np < 0) or lengths_np.sum() != data.shape[axis]):
        raise RuntimeError("segment_reduce: expected all lengths to be non-negative and to sum "
                           f"to data.size({axis}) = {data.shape[axis]}")
    parts, at = [], 0
    for n in lengths_np.tolist():
        seg = data.narrow(axis, at, n)
        at += n
        if n == 0:
            fill = _SEG_EMPTY[reduce] if initial is None else initial
            shape = data.shape[:axis] + data.shape[axis + 1:]
            parts.append(data.new_full(shape, fill))
            continue
        r = {"sum": lambda s: s.sum(axis), "prod": lambda s: s.prod(axis),
             "mean": lambda s: s.mean(axis), "max": lambda s: s.amax(axis),
             "min": lambda s: s.amin(axis)}[reduce](seg)
        if initial is not None:
            r = {"sum": r + initial, "prod": r * initial, "mean": r,
                 "max": r.clamp_min(initial), "min": r.clamp_max(initial)}[reduce]
        parts.append(r)
    return stack(parts, axis)


@_export
def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)`` (eager: labkit has no
    graph capture, so this is an ordinary ``if``)."""
    if isinstance(pred, Tensor):
        if pred.numel() != 1:
            raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got "
                               f"a tensor of shape {list(pred.shape)}")
        pred = builtins.bool(pred.item())
    if not isinstance(operands, (tuple, list)):
        raise RuntimeError(f"Expect operands to be a tuple of possibly nested dict/list/tuple "
                           f"that only consists of tensor leaves, but got {type(operands)}")
    return true_fn(*operands) if pred else false_fn(*operands)


@_export
def while_loop(cond_fn, body_fn, carried_inputs):
    """Run ``carried = body_fn(*carried)`` while ``cond_fn(*carried)``; return ``carried``."""
    carried = tuple(carried_inputs)
    while builtins.bool(cond_fn(*carried)):
        out = body_fn(*carried)
        carried = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    return carried


from .vmap import vmap  # noqa: E402
from .lowrank import lobpcg, pca_lowrank, svd_lowrank  # noqa: E402
NAMES.update(vmap=vmap, svd_lowrank=svd_lowrank, pca_lowrank=pca_lowrank, lobpcg=lobpcg)

# nn ops at the top level (torch.conv2d ...): labkit/nn/functional/toplevel.py, loaded on first use
NN_ALIASES = frozenset("""conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d
conv_tbc convolution avg_pool1d adaptive_avg_pool1d adaptive_max_pool1d max_pool1d max_pool2d
max_pool3d max_pool1d_with_indices bilinear prelu celu celu_ selu selu_ rrelu rrelu_ threshold
threshold_ hardshrink pixel_shuffle pixel_unshuffle channel_shuffle native_channel_shuffle
cosine_similarity pairwise_distance pdist rms_norm grid_sampler affine_grid_generator batch_norm
instance_norm layer_norm group_norm dropout dropout_ alpha_dropout alpha_dropout_
feature_alpha_dropout feature_alpha_dropout_ feature_dropout feature_dropout_ embedding kl_div
binary_cross_entropy_with_logits margin_ranking_loss hinge_embedding_loss cosine_embedding_loss
triplet_margin_loss poisson_nll_loss ctc_loss rnn_tanh_cell rnn_relu_cell lstm_cell gru_cell lstm
gru rnn_tanh rnn_relu native_layer_norm native_batch_norm native_group_norm
native_dropout""".split())
