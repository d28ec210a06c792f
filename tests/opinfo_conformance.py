"""PyTorch's own op specification as labkit's conformance suite.

PyTorch describes its ops as data: ``torch.testing._internal.common_methods_invocations.op_db``
holds one ``OpInfo`` per op (or per variant of an op, e.g. ``div.floor_rounding``).  Each names
the op, its method and in-place variants, the dtypes it supports and a generator of sample inputs
(edge shapes, zero-size and 0-d tensors, broadcasting, keyword arguments).  This module runs every
sample through PyTorch and through labkit and compares:

* forward outputs in float64 and float32 (plus int64 and bool where the OpInfo supports them):
  same type, dtype, shape and values (tolerances in ``TOLERANCE``; integers and bools exactly);
  function, method (``x.op(...)``) and in-place (``x.op_(...)``) variants;
* input gradients in float64 with the same upstream gradient (``torch.autograd.grad`` against
  ``labkit.autograd.grad``);
* second derivatives (gradient of the gradient, again with one shared upstream vector) where the
  OpInfo says PyTorch supports them (``supports_gradgrad``) -- reported in a column of its own.

An op passes only when all of its samples pass forward and gradient checks.  Ops run in a small
pool of worker processes (``run_ops``): a crash, a runaway allocation or a hang in one op costs that
op (and a worker restart), never the run.  ``scripts/conformance.py`` prints the table;
``tests/test_conformance.py`` keeps the committed results true.

Run from the repository root with ``PYTHONPATH=$PWD``; importing ``op_db`` needs ``expecttest``.
"""
import functools
import json
import math
import os
import select
import subprocess
import sys
import threading
import time
import traceback
import types
import warnings

import numpy as np

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

    def __init__(self, detach=False):
        self.memo = {}
        self.pairs = []          # (torch tensor, labkit tensor) for every tensor converted
        self.detach = detach

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
                    torch.channels_last: labkit.channels_last}.get(obj, None)
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


# ----------------------------------------------------------------------------------------------
# Comparing results
# ----------------------------------------------------------------------------------------------

TOLERANCE = {  # (rtol, atol) by torch dtype name; integer and bool results compare exactly
    "float64": (1e-7, 1e-7),
    "float32": (1e-4, 5e-5),    # summation order and BLAS differ: ~1000 ulp
    "float16": (1e-3, 1e-3),
}
GRAD_TOLERANCE = (1e-6, 1e-6)   # float64 gradients: formulas may differ in rounding, not more


def _fmt_shape(s):
    return "[" + ", ".join(str(d) for d in s) + "]"


def compare(t, lk, where="output", tol=None):
    """Raise ``Mismatch`` naming the first difference between a torch and a labkit result."""
    import labkit
    import torch
    if isinstance(t, torch.Tensor):
        if not isinstance(lk, labkit.Tensor):
            raise Mismatch(f"{where}: expected a Tensor, got {type(lk).__name__}")
        tname = str(t.dtype).replace("torch.", "")
        if lk.dtype.name != tname:
            raise Mismatch(f"{where}: dtype {lk.dtype.name}, expected {tname}")
        if tuple(lk.shape) != tuple(t.shape):
            raise Mismatch(f"{where}: shape {_fmt_shape(lk.shape)}, expected {_fmt_shape(t.shape)}")
        a = _numpy(t)
        b = np.asarray(lk.detach().numpy())
        _compare_arrays(a, b, where, tol or TOLERANCE.get(tname))
        return
    if isinstance(t, torch.Size) or (isinstance(t, (tuple, list)) and
                                     not isinstance(lk, labkit.Tensor)):
        if not isinstance(lk, (tuple, list)):
            raise Mismatch(f"{where}: expected a {type(t).__name__}, got {type(lk).__name__}")
        if len(t) != len(lk):
            raise Mismatch(f"{where}: {len(lk)} items, expected {len(t)}")
        for i, (a, b) in enumerate(zip(t, lk)):
            compare(a, b, f"{where}[{i}]", tol)
        return
    if isinstance(t, (tuple, list)):
        raise Mismatch(f"{where}: expected a {type(t).__name__}, got a Tensor")
    if isinstance(t, torch.dtype):
        if not isinstance(lk, labkit.dtype) or lk.name != str(t).replace("torch.", ""):
            raise Mismatch(f"{where}: {lk!r}, expected {t}")
        return
    if t is None or lk is None:
        if t is not lk:
            raise Mismatch(f"{where}: {lk!r}, expected {t!r}")
        return
    if isinstance(t, (bool, int, float, np.number, np.bool_)):
        if isinstance(lk, labkit.Tensor):
            raise Mismatch(f"{where}: got a Tensor, expected a Python {type(t).__name__}")
        if isinstance(t, bool) != isinstance(lk, (bool, np.bool_)):
            raise Mismatch(f"{where}: {lk!r}, expected {t!r}")
        _compare_arrays(np.asarray(t, dtype=float), np.asarray(lk, dtype=float), where,
                        tol or TOLERANCE["float64"])
        return
    if t != lk:
        raise Mismatch(f"{where}: {lk!r}, expected {t!r}")


