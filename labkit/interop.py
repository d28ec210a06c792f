"""The bridge to PyTorch: move a model (with its weights) between labkit and ``torch.nn``.

    torch_model = labkit.interop.to_torch(model)      # same architecture, same weights
    model = labkit.interop.from_torch(torch_model)

Both work for every layer labkit has and for the containers (``Sequential``, ``ModuleList``,
``ModuleDict``, ``ParameterList``, ``ParameterDict``, the Transformer stacks), nested freely,
because labkit's layers use PyTorch's constructor arguments, attribute names and state_dict keys.
What comes across: the constructor arguments, parameters and buffers (values and dtype, copied:
the two models share no memory), ``requires_grad`` of each parameter, the train/eval mode of
each submodule, and weights tied between layers (one tensor used by two layers stays one).
Hooks do not come across.

Your own ``nn.Module`` subclasses
---------------------------------
Their code is PyTorch code, so ``to_torch`` runs it under PyTorch: it reads the class's source
(its file, or the notebook cell it was defined in), executes it once more in a namespace where
the labkit names the source uses are bound to PyTorch's (``lk``/``torch`` -> ``torch``, ``nn``
-> ``torch.nn``, ``F`` -> ``torch.nn.functional``, ``lk.triu`` stays ``torch.triu`` ...; other
names keep their values, your other classes are rebuilt the same way), creates the new class
with the same constructor arguments (every Module remembers the arguments it was created with)
and copies the weights (the state_dict keys must match, which they do when ``__init__`` builds
the same layers).  ``from_torch`` does the reverse for a PyTorch class, when its constructor
arguments are known (a model made by ``to_torch``), or can be read off attributes of the same
names.  The rebuilt class is defined anew (``type(torch_model).__module__`` is the original
module, but it cannot be pickled by reference): save its ``state_dict()``, not the object.

When the source cannot be found (a class made by ``exec`` or typed at the plain Python prompt),
a TypeError says so; write the class once more with ``import torch`` and copy the weights::

    torch_model = MyNet()                          # the class written with torch.nn
    torch_model.load_state_dict(labkit.interop.state_dict_to_torch(model.state_dict()))

torch stays optional: it is imported only when these functions are called.
"""
import ast
import builtins
import importlib
import linecache
import textwrap
import types
import weakref
import inspect

import numpy as np

__all__ = ["to_torch", "from_torch", "state_dict_to_torch", "state_dict_from_torch"]

_SKIP_ARGS = {"self", "device", "dtype", "_freeze", "_weight"}


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an optional dependency
        raise ImportError("labkit.interop needs PyTorch: pip install torch") from None
    return torch


# ------------------------------------------------------------------------------ tensors
def _to_torch_tensor(v):
    torch = _torch()
    arr = v._np if hasattr(v, "_np") else np.asarray(v)
    t = torch.from_numpy(np.array(arr, copy=True, order="C"))
    if getattr(v, "requires_grad", False):
        t.requires_grad_(True)
    return t


def _from_torch_tensor(v):
    import labkit
    torch = _torch()
    v = v.detach()
    if v.dtype in (torch.bfloat16,):
        raise TypeError(f"labkit has no {v.dtype}: convert the model first, e.g. "
                        f"from_torch(model.float())")
    return labkit.tensor(v.cpu().numpy().copy(), requires_grad=v.requires_grad and
                         v.is_floating_point())


def state_dict_to_torch(state_dict):
    """labkit tensors -> torch tensors (copies), same keys (and order)."""
    out = {}
    for k, v in state_dict.items():
        out[k] = _to_torch_tensor(v).detach() if hasattr(v, "_np") or isinstance(v, np.ndarray) \
            else v
    return out


def state_dict_from_torch(state_dict):
    """torch tensors -> labkit tensors (copies), same keys (and order)."""
    torch = _torch()
    return {k: _from_torch_tensor(v).detach() if isinstance(v, torch.Tensor) else v
            for k, v in state_dict.items()}


