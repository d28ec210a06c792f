"""labkit's public signatures against PyTorch's.

What is compared: every public callable of ``torch``, ``torch.nn.functional``, ``torch.linalg``,
``torch.special``, ``torch.fft``, ``torch.utils.data`` (but its DataPipes) and ``Tensor``
against labkit's at the same path; the constructors of every ``torch.nn`` module, ``torch.optim``
optimizer, ``torch.optim.lr_scheduler`` scheduler and ``torch.utils.data`` class labkit has
(``nn.Linear.__init__``); and the methods every module, optimizer and scheduler inherits
(``nn.Module.state_dict`` ...).  What labkit lacks is listed as ``missing``.

Where PyTorch's signatures come from: ``inspect.signature`` for functions written in Python; for
built-ins, the ATen operator schemas the Python bindings are generated from
(``torch._C._jit_get_schemas_for_operator``: the exact names, order, keyword-only split and
defaults, one per overload, with ``out=`` where an out overload exists unless labkit's registry
lists the name in ``NO_OUT``) and the signature lines of the docstring (every overload listed:
``max(input)``, ``max(input, dim, keepdim=False, *, out=None)``); the override lambdas of
``torch.overrides.get_testing_overrides()`` where neither has one.  Docstrings are sometimes
wrong (``true_divide(dividend, divisor)`` is really ``(input, other)``): ``DOC_ERRATA`` drops
keywords the docs list and torch refuses, ``BINDINGS`` gives the few hand-written bindings'
real signatures; tests/test_signatures.py checks each against torch.

The gaps, as stable one-line strings: a positional parameter named differently or absent (a call
passing it positionally or by keyword would break); a keyword torch accepts that labkit rejects
(``out=``, ``dtype=``, the keywords of torch's other overloads such as ``max(x, other=y)``, and
``x.view(size=...)`` where labkit gathers ``*sizes``); different defaults; a parameter labkit
requires that torch does not have.  labkit has to match one overload position by position and
accept the keywords of all of them.  ``scripts/conformance.py --signatures`` prints the gaps;
``tests/test_conformance.py`` fails on any gap, and when a callable labkit has goes missing (the
``missing`` list in ``tests/signature_gaps.json`` may only shrink).
"""
import ast
import inspect
import keyword
import math
import re
import types

NAMESPACES = ("nn.functional", "linalg", "special", "fft", "", "utils.data")
# torch.utils.data's DataPipes are torchdata's (deprecated, moved out of PyTorch): not compared
_DATAPIPES = {"DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe", "argument_validation",
              "functional_datapipe", "guaranteed_datapipes_determinism", "non_deterministic",
              "runtime_validation", "runtime_validation_disabled", "_DatasetKind"}
_EMPTY = inspect.Parameter.empty
_POS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _public_paths():
    """``{path: torch callable}`` (``'nn.functional.relu'``, ``'Tensor.add'``, ``'add'`` ...)."""
    import torch
    out = {}
    for ns in NAMESPACES:
        mod = torch
        for part in ns.split("."):
            if part:
                mod = getattr(mod, part)
        names = set(mod.__all__) - _DATAPIPES if ns == "utils.data" else dir(mod)
        for name in names:
            if name.startswith("_"):
                continue
            obj = getattr(mod, name, None)
            if callable(obj) and not isinstance(obj, type):
                out.setdefault((ns + "." + name).lstrip("."), obj)
    for name in dir(torch.Tensor):
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            continue
        out["Tensor." + name] = getattr(torch.Tensor, name)
    return out


