"""Graph nodes and the ``Function`` base class: an op's forward and backward live side by side.

Every differentiable op is a subclass of :class:`Function` with two static methods::

    class Sin(Function):
        raw = True
        derivative = "d(sin a)/da = cos a"          # in words, for the graph view

        @staticmethod
        def forward(ctx, x):              # x: a NumPy array (built-in ops work on raw arrays)
            ctx.save_for_backward(x)
            return np.sin(x)

        @staticmethod
        def backward(ctx, grad):          # one rule, for every order of derivative
            (x,) = ctx.saved_tensors
            return grad * ctx.xp.cos(x)   # one gradient per forward input (None if not needed)

Calling ``Sin.apply(t)`` runs forward and, when gradients are needed, creates the graph node
``SinBackward0`` (the output's ``grad_fn``).  The node *is* the ``ctx``: it keeps saved values,
``needs_input_grad`` and ``next_functions`` (the nodes of the inputs, as in PyTorch).

**One rule, two uses.**  An ordinary backward calls ``backward`` with NumPy arrays (fast):
``ctx.saved_tensors`` are the arrays forward saved and ``ctx.xp`` is ``numpy``.  With
``create_graph=True`` the engine calls the *same* ``backward`` with Tensors: the gradients are
Tensors, ``ctx.saved_tensors`` are the saved inputs/outputs as tensors on the graph, and ``ctx.xp``
is the gradients' array namespace (``grad.__array_namespace__()``, Tensor functions under NumPy's
names), so the gradient is itself differentiable.  A rule therefore uses operators (``g * y``,
``a @ b``, ``x > 0``), NumPy-style methods common to both (``reshape``, ``mT``, ``shape``) and
``ctx.xp.<name>`` for functions (``xp.where``, ``xp.sum(g, axis=..., keepdims=True)``).
Non-differentiable state (indices, masks, shapes) is stored on ``ctx`` (``ctx.dim = dim``).

Where a fused NumPy/Numba backward is faster, the Function also defines
``fused_backward(ctx, *grads)`` (arrays only); ordinary backward runs it, ``create_graph=True``
runs ``backward``, and a test checks that the two agree.

Built-in ops set ``raw = True``; user-defined Functions (``raw = False``, the default, like
``torch.autograd.Function``) see and return Tensors in forward and backward.  Broadcasting is
undone in one place, the engine, which sums each gradient back to its input's shape.
(``apply_pair`` is ``apply`` for the commonest call, a built-in op on two Tensors: ``a + b``.)
"""
import itertools
import weakref

import numpy as np
from numpy import ndarray      # (a module global: Python 3.11 caches no ``np.<name>`` lookup, as
                               # NumPy's module defines __getattr__, and the per-op path tests it)

from ..utils.hooks import RemovableHandle
from . import grad_mode
from .anomaly import (_anomaly, _source, _user_frame, check_forward as _check_forward_values,
                      user_frame_location)  # noqa: F401  (user_frame_location: graph.py)
from .fpstate import restore, silence

_state = grad_mode._state
_Tensor = None          # set by labkit.tensor (avoids an import cycle: tensor imports autograd)
_make = None            # labkit.tensor._make(array, requires_grad, grad_fn, out_nr)