def _compare_arrays(a, b, where, tol):
    if a.dtype.kind in "fc" and tol is not None:
        rtol, atol = tol
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~((np.abs(a64 - b64) <= atol + rtol * np.abs(a64)) | (a64 == b64)
                    | (np.isnan(a64) & np.isnan(b64)))
    else:
        bad = a != b
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Mismatch(f"{where}: {int(bad.sum())} of {bad.size} values differ, e.g. at "
                       f"{list(idx)} labkit {b[idx]!r} vs torch {a[idx]!r}")


# Ops whose index output is unspecified among tied values (PyTorch's docs: sort and argsort
# unless stable=True, topk, kthvalue, mode, median): there labkit's indices must point at the
# same values, not be the same numbers.  name -> (positional parameters after the input,
# defaults, position of the index output or None for argsort, whether dim is reduced).
TIES = {
    "sort": (("dim", "descending"), {"dim": -1}, 1, False),
    "argsort": (("dim", "descending"), {"dim": -1}, None, False),
    "topk": (("k", "dim", "largest", "sorted"), {"dim": -1}, 1, False),
    "kthvalue": (("k", "dim", "keepdim"), {"dim": -1, "keepdim": False}, 1, True),
    "mode": (("dim", "keepdim"), {"dim": -1, "keepdim": False}, 1, True),
    "median": (("dim", "keepdim"), {"keepdim": False}, 1, True),
    "nanmedian": (("dim", "keepdim"), {"keepdim": False}, 1, True),
}


def compare_with_ties(name, sample, t_out, lk_out):
    """``compare``, but tied values may be indexed in any order where PyTorch allows it."""
    spec = TIES.get(name)
    if spec is None or sample.kwargs.get("stable"):
        return compare(t_out, lk_out)
    names, defaults, pos, reduces = spec
    bound = dict(defaults)
    bound.update(zip(names, sample.args))
    bound.update(sample.kwargs)
    if pos is None:
        t_idx, l_idx = t_out, lk_out
    else:
        if isinstance(t_out, (tuple, list)) and len(t_out) > pos:
            compare(t_out[:pos], tuple(lk_out)[:pos] if isinstance(lk_out, (tuple, list))
                    else lk_out)
        if "dim" not in bound or not isinstance(t_out, (tuple, list)):
            return compare(t_out, lk_out)
        t_idx, l_idx = t_out[pos], lk_out[pos]
    try:
        return compare(t_idx, l_idx, "indices" if pos is None else f"output[{pos}]")
    except Mismatch as e:
        if "values differ" not in str(e):
            raise
        x = _numpy(sample.input)
        dim = bound["dim"]
        ti, li = _numpy(t_idx), np.asarray(l_idx.detach().numpy())
        if x.ndim == 0:
            ok = np.all(li == 0)
        else:
            if reduces and not bound.get("keepdim"):
                ti, li = np.expand_dims(ti, dim), np.expand_dims(li, dim)
            if li.min(initial=0) < 0 or li.max(initial=0) >= x.shape[dim]:
                raise
            a = np.take_along_axis(x, ti, axis=dim)
            b = np.take_along_axis(x, li, axis=dim)
            ok = np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        if not ok:
            raise
        return None


# ----------------------------------------------------------------------------------------------
# Running one op
# ----------------------------------------------------------------------------------------------