# ------------------------------------------------------------------------------ modules
class _Side:
    """What the conversion needs to know about the library it builds modules for."""

    def __init__(self, to_lib):
        torch = _torch()
        import labkit
        from labkit import nn
        if to_lib == "torch":
            self.nn, self.lib, self.src_lib = torch.nn, "torch", "labkit"
            self.src_tensor, self.convert_tensor = labkit.Tensor, _to_torch_tensor
            self.src_pkg, self.src_module = "labkit", nn.Module
            self.src_dtype = labkit.dtype
            self.dst_dtype = lambda d: getattr(torch, d.name)
        else:
            self.nn, self.lib, self.src_lib = nn, "labkit", "torch"
            self.src_tensor, self.convert_tensor = torch.Tensor, _from_torch_tensor
            self.src_pkg, self.src_module = "torch", torch.nn.Module
            self.src_dtype = torch.dtype
            self.dst_dtype = lambda d: getattr(labkit, str(d).split(".")[-1])
        self.memo = {}

    def param(self, t):
        return self.nn.Parameter(self.convert_tensor(t).detach(),
                                 requires_grad=bool(t.requires_grad))


def _unsupported(mod, path, side, reason=None, own=False):
    name = type(mod).__name__
    where = f" (at '{path}')" if path else ""
    if reason and not own:
        return TypeError(f"cannot convert {name}{where}: {reason}")
    if type(mod).__module__.startswith(side.src_pkg + ".nn") and not own:
        return TypeError(
            f"cannot convert {name}{where}: {side.lib}.nn has no {name}. Use a layer both "
            f"libraries have, or copy the weights by hand with state_dict_to_torch / "
            f"state_dict_from_torch")
    write = "import torch" if side.lib == "torch" else "import labkit as torch"
    return TypeError(
        f"cannot convert {name}{where} automatically: it is your own Module subclass (defined "
        f"in {type(mod).__module__}) and {reason or 'its source code could not be rebuilt'}. "
        f"Define the same class with {side.lib} (the code is the same, after `{write}`), "
        f"create it, and copy the weights: new_model.load_state_dict(labkit.interop.state_dict_"
        f"{'to' if side.lib == 'torch' else 'from'}_torch(model.state_dict())).")


def _ctor_kwargs(src, dst_cls, side, path):
    """Constructor arguments for ``dst_cls`` read off ``src``'s attributes of the same names."""
    sig = inspect.signature(dst_cls.__init__)
    kwargs = {}
    for name, p in sig.parameters.items():
        if name in _SKIP_ARGS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name == "bias":
            b = getattr(src, "bias", getattr(src, "in_proj_bias", True))
            kwargs[name] = b if isinstance(b, bool) else b is not None
            continue
        if name in ("affine", "elementwise_affine") and not hasattr(src, name):
            kwargs[name] = getattr(src, "weight", None) is not None
            continue
        if name in ("size_average", "reduce"):        # folded into `reduction` by both
            continue
        if hasattr(src, name):
            v = getattr(src, name)
            if isinstance(v, side.src_tensor):           # e.g. a loss's weight / pos_weight
                v = side.convert_tensor(v).detach()
            kwargs[name] = v
        elif p.default is inspect.Parameter.empty:
            raise TypeError(f"cannot rebuild {type(src).__name__}" +
                            (f" (at '{path}')" if path else "") +
                            f": it has no attribute '{name}' that {side.lib}'s "
                            f"{dst_cls.__name__} needs")
    return kwargs


def _activation_name(src, path, side):
    """'relu' / 'gelu' for those; any other activation function or module is translated."""
    act = getattr(src, "activation", "relu")
    if isinstance(act, str):
        return act
    name = getattr(act, "__name__", None)
    if name in ("relu", "gelu"):
        return name
    try:
        return _convert_value(act, side, path)
    except TypeError as e:
        raise _unsupported(src, path, side, f"its activation {act!r} cannot be translated "
                                            f"({e})") from None


def _build_transformer_layer(src, dst_cls, side, path):
    attn = src.self_attn
    return dst_cls(d_model=attn.embed_dim, nhead=attn.num_heads,
                   dim_feedforward=src.linear1.out_features, dropout=float(src.dropout.p),
                   activation=_activation_name(src, path, side), layer_norm_eps=src.norm1.eps,
                   batch_first=attn.batch_first, norm_first=src.norm_first,
                   bias=src.linear1.bias is not None)