class Node:
    """A node of the backward graph (a tensor's ``grad_fn``).  Also the ``ctx`` of its Function.

    Only the attributes every node sets live in slots; the rarely-set ones (hooks, saved-version
    info, ...) have class-level defaults, so creating a node stays cheap.

    The graph: ``next_functions`` holds one edge ``(node, output_nr)`` per forward input (``(None,
    0)`` where no gradient flows), ``needs_input_grad`` says which inputs want one, and
    ``_out_meta`` the ``(shape, dtype)`` of each of this node's outputs: the producer keeps it,
    once, as PyTorch does, and the engine fits every gradient arriving here to it (sums a
    broadcast gradient back, casts it).
    """

    __slots__ = ("next_functions", "needs_input_grad", "_out_meta", "seq", "_saved", "_src",
                 "__dict__", "__weakref__")
    _fn = None            # the Function class this node runs backward for
    _saved_vc = None      # [(version counter, version at save time, saved index, source)]
    _n_out = 1
    _freed = False        # saved values were released by a backward without retain_graph
    _pre_hooks = None
    _hooks = None
    materialize_grads = True
    _non_diff = ()
    xp = np               # the array namespace of the gradients: NumPy, or the Tensor namespace
                          # while the engine runs a rule with create_graph=True

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"

    @property
    def source(self):
        """(filename, lineno, function) of the user code that created this node, or None."""
        src = self._src
        return None if src is None else (src[0].co_filename, src[1], src[0].co_name)

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
        if self._saved_vc is not None:
            self._check_versions()
        return saved

    def _check_versions(self):
        for vc, ver, i, _ in self._saved_vc:
            if vc[0] != ver:
                s = self._saved[i]
                arr = s._np if isinstance(s, _Tensor) else s
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [labkit.{arr.dtype.name} {list(arr.shape)}], saved by "
                    f"{self.name()} (saved value {i}), is at version {vc[0]}; expected version "
                    f"{ver} instead. Hint: replace the in-place op (e.g. x.add_(...), x[...] = ..., "
                    f"x += ..., x.relu_()) with its out-of-place form (x = x + ...), or .clone() "
                    f"the tensor before modifying it.")

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
        return RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before this node's backward; may return replacement grad_outputs.

        ``retain_grad``'s hooks always run last (as in PyTorch), so ``.grad`` of a non-leaf
        shows the gradient after the tensor's other hooks."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        hooks = self._pre_hooks
        if getattr(fn, "_retains_grad", False):
            hooks.append(fn)
        else:
            at = next((i for i, h in enumerate(hooks) if getattr(h, "_retains_grad", False)),
                      len(hooks))
            hooks.insert(at, fn)
        return RemovableHandle(hooks, fn)

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


_next_seq = itertools.count(1).__next__     # creation order: backward runs newest first


def _init_node(node):
    node.next_functions = ()
    node.needs_input_grad = ()
    node._out_meta = ()
    node._saved = None
    node._src = None
    node.seq = _next_seq()


class AccumulateGrad(Node):
    """The sink of the graph for a leaf tensor that requires grad: adds into ``leaf.grad``."""
    __slots__ = ("_variable",)
    _post_acc_hooks = None      # register_post_accumulate_grad_hook: hook(leaf) once .grad is in

    def __init__(self, leaf):
        _init_node(self)
        self._variable = weakref.ref(leaf)
        self._out_meta = ((leaf._np.shape, leaf._np.dtype),)   # the gradient .grad will take

    @property
    def variable(self):
        return self._variable()


_RemovableHandle = RemovableHandle      # (the name labkit.tensor imports)


class FunctionMeta(type):
    """Gives every Function subclass its own node class, named like PyTorch's (``MulBackward0``)."""

    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        if name == "Function":
            return
        node_name = ns.get("node_name") or (name + ("Backward0" if ns.get("raw") else "Backward"))
        cls._node_cls = type(node_name, (Node,), {"__slots__": (), "_fn": cls,
                                                  "__module__": cls.__module__})
        # what an ordinary (first-order) backward runs: the fused override where there is one
        cls._backward_arrays = cls.fused_backward or cls.backward