def _public_classes():
    """``{path: torch class}`` whose constructors labkit's must match: nn modules, optimizers
    and learning-rate schedulers (``'nn.Linear'``, ``'optim.SGD'``,
    ``'optim.lr_scheduler.StepLR'``)."""
    import torch
    ls = torch.optim.lr_scheduler
    out = {}
    import torch.utils.data as data
    for prefix, mod, base in (("nn", torch.nn, torch.nn.Module),
                              ("optim", torch.optim, torch.optim.Optimizer),
                              ("optim.lr_scheduler", ls, (ls.LRScheduler, ls.ReduceLROnPlateau)),
                              ("utils.data", data, object)):
        for name in (set(data.__all__) - _DATAPIPES if mod is data else dir(mod)):
            obj = getattr(mod, name)
            if not name.startswith("_") and isinstance(obj, type) and issubclass(obj, base):
                out[f"{prefix}.{name}"] = obj
    return out


def _base_class_methods():
    """``{path: torch method}`` of what every module, optimizer and scheduler has:
    ``nn.Module.state_dict``, ``optim.Optimizer.zero_grad``, ``optim.lr_scheduler.LRScheduler.step``
    ..."""
    import torch
    out = {}
    for path, cls in (("nn.Module", torch.nn.Module), ("optim.Optimizer", torch.optim.Optimizer),
                      ("optim.lr_scheduler.LRScheduler", torch.optim.lr_scheduler.LRScheduler)):
        for name in dir(cls):
            obj = inspect.getattr_static(cls, name, None)
            if not name.startswith("_") and isinstance(obj, types.FunctionType):
                out[f"{path}.{name}"] = getattr(cls, name)
    return out


def _labkit_obj(path):
    import labkit
    obj = labkit
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return None
    return obj


def _same_default(a, b):
    import torch
    if a is torch.default_generator:           # the global generator for the global one
        import labkit
        return b is labkit.random.default_generator
    if callable(a) and callable(b) and not isinstance(a, type) and \
            getattr(a, "__module__", "").startswith("torch.nn.functional"):
        return _labkit_obj("nn.functional." + a.__name__) is b     # F.relu for F.relu
    if isinstance(a, list):           # schemas write int[] defaults as lists
        a = tuple(a)
    if isinstance(b, list):
        b = tuple(b)
    if a is b or a is _UNKNOWN or b is _UNKNOWN:
        return True
    try:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        if type(a) is bool or type(b) is bool:
            return type(a) is type(b) and a == b
        return bool(a == b)
    except Exception:
        return False


def compare_signatures(path, torch_sig, lk_sig, method):
    """Gap strings for one callable (empty when labkit accepts every call torch accepts)."""
    gaps = []
    tp = list(torch_sig.parameters.values())
    lp = list(lk_sig.parameters.values())
    if method:            # the bound tensor: its name does not matter
        tp, lp = tp[1:], lp[1:]
    l_by_name = {p.name: p for p in lp}
    l_pos = [p for p in lp if p.kind in _POS]
    l_varargs = any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in lp)
    l_varkw = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in lp)
    t_varargs = any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in tp)
    i = 0
    for p in tp:
        if p.kind in _POS:
            if p.name == "out":          # out= is keyword-only in PyTorch's real signatures
                if p.name not in l_by_name and not l_varkw and not method:
                    gaps.append(f"{path}: keyword out= not accepted")
                continue
            if i < len(l_pos):
                q = l_pos[i]
                if q.name != p.name \
                        and p.kind != inspect.Parameter.POSITIONAL_ONLY:

                    gaps.append(f"{path}: parameter {i} is '{q.name}', torch's is '{p.name}'")
                elif p.default is not _EMPTY and q.default is not _EMPTY and \
                        not _same_default(p.default, q.default):
                    gaps.append(f"{path}: default {p.name}={q.default!r}, torch's is "
                                f"{p.default!r}")
            elif not l_varargs:
                q = l_by_name.get(p.name)
                if q is None and not l_varkw:
                    gaps.append(f"{path}: no parameter '{p.name}' (torch's parameter {i})")
                elif q is not None and q.kind == inspect.Parameter.KEYWORD_ONLY:
                    gaps.append(f"{path}: '{p.name}' is keyword-only, torch's is "
                                f"positional {i}")
            i += 1
        elif p.kind == inspect.Parameter.KEYWORD_ONLY:
            q = l_by_name.get(p.name)
            if q is None:
                if not l_varkw and not (method and p.name == "out"):
                    gaps.append(f"{path}: keyword {p.name}= not accepted")
            elif p.default is not _EMPTY and q.default is not _EMPTY and \
                    not _same_default(p.default, q.default):
                gaps.append(f"{path}: default {p.name}={q.default!r}, torch's is {p.default!r}")
    names = {p.name for p in tp}
    for q in lp:
        if q.kind in (inspect.Parameter.KEYWORD_ONLY,) + _POS and q.default is _EMPTY and \
                q.name not in names and not (t_varargs and q.kind in _POS):
            if q.kind in _POS and l_pos.index(q) < sum(1 for p in tp if p.kind in _POS):
                continue          # named differently: reported above as a 'parameter' gap
            gaps.append(f"{path}: labkit requires '{q.name}', torch has no such parameter")
    return gaps