def _build_transformer_encoder(src, dst_cls, side, path):
    if len(src.layers) == 0:
        raise _unsupported(src, path, side, "it has no layers")
    layer = _convert(src.layers[0], side, f"{path}.layers.0".strip("."), memo=False)
    norm = None if src.norm is None else _convert(src.norm, side, f"{path}.norm".strip("."))
    kwargs = dict(num_layers=len(src.layers), norm=norm)
    if side.lib == "torch":
        kwargs["enable_nested_tensor"] = False    # the fast path is for padded batches only
    out = dst_cls(layer, **kwargs)
    # the layers are copies of the first; rebuild each (they may differ, e.g. in dropout)
    for i, lyr in enumerate(src.layers):
        out.layers[i] = _convert(lyr, side, f"{path}.layers.{i}".strip("."))
    return out


def _build_rnn(src, dst_cls, side, path):
    kwargs = dict(input_size=src.input_size, hidden_size=src.hidden_size,
                  num_layers=src.num_layers, bias=bool(src.bias), batch_first=src.batch_first,
                  dropout=float(src.dropout), bidirectional=bool(src.bidirectional))
    if type(src).__name__ == "RNN":
        kwargs["nonlinearity"] = src.nonlinearity
    if getattr(src, "proj_size", 0):
        if side.lib == "labkit":
            raise _unsupported(src, path, side, "labkit's LSTM has no proj_size")
        kwargs["proj_size"] = src.proj_size
    return dst_cls(**kwargs)


def _build_mha(src, dst_cls, side, path):
    if getattr(src, "bias_k", None) is not None or getattr(src, "add_zero_attn", False):
        if side.lib == "labkit":
            raise _unsupported(src, path, side, "labkit's MultiheadAttention has no "
                                                "add_bias_kv / add_zero_attn")
    return dst_cls(src.embed_dim, src.num_heads, dropout=float(src.dropout),
                   bias=src.in_proj_bias is not None,
                   add_bias_kv=getattr(src, "bias_k", None) is not None,
                   add_zero_attn=bool(getattr(src, "add_zero_attn", False)),
                   kdim=src.kdim, vdim=src.vdim, batch_first=src.batch_first)


def _build_transformer_decoder_layer(src, dst_cls, side, path):
    attn = src.self_attn
    return dst_cls(d_model=attn.embed_dim, nhead=attn.num_heads,
                   dim_feedforward=src.linear1.out_features, dropout=float(src.dropout.p),
                   activation=_activation_name(src, path, side), layer_norm_eps=src.norm1.eps,
                   batch_first=attn.batch_first, norm_first=src.norm_first,
                   bias=src.linear1.bias is not None)


def _build_transformer_decoder(src, dst_cls, side, path):
    if len(src.layers) == 0:
        raise _unsupported(src, path, side, "it has no layers")
    layer = _convert(src.layers[0], side, f"{path}.layers.0".strip("."), memo=False)
    norm = None if src.norm is None else _convert(src.norm, side, f"{path}.norm".strip("."))
    out = dst_cls(layer, num_layers=len(src.layers), norm=norm)
    for i, lyr in enumerate(src.layers):
        out.layers[i] = _convert(lyr, side, f"{path}.layers.{i}".strip("."))
    return out


def _build_transformer(src, dst_cls, side, path):
    enc = _convert(src.encoder, side, f"{path}.encoder".strip("."))
    dec = _convert(src.decoder, side, f"{path}.decoder".strip("."))
    return dst_cls(d_model=src.d_model, nhead=src.nhead, custom_encoder=enc, custom_decoder=dec,
                   batch_first=src.batch_first)


def _build_parameter_list(src, dst_cls, side, path):
    return dst_cls([side.param(p) for p in src])


def _build_parameter_dict(src, dst_cls, side, path):
    return dst_cls({k: side.param(p) for k, p in src.items()})


_BUILDERS = {
    "TransformerEncoderLayer": _build_transformer_layer,
    "TransformerEncoder": _build_transformer_encoder,
    "TransformerDecoderLayer": _build_transformer_decoder_layer,
    "TransformerDecoder": _build_transformer_decoder,
    "Transformer": _build_transformer,
    "RNN": _build_rnn, "LSTM": _build_rnn, "GRU": _build_rnn,
    "MultiheadAttention": _build_mha,
    "ParameterList": _build_parameter_list,
    "ParameterDict": _build_parameter_dict,
}


