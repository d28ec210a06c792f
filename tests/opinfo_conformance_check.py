"""Checking one op of the OpInfo conformance suite (tests/opinfo_conformance.py): comparing
labkit's results with PyTorch's (``compare``, tolerances, ties) and running every sample of an
op forward, backward and twice backward (``check_op``)."""
import time
import traceback
import types
import warnings

import numpy as np

from opinfo_conformance_ops import (Converter, Mismatch, Missing, Unsupported, _lk_dtype, _numpy,
                                    labkit_callable, load_op_db)


# ----------------------------------------------------------------------------------------------
# Comparing results
# ----------------------------------------------------------------------------------------------

TOLERANCE = {  # (rtol, atol) by torch dtype name; integer and bool results compare exactly
    "float64": (1e-7, 1e-7),
    "float32": (1e-4, 5e-5),    # summation order and BLAS differ: ~1000 ulp
    "float16": (1e-3, 1e-3),
}
GRAD_TOLERANCE = (1e-6, 1e-6)   # float64 gradients: formulas may differ in rounding, not more

# How some ops are compared, and why (docs/conformance.md prints these notes).
COMPARISON_NOTES = {
    "nn.functional.multi_head_attention_forward":
        "samples with dropout_p > 0 and training=True are left out: PyTorch draws its own "
        "dropout mask (the op itself is compared on every other sample)",
    "special.bessel_j0, special.bessel_y1":
        "float64 within 5e-7 absolute (OP_TOLERANCE): PyTorch is off by up to 3.2e-7 near the "
        "zeros of J0/Y1, labkit agrees with mpmath to 1e-15 (tests/test_conformance_fixes.py)",
    "linalg.eigh, linalg.svd, svd":
        "eigen- and singular vectors compared up to sign (and extra full_matrices vectors by "
        "the space they span): PyTorch's docs say they are not unique and differ between "
        "platforms; gradients use the OpInfo's gauge-invariant outputs",
    "as_strided.*":
        "an input that starts inside a larger storage is given to labkit as a view of a copy "
        "of that whole storage, since as_strided addresses the storage",
    "as_strided_scatter":
        "gradients compared with central finite differences of PyTorch's forward, not with "
        "PyTorch's gradient, which fails PyTorch's own gradcheck (pytorch/pytorch#88105); no "
        "second derivative compared",
    "cov (aweights)":
        "the OpInfo gives aweights in float32: their gradients compare with float32's tolerance",
}

# Second derivatives that differ from PyTorch on purpose (none today), with the reason.
GRADGRAD_NOTES = {}

# Per-op float64 forward tolerances, only where PyTorch is the less accurate side (proved against
# mpmath at 40 digits in tests/test_conformance_fixes.py::test_bessel_more_accurate_than_torch): PyTorch's
# bessel_j0 / bessel_y1 (Cephes' rational approximations on 5 < |x| <= 25) are off by up to
# ~3.2e-7 absolute near the zeros of J0/Y1; labkit's values are within 1e-15 of mpmath's.
OP_TOLERANCE = {
    "special.bessel_j0": {"float64": (1e-7, 5e-7)},
    "special.bessel_y1": {"float64": (1e-7, 5e-7)},
}


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


# Ops whose vectors are unique only up to sign (PyTorch's docs for linalg.eigh and linalg.svd:
# "the eigenvectors / singular vectors are not unique ... different platforms, like NumPy, or
# inputs on different device types, may produce different" ones): name -> the positions of
# (values, vectors as columns, partner vectors or None, partner as rows?).  Each labkit vector is
# turned to PyTorch's sign (a partner with it); where full_matrices/some=False add vectors beyond
# min(m, n), only the space they span is defined, so their projectors are compared.
GAUGE = {"linalg.eigh": (0, 1, None, False), "linalg.svd": (1, 0, 2, True),
         "svd": (1, 0, 2, False)}


def compare_up_to_sign(name, t_out, lk_out, tol=None):
    import labkit
    import torch
    vals, vecs, partner, partner_rows = GAUGE[name]
    compare(t_out[vals], lk_out[vals], f"output[{vals}]", tol)
    k = t_out[vals].shape[-1]
    tv, lv = _numpy(t_out[vecs]), np.asarray(lk_out[vecs].detach().numpy())
    if tv.shape != lv.shape:
        return compare(t_out, lk_out, tol=tol)
    sign = np.where(np.sum(tv[..., :, :k] * lv[..., :, :k], axis=-2, keepdims=True) < 0, -1.0, 1.0)
    parts = [(vecs, tv, lv, False)]
    if partner is not None:
        parts.append((partner, _numpy(t_out[partner]),
                      np.asarray(lk_out[partner].detach().numpy()), partner_rows))
    for pos, t, lk, rows in parts:
        if rows:
            t, lk = np.swapaxes(t, -1, -2), np.swapaxes(lk, -1, -2)
        if t.shape != lk.shape:
            return compare(t_out, lk_out, tol=tol)
        head_t, head_l = t[..., :, :k], lk[..., :, :k] * sign
        dt = lk_out[pos].dtype
        compare(torch.from_numpy(head_t.copy()), labkit.tensor(head_l, dtype=dt), f"output[{pos}]",
                tol)
        if t.shape[-1] > k:                      # a basis of the rest: compare its projector
            rt, rl = t[..., :, k:], lk[..., :, k:]
            compare(torch.from_numpy(rt @ np.swapaxes(rt, -1, -2)),
                    labkit.tensor(rl @ np.swapaxes(rl, -1, -2), dtype=dt), f"output[{pos}] (span)",
                    tol)
    return None