def _doc_signatures(obj, name):
    """Signatures from a built-in's docstring lines such as ``sort(input, dim=-1, *, out=None)``."""
    doc = getattr(obj, "__doc__", None) or ""
    pat = re.compile(r"^\s*(?:\.\. function:: )?(?:torch\.)?(?:[\w.]+\.)?" + re.escape(name)
                     + r"\((.*)\)\s*(?:->.*)?$")
    sigs = []
    for line in doc.splitlines()[:80]:
        m = pat.match(line)
        if not m or "tensor(" in m.group(1):
            continue
        try:
            fn = ast.parse(f"def f({m.group(1)}): pass").body[0]
        except SyntaxError:
            continue
        sigs.append(_sig_from_ast(fn.args))
    return sigs


def _literal(node):
    try:
        return ast.literal_eval(node)
    except Exception:
        return _UNKNOWN


class _Unknown:
    def __repr__(self):
        return "<expr>"


_UNKNOWN = _Unknown()


def _sig_from_ast(a):
    P = inspect.Parameter
    params = []
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(pos, defaults):
        params.append(P(arg.arg, P.POSITIONAL_OR_KEYWORD,
                        default=_EMPTY if d is None else _literal(d)))
    if a.vararg:
        params.append(P(a.vararg.arg, P.VAR_POSITIONAL))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        params.append(P(arg.arg, P.KEYWORD_ONLY, default=_EMPTY if d is None else _literal(d)))
    if a.kwarg:
        params.append(P(a.kwarg.arg, P.VAR_KEYWORD))
    try:
        return inspect.Signature(params)
    except ValueError:          # e.g. a required parameter after a defaulted one in the docs
        return inspect.Signature([p.replace(default=_EMPTY) if p.kind in _POS else p
                                  for p in params])


# Keywords PyTorch's docstrings list that the function refuses (TypeError): not required of
# labkit.  tests/test_signatures.py checks that torch really refuses each.
DOC_ERRATA = {"Tensor.new_tensor": ("layout", "pin_memory")}
# Bindings written by hand, whose names neither the docstring nor the schema has: the signature
# PyTorch's Python binding really has (tests/test_signatures.py calls torch to check each).
BINDINGS = {"Tensor.copy_": "(self, other, non_blocking=False)",
            "Tensor.where": "(self, condition, other)",
            "Tensor.__nonzero__": "(self)"}

_ATEN_PREFIX = {"linalg": "linalg_", "special": "special_", "fft": "fft_"}