RESULT_STATUSES = ("pass", "fail_forward", "fail_grad", "missing", "crash", "timeout")


def _tested_dtypes(op):
    import torch
    sup = op.supported_dtypes("cpu")
    out = [d for d in (torch.float64, torch.float32) if d in sup]
    for d in (torch.int64, torch.bool):
        if d in sup:
            out.append(d)
    return out


def _describe(sample):
    import torch

    def d(x):
        if isinstance(x, torch.Tensor):
            return f"T{_fmt_shape(x.shape)}"
        if isinstance(x, (list, tuple)):
            inner = ", ".join(d(y) for y in x[:4]) + (", ..." if len(x) > 4 else "")
            return ("[" + inner + "]") if isinstance(x, list) else ("(" + inner + ")")
        if isinstance(x, dict):
            return "{" + ", ".join(f"{k}={d(v)}" for k, v in x.items()) + "}"
        r = repr(x)
        return r if len(r) < 30 else r[:27] + "..."

    parts = [d(sample.input)] + [d(a) for a in sample.args]
    parts += [f"{k}={d(v)}" for k, v in sample.kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _is_random(sample):
    """Samples that switch dropout on (scaled_dot_product_attention's dropout_p) are random."""
    return any(k in ("dropout_p",) and v for k, v in sample.kwargs.items())


def _flat(x):
    import labkit
    import torch
    if isinstance(x, (torch.Tensor, labkit.Tensor)):
        return [x]
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flat(item)]
    return [None]


def _short(e):
    s = f"{type(e).__name__}: {e}".replace("\n", " ")
    return s if len(s) < 400 else s[:397] + "..."


def _is_missing_attr(e, fn):
    """An AttributeError raised by a re-bound op_db lambda itself (directly, or through a module's
    ``__getattr__``) means labkit lacks a name the lambda uses."""
    code = getattr(fn, "__code__", None)
    if not isinstance(e, AttributeError) or code is None:
        return False
    tb, seen = e.__traceback__, False
    while tb is not None:
        name = tb.tb_frame.f_code.co_name
        if tb.tb_frame.f_code is code:
            seen = True
        elif seen and name != "__getattr__":
            return False
        tb = tb.tb_next
    return seen