def compare_with_ties(name, sample, t_out, lk_out, tol=None):
    """``compare``, but tied values may be indexed in any order where PyTorch allows it, and
    eigen- and singular vectors may differ in sign (``GAUGE``)."""
    if name in GAUGE and isinstance(t_out, tuple) and isinstance(lk_out, tuple):
        return compare_up_to_sign(name, t_out, lk_out, tol)
    spec = TIES.get(name)
    if spec is None or sample.kwargs.get("stable"):
        return compare(t_out, lk_out, tol=tol)
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


def _is_random(sample, name=""):
    """Samples that switch dropout on are random: scaled_dot_product_attention's ``dropout_p``,
    and multi_head_attention_forward's positional ``dropout_p`` (``args[9]``) with
    ``training=True`` (PyTorch draws its own mask, which no other library can reproduce)."""
    if name == "nn.functional.multi_head_attention_forward":
        return bool(sample.kwargs.get("training", True)) and len(sample.args) > 9 and \
            sample.args[9] > 0
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
                if _is_random(sample, self.op.name):
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
            conv = Converter(detach=not (want_grad and kind == "function"),
                             keep_storage=self.op.name.startswith("as_strided"))
            largs = (conv(sample.input), conv(sample.args), conv(sample.kwargs))
            try:
                t_out = tfn(sample.input, *sample.args, **sample.kwargs)
            except Exception:
                return        # torch itself refuses this sample (rare): nothing to compare
            try:
                l_out = lfn(largs[0], *largs[1], **largs[2])
                try:
                    compare_with_ties(self.op.name, sample, t_out, l_out,
                                      OP_TOLERANCE.get(self.op.name, {}).get(str(dtype)[6:]))
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
            conv = Converter(detach=True, keep_storage=self.op.name.startswith("as_strided"))
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
            if self.op.name in TORCH_GRAD_WRONG:
                t_g = _numeric_grad(self.op.op, sample, [t for t, _ in ins], idx, gos)
            else:
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
        if self.op.name in TORCH_GRAD_WRONG:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conv = Converter(keep_storage=self.op.name.startswith("as_strided"))
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


# PyTorch gradients that fail PyTorch's own gradcheck: labkit's are compared with central finite
# differences of PyTorch's forward (float64) instead, and the second derivative is not compared.
TORCH_GRAD_WRONG = {
    "as_strided_scatter": "PyTorch's input gradient passes the gradient of the overwritten "
                          "elements and drops the others; its own suite xfails test_fn_grad "
                          "(pytorch/pytorch#88105)",
}


def _numeric_grad(fn, sample, inputs, idx, gos, eps=1e-6):
    """d<gos, fn(sample)[idx]>/d input by central differences, one element at a time."""
    import torch

    def swap(obj, old, new):
        if obj is old:
            return new
        if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
            return type(obj)(swap(x, old, new) for x in obj)
        if isinstance(obj, dict):
            return {k: swap(v, old, new) for k, v in obj.items()}
        return obj

    def value(t, x):
        with torch.no_grad():
            out = sample.output_process_fn_grad(
                fn(swap(sample.input, t, x), *swap(sample.args, t, x), **swap(sample.kwargs, t, x)))
            flat = _flat(out)
            return sum(float((flat[i] * g).sum()) for i, g in zip(idx, gos))

    grads = []
    for t in inputs:
        g = np.zeros(t.numel())
        base = t.detach().clone().reshape(-1)
        for i in range(t.numel()):
            hi, lo = base.clone(), base.clone()
            hi[i] += eps
            lo[i] -= eps
            g[i] = (value(t, hi.reshape(t.shape)) - value(t, lo.reshape(t.shape))) / (2 * eps)
        grads.append(torch.from_numpy(g.reshape(tuple(t.shape))))
    return grads


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
    # float64 inputs: GRAD_TOLERANCE; an input the OpInfo gives in float32 (cov's aweights)
    # has float32 gradients, compared with float32's tolerance
    compare(tg, lg, where, GRAD_TOLERANCE if t.dtype == torch.float64 else
            TOLERANCE.get(str(t.dtype).replace("torch.", "")))


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