def _schema_signatures(path):
    """One signature per ATen overload of a built-in (``self`` first, named ``input``)."""
    import torch
    from labkit.ops._registry import NO_OUT
    ns, _, name = path.rpartition(".")
    if ns not in ("", "Tensor", "linalg", "special", "fft", "nn.functional") or \
            name.startswith("__"):
        return []
    try:
        schemas = torch._C._jit_get_schemas_for_operator(f"aten::{_ATEN_PREFIX.get(ns, '')}{name}")
    except RuntimeError:
        return []
    P = inspect.Parameter

    def written(a):
        return a.alias_info is not None and a.alias_info.is_write and a.kwarg_only

    outs = {tuple(a.name for a in s.arguments if not written(a))
            for s in schemas if any(written(a) for a in s.arguments)}
    sigs = []
    for s in schemas:
        if any(written(a) for a in s.arguments):
            continue
        params = []
        for k, a in enumerate(s.arguments):
            kind = P.KEYWORD_ONLY if a.kwarg_only else P.POSITIONAL_OR_KEYWORD
            default = a.default_value if a.has_default_value() else _EMPTY
            if a.name == "pin_memory" and default is None:
                default = False          # what the Python binding shows (and means)
            elif a.name in ("dtype", "layout", "memory_format", "reduction") and \
                    isinstance(default, int):
                default = _UNKNOWN       # an enum's number (dtype=4 is torch.int64)
            pname = "input" if a.name == "self" else \
                a.name + "_" if keyword.iskeyword(a.name) else a.name    # 'from' -> from_
            params.append(P(pname, kind,
                            default=default))
        if tuple(a.name for a in s.arguments) in outs and ns != "Tensor" and \
                name not in NO_OUT:
            params.append(P("out", P.KEYWORD_ONLY, default=None))
        try:
            sigs.append((inspect.Signature(params), True))
        except ValueError:
            continue
    return sigs


def torch_signatures(path, obj, overrides):
    """[(signature, includes_self)] for a torch callable; several for overloads."""
    name = path.rsplit(".", 1)[-1]
    if path in BINDINGS:
        return [(_sig_from_ast(ast.parse(f"def f{BINDINGS[path]}: pass").body[0].args), True)]
    if isinstance(obj, (types.FunctionType, types.WrapperDescriptorType)):
        try:                      # Python functions; slot wrappers such as __setitem__
            return [(inspect.signature(obj), True)]
        except (TypeError, ValueError):
            pass
    sigs = [(s, False) for s in _doc_signatures(obj, name)]
    drop = DOC_ERRATA.get(path, ())
    sigs = [(s.replace(parameters=[p for p in s.parameters.values() if p.name not in drop]), m)
            for s, m in sigs]
    if sigs and not path.startswith("Tensor."):
        # docstrings of Tensor methods leave out self; those of torch functions name the input
        sigs = [(s, True) for s, _ in sigs]
    sigs += _schema_signatures(path)
    if sigs:
        return sigs
    try:
        lam = overrides.get(obj)
    except TypeError:             # unhashable attributes (Tensor.__dict__)
        lam = None
    if lam is not None:
        try:
            return [(inspect.signature(lam), True)]
        except (TypeError, ValueError):
            pass
    return []