class _OpRun:
    """Checks one OpInfo; collects the first error of each stage."""

    def __init__(self, op):
        self.op = op
        self.errors = {"forward": None, "grad": None, "gradgrad": None}
        self.counts = {"samples": 0, "n_forward": 0, "n_grad": 0, "n_gradgrad": 0,
                       "n_unsupported": 0}
        self.missing = None
        self.rng = np.random.default_rng(0)

    def fail(self, stage, where, e):
        if self.errors[stage] is None:
            self.errors[stage] = f"{where}: {_short(e)}"

    # -- variants ------------------------------------------------------------------------------
    def variants(self):
        op = self.op
        short = op.name.rsplit(".", 1)[-1]
        out = []
        try:
            out.append(("function", op.op, labkit_callable(op.op, op.name)))
        except Missing as e:
            out.append(("function", op.op, e))
        if op.method_variant is not None and op.method_variant is not op.op:
            try:
                out.append(("method", op.method_variant,
                            labkit_callable(op.method_variant, "Tensor." + short)))
            except Missing as e:
                out.append(("method", op.method_variant, e))
        if op.inplace_variant is not None:
            try:
                out.append(("inplace", op.inplace_variant,
                            labkit_callable(op.inplace_variant, "Tensor." + short + "_")))
            except Missing as e:
                out.append(("inplace", op.inplace_variant, e))
        return out

    # -- the run -----------------------------------------------------------------------------
    def run(self):
        import torch
        variants = self.variants()
        if all(isinstance(v[2], Missing) for v in variants) or isinstance(variants[0][2], Missing):
            self.missing = "labkit has no " + str(variants[0][2] if isinstance(variants[0][2], Missing)
                                                 else variants[1][2])
            return
        for v in variants:
            if isinstance(v[2], Missing):
                self.fail("forward", v[0], AttributeError(f"labkit has no {v[2]}"))
        for dtype in _tested_dtypes(self.op):
            want_grad = dtype == torch.float64 and self.op.supports_autograd
            torch.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                samples = list(self.op.sample_inputs("cpu", dtype, requires_grad=want_grad))
            for i, sample in enumerate(samples):
                if _is_random(sample):
                    continue
                self.counts["samples"] += 1
                where = f"{str(dtype)[6:]} sample {i} {_describe(sample)}"
                for kind, tfn, lfn in variants:
                    if isinstance(lfn, Missing):
                        continue
                    try:
                        self.check_sample(kind, tfn, lfn, sample, dtype, want_grad, where)
                    except Unsupported:
                        self.counts["n_unsupported"] += 1
                    if self.missing:
                        return

    def call(self, fn, sample, conv, kind, inplace_clone=False):
        inp = sample.input
        args, kwargs = sample.args, sample.kwargs
        if conv is not None:
            inp, args, kwargs = conv(inp), conv(args), conv(kwargs)
        return fn(inp, *args, **kwargs)

    def check_sample(self, kind, tfn, lfn, sample, dtype, want_grad, where):
        import torch
        where = f"{kind} {where}"
        if kind == "inplace":
            if getattr(sample, "broadcasts_input", False) or not isinstance(sample.input,
                                                                            torch.Tensor):
                return
            self.check_inplace(tfn, lfn, sample, where)
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conv = Converter(detach=not (want_grad and kind == "function"))
            largs = (conv(sample.input), conv(sample.args), conv(sample.kwargs))
            try:
                t_out = tfn(sample.input, *sample.args, **sample.kwargs)
            except Exception:
                return        # torch itself refuses this sample (rare): nothing to compare
            try:
                l_out = lfn(largs[0], *largs[1], **largs[2])
                try:
                    compare_with_ties(self.op.name, sample, t_out, l_out)
                except Mismatch:
                    if dtype != torch.float32 or not _closer_to_float64(tfn, sample, l_out):
                        raise
                self.counts["n_forward"] += 1
            except Unsupported:
                raise
            except Exception as e:
                if kind == "function" and _is_missing_attr(e, lfn):
                    self.missing = f"{type(e).__name__}: {e}"
                    return
                self.fail("forward", where, e)
                return
            if kind != "function" or not want_grad:
                return
            self.check_grad(t_out, l_out, sample, conv, where)
            if self.op.supports_gradgrad:
                self.check_gradgrad(tfn, lfn, sample, where)

    def check_inplace(self, tfn, lfn, sample, where):
        import torch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_in = sample.input.detach().clone()
            conv = Converter(detach=True)
            l_in = conv(t_in)
            largs, lkw = conv(sample.args), conv(sample.kwargs)
            targs = [a.detach() if isinstance(a, torch.Tensor) else a for a in sample.args]
            try:
                t_out = tfn(t_in, *targs, **sample.kwargs)
            except Exception as te:
                try:
                    lfn(l_in, *largs, **lkw)
                except Exception:
                    return
                self.fail("forward", where, Mismatch(f"torch raises {type(te).__name__} "
                                                     f"({str(te)[:120]}), labkit does not"))
                return
            try:
                l_out = lfn(l_in, *largs, **lkw)
                compare(t_out, l_out, "result")
                compare(t_in, l_in, "input after the in-place op")
                if isinstance(t_out, torch.Tensor) and t_out is t_in and l_out is not l_in:
                    raise Mismatch("an in-place op returns its input tensor, labkit returns "
                                   "another one")
                self.counts["n_forward"] += 1
            except Unsupported:
                raise
            except Exception as e:
                self.fail("forward", where, e)

    def _upstream(self, tensors):
        import torch
        return [torch.from_numpy(self.rng.standard_normal(tuple(t.shape))).to(t.dtype)
                for t in tensors]

    def _grad_setup(self, t_out, l_out, sample, conv):
        import torch
        proc = sample.output_process_fn_grad
        t_o = proc(t_out)
        l_o = labkit_callable(proc)(l_out) if isinstance(proc, types.FunctionType) else l_out
        t_flat, l_flat = _flat(t_o), _flat(l_o)
        if len(t_flat) != len(l_flat):
            raise Mismatch(f"{len(l_flat)} outputs, expected {len(t_flat)}")
        idx = [i for i, t in enumerate(t_flat) if isinstance(t, torch.Tensor) and t.requires_grad]
        ins = [(t, lk) for t, lk in conv.pairs if t.requires_grad]
        return t_flat, l_flat, idx, ins

    def check_grad(self, t_out, l_out, sample, conv, where):
        import labkit
        import torch
        try:
            t_flat, l_flat, idx, ins = self._grad_setup(t_out, l_out, sample, conv)
        except Exception as e:
            self.fail("grad", where, e)
            return
        if not idx or not ins:
            return
        gos = self._upstream([t_flat[i] for i in idx])
        try:
            t_g = torch.autograd.grad([t_flat[i] for i in idx], [t for t, _ in ins], gos,
                                      allow_unused=True)
        except Exception:        # PyTorch has no derivative for this op (nextafter, ...)
            return
        try:
            l_outs = [l_flat[i] for i in idx]
            for j, o in zip(idx, l_outs):
                if not isinstance(o, labkit.Tensor) or not o.requires_grad:
                    raise Mismatch(f"output {j} does not require grad (torch's does)")
            l_gos = [labkit.tensor(_numpy(g).copy(), dtype=o.dtype) for g, o in zip(gos, l_outs)]
            l_g = labkit.autograd.grad(l_outs, [lk for _, lk in ins], l_gos, allow_unused=True)
            for k, (tg, lg, (t, _)) in enumerate(zip(t_g, l_g, ins)):
                _compare_grad(tg, lg, t, f"gradient of input {k}")
            self.counts["n_grad"] += 1
        except Exception as e:
            self.fail("grad", where, e)

    def check_gradgrad(self, tfn, lfn, sample, where):
        import labkit
        import torch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conv = Converter()
            largs = (conv(sample.input), conv(sample.args), conv(sample.kwargs))
            try:
                t_out = tfn(sample.input, *sample.args, **sample.kwargs)
                t_flat, _, idx, ins = self._grad_setup(t_out, t_out, sample, conv)
                if not idx or not ins:
                    return
                t_in = [t for t, _ in ins]
                gos = self._upstream([t_flat[i] for i in idx])
                t_g1 = torch.autograd.grad([t_flat[i] for i in idx], t_in, gos,
                                           create_graph=True, allow_unused=True)
                sel = [k for k, g in enumerate(t_g1) if g is not None and g.requires_grad]
                if not sel:
                    return
                vs = self._upstream([t_g1[k] for k in sel])
                t_g2 = torch.autograd.grad([t_g1[k] for k in sel], t_in, vs, allow_unused=True)
            except Exception:
                return
            try:
                l_out = lfn(largs[0], *largs[1], **largs[2])
                _, l_flat, _, _ = self._grad_setup(t_out, l_out, sample, conv)
                l_in = [lk for _, lk in ins]
                l_outs = [l_flat[i] for i in idx]
                l_gos = [labkit.tensor(_numpy(g).copy(), dtype=o.dtype)
                         for g, o in zip(gos, l_outs)]
                l_g1 = labkit.autograd.grad(l_outs, l_in, l_gos, create_graph=True,
                                            allow_unused=True)
                keep = [(l_g1[k], labkit.tensor(_numpy(v).copy(), dtype=l_g1[k].dtype))
                        for k, v in zip(sel, vs)
                        if l_g1[k] is not None and l_g1[k].requires_grad]
                if keep:
                    l_g2 = labkit.autograd.grad([g for g, _ in keep], l_in, [v for _, v in keep],
                                                allow_unused=True)
                else:
                    l_g2 = [None] * len(l_in)
                for k, (tg, lg, t) in enumerate(zip(t_g2, l_g2, t_in)):
                    _compare_grad(tg, lg, t, f"second derivative for input {k}")
                self.counts["n_gradgrad"] += 1
            except Exception as e:
                self.fail("gradgrad", where, e)

    def result(self):
        if self.missing:
            status = "missing"
        elif self.errors["forward"]:
            status = "fail_forward"
        elif self.errors["grad"]:
            status = "fail_grad"
        else:
            status = "pass"
        if not self.op.supports_gradgrad or status == "missing":
            gg = "n/a"
        else:
            gg = "fail" if self.errors["gradgrad"] else ("pass" if self.counts["n_gradgrad"] else
                                                         "n/a")
        error = self.missing or self.errors["forward"] or self.errors["grad"] or ""
        return {"status": status, "gradgrad": gg, "error": error,
                "gradgrad_error": self.errors["gradgrad"] or "", **self.counts}


