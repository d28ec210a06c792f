"""Graph nodes and the ``Function`` base class: an op's forward and backward live side by side.

Every differentiable op is a subclass of :class:`Function` with two static methods::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):              # x: a NumPy array (built-in ops work on raw arrays)
            y = np.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):          # grad: array shaped like the output
            (y,) = ctx.saved_tensors
            return grad * y               # one gradient per forward input (None if not needed)

Calling ``Exp.apply(t)`` runs forward and, when gradients are needed, creates the graph node
``ExpBackward0`` (the output's ``grad_fn``).  The node *is* the ``ctx``: it keeps saved values,
``needs_input_grad`` and ``next_functions`` (the nodes of the inputs, as in PyTorch).

Built-in ops set ``raw = True`` and see NumPy arrays; user-defined Functions (``raw = False``, the
default, like ``torch.autograd.Function``) see and return Tensors.  Broadcasting is undone in one
place, the engine, which sums each gradient back to its input's shape.
"""
import sys
import weakref

import numpy as np

from . import grad_mode

_state = grad_mode._state
_Tensor = None          # set by labkit.tensor (avoids an import cycle: tensor imports autograd)
_make = None            # labkit.tensor._make(array, requires_grad, grad_fn, out_nr)


class _Anomaly:
    enabled = False
    check_nan = True


_anomaly = _Anomaly()


class _SourceCapture:
    """Node creation records where in *user* code an op was called (for graph views and errors)."""
    enabled = True


_source = _SourceCapture()
_LABKIT_PREFIX = __name__.split(".")[0]


def user_frame_location():
    """(filename, lineno, function) of the first stack frame outside labkit, or None."""
    f = sys._getframe(2)
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if not (mod == _LABKIT_PREFIX or mod.startswith(_LABKIT_PREFIX + ".")):
            return (f.f_code.co_filename, f.f_lineno, f.f_code.co_name)
        f = f.f_back
    return None