def signature_gaps():
    """``{'missing': [...], 'signature': [...], 'compared': n, 'classes': n}``: sorted one-line
    gap strings, and how many callables / constructors were compared."""
    import labkit
    import torch
    from labkit.ops._registry import NO_OUT
    overrides = torch.overrides.get_testing_overrides()
    paths = _public_paths()
    missing, sig = [], []
    compared = classes = 0
    for path, tobj in sorted(paths.items()):
        method = path.startswith("Tensor.")
        lobj = _labkit_obj(path)
        if lobj is None:
            missing.append(path)
            continue
        if not callable(lobj) or isinstance(lobj, type):
            continue
        if method and isinstance(inspect.getattr_static(labkit.Tensor, path[7:], None),
                                 property):
            continue
        try:
            lsig = inspect.signature(lobj)
        except (TypeError, ValueError):
            continue
        best = None
        cands = torch_signatures(path, tobj, overrides)
        if method and callable(getattr(torch, path[7:], None)):
            cands += torch_signatures(path[7:], getattr(torch, path[7:]), overrides)
        compared += bool(cands)
        for tsig, has_self in cands:
            if method and not has_self:
                tsig = tsig.replace(parameters=[inspect.Parameter(
                    "self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] +
                    list(tsig.parameters.values()))
            gaps = compare_signatures(path, tsig, lsig, method)
            if best is None or len(gaps) < len(best):
                best = gaps
        best = (best or []) + _varargs_keywords(path, cands, lsig, method) + \
            _overload_keywords(path, tobj, lsig, method)
        # out= is part of the function whichever overload labkit matches
        if not method and path.rsplit(".", 1)[-1] not in NO_OUT and \
                any("out" in s.parameters for s, _ in cands) and \
                "out" not in lsig.parameters and \
                f"{path}: keyword out= not accepted" not in (best or []):
            best = (best or []) + [f"{path}: keyword out= not accepted"]
        sig.extend(best or [])
    for path, tcls in sorted(_public_classes().items()):
        lcls = _labkit_obj(path)
        if not isinstance(lcls, type):
            missing.append(path)
            continue
        try:
            tsig, lsig = inspect.signature(tcls.__init__), inspect.signature(lcls.__init__)
        except (TypeError, ValueError):
            continue
        classes += 1
        sig.extend(compare_signatures(path + ".__init__", tsig, lsig, True))
    for path, tfn in sorted(_base_class_methods().items()):
        lfn = _labkit_obj(path)
        if not callable(lfn):
            missing.append(path)
            continue
        compared += 1
        sig.extend(compare_signatures(path, inspect.signature(tfn), inspect.signature(lfn), True))
    missing, out_of_scope = split_out_of_scope(sorted(missing))
    return {"missing": missing, "signature": sorted(sig), "compared": compared,
            "classes": classes, "out_of_scope": out_of_scope}


def _varargs_keywords(path, cands, lsig, method):
    """``x.view(*shape)`` in labkit also has to take ``x.view(size=...)`` as PyTorch's does: where
    labkit gathers positional arguments in ``*args``, each name torch's overloads give that
    position must be accepted as a keyword (torch's own ``*args`` overloads excepted)."""
    lp = list(lsig.parameters.values())
    at = next((k for k, p in enumerate(lp) if p.kind == p.VAR_POSITIONAL), None)
    if at is None or any(p.kind == p.VAR_KEYWORD for p in lp):
        return []
    gaps = []
    for tsig, has_self in cands:
        tp = list(tsig.parameters.values())
        if method and not has_self:
            tp = [None] + tp
        if at < len(tp) and tp[at] is not None and tp[at].kind == tp[at].POSITIONAL_OR_KEYWORD \
                and tp[at].name not in ("out", "input") and \
                getattr(lsig.parameters.get(tp[at].name), "kind", None) not in \
                (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            gap = f"{path}: keyword {tp[at].name}= not accepted (labkit takes *{lp[at].name})"
            if gap not in gaps:
                gaps.append(gap)
    return gaps


def _overload_keywords(path, tobj, lsig, method):
    """labkit matches one of torch's overloads position by position; the keywords of the others
    must work too (``torch.max(x, other=y)`` beside ``torch.max(x, dim=0)``).  The overloads
    counted are the docstring's that an ATen schema confirms (same parameter names): docstrings
    alone are sometimes wrong, schemas alone include TorchScript-only overloads."""
    P = inspect.Parameter
    if path in BINDINGS or any(p.kind == P.VAR_KEYWORD for p in lsig.parameters.values()):
        return []
    name = path.rsplit(".", 1)[-1]
    skip = {"input", "self", "out"}
    schemas = [{p for p in sig.parameters} - skip for sig, _ in _schema_signatures(path)]
    if method and not schemas:
        schemas = [{p for p in sig.parameters} - skip for sig, _ in _schema_signatures(name)]
    gaps = []
    for doc in _doc_signatures(tobj, name):
        params = [p for p in doc.parameters.values()
                  if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY) and p.name not in skip]
        if not method and doc.parameters:
            params = [p for p in params if p.name != next(iter(doc.parameters))]
        names = {p.name for p in params}
        if not names or not any(names <= sch for sch in schemas):
            continue
        for p in params:
            q = lsig.parameters.get(p.name)
            if q is None or q.kind not in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY):
                gap = f"{path}: keyword {p.name}= not accepted (torch's overload " \
                      f"{name}{doc})"
                if gap not in gaps:
                    gaps.append(gap)
    return gaps


def print_gaps(gaps):
    for line in gaps["signature"]:
        print(line)
    print()
    print_out_of_scope(gaps.get("out_of_scope", {}))
    print(f"missing ({len(gaps['missing'])}):", ", ".join(gaps["missing"]))
    print()
    print(f"{headline(gaps)}")


def headline(gaps):
    return (f"{len(gaps['signature'])} signature differences in {gaps['compared']} callables "
            f"and {gaps['classes']} constructors compared; {len(gaps['missing'])} torch "
            f"callables and classes labkit does not have")


# ---------------------------------------------------------------- out of scope on purpose
def split_out_of_scope(missing):
    """``(missing, {path: 'category: reason'})``: the names labkit leaves out on purpose
    (``labkit.scope``: sparse, quantization, complex, vendor backends ...) are not 'missing'."""
    from labkit.scope import out_of_scope
    left, oos = [], {}
    for path in missing:
        found = out_of_scope(path)
        if found is None:
            left.append(path)
        else:
            oos[path] = f"{found[0]}: {found[1]}"
    return left, oos


def print_out_of_scope(oos):
    by_reason = {}
    for path, why in sorted(oos.items()):
        by_reason.setdefault(why, []).append(path)
    print(f"out of scope ({len(oos)}, on purpose; labkit.scope raises an AttributeError saying "
          f"why):")
    for why, paths in by_reason.items():
        print(f"  {why.split(':')[0]} ({len(paths)}): {', '.join(paths)}")
        print(f"    reason: {why.split(': ', 1)[1]}")
    print()


def as_ratchet(gaps):
    return {"comment": "Generated by scripts/conformance.py --signatures --write: the torch "
                       "callables and classes labkit does not have. tests/test_conformance.py "
                       "fails on any signature difference, and when a name listed as present "
                       "goes missing (this list may only shrink).",
            "missing": gaps["missing"]}


def _namespace(path):
    head, _, _ = path.rpartition(".")
    return head or "torch"


def markdown(gaps):
    """The ``## Signatures`` section of docs/conformance.md."""
    by_ns = {}
    for p in gaps["missing"]:
        by_ns.setdefault(_namespace(p), []).append(p.rpartition(".")[2])
    lines = [
        "## Signatures",
        "",
        "Generated by `scripts/conformance.py --signatures --write`; checked by "
        "`tests/test_conformance.py::test_signatures_match_torch` (any difference fails) and "
        "`tests/test_signatures.py` (the behaviour behind them, against torch).",
        "",
        f"**{headline(gaps)}.**",
        "",
        "Compared: every public callable of `torch`, `torch.nn.functional`, `torch.linalg`, "
        "`torch.special`, `torch.fft`, `torch.utils.data` (but its DataPipes) and "
        "`torch.Tensor` that labkit has (parameter names, "
        "order, positional or keyword-only, defaults, `out=`), and the constructors of the "
        "`torch.nn` modules, `torch.optim` optimizers and `torch.optim.lr_scheduler` schedulers "
        "labkit has, and the methods they all inherit (`nn.Module`, `optim.Optimizer`, "
        "`LRScheduler`). PyTorch's signatures come from Python introspection, the ATen operator "
        "schemas its bindings are generated from, and its docstrings "
        "(tests/signature_conformance.py). Where labkit accepts a parameter it cannot honour "
        "(`pin_memory=True`, `gather(sparse_grad=True)`, a CUDA device), it raises naming it.",
        "",
        "### Not in labkit",
        "",
        "| namespace | count | names |",
        "|---|---|---|",
    ]
    for ns in sorted(by_ns):
        names = ", ".join(f"`{n}`" for n in by_ns[ns])
        lines.append(f"| `{ns}` | {len(by_ns[ns])} | {names} |")
    return "\n".join(lines) + "\n"