def _cast_floats(obj, dtype):
    import torch
    if isinstance(obj, torch.Tensor):
        return obj.detach().to(dtype) if obj.is_floating_point() else obj
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_cast_floats(x, dtype) for x in obj)
    if isinstance(obj, dict):
        return {k: _cast_floats(v, dtype) for k, v in obj.items()}
    return obj


def _closer_to_float64(tfn, sample, l_out):
    """A float32 result that misses PyTorch's float32 one may still be right: it passes when it
    matches PyTorch's float64 result on the same inputs (rounded to float32)."""
    import torch
    try:
        t64 = tfn(_cast_floats(sample.input, torch.float64),
                  *_cast_floats(sample.args, torch.float64),
                  **_cast_floats(sample.kwargs, torch.float64))
        compare(_cast_floats(t64, torch.float32), l_out)
        return True
    except Exception:
        return False


def _compare_grad(tg, lg, t, where):
    import torch
    if tg is None:
        tg = torch.zeros_like(t)
    if lg is None:
        import labkit
        lg = labkit.zeros(tuple(t.shape), dtype=_lk_dtype(t.dtype))
    compare(tg, lg, where, GRAD_TOLERANCE)


def check_op(key):
    """Run one OpInfo; a result dict (status, gradgrad, error, counts, seconds)."""
    ops = load_op_db()
    t0 = time.perf_counter()
    run = _OpRun(ops[key])
    try:
        run.run()
        res = run.result()
    except Exception as e:       # a bug in the harness or torch's sample generator
        res = run.result()
        res.update(status="fail_forward" if res["status"] == "pass" else res["status"],
                   error=res["error"] or f"harness: {_short(e)} "
                   f"{traceback.format_exc(limit=-2)[-300:]}")
    res["seconds"] = round(time.perf_counter() - t0, 3)
    return res