def _convert(mod, side, path, memo=True):
    if memo and id(mod) in side.memo:                   # a module used twice stays one module
        return side.memo[id(mod)][1]
    name = type(mod).__name__
    if not type(mod).__module__.startswith(side.src_pkg + ".nn."):
        if not isinstance(mod, side.src_module):
            raise TypeError(f"cannot convert {name}" + (f" (at '{path}')" if path else "") +
                            f": it is not a {side.src_lib} nn.Module")
        out = _rebuild_own_module(mod, side, path)
        if memo:
            side.memo[id(mod)] = (mod, out)
        return out
    dst_cls = getattr(side.nn, name, None)
    if dst_cls is None or not isinstance(dst_cls, type):
        raise _unsupported(mod, path, side)
    if name in ("Sequential", "ModuleList"):
        children = [_convert(c, side, f"{path}.{k}".strip("."))
                    for k, c in mod._modules.items()]
        out = dst_cls(*children) if name == "Sequential" else dst_cls(children)
    elif name == "ModuleDict":
        out = dst_cls({k: _convert(c, side, f"{path}.{k}".strip("."))
                       for k, c in mod._modules.items()})
    elif name in _BUILDERS:
        out = _BUILDERS[name](mod, dst_cls, side, path)
    else:
        if mod._modules and name not in ("MultiheadAttention",):
            # a built-in layer with submodules we do not know how to rebuild
            raise _unsupported(mod, path, side, "it has submodules labkit.interop cannot "
                                                "rebuild")
        out = dst_cls(**_ctor_kwargs(mod, dst_cls, side, path))
    if memo:
        side.memo[id(mod)] = (mod, out)                 # keep mod alive: ids stay unique
    return out


# ------------------------------------------------------------------------------ own classes
_REBUILT = weakref.WeakKeyDictionary()     # source class -> {lib: rebuilt class}


def _rebuild_own_module(mod, side, path):
    cls = type(mod)
    new_cls = _rebuilt_class(cls, side, mod, path)
    args, kwargs = _init_args(mod, side, path)
    args = tuple(_convert_value(a, side, path) for a in args)
    kwargs = {k: _convert_value(v, side, path) for k, v in kwargs.items()}
    try:
        out = new_cls(*args, **kwargs)
    except Exception as e:
        raise TypeError(f"cannot rebuild {cls.__name__}" + (f" (at '{path}')" if path else "") +
                        f" under {side.lib}: {cls.__name__}(*{args!r}, **{kwargs!r}) raised "
                        f"{type(e).__name__}: {e}") from e
    out.__dict__["_init_args"] = (args, kwargs)        # what from_torch needs to come back
    return out


def _init_args(mod, side, path):
    """The arguments ``mod`` was constructed with (recorded by labkit's Module, or by a previous
    conversion); otherwise read off attributes named like ``__init__``'s parameters."""
    rec = mod.__dict__.get("_init_args")
    if rec is not None:
        return rec
    sig = inspect.signature(type(mod).__init__)
    kwargs = {}
    for pname, p in list(sig.parameters.items())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if pname in mod.__dict__ or (hasattr(mod, pname) and
                                     not callable(getattr(type(mod), pname, None))):
            kwargs[pname] = getattr(mod, pname)
        elif p.default is inspect.Parameter.empty:
            raise _unsupported(mod, path, side, own=True, reason=(
                f"the arguments it was created with are unknown (no attribute "
                f"'{pname}' holds __init__'s argument of that name)"))
    return (), kwargs


def _convert_value(v, side, path):
    """A constructor argument or global value, translated to the destination library."""
    if isinstance(v, side.src_tensor):
        return side.convert_tensor(v).detach()
    if isinstance(v, side.src_module):
        return _convert(v, side, path)
    if isinstance(v, side.src_dtype):
        return side.dst_dtype(v)
    if isinstance(v, tuple) and not hasattr(v, "_fields"):
        return tuple(_convert_value(x, side, path) for x in v)
    if isinstance(v, list):
        return [_convert_value(x, side, path) for x in v]
    if isinstance(v, dict):
        return {k: _convert_value(x, side, path) for k, x in v.items()}
    return _map_object(v, side, path)


