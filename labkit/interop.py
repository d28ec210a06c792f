"""The bridge to PyTorch: move a model (with its weights) between labkit and ``torch.nn``.

    torch_model = labkit.interop.to_torch(model)      # same architecture, same weights
    model = labkit.interop.from_torch(torch_model)

Both work for every layer labkit has and for the containers (``Sequential``, ``ModuleList``,
``ModuleDict``, ``ParameterList``, ``ParameterDict``, ``TransformerEncoder``), nested freely,
because labkit's layers use PyTorch's constructor arguments, attribute names and state_dict keys.
What comes across: the constructor arguments, parameters and buffers (values and dtype, copied:
the two models share no memory), ``requires_grad`` of each parameter, the train/eval mode of
each submodule, and weights tied between layers (one tensor used by two layers stays one).
Hooks do not come across.

A model written as your own ``nn.Module`` subclass has its own ``forward`` code, which cannot be
translated; write the class once more with ``import torch`` (the same code runs) and copy the
weights::

    torch_model = MyNet()                          # the class written with torch.nn
    torch_model.load_state_dict(labkit.interop.state_dict_to_torch(model.state_dict()))
    model.load_state_dict(labkit.interop.state_dict_from_torch(torch_model.state_dict()))

torch stays optional: it is imported only when these functions are called.
"""
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
            self.src_pkg = "labkit"
        else:
            self.nn, self.lib, self.src_lib = nn, "labkit", "torch"
            self.src_tensor, self.convert_tensor = torch.Tensor, _from_torch_tensor
            self.src_pkg = "torch"
        self.memo = {}

    def param(self, t):
        return self.nn.Parameter(self.convert_tensor(t).detach(),
                                 requires_grad=bool(t.requires_grad))


def _unsupported(mod, path, side, reason=None):
    name = type(mod).__name__
    where = f" (at '{path}')" if path else ""
    if reason:
        return TypeError(f"cannot convert {name}{where}: {reason}")
    if type(mod).__module__.startswith(side.src_pkg + ".nn"):
        return TypeError(
            f"cannot convert {name}{where}: {side.lib}.nn has no {name}. Use a layer both "
            f"libraries have, or copy the weights by hand with state_dict_to_torch / "
            f"state_dict_from_torch")
    write = "import torch" if side.lib == "torch" else "import labkit as torch"
    return TypeError(
        f"cannot convert {name}{where} automatically: it is your own Module subclass (defined "
        f"in {type(mod).__module__}), and only {side.src_lib}'s built-in layers and containers "
        f"are translated, not forward() code. Define the same class with {side.lib} (the code "
        f"is the same, after `{write}`), create it, and copy the weights: "
        f"new_model.load_state_dict(labkit.interop.state_dict_"
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
    act = getattr(src, "activation", "relu")
    if isinstance(act, str):
        name = act
    else:
        name = getattr(act, "__name__", None) or type(act).__name__.lower()
    if name not in ("relu", "gelu"):
        raise _unsupported(src, path, side, f"its activation {act!r} is not 'relu' or 'gelu' "
                                            f"(a custom callable cannot be translated)")
    return name


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


def _build_parameter_list(src, dst_cls, side, path):
    return dst_cls([side.param(p) for p in src])


def _build_parameter_dict(src, dst_cls, side, path):
    return dst_cls({k: side.param(p) for k, p in src.items()})


_BUILDERS = {
    "TransformerEncoderLayer": _build_transformer_layer,
    "TransformerEncoder": _build_transformer_encoder,
    "RNN": _build_rnn, "LSTM": _build_rnn, "GRU": _build_rnn,
    "MultiheadAttention": _build_mha,
    "ParameterList": _build_parameter_list,
    "ParameterDict": _build_parameter_dict,
}


def _convert(mod, side, path, memo=True):
    if memo and id(mod) in side.memo:                   # a module used twice stays one module
        return side.memo[id(mod)][1]
    name = type(mod).__name__
    dst_cls = getattr(side.nn, name, None)
    if (dst_cls is None or not type(mod).__module__.startswith(side.src_pkg + ".nn")
            or not isinstance(dst_cls, type)):
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

    Raises TypeError for your own Module subclasses (see the module docstring for the recipe).
    """
    side = _Side("torch")
    return _finish(module, _convert(module, side, ""), side)


def from_torch(module):
    """A labkit module with torch ``module``'s architecture, weights, buffers and modes."""
    side = _Side("labkit")
    return _finish(module, _convert(module, side, ""), side)