# ----------------------------------------------------------------------------------------------
# Worker pool: a crash or hang costs one op, never the run
# ----------------------------------------------------------------------------------------------

KEYS_REQUEST = "__tried_keys__"   # ask a worker for tried_keys() (saves importing op_db here)


def _worker_main():
    """Read op keys on stdin, answer one JSON line each on the original stdout."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                          # whatever ops print goes to stderr
    try:
        import resource
        limit = int(os.environ.get("LABKIT_CONFORMANCE_MEM_GB", "6")) << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    warnings.simplefilter("ignore")
    load_op_db()
    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        key = line.strip()
        if not key:
            continue
        try:
            if key == KEYS_REQUEST:
                res = {"status": "pass", "keys": tried_keys()}
            else:
                res = check_op(key)
        except BaseException as e:          # MemoryError, RecursionError, ...
            res = {"status": "crash", "gradgrad": "n/a", "error": _short(e)}
        proto.write(json.dumps({"key": key, **res}) + "\n")


class _Worker:
    def __init__(self, stderr):
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        env.setdefault("MKL_NUM_THREADS", "1")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr, env=env, text=True, bufsize=1)
        self.ready = False

    def read(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return None
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError
        return json.loads(line)

    def kill(self):
        try:
            self.proc.kill()
            self.proc.wait(5)
        except Exception:
            pass


def run_ops(keys, workers=2, timeout=120.0, progress=None, stderr=None, startup_timeout=300.0):
    """Check ``keys`` in ``workers`` worker processes; ``{key: result}``.

    ``timeout`` is per op; a worker that dies or overruns is killed and replaced, and its op
    is reported as ``crash`` or ``timeout``.
    """
    if stderr is None:
        stderr = subprocess.DEVNULL
    todo = list(keys)
    lock = threading.Lock()
    results = {}

    def take():
        with lock:
            return todo.pop(0) if todo else None

    def loop():
        w = None
        while True:
            key = take()
            if key is None:
                break
            for attempt in range(2):
                if w is None:
                    w = _Worker(stderr)
                    try:
                        msg = w.read(startup_timeout)
                    except EOFError:
                        msg = None
                    if not msg or not msg.get("ready"):
                        w.kill()
                        w = None
                        res = {"status": "crash", "gradgrad": "n/a",
                               "error": "worker did not start"}
                        continue
                t0 = time.perf_counter()
                try:
                    w.proc.stdin.write(key + "\n")
                    w.proc.stdin.flush()
                    msg = w.read(timeout)
                    if msg is None:
                        res = {"status": "timeout", "gradgrad": "n/a",
                               "error": f"no answer within {timeout:.0f} s"}
                        w.kill()
                        w = None
                    else:
                        res = {k: v for k, v in msg.items() if k != "key"}
                except (EOFError, BrokenPipeError, OSError):
                    rc = w.proc.poll()
                    res = {"status": "crash", "gradgrad": "n/a",
                           "error": f"worker process died (exit code {rc})"}
                    w.kill()
                    w = None
                res.setdefault("seconds", round(time.perf_counter() - t0, 3))
                break
            with lock:
                results[key] = res
                if progress:
                    progress(key, res, len(results))
        if w is not None:
            try:
                w.proc.stdin.close()
                w.proc.wait(10)
            except Exception:
                w.kill()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------

def summary(results):
    tried = len(results)
    by = {s: sum(1 for r in results.values() if r["status"] == s) for s in RESULT_STATUSES}
    gg = {s: sum(1 for r in results.values() if r.get("gradgrad") == s)
          for s in ("pass", "fail", "n/a")}
    strict = sum(1 for r in results.values() if r["status"] == "pass" and r.get("gradgrad")
                 != "fail")
    return {"tried": tried, **by, "gradgrad": gg, "pass_with_gradgrad": strict,
            "pass_rate": round(100.0 * by["pass"] / tried, 1) if tried else 0.0}


def headline(results):
    s = summary(results)
    return (f"{s['pass']} of {s['tried']} OpInfos pass ({s['pass_rate']}%): "
            f"{s['fail_forward']} fail forward, {s['fail_grad']} fail gradient, "
            f"{s['missing']} missing, {s['crash']} crash, {s['timeout']} time out; "
            f"second derivatives: {s['gradgrad']['pass']} pass, {s['gradgrad']['fail']} fail")


def markdown(results, torch_version):
    s = summary(results)
    lines = [
        "# Op conformance against PyTorch's OpInfo database",
        "",
        "Generated by `scripts/conformance.py --write` (do not edit by hand); checked by "
        "`tests/test_conformance.py`.",
        f"Oracle: torch {torch_version}, `torch.testing._internal.common_methods_invocations"
        ".op_db`.",
        "",
        f"**{headline(results)}.**",
        "",
        "An op passes when every sample input gives PyTorch's outputs (float64, float32, and "
        "int64/bool where the OpInfo supports them; function, method and in-place variants) "
        "and PyTorch's float64 input gradients. Second derivatives (where PyTorch supports "
        "them) are reported in their own column and do not count towards the headline.",
        "",
        "## Left out on purpose",
        "",
        "| kind | why | ops |",
        "|---|---|---|",
    ]
    for kind, (why, names) in EXCLUDED.items():
        shown = ", ".join(sorted(names)) if names else {
            "masked": "every `masked.*`"}.get(kind, "")
        if kind == "internal":
            shown = "names starting with `_` or `torch.`, " + shown
        lines.append(f"| {kind} | {why} | {shown} |")
    lines += ["", "## Per op", "",
              "| op | status | gradgrad | samples | first error |", "|---|---|---|---|---|"]
    for key in sorted(results):
        r = results[key]
        err = (r.get("error") or "") if r["status"] != "pass" else ""
        if r.get("gradgrad") == "fail" and not err:
            err = "gradgrad: " + r.get("gradgrad_error", "")
        err = err.replace("|", "\\|")
        if len(err) > 220:
            err = err[:217] + "..."
        lines.append(f"| `{key}` | {r['status']} | {r.get('gradgrad', 'n/a')} | "
                     f"{r.get('samples', '')} | {err} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__" and "--worker" in sys.argv:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _worker_main()
