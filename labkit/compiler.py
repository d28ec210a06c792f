"""``labkit.compile``: accepted, and eager.

``torch.compile`` turns a model or function into an optimised graph.  labkit is an eager
engine (each op runs as it is called, which is what lets the widgets show every step), so
``labkit.compile(model)`` returns ``model`` itself, unchanged: the same object, the same
``state_dict`` keys (no ``_orig_mod.`` prefix), the same numbers.  It accepts every argument
``torch.compile`` takes, so PyTorch programs run without edits::

    model = labkit.compile(model)                     # returns model
    model = labkit.compile(model, mode="max-autotune", fullgraph=True)

    @labkit.compile                                   # as a decorator
    def step(x): ...

    @labkit.compile(dynamic=True)                     # with arguments
    def step(x): ...
"""

__all__ = ["compile", "disable", "is_compiling", "is_dynamo_compiling", "reset",
           "list_backends"]

_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None,
            options=None, name=None, disable=False, recompile_limit=None,
            isolate_recompiles=False, shapes_spec=None):
    """Return ``model`` (an ``nn.Module`` or a function) unchanged: labkit runs eagerly.

    Args (as ``torch.compile``; checked, then without effect):
        model (Module or callable, optional): without it, returns a decorator
        fullgraph (bool), dynamic (bool or None), backend (str or callable),
        mode (str): ``"default"``, ``"reduce-overhead"``, ``"max-autotune"`` or
            ``"max-autotune-no-cudagraphs"``
        options (dict), disable (bool); backend=None is PyTorch's default ("inductor");
        name, recompile_limit, isolate_recompiles, shapes_spec: they steer recompilation,
        which an eager engine never does
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if options is not None and not isinstance(options, dict):
        raise RuntimeError(f"options must be a dict, got {type(options).__name__}")
    if not (backend is None or isinstance(backend, str) or callable(backend)):
        raise RuntimeError(f"backend must be a string or a callable, got "
                           f"{type(backend).__name__}")
    if model is None:
        def decorator(fn):
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                           mode=mode, options=options, name=name, disable=disable,
                           recompile_limit=recompile_limit,
                           isolate_recompiles=isolate_recompiles, shapes_spec=shapes_spec)
        return decorator
    if not callable(model):
        raise RuntimeError(f"compile expects a Module or a callable, got "
                           f"{type(model).__name__}")
    return model


def disable(fn=None, recursive=True, *, reason=None):
    """``torch.compiler.disable``: labkit never compiles, so ``fn`` is returned as is."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling():
    """False: nothing in labkit runs under a compiler."""
    return False


is_dynamo_compiling = is_compiling


def reset():
    """Nothing to reset (kept for ``torch.compiler.reset()``)."""


def list_backends(exclude_tags=()):
    """No compiler backends: labkit is eager."""
    return []