_PUBLIC = ("", ".nn", ".nn.functional", ".nn.init", ".optim", ".optim.lr_scheduler",
           ".utils.data", ".linalg", ".autograd", ".nn.utils")


def _counterpart_module(name, side):
    dst_pkg = side.lib
    try:
        return importlib.import_module(dst_pkg + name[len(side.src_pkg):])
    except ImportError:
        return None


def _map_object(v, side, path):
    """The destination library's object for a source-library module, class or function (your
    own Module subclasses are rebuilt); anything else is returned as is."""
    if isinstance(v, types.ModuleType):
        name = v.__name__
        if name == side.src_pkg or name.startswith(side.src_pkg + "."):
            m = _counterpart_module(name, side)
            if m is None:
                raise TypeError(f"the source uses the module {name}, which has no {side.lib} "
                                f"counterpart")
            return m
        return v
    if isinstance(v, type) and issubclass(v, side.src_module) and \
            not v.__module__.startswith(side.src_pkg + ".nn."):
        if v is side.src_module:
            return side.nn.Module
        return _rebuilt_class(v, side, None, path)
    mod_name = getattr(v, "__module__", None)
    if not (isinstance(mod_name, str) and (mod_name == side.src_pkg or
                                          mod_name.startswith(side.src_pkg + "."))):
        return v
    if not (callable(v) or isinstance(v, type)):
        return v
    src = importlib.import_module(side.src_pkg)
    for sub in _PUBLIC:                        # the public name of v (labkit.nn.functional.gelu)
        try:
            ns = importlib.import_module(side.src_pkg + sub) if sub else src
        except ImportError:
            continue
        for attr in (getattr(v, "__name__", None),):
            if attr and getattr(ns, attr, None) is v:
                dst = _counterpart_module(side.src_pkg + sub, side)
                if dst is not None and hasattr(dst, attr):
                    return getattr(dst, attr)
    name = getattr(v, "__qualname__", repr(v))
    raise TypeError(f"the source uses {mod_name}.{name}, which has no {side.lib} counterpart")


def _own_functions(cls):
    """The functions written in ``cls``'s body (decorators unwrapped, properties' getters)."""
    for v in vars(cls).values():
        if isinstance(v, (staticmethod, classmethod)):
            v = v.__func__
        elif isinstance(v, property):
            v = v.fget
        try:
            fn = inspect.unwrap(v) if callable(v) else None
        except ValueError:
            fn = None
        if isinstance(fn, types.FunctionType) and \
                fn.__qualname__.startswith(cls.__qualname__ + "."):
            yield fn


def _class_source(cls):
    """(source text, file name, first line) of ``cls``'s definition: found from one of its
    methods' code objects (works for files and for notebook cells, which IPython keeps in
    linecache), else with inspect."""
    for fn in _own_functions(cls):
        code = fn.__code__
        if code.co_name == "<lambda>":
            continue
        lines = linecache.getlines(code.co_filename)
        if not lines:
            continue
        text = "".join(lines)
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        best = None
        for node in ast.walk(tree):
            if (isinstance(node, ast.ClassDef) and node.name == cls.__name__ and
                    node.lineno <= code.co_firstlineno <= node.end_lineno):
                if best is None or node.lineno > best.lineno:      # the innermost
                    best = node
        if best is not None:
            start = min([best.lineno] + [d.lineno for d in best.decorator_list])
            src = "".join(lines[start - 1:best.end_lineno])
            return textwrap.dedent(src), code.co_filename, start
    try:
        src = inspect.getsource(cls)
        return textwrap.dedent(src), inspect.getsourcefile(cls) or "<rebuilt>", \
            inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None


