"""Module hooks: the global ones (``register_module_forward_hook`` ...: every module) and the
machinery of ``register_full_backward_hook`` (identity graph nodes around a module's call).

``Module.__call__`` (module.py) runs them; the live widgets attach through them.
"""
from collections import OrderedDict

from ...autograd import grad_mode
from ...autograd.function import Function
from ...tensor import Tensor, _make
from ...utils.hooks import RemovableHandle

__all__ = ["register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_hook"]


# Global hooks (``nn.modules.module.register_module_forward_hook``): run for every module.
_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_backward_hooks = OrderedDict()
_global_any = [False]


def _refresh_global():
    _global_any[0] = bool(_global_forward_pre_hooks or _global_forward_hooks or
                          _global_backward_hooks)


class _GlobalHandle(RemovableHandle):
    def remove(self):
        super().remove()
        _refresh_global()


def register_module_forward_pre_hook(hook):
    """Register ``hook(module, args)`` to run before ``forward`` of every module."""
    h = _GlobalHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[h.id] = hook
    _refresh_global()
    return h


def register_module_forward_hook(hook):
    """Register ``hook(module, args, output)`` to run after ``forward`` of every module."""
    h = _GlobalHandle(_global_forward_hooks)
    _global_forward_hooks[h.id] = hook
    _refresh_global()
    return h


def register_module_full_backward_hook(hook):
    """Register ``hook(module, grad_input, grad_output)`` for every module."""
    h = _GlobalHandle(_global_backward_hooks)
    _global_backward_hooks[h.id] = hook
    _refresh_global()
    return h


# ---------------------------------------------------------------- backward hooks
class BackwardHookFunction(Function):
    """Identity on tensors: a graph node where module backward hooks can observe gradients."""
    raw = True
    derivative = "identity: the gradients pass through (module backward hooks see them here)"

    @staticmethod
    def forward(ctx, *arrays):
        return tuple(arrays)

    @staticmethod
    def backward(ctx, *grads):
        return grads


class _BackwardHook:
    """Wires ``register_full_backward_hook`` into the graph (as PyTorch's BackwardHook does).

    The module's tensor inputs go through an identity node before ``forward`` and its outputs
    through another one after.  The output node's pre-hook sees ``grad_output``; the input node's
    hook sees ``grad_input`` and calls the user hooks, which may replace ``grad_input``.  When no
    input requires grad the hooks fire right away with ``grad_input`` all None.
    """

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_node = None

    def setup_input_hook(self, args):
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(idx)
        need = [i for i in idx if args[i].requires_grad]
        if not need or not grad_mode._state.enabled:
            return args
        outs = BackwardHookFunction.apply(*[args[i] for i in need])
        outs = outs if isinstance(outs, tuple) else (outs,)
        node = outs[0].grad_fn
        self.input_node = node
        pos = {i: k for k, i in enumerate(need)}
        order = [pos.get(i) for i in idx]   # where each tensor input's grad sits in the node

        def hook(grad_inputs, grad_outputs):
            gi = tuple(None if k is None else _wrap(grad_inputs[k]) for k in order)
            res = self._run_hooks(gi)
            if res is None:
                return None
            new = list(grad_inputs)
            for k, r in zip(order, res):
                if k is not None:
                    new[k] = None if r is None else (r._np if isinstance(r, Tensor) else r)
            return tuple(new)
        node.register_hook(hook)
        args = list(args)
        for i, o in zip(need, outs):
            args[i] = o
        return tuple(args)

    def setup_output_hook(self, result):
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple):
            return result
        idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not idx or not grad_mode._state.enabled:
            return result
        wrapped = BackwardHookFunction.apply(*[outs[i] for i in idx])
        wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
        node = wrapped[0].grad_fn
        n_total = len(outs)

        def prehook(grad_outputs):
            go = [None] * n_total
            for k, i in enumerate(idx):
                go[i] = _wrap(grad_outputs[k])
            go = tuple(go)
            for h in self.user_pre_hooks:
                r = h(self.module, go)
                if r is not None:
                    go = tuple(r) if isinstance(r, (tuple, list)) else (r,)
            self.grad_outputs = go
            if self.input_node is None:           # no input requires grad: fire now
                self._run_hooks((None,) * self.n_inputs)
            if any(g is not None for g in go):
                graph = any(isinstance(g, Tensor) for g in grad_outputs)   # create_graph=True
                return tuple(None if go[i] is None else go[i] if graph else go[i]._np
                             for i in idx)
            return None
        node.register_prehook(prehook)
        outs = list(outs)
        for i, o in zip(idx, wrapped):
            outs[i] = o
        return outs[0] if single else tuple(outs)

    def _run_hooks(self, grad_input):
        res = None
        for h in self.user_hooks:
            r = h(self.module, grad_input, self.grad_outputs)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(r)}, but expected {len(grad_input)}")
                grad_input = res = r
        return res


def _wrap(g):
    """A gradient for the user's hooks as a Tensor (with create_graph=True it is one already)."""
    return g if g is None or isinstance(g, Tensor) else _make(g)