class Function(metaclass=FunctionMeta):
    """Base class for differentiable operations (same contract as ``torch.autograd.Function``).

    Subclass it, write ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as static
    methods, and call ``YourFunction.apply(*args)``.  ``forward`` runs with grad disabled;
    ``backward`` returns one gradient per ``forward`` argument (``None`` for non-tensors or
    inputs that need no gradient).
    """
    raw = False            # True: forward/backward take and return NumPy arrays (built-in ops)
    differentiable = True
    derivative = None      # the local derivative in words, shown by the graph view
    fused_backward = None  # optional: a faster backward for NumPy arrays only (see below)

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

    @classmethod
    def call(cls, ctx, *args):
        """Use this primitive inside another Function's backward rule (``ctx``: that rule's).

        On arrays (an ordinary backward) its ``forward`` runs directly, with no graph node; on
        Tensors (``create_graph=True``) it is applied, so the gradient stays differentiable.
        E.g. ``Unfold.backward`` is ``_Fold.call(ctx, g, ...)`` and ``_Fold.backward`` is
        ``Unfold.call(ctx, g, ...)``: a linear op and its adjoint, each the other's rule."""
        if ctx.xp is np:
            return cls.forward(_Scratch(), *args)
        return cls.apply(*args)

    @classmethod
    def variant(cls, node_name):
        """This Function under another node name, as PyTorch names one kernel by how it was
        called: ``Index.variant("SelectBackward0")`` for ``x[0]``.  Same forward, backward and
        class ``__name__`` (its words and rules apply unchanged)."""
        variants = cls.__dict__.get("_variants")
        if variants is None:
            variants = {}
            type.__setattr__(cls, "_variants", variants)
        sub = variants.get(node_name)
        if sub is None:
            sub = variants[node_name] = FunctionMeta(
                cls.__name__, (cls,), {"node_name": node_name, "raw": cls.raw,
                                       "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__})
        return sub


class _Scratch:
    """A throwaway ctx: ``Function.call`` runs a forward on arrays outside the graph."""
    xp = np
    needs_input_grad = ()

    def save_for_backward(self, *values):
        pass

    def mark_non_differentiable(self, *outputs):
        pass

    def set_materialize_grads(self, value):
        pass


def _apply_raw(cls, args):
    """Built-in ops: unwrap tensors to arrays, run forward, wire up the node.

    One pass over the arguments collects the arrays for ``forward`` and, at the same time, the
    graph edges (``next_functions``) for backward.  (Observers of every op, ``graph.record()``,
    wrap this function; they turn source capture on, which sends ``apply_pair``'s calls here too.)
    """
    Tensor = _Tensor
    ctx = cls._node_cls()               # (a call, not .__new__: no attribute lookup on the type)
    ctx._saved = None
    track = _state.enabled and cls.differentiable
    arrays = []
    needs = []
    nexts = []
    any_needs = False
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a._np)
            if track and a._rg:
                any_needs = True
                needs.append(True)
                nexts.append((a.grad_fn or a._accum or a._accumulator(), a._out_nr))
                continue
        else:
            arrays.append(a)
        needs.append(False)
        nexts.append(_NO_EDGE)
    ctx.needs_input_grad = tuple(needs)
    quiet = silence()                   # IEEE results without NumPy's warnings, as PyTorch
    try:
        out = cls.forward(ctx, *arrays)
    finally:
        restore(quiet)
    if type(out) is not ndarray:
        out = _as_arrays(ctx, out)
    if type(out) is tuple:              # several outputs (e.g. values and indices)
        return _wrap_outputs(ctx, out, any_needs, args)
    if not any_needs:
        if _anomaly.enabled:
            ctx._src = None
            _check_forward(ctx, (out,))
        return _make(out, False, None, 0)
    ctx.next_functions = tuple(nexts)
    ctx._out_meta = ((out.shape, out.dtype),)
    ctx.seq = _next_seq()
    ctx._src = _user_frame(2) if _source.enabled else None
    res = _make(out, True, ctx, 0)
    if ctx._saved is not None:
        _record_versions(ctx, args, (res,))
    if _anomaly.enabled:
        _check_forward(ctx, (out,))
    return res


def apply_pair(cls, a, b):
    """``cls.apply(a, b)`` for a built-in op on two Tensors: the same result and graph node, by
    the shortest path (``a + b``, ``w * x``: the commonest calls of all, where the per-op cost
    is all there is to time on small tensors).

    No argument loop: the two edges and the output's metadata are written directly.  While
    source capture is on (anomaly mode, ``graph.record()``, ``graph.capture_source``), the call
    takes the general path, ``_apply_raw``, which records where it came from.
    """
    if _source.enabled:
        return _apply_raw(cls, (a, b))
    ctx = cls._node_cls()
    ctx._saved = None
    if _state.enabled and cls.differentiable:
        na, nb = a._rg, b._rg
    else:
        na = nb = False
    ctx.needs_input_grad = (na, nb)
    quiet = silence()
    try:
        out = cls.forward(ctx, a._np, b._np)
    finally:
        restore(quiet)
    if type(out) is not ndarray:        # a scalar (0-d inputs) or several outputs
        out = _as_arrays(ctx, out)
        if type(out) is tuple:
            return _wrap_outputs(ctx, out, na or nb, (a, b))
    if not (na or nb):
        if _anomaly.enabled:
            ctx._src = None
            _check_forward(ctx, (out,))
        return _make(out, False, None, 0)
    ctx.next_functions = (      # (the node that made each input, or its leaf's AccumulateGrad)
        (a.grad_fn or a._accum or a._accumulator(), a._out_nr) if na else _NO_EDGE,
        (b.grad_fn or b._accum or b._accumulator(), b._out_nr) if nb else _NO_EDGE)
    ctx._out_meta = ((out.shape, out.dtype),)
    ctx.seq = _next_seq()
    ctx._src = None
    res = _make(out, True, ctx, 0)
    if ctx._saved is not None:
        _record_pair_versions(ctx, a, b, res)
    if _anomaly.enabled:
        _check_forward(ctx, (out,))
    return res


_NO_EDGE = (None, 0)


def _as_arrays(ctx, out):
    """NumPy gives 0-d results as scalars; a tensor's storage must be an array (in-place ops write
    into it: ``loss += 1``).  Where forward saved such a result, the saved value becomes the same
    array, so that it is still known as the op's output (version checks, ``create_graph``)."""
    outs = out if type(out) is tuple else (out,)
    new = tuple(o if o is None or type(o) is np.ndarray else np.asarray(o) for o in outs)
    if ctx._saved is not None:
        swap = {id(o): n for o, n in zip(outs, new) if o is not n}
        if swap:
            ctx._saved = tuple(swap.get(id(v), v) for v in ctx._saved)
    return new if type(out) is tuple else new[0]


def _wrap_outputs(ctx, outs, any_needs, args):
    if not any_needs:
        if _anomaly.enabled:
            ctx._src = None
            _check_forward(ctx, outs)
        return tuple(_make(o, False, None, 0) for o in outs)
    _connect(ctx, args)
    ctx._n_out = len(outs)
    ctx._out_meta = tuple((o.shape, o.dtype) for o in outs)
    non_diff = ctx._non_diff
    res = []
    for i, o in enumerate(outs):
        diff = o.dtype.kind == "f" and not any(o is n for n in non_diff)
        res.append(_make(o, diff, ctx if diff else None, i))
    res = tuple(res)
    if ctx._saved is not None:
        _record_versions(ctx, args, res)
    if _anomaly.enabled:
        _check_forward(ctx, outs)
    return res


def _connect(ctx, args):
    """Set the graph edges of ``ctx`` from its arguments (the slower, general path)."""
    nexts = []
    Tensor = _Tensor
    for a in args:
        if isinstance(a, Tensor) and a._rg:
            fn = a.grad_fn
            nexts.append((a._accumulator() if fn is None else fn, a._out_nr))
        else:
            nexts.append(_NO_EDGE)
    ctx.next_functions = tuple(nexts)
    ctx.seq = _next_seq()
    ctx._src = _user_frame(3) if _source.enabled else None


def _record_versions(ctx, args, outputs):
    """Remember the version of every saved array that belongs to a tensor (in-place detection),
    and where it came from: input ``j`` (``j``) or output ``k`` (``~k``), so that a rule run with
    ``create_graph=True`` gets it back as a tensor on the graph (``engine._graph_saved``).
    (Runs for every op that saves something: written as plain loops, no enumerate, for speed.)"""
    info = None
    Tensor = _Tensor
    i = 0
    for s in ctx._saved:
        owner = None
        if isinstance(s, Tensor):
            owner = s
            j = None
        else:
            j = 0
            for t in args:
                if isinstance(t, Tensor) and t._np is s:
                    owner = t
                    break
                j += 1
            else:
                if type(s) is ndarray or isinstance(s, np.generic):     # (0-d results: scalars)
                    k = 0
                    for t in outputs:
                        if t is not None and (t._np is s or _same_scalar(t._np, s)):
                            owner = t
                            j = ~k
                            break
                        k += 1
        if owner is not None:
            vc = owner._vc
            if info is None:
                info = [(vc, vc[0], i, j)]
            else:
                info.append((vc, vc[0], i, j))
        i += 1
    ctx._saved_vc = info


def _record_pair_versions(ctx, a, b, res):
    """``_record_versions`` for ``apply_pair``'s node, whose saved arrays are (nearly always) its
    inputs' and its output's, found by identity; anything else that could belong to a tensor
    (a Tensor, a NumPy scalar) takes the general matching."""
    x, y, out = a._np, b._np, res._np
    info = None
    i = 0
    for s in ctx._saved:
        if s is x:
            vc, j = a._vc, 0
        elif s is y:
            vc, j = b._vc, 1
        elif s is out:
            vc, j = res._vc, ~0
        elif type(s) is ndarray or type(s) in _NOT_TENSOR_DATA:
            i += 1                      # an array derived from the inputs, a number: no owner
            continue
        else:
            return _record_versions(ctx, (a, b), (res,))
        if info is None:
            info = [(vc, vc[0], i, j)]
        else:
            info.append((vc, vc[0], i, j))
        i += 1
    ctx._saved_vc = info


_NOT_TENSOR_DATA = (type(None), bool, int, float, tuple)


def _same_scalar(out, s):
    """A 0-d result NumPy handed back as a scalar (``np.float64``): forward may save one scalar
    object and return another of the same value (``y.astype(dtype, copy=False)``)."""
    return type(s) is not np.ndarray and np.shape(out) == () and out.dtype == s.dtype and out == s


def _apply_user(cls, args):
    """User-defined Function: forward sees Tensors (grad disabled) and returns Tensor(s)."""
    Tensor = _Tensor
    ctx = cls._node_cls()
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
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors, "
                            f"got {type(o).__name__}")
    if not any(needs):
        return out
    _connect(ctx, args)
    ctx._n_out = len(outs)
    non_diff = ctx._non_diff
    wrapped = []
    for i, o in enumerate(outs):
        if o is None:
            wrapped.append(None)
            continue
        if any(o is n for n in non_diff) or not o.dtype.is_floating_point:
            o._rg, o.grad_fn = False, None
            wrapped.append(o)
            continue
        if any(o is a for a in args):          # returned an input unchanged: must be a new tensor
            o = _make(o._np, False, None, 0)
        o._rg = True
        o.grad_fn = ctx
        o._out_nr = i
        wrapped.append(o)
    ctx._out_meta = tuple(None if o is None else (o._np.shape, o._np.dtype) for o in wrapped)
    if ctx._saved is not None:
        _record_versions(ctx, args, wrapped)
    if _anomaly.enabled:
        _check_forward(ctx, [w._np for w in wrapped if w is not None])
    return wrapped[0] if single else tuple(wrapped)


def _check_forward(ctx, outs):
    _check_forward_values(ctx, outs)


class once_differentiable:
    """Decorator kept for PyTorch compatibility (labkit's backward never builds a graph)."""

    def __new__(cls, fn):
        return fn
