"""Attach ops to ``Tensor`` (as methods) and to the ``labkit`` namespace (as functions).

An op module writes::

    @register("exp", method=True)
    def exp(input): ...

and ``labkit.exp(x)`` and ``x.exp()`` both exist.  ``labkit/__init__.py`` exports every
registered function, so adding an op never means editing the Tensor class.

Two parts of PyTorch's calling convention live here, once for every op:

* NumPy-style keyword aliases: ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``
  (``x.sum(1, keepdims=True)``, ``labkit.argmax(x, axis=1)``);
* ``out=`` on the function form (``labkit.matmul(a, b, out=y)``): the result is written into
  ``out`` (resized if its shape differs, cast if its dtype can hold the result) and ``out`` is
  returned.  Tensor methods take no ``out=``, as in PyTorch.
"""
import functools
import inspect
import warnings

from ..autograd.fpstate import quiet
from ..tensor import Tensor, memory_format, preserve_format, contiguous_format, channels_last
from ..autograd.grad_mode import _state

FUNCTIONS = {}

_ALIASES = {"axis": "dim", "keepdims": "keepdim"}

# Functions PyTorch gives no ``out=`` (views, ``*_like``, tensor constructors from data, ...):
# checked against torch in tests/test_calling_convention.py.
NO_OUT = frozenset("""
    argsort argwhere as_tensor asarray atleast_1d atleast_2d atleast_3d broadcast_tensors
    broadcast_to cdist chunk clone count_nonzero diagonal einsum empty_like flatten flip fliplr
    flipud full_like isclose isfinite isinf isnan moveaxis movedim ones_like permute rand_like
    randint_like randn_like ravel relu repeat_interleave reshape roll rot90 select split squeeze
    std_mean swapaxes swapdims t tensor trace transpose tril_indices triu_indices unbind unique
    unsqueeze var_mean zeros_like from_numpy meshgrid narrow tile unflatten index_put masked_fill
    index_fill allclose equal broadcast_shapes set_printoptions one_hot dsplit hsplit vsplit
    tensor_split expand_as view_as_real view_as_complex bernoulli_ is_tensor numel
    adaptive_avg_pool1d avg_pool1d channel_shuffle pixel_shuffle pixel_unshuffle matrix_exp
    conv_tbc det logdet native_layer_norm native_dropout native_group_norm
""".split())

# Factories (zeros, arange ...) without a dtype make ``out``'s dtype.
_FACTORIES = frozenset("zeros ones empty full arange linspace logspace eye rand randn randint "
                       "randperm".split())


def register(*names, method=True, function=True):
    def deco(fn):
        f = _with_options(_with_aliases(fn))
        func = f if names[0] in NO_OUT else _with_out(f, names[0])   # aliases: the same object
        for n in names:
            if function:
                FUNCTIONS[n] = func
            if method:
                setattr(Tensor, n, f)
        return fn
    return deco


def method(*names):
    """Register as Tensor method only (e.g. ``view``, dunders)."""
    return register(*names, method=True, function=False)


