"""The op side of the OpInfo conformance suite (tests/opinfo_conformance.py): which of
PyTorch's OpInfos stay out and why (``EXCLUDED``), loading ``op_db``, and mapping torch callables,
dtypes and sample values to labkit (``labkit_callable``, ``Converter``)."""
import functools
import types
import warnings


# ----------------------------------------------------------------------------------------------
# What stays out, and why.  Everything else in op_db is tried.
# ----------------------------------------------------------------------------------------------

EXCLUDED = {
    "random": (
        "the output is random: no two libraries (or runs) draw the same numbers",
        {"bernoulli", "cauchy", "exponential", "geometric", "log_normal", "normal", "uniform",
         "multinomial", "rand_like", "randn", "randn_like", "randint", "randint_like",
         "nn.functional.dropout", "nn.functional.dropout2d", "nn.functional.dropout3d",
         "nn.functional.alpha_dropout", "nn.functional.feature_alpha_dropout.with_train",
         "nn.functional.rrelu", "nn.functional.fractional_max_pool2d",
         "nn.functional.fractional_max_pool3d", "svd_lowrank", "pca_lowrank"}),
    "complex": (
        "complex numbers in or out: labkit has no complex dtypes",
        {"real", "imag", "conj", "conj_physical", "resolve_conj", "resolve_neg", "view_as_real",
         "view_as_complex", "complex", "polar", "cdouble", "cfloat", "chalf",
         "nn.functional.silu.complex", "stft", "istft", "linalg.eig", "linalg.eigvals",
         "fft.fft", "fft.fft2", "fft.fftn", "fft.hfft", "fft.hfft2", "fft.hfftn", "fft.rfft",
         "fft.rfft2", "fft.rfftn", "fft.ifft", "fft.ifft2", "fft.ifftn", "fft.ihfft",
         "fft.ihfft2", "fft.ihfftn", "fft.irfft", "fft.irfft2", "fft.irfftn"}),
    "dtype": (
        "converts to a dtype labkit does not have (bfloat16, int8, int16)",
        {"bfloat16", "char", "short"}),
    "sparse": (
        "sparse layouts: labkit tensors are dense",
        {"to_sparse", "sparse.sampled_addmm", "sparse.mm.reduce"}),
    "internal": (
        "internal ATen/CUDA entry points, not public API (underscore names, torch.ops.*, "
        "jiterator, native_* and *_backward kernels)",
        {"jiterator_unary", "jiterator_binary", "jiterator_4inputs_with_extra_args",
         "jiterator_binary_return_by_ref", "jiterator_2inputs_2outputs", "native_group_norm",
         "native_layer_norm", "native_batch_norm", "native_dropout_backward",
         "max_pool2d_with_indices_backward", "grid_sampler_2d", "grid_sampler_3d",
         "bmm.triton_optimized", "hash_tensor"}),
    "masked": (
        "torch.masked is a prototype namespace",
        set()),
    "uninitialised": (
        "returns uninitialised memory: the values are unspecified, nothing to compare",
        {"empty", "empty_like", "empty_strided", "empty_permuted", "new_empty",
         "new_empty_strided", "resize_", "resize_as_"}),
}


def op_key(op):
    """``name`` or ``name.variant`` (``div.floor_rounding``): unique in op_db."""
    return op.name + ("." + op.variant_test_name if op.variant_test_name else "")


def exclusion(key, name=None):
    """The kind of exclusion for an op (``'random'``, ...) or None when it is tried.

    ``key`` is ``name.variant``; a name listed without its variant excludes every variant.
    """
    name = name or load_op_db()[key].name
    if name.startswith(("_", "torch.")):
        return "internal"
    if name.startswith("masked."):
        return "masked"
    for kind, (_, names) in EXCLUDED.items():
        if key in names or name in names:
            return kind
    return None


# ----------------------------------------------------------------------------------------------
# Loading PyTorch (numba before torch: tests/conftest.py explains why)
# ----------------------------------------------------------------------------------------------

_OPS = None


def load_op_db():
    """``{key: OpInfo}`` for every OpInfo (seconds: importing op_db builds all 700)."""
    global _OPS
    if _OPS is None:
        import labkit  # noqa: F401
        from labkit import kernels
        kernels.jit_module()
        import torch  # noqa: F401
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torch.testing._internal.common_methods_invocations import op_db
        _OPS = {}
        for op in op_db:
            _OPS[op_key(op)] = op
    return _OPS


def tried_keys():
    return [k for k, op in load_op_db().items() if exclusion(k, op.name) is None]


# ----------------------------------------------------------------------------------------------
# Mapping torch callables and values to labkit
# ----------------------------------------------------------------------------------------------

class Missing(Exception):
    """labkit lacks the op (or the variant)."""


class Unsupported(Exception):
    """The sample needs something labkit does not model at all (a dtype, a generator)."""


class Mismatch(AssertionError):
    pass


_NAMESPACES = ("", "nn.functional", "linalg", "special", "fft", "signal.windows")
_REVERSE = None


def _lookup(root, path):
    obj = root
    for part in path.split("."):
        if not part:
            continue
        obj = getattr(obj, part)
    return obj


def _reverse_map():
    """id(torch callable) -> dotted path, for the public torch namespaces and Tensor methods."""
    global _REVERSE
    if _REVERSE is None:
        import torch
        _REVERSE = {}
        for ns in reversed(_NAMESPACES):
            try:
                mod = _lookup(torch, ns)
            except AttributeError:
                continue
            for n in dir(mod):
                if not n.startswith("_"):
                    _REVERSE.setdefault(id(getattr(mod, n, None)), (ns + "." + n).lstrip("."))
        for n in dir(torch.Tensor):
            _REVERSE.setdefault(id(getattr(torch.Tensor, n, None)), "Tensor." + n)
    return _REVERSE