def _rebuilt_class(cls, side, mod, path):
    cache = _REBUILT.setdefault(cls, {})
    if side.lib in cache:
        return cache[side.lib]
    origin = getattr(cls, "__interop_origin__", None)
    if origin is not None and getattr(origin, "__module__", "").split(".")[0] != side.src_pkg:
        return origin                          # a class made by a previous conversion: go back
    found = _class_source(cls)
    where = f" (at '{path}')" if path else ""
    if found is None:
        raise TypeError(
            f"cannot convert {cls.__name__}{where}: it is your own Module subclass and its "
            f"source code is not available (defined by exec or at the interactive prompt?). "
            f"Put the class in a file or a notebook cell, or define it with "
            f"{'import torch' if side.lib == 'torch' else 'import labkit as torch'} and copy "
            f"the weights with labkit.interop.state_dict_"
            f"{'to' if side.lib == 'torch' else 'from'}_torch(model.state_dict()).")
    src, filename, first = found
    # the names the class's code reads, from the module it was defined in or its closure
    fglobals, cells = {}, {}
    for fn in _own_functions(cls):
        fglobals = fn.__globals__
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            if name != "__class__":
                try:
                    cells[name] = cell.cell_contents
                except ValueError:
                    pass
    if not fglobals:
        fglobals = vars(importlib.import_module(cls.__module__)) \
            if cls.__module__ in __import__("sys").modules else {}
    used = {n.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Name)}
    ns = {"__name__": cls.__module__, "__builtins__": builtins}
    for name in sorted(used):
        if name in cells:
            value = cells[name]
        elif name in fglobals:
            value = fglobals[name]
        else:
            continue                           # builtins, or names the class itself defines
        if value is cls:
            continue
        try:
            ns[name] = _convert_value(value, side, path)
        except TypeError as e:
            raise TypeError(f"cannot convert {cls.__name__}{where}: {e}") from None
    code = compile("\n" * (first - 1) + src, filename, "exec")
    try:
        exec(code, ns)
    except Exception as e:
        raise TypeError(f"cannot convert {cls.__name__}{where}: running its source under "
                        f"{side.lib} failed: {type(e).__name__}: {e}") from e
    new_cls = ns.get(cls.__name__)
    if not isinstance(new_cls, type) or not issubclass(new_cls, side.nn.Module):
        raise TypeError(f"cannot convert {cls.__name__}{where}: its source did not define a "
                        f"{side.lib} nn.Module subclass named {cls.__name__}")
    new_cls.__qualname__ = cls.__qualname__
    new_cls.__interop_origin__ = cls
    cache[side.lib] = new_cls
    return new_cls


def _finish(src, dst, side):
    """Copy values, dtypes, requires_grad, training flags and weight tying from src to dst."""
    # dtypes: make each destination tensor's dtype the source's before loading values
    src_sd = src.state_dict()
    floats = {str(v.dtype).split(".")[-1] for v in src_sd.values() if v.is_floating_point()}
    if floats == {"float64"}:
        dst = dst.double()
    elif floats == {"float16"}:
        dst = dst.half()
    sd = state_dict_to_torch(src_sd) if side.lib == "torch" else state_dict_from_torch(src_sd)
    missing, unexpected = dst.load_state_dict(sd, strict=True)
    # per-submodule mode and per-parameter requires_grad
    dst_mods = dict(dst.named_modules(remove_duplicate=False))
    for name, m in src.named_modules(remove_duplicate=False):
        if name in dst_mods:
            dst_mods[name].training = m.training
    dst_params = dict(dst.named_parameters(remove_duplicate=False))
    first = {}
    for name, p in src.named_parameters(remove_duplicate=False):
        q = dst_params.get(name)
        if q is None:
            continue
        q.requires_grad_(bool(p.requires_grad))
        # tied weights: the same source tensor under two names -> one destination tensor
        if id(p) in first and first[id(p)] is not q:
            owner, _, attr = name.rpartition(".")
            setattr(dst_mods[owner], attr, first[id(p)])
        else:
            first.setdefault(id(p), q)
    return dst


def to_torch(module):
    """A ``torch.nn`` module with labkit ``module``'s architecture, weights, buffers and modes.

    Your own Module subclasses are rebuilt under PyTorch from their source (see the module
    docstring); a TypeError explains what to do when that is impossible.
    """
    side = _Side("torch")
    return _finish(module, _convert(module, side, ""), side)


def from_torch(module):
    """A labkit module with torch ``module``'s architecture, weights, buffers and modes."""
    side = _Side("labkit")
    return _finish(module, _convert(module, side, ""), side)