# ---------------------------------------------------------------- keyword aliases
def _with_aliases(fn):
    """``fn`` accepting ``axis``/``keepdims`` for its ``dim``/``keepdim`` (if it has them)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    aliases = {a: p for a, p in _ALIASES.items() if p in params and a not in params}
    if not aliases:
        return fn

    @functools.wraps(fn)
    def f(*args, **kwargs):
        if not kwargs:                  # the common call (x.sum(), x.softmax(1)): no detour
            return fn(*args)
        for alias, name in aliases.items():
            if alias in kwargs:
                if name in kwargs:
                    raise TypeError(f"{fn.__name__}() got both '{name}' and its alias "
                                    f"'{alias}'")
                kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    return f


# ---------------------------------------------------------------- pin_memory=, memory_format=
def _with_options(fn):
    """``pin_memory=True`` raises (PyTorch without an accelerator raises too; False needs
    nothing on a CPU-only engine); ``memory_format=`` lays the result out as asked (the values
    never change; ``channels_last`` gives the strides PyTorch's does)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    if "pin_memory" not in params and "memory_format" not in params:
        return fn

    @functools.wraps(fn)
    def f(*args, **kwargs):
        if not kwargs:                           # the common call: nothing to check
            return fn(*args)
        if kwargs.get("pin_memory"):
            raise NotImplementedError(
                f"{fn.__name__}(pin_memory=True): pinned (page-locked) memory speeds up copies "
                f"to a GPU, and labkit runs on the CPU only (PyTorch refuses it too when there "
                f"is no accelerator); leave pin_memory=False")
        fmt = kwargs.get("memory_format")
        if fmt is None or fmt is preserve_format:
            return fn(*args, **kwargs)
        if not isinstance(fmt, memory_format):
            raise TypeError(f"{fn.__name__}(): argument 'memory_format' must be "
                            f"labkit.memory_format, not {type(fmt).__name__}")
        return _laid_out(fn(*args, **kwargs), fmt, args)
    return f


def _laid_out(res, fmt, args):
    import numpy as np
    arr = res._np
    if fmt is contiguous_format:                 # (not ascontiguousarray: it makes 0-d 1-d)
        new = arr if arr.flags.c_contiguous else arr.copy(order="C")
    else:
        nd = 4 if fmt is channels_last else 5
        if arr.ndim != nd:
            raise RuntimeError(f"required rank {nd} tensor to use {fmt.name} format")
        perm = (0,) + tuple(range(2, nd)) + (1,)
        new = np.ascontiguousarray(arr.transpose(perm)).transpose(np.argsort(perm))
        if arr.transpose(perm).flags.c_contiguous:
            new = arr
    if new is arr:
        return res
    if any(res is a for a in args):              # x.float() gave x itself: lay out a copy
        res = res.clone()
    res._np = new                                # the same values, other strides
    return res


# ---------------------------------------------------------------- out=
def _with_out(fn, name):
    @functools.wraps(fn)
    def f(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if name in _FACTORIES and kwargs.get("dtype") is None:
            first = out[0] if isinstance(out, (tuple, list)) else out
            if isinstance(first, Tensor):
                kwargs["dtype"] = first.dtype
        return write_out(name, out, fn, args, kwargs)
    try:
        sig = inspect.signature(fn)
        ps = list(sig.parameters.values())
        kw = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
        at = next((i for i, p in enumerate(ps) if p.kind == p.VAR_KEYWORD), len(ps))
        f.__signature__ = sig.replace(parameters=ps[:at] + [kw] + ps[at:])
    except (TypeError, ValueError):
        pass
    return f


def with_out(fn, name):
    """``fn`` with PyTorch's ``out=`` and keyword aliases, for functions outside the registry
    (``labkit.linalg``, ``labkit.special``, ``labkit.nn.functional``): the same mechanism."""
    return _with_out(_with_aliases(fn), name)


def _requires_grad(x):
    if isinstance(x, Tensor):
        return x._rg
    if isinstance(x, (list, tuple)):
        return any(_requires_grad(v) for v in x)
    return False


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
_TORCH_NAME = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "uint8": "Byte", "bool": "Bool"}


def write_out(name, out, fn, args, kwargs):
    """Call ``fn(*args, **kwargs)`` and store the result in ``out`` as PyTorch does.

    ``out`` is a tensor (or a tuple of them for ops with several results, e.g. ``max(x, dim)``).
    An ``out`` of another shape is resized (with PyTorch's warning unless it was empty); a result
    is cast into ``out``'s dtype when that dtype can hold it (float into int can't).  Autograd
    does not record ``out=`` calls: with an input that requires grad, PyTorch raises.
    """
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(o).__name__}")
    if _state.enabled and (_requires_grad(args) or _requires_grad(tuple(kwargs.values()))
                           or _requires_grad(outs)):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad. Call it "
                           f"inside `with labkit.no_grad():` or drop out= (y = {name}(...)).")
    res = fn(*args, **kwargs)
    results = tuple(res) if isinstance(res, tuple) else (res,)
    if len(results) != len(outs):
        raise TypeError(f"{name}(): out must be a tuple of {len(results)} tensors, got "
                        f"{len(outs)}")
    for r, o in zip(results, outs):
        _store(r, o)
    if isinstance(res, tuple):
        return type(res)(*outs) if hasattr(res, "_fields") else outs
    return out


def _store(r, o):
    import numpy as np
    src = r._np
    if _CATEGORY[src.dtype.kind] > _CATEGORY[o._np.dtype.kind]:
        raise RuntimeError(f"result type {_TORCH_NAME[r.dtype.name]} can't be cast to the "
                           f"desired output type {_TORCH_NAME[o.dtype.name]}")
    if o._np.shape != src.shape:
        if o._np.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(o._np.shape)}, which does not match the required output shape "
                          f"{list(src.shape)}. This behavior is deprecated (as in PyTorch): "
                          f"pass an empty out tensor or one of the right shape.", UserWarning,
                          stacklevel=4)
        o._np = np.empty(src.shape, dtype=o._np.dtype)
    with quiet():                                   # an overflowing cast gives inf silently
        np.copyto(o._np, src, casting="unsafe")
    o._vc[0] += 1