_REBOUND = {}


def _passthrough_seed(fn, *args, **kwargs):
    return fn(*args, **kwargs)


def _labkit_globals(g):
    key = id(g)
    if key not in _REBOUND:
        import labkit
        new = dict(g)
        new["torch"] = labkit
        new["wrapper_set_seed"] = _passthrough_seed
        new["F"] = labkit.nn.functional
        _REBOUND[key] = new
    return _REBOUND[key]


def labkit_callable(fn, name=None):
    """The labkit counterpart of a torch callable from op_db.

    Lambdas written in torch's test files are re-bound with ``torch`` meaning ``labkit`` (same
    code, so argument shuffling stays identical); torch functions and Tensor methods are looked
    up by their public path.  Raises ``Missing`` when labkit has no such attribute.
    """
    import labkit
    import torch
    if isinstance(fn, functools.partial):
        return functools.partial(labkit_callable(fn.func), *fn.args, **fn.keywords)
    if isinstance(fn, types.FunctionType):
        qual = fn.__qualname__
        if fn.__module__.startswith("torch.testing"):
            return types.FunctionType(fn.__code__, _labkit_globals(fn.__globals__), fn.__name__,
                                      fn.__defaults__, fn.__closure__)
        if qual.startswith("Tensor."):
            return _attr(labkit.Tensor, fn.__name__, "Tensor.")
    path = _reverse_map().get(id(fn))
    if path is None and isinstance(fn, (types.BuiltinFunctionType, types.MethodDescriptorType,
                                        types.WrapperDescriptorType)):
        objcls = getattr(fn, "__objclass__", None)
        if objcls is not None and issubclass(torch.Tensor, objcls):
            path = "Tensor." + fn.__name__
    if path is None:
        path = name
    if path is None:
        raise Unsupported(f"no labkit counterpart known for {fn!r}")
    if path.startswith("Tensor."):
        return _attr(labkit.Tensor, path[len("Tensor."):], "Tensor.")
    return _attr(labkit, path, "labkit.")


def _attr(root, path, prefix):
    try:
        return _lookup(root, path)
    except AttributeError:
        raise Missing(f"{prefix}{path}") from None


def _numpy(t):
    """A torch tensor's values (also for conjugate/negative views and ZeroTensors)."""
    return t.detach().numpy(force=True)


def _lk_dtype(td):
    import labkit
    name = str(td).replace("torch.", "")
    d = getattr(labkit, name, None)
    if not isinstance(d, labkit.dtype) or d.name != name:
        raise Unsupported(f"labkit has no dtype {name}")
    return d


class Converter:
    """torch values -> labkit values: tensors copied exactly (identity kept), dtypes, sizes,
    devices, nested lists/tuples/dicts; the torch tensors that require grad are remembered."""

    def __init__(self, detach=False, keep_storage=False):
        self.memo = {}
        self.pairs = []          # (torch tensor, labkit tensor) for every tensor converted
        self.detach = detach
        # as_strided reads a tensor's storage, not just its elements: with keep_storage a
        # contiguous tensor that starts inside a larger storage becomes a labkit slice of a copy
        # of that whole storage (as_strided.partial_views)
        self.keep_storage = keep_storage

    def __call__(self, obj):
        import labkit
        import torch
        if isinstance(obj, torch.Tensor):
            if id(obj) in self.memo:
                return self.memo[id(obj)]
            if obj.is_complex() or obj.layout != torch.strided:
                raise Unsupported(f"{obj.dtype} {obj.layout} tensor")
            d = _lk_dtype(obj.dtype)
            arr = _numpy(obj).copy()
            rg = bool(obj.requires_grad and not self.detach)
            n_storage = obj.untyped_storage().nbytes() // max(obj.element_size(), 1)
            if self.keep_storage and obj.is_contiguous() and n_storage > obj.numel():
                whole = _numpy(torch.as_strided(obj.detach(), (n_storage,), (1,), 0)).copy()
                off = obj.storage_offset()
                lk = labkit.tensor(whole, dtype=d)[off:off + obj.numel()].view(tuple(obj.shape))
                lk.requires_grad_(rg)
            else:
                lk = labkit.tensor(arr, dtype=d, requires_grad=rg)
            self.memo[id(obj)] = lk
            self.pairs.append((obj, lk))
            return lk
        if isinstance(obj, torch.dtype):
            return _lk_dtype(obj)
        if isinstance(obj, torch.Size):
            return tuple(obj)
        if isinstance(obj, torch.device):
            return labkit.device(str(obj))
        if isinstance(obj, torch.memory_format):
            return {torch.preserve_format: labkit.preserve_format,
                    torch.contiguous_format: labkit.contiguous_format,
                    torch.channels_last: labkit.channels_last,
                    torch.channels_last_3d: labkit.channels_last_3d}.get(obj, None)
        if isinstance(obj, torch.layout):
            if obj != torch.strided:
                raise Unsupported(f"layout {obj}")
            return labkit.strided
        if isinstance(obj, torch.Generator):
            raise Unsupported("a torch.Generator")
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            return type(obj)(*(self(x) for x in obj))
        if isinstance(obj, (list, tuple)):
            return type(obj)(self(x) for x in obj)
        if isinstance(obj, dict):
            return {k: self(v) for k, v in obj.items()}
        if callable(obj) and not isinstance(obj, type):
            return labkit_callable(obj)
        return obj

    def clone_input(self, t):
        return t