class Node:
    """A node of the backward graph (a tensor's ``grad_fn``).  Also the ``ctx`` of its Function."""

    __slots__ = ("next_functions", "needs_input_grad", "_saved", "_saved_vc", "_in_meta",
                 "_n_out", "_freed", "_pre_hooks", "_hooks", "_retain", "source", "seq",
                 "materialize_grads", "_non_diff", "__dict__", "__weakref__")
    _fn = None            # the Function class this node runs backward for
    _seq_counter = [0]

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"

    # --- ctx API ---------------------------------------------------------------------------
    def save_for_backward(self, *values):
        self._saved = values

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access saved "
                    "tensors after they have already been freed). Saved intermediate values of the "
                    "graph are freed when you call .backward() or autograd.grad(). Specify "
                    "retain_graph=True if you need to backward through the graph a second time or "
                    "if you need to access saved tensors after calling backward.")
            return ()
        if self._saved_vc:
            self._check_versions()
        return saved

    def _check_versions(self):
        for i, (vc, ver, t_shape, t_dtype) in enumerate(self._saved_vc):
            if vc is not None and vc[0] != ver:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [labkit.{t_dtype} {list(t_shape)}], saved by "
                    f"{self.name()} (saved value {i}), is at version {vc[0]}; expected version "
                    f"{ver} instead. Hint: replace the in-place op (e.g. x.add_(...), x[...] = ..., "
                    f"x += ...) with its out-of-place form (x = x + ...), or .clone() the tensor "
                    f"before modifying it.")

    def mark_non_differentiable(self, *outputs):
        self._non_diff = outputs

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        pass

    # --- hooks -------------------------------------------------------------------------------
    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` after this node's backward; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before this node's backward; may return replacement grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(fn)
        return _RemovableHandle(self._pre_hooks, fn)

    @property
    def metadata(self):
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    @property
    def op(self):
        """The Function class this node belongs to (``None`` for AccumulateGrad)."""
        return self._fn


def _init_node(node):
    node.next_functions = ()
    node.needs_input_grad = ()
    node._saved = None
    node._saved_vc = None
    node._in_meta = ()
    node._n_out = 1
    node._freed = False
    node._pre_hooks = None
    node._hooks = None
    node._retain = None
    node.source = None
    node.materialize_grads = True
    node._non_diff = ()
    Node._seq_counter[0] += 1
    node.seq = Node._seq_counter[0]


class AccumulateGrad(Node):
    """The sink of the graph for a leaf tensor that requires grad: adds into ``leaf.grad``."""
    __slots__ = ("_variable",)

    def __init__(self, leaf):
        _init_node(self)
        self._variable = weakref.ref(leaf)
        self._in_meta = ((leaf._np.shape, leaf._np.dtype),)

    @property
    def variable(self):
        return self._variable()


class _RemovableHandle:
    __slots__ = ("_list", "_fn")

    def __init__(self, lst, fn):
        self._list, self._fn = lst, fn

    def remove(self):
        try:
            self._list.remove(self._fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.remove()


class FunctionMeta(type):
    """Gives every Function subclass its own node class, named like PyTorch's (``MulBackward0``)."""

    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        if name == "Function":
            return
        node_name = ns.get("node_name") or (name + ("Backward0" if ns.get("raw") else "Backward"))
        cls._node_cls = type(node_name, (Node,), {"__slots__": (), "_fn": cls,
                                                  "__module__": cls.__module__})


class Function(metaclass=FunctionMeta):
    """Base class for differentiable operations (same contract as ``torch.autograd.Function``).

    Subclass it, write ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as static
    methods, and call ``YourFunction.apply(*args)``.  ``forward`` runs with grad disabled;
    ``backward`` returns one gradient per ``forward`` argument (``None`` for non-tensors or
    inputs that need no gradient).
    """
    raw = False            # True: forward/backward take and return NumPy arrays (built-in ops)
    differentiable = True

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must implement backward(ctx, grad)")

    @classmethod
    def apply(cls, *args):
        if cls.raw:
            return _apply_raw(cls, args)
        return _apply_user(cls, args)


def _apply_raw(cls, args):
    """Fast path for built-in ops: unwrap tensors to arrays, run forward, wire up the node."""
    Tensor = _Tensor
    ctx = cls._node_cls.__new__(cls._node_cls)
    _init_node(ctx)
    track = _state.enabled and cls.differentiable
    needs = []
    any_needs = False
    arrays = []
    tensors = []
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a._np)
            tensors.append(a)
            r = track and a._rg
            needs.append(r)
            any_needs = any_needs or r
        else:
            arrays.append(a)
            needs.append(False)
    ctx.needs_input_grad = tuple(needs)
    out = cls.forward(ctx, *arrays)
    if type(out) is tuple:              # several outputs (e.g. values and indices)
        return _wrap_outputs(ctx, out, any_needs, args)
    if not any_needs:
        if _anomaly.enabled:
            _check_forward(ctx, (out,))
        return _make(out, False, None, 0)
    _connect(ctx, args, tensors)
    res = _make(out, True, ctx, 0)
    if ctx._saved is not None:
        _record_versions(ctx, tensors, (res,))
    if _anomaly.enabled:
        _check_forward(ctx, (out,))
    return res


def _wrap_outputs(ctx, outs, any_needs, args):
    non_diff = ctx._non_diff
    if not any_needs:
        return tuple(_make(o, False, None, 0) for o in outs)
    tensors = [a for a in args if isinstance(a, _Tensor)]
    _connect(ctx, args, tensors)
    ctx._n_out = len(outs)
    res = tuple(_make(o, not any(o is n for n in non_diff) and o.dtype.kind == "f",
                      ctx, i) for i, o in enumerate(outs))
    for r in res:
        if not r._rg:
            r.grad_fn = None
    if ctx._saved is not None:
        _record_versions(ctx, tensors, res)
    if _anomaly.enabled:
        _check_forward(ctx, outs)
    return res


def _connect(ctx, args, tensors):
    nexts = []
    metas = []
    Tensor = _Tensor
    for a in args:
        if isinstance(a, Tensor):
            if a._rg:
                fn = a.grad_fn
                if fn is None:
                    fn = a._accumulator()
                nexts.append((fn, a._out_nr))
                metas.append((a._np.shape, a._np.dtype))
            else:
                nexts.append((None, 0))
                metas.append(None)
        else:
            nexts.append((None, 0))
            metas.append(None)
    ctx.next_functions = tuple(nexts)
    ctx._in_meta = tuple(metas)
    if _source.enabled:
        ctx.source = user_frame_location()


def _record_versions(ctx, tensors, outputs):
    """Remember the version of every saved array that belongs to a tensor (in-place detection)."""
    info = []
    for s in ctx._saved:
        entry = None
        if isinstance(s, np.ndarray):
            for t in tensors:
                if t._np is s:
                    entry = (t._vc, t._vc[0], s.shape, t.dtype.name)
                    break
            else:
                for t in outputs:
                    if t._np is s:
                        entry = (t._vc, t._vc[0], s.shape, t.dtype.name)
                        break
        elif isinstance(s, _Tensor):
            entry = (s._vc, s._vc[0], s._np.shape, s.dtype.name)
        if entry is not None:
            info.append(entry)
    if info:
        ctx._saved_vc = info


def _apply_user(cls, args):
    """User-defined Function: forward sees Tensors (grad disabled) and returns Tensor(s)."""
    Tensor = _Tensor
    ctx = cls._node_cls.__new__(cls._node_cls)
    _init_node(ctx)
    track = _state.enabled
    needs = tuple(isinstance(a, Tensor) and a._rg and track for a in args)
    ctx.needs_input_grad = needs
    prev = _state.enabled
    _state.enabled = False
    try:
        out = cls.forward(ctx, *args)
    finally:
        _state.enabled = prev
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    for o in outs:
        if not isinstance(o, Tensor) and o is not None:
            raise TypeError(f"{cls.__name__}.forward must return Tensors, got {type(o).__name__}")
    if not any(needs):
        return out
    tensors = [a for a in args if isinstance(a, Tensor)]
    _connect(ctx, args, tensors)
    ctx._n_out = len(outs)
    non_diff = ctx._non_diff
    wrapped = []
    for i, o in enumerate(outs):
        if o is None:
            wrapped.append(None)
            continue
        if any(o is n for n in non_diff) or not o.dtype.is_floating_point:
            wrapped.append(_make(o._np, False, None, 0))
            continue
        if any(o is a for a in args):          # returned an input unchanged: must be a new tensor
            o = _make(o._np, False, None, 0)
        o._rg = True
        o.grad_fn = ctx
        o._out_nr = i
        wrapped.append(o)
    if ctx._saved is not None:
        _record_versions(ctx, tensors, [w for w in wrapped if w is not None])
    return wrapped[0] if single else tuple(wrapped)


def _check_forward(ctx, outs):
    from .anomaly import check_forward
    check_forward(ctx, outs)


class once_differentiable:
    """Decorator kept for PyTorch compatibility (labkit's backward never builds a graph)."""

    def __new__(cls, fn):
        return fn
