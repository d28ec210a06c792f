"""labkit's public signatures against PyTorch's.

PyTorch's signatures come from, in this order: ``inspect.signature`` for functions written in
Python; the signature lines of the docstring for built-ins (every overload listed there:
``max(input)`` and ``max(input, dim, keepdim=False, *, out=None)``; labkit has to match one);
``torch.overrides.get_testing_overrides()`` (a lambda per overridable callable, less precise)
where the docstring has none.  For each public callable in ``torch``, ``torch.nn.functional``,
``torch.linalg``, ``torch.special``, ``torch.fft`` and ``Tensor``, ``signature_gaps()`` looks up
the labkit counterpart at the same path and reports, as stable one-line strings:

* ``missing``: labkit has no such function or method;
* ``param``: torch's positional parameter ``i`` is named differently (or absent) in labkit, i.e.
  a call passing it positionally or by keyword would break;
* ``keyword``: torch accepts a keyword (``out``, ``dtype``, ...) that labkit rejects;
* ``default``: both have the parameter but the defaults differ;
* ``required``: labkit requires a parameter that torch does not have.

Public Tensor attributes that torch has no override lambda for (``dir(torch.Tensor)``) are
checked for existence only.  ``scripts/conformance.py --signatures`` prints the gaps;
``tests/test_conformance.py`` fails when a gap appears that ``tests/signature_gaps.json`` does
not list (the list may only shrink).
"""
import ast
import inspect
import math
import re
import types

NAMESPACES = ("nn.functional", "linalg", "special", "fft", "")
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
        for name in dir(mod):
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
                if q.name != p.name and p.name != "input" and not (i == 0 and not method):
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


def torch_signatures(path, obj, overrides):
    """[(signature, includes_self)] for a torch callable; several for documented overloads."""
    name = path.rsplit(".", 1)[-1]
    if isinstance(obj, types.FunctionType):
        try:
            return [(inspect.signature(obj), True)]
        except (TypeError, ValueError):
            pass
    sigs = [(s, False) for s in _doc_signatures(obj, name)]
    if sigs:
        # docstrings of Tensor methods leave out self; those of torch functions name the input
        return sigs if path.startswith("Tensor.") else [(s, True) for s, _ in sigs]
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
    """``{'missing': [...], 'signature': [...]}``: sorted one-line gap strings."""
    import labkit
    import torch
    overrides = torch.overrides.get_testing_overrides()
    paths = _public_paths()
    missing, sig = [], []
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
        for tsig, has_self in cands:
            if method and not has_self:
                tsig = tsig.replace(parameters=[inspect.Parameter(
                    "self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] +
                    list(tsig.parameters.values()))
            gaps = compare_signatures(path, tsig, lsig, method)
            if best is None or len(gaps) < len(best):
                best = gaps
        sig.extend(best or [])
    missing, out_of_scope = split_out_of_scope(missing)
    return {"missing": missing, "signature": sorted(sig), "out_of_scope": out_of_scope}


def print_gaps(gaps):
    for line in gaps["signature"]:
        print(line)
    print()
    print_out_of_scope(gaps.get("out_of_scope", {}))
    print(f"missing ({len(gaps['missing'])}):", ", ".join(gaps["missing"]))
    print()
    print(f"{len(gaps['signature'])} signature differences; {len(gaps['missing'])} torch "
          f"callables labkit does not have")


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
    return {"comment": "Generated by scripts/conformance.py --signatures --write; "
                       "tests/test_conformance.py fails on a gap not listed here.",
            "missing": gaps["missing"], "signature": gaps["signature"]}
