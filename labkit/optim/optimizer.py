"""The ``Optimizer`` base class: parameter groups, per-parameter state, state dicts, hooks.

Every optimizer keeps

* ``defaults``: the hyper-parameters given to the constructor (``lr``, ``momentum`` ...);
* ``param_groups``: a list of dicts, each ``{'params': [tensors], 'lr': ..., ...}``; a group that
  does not name a hyper-parameter takes it from ``defaults``;
* ``state``: a dict ``{parameter tensor: {'step': ..., 'exp_avg': ...}}`` filled lazily by the
  first ``step()`` that sees the parameter with a gradient.

``state_dict()`` uses PyTorch's layout: parameters are replaced by their integer index (counting
through all groups in order), so the dict holds no reference to the model and can be saved with
``labkit.save`` and loaded into a fresh optimizer over a fresh model.

The arithmetic of each ``step`` lives in fused kernels (``labkit/kernels/optim_jit.py``, with the
NumPy reference in ``optim_reference.py``) that update the float32 arrays in place; the less common
optimizers (NAdam, RAdam, Adamax, Rprop, ASGD) update with plain NumPy in the parameter's dtype.
"""
import copy
import functools
from collections import OrderedDict, defaultdict

import numpy as np

from .. import kernels
from ..autograd import grad_mode
from ..kernels import optim_reference
from ..tensor import Tensor, _make
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that every param group must specify (``SGD(params)`` needs lr)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_EMPTY = {np.dtype(np.float32): np.empty(0, np.float32),
          np.dtype(np.float64): np.empty(0, np.float64)}


def _empty(dtype):
    """An empty array standing in for a state buffer an option does not use."""
    e = _EMPTY.get(dtype)
    return e if e is not None else np.empty(0, dtype)


_PARALLEL = ("sgd", "adam")          # the updates with a parallel driver (kernels/par_jit.py)


def _fused_update(name, arrays, scalars, flags):
    """Run the fused kernel ``name`` on ``arrays`` (param, grad, state buffers) in place.

    Float32 contiguous parameters go to the Numba kernel (flattened to 1-D views, so the writes land
    in the tensors' storage); anything else (float64, non-contiguous) to the NumPy reference.
    ``scalars`` are converted to the parameter's dtype, so the arithmetic stays in that precision
    just as PyTorch's does.
    """
    p = arrays[0]
    dt = p.dtype
    mod = kernels.backend("optim", p, *arrays[2:], work=p.size if name in _PARALLEL else 0)
    if mod is optim_reference:
        getattr(mod, name)(*arrays, *[dt.type(s) for s in scalars], *flags)
        return
    g = arrays[1]
    if not g.flags.c_contiguous or g.dtype != dt:        # e.g. a broadcast gradient
        g = np.ascontiguousarray(g, dtype=dt)
    flat = [p.reshape(-1), g.reshape(-1)] + [a.reshape(-1) for a in arrays[2:]]
    getattr(mod, name)(*flat, *[dt.type(s) for s in scalars], *flags)


def _grad_array(p):
    """The gradient of ``p`` as an ndarray of p's dtype (None when there is none)."""
    g = p._grad
    if g is None:
        return None
    arr = g._np
    if arr.shape != p._np.shape:
        raise RuntimeError(f"the gradient of a parameter has shape {list(arr.shape)} but the "
                           f"parameter has shape {list(p._np.shape)}; assign grads of the same "
                           f"shape as the parameter")
    if arr.dtype != p._np.dtype:
        arr = arr.astype(p._np.dtype)
    return arr


def _bump_version(p):
    # The update is an in-place write: a saved copy of p in an old graph must notice.
    p._vc[0] += 1


def _scalar_tensor(value, dtype=np.float32):
    return _make(np.array(value, dtype=dtype))


# Shared by the optimizers (the checks also by Adam/AdamW; the loop by the plain-NumPy ones:
# NAdam, RAdam, Adamax, Rprop, ASGD).

def _params_with_grads(optimizer, group, init):
    """``(p, g, state)`` for ``group``'s parameters that have a gradient: ``g`` the gradient as
    an array of p's dtype, negated when the group maximizes; ``state`` p's state, made on first
    use (``'step'``, then the entries ``init(p)`` returns, in that order) and its step counted."""
    for p in group["params"]:
        g = _grad_array(p)
        if g is None:
            continue
        state = optimizer.state[p]
        if len(state) == 0:
            state["step"] = _scalar_tensor(0.0)
            state.update(init(p))
        state["step"]._np[...] += 1
        yield p, (-g if group["maximize"] else g), state


def _zeros(p):
    return _make(np.zeros_like(p._np))


def _check_adam_like(lr, betas, eps, weight_decay):
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _refuse_differentiable(differentiable):
    if differentiable:
        raise NotImplementedError("labkit optimizers are not differentiable "
                                  "(differentiable=True is not supported)")


def _use_grad_for_differentiable(func):
    """Run ``step`` with autograd off (labkit's optimizers are never differentiable)."""
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        prev = grad_mode._state.enabled
        grad_mode._state.enabled = False
        try:
            return func(self, *args, **kwargs)
        finally:
            grad_mode._state.enabled = prev
    return wrapper


def _call_closure(closure):
    """Evaluate the closure with autograd enabled (it usually calls ``loss.backward()``)."""
    if closure is None:
        return None
    prev = grad_mode._state.enabled
    grad_mode._state.enabled = True
    try:
        return closure()
    finally:
        grad_mode._state.enabled = prev


class Optimizer:
    r"""Base class for all optimizers (``labkit.optim.Optimizer`` ~ ``torch.optim.Optimizer``).

    Args:
        params (iterable): an iterable of Tensors, or of dicts each defining a parameter group
            (``{'params': [...], 'lr': 0.1}``): groups may override any hyper-parameter.
        defaults (dict): the default hyper-parameters (used by groups that do not set them).

    Subclasses implement ``step(closure=None)``. A subclass's ``step`` is wrapped so that step
    pre/post hooks run around it and learning-rate schedulers can tell whether it was called.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__} (a single tensor); "
                            "pass a list: [tensor] or model.parameters()")
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. Please "
                            "use a list instead.")
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list (did the model define any "
                             "parameters? model.parameters() of a model without layers is empty)")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- subclasses may wrap step: pre/post hooks run around the subclass's own step -------------
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_step_hooks(cls.__dict__["step"])

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += "\n"
            s += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        s += ")"
        return s

    # -- parameter groups -----------------------------------------------------------------------
    def add_param_group(self, param_group):
        r"""Add a param group to the optimizer's ``param_groups``.

        Useful when fine-tuning: unfreeze layers and add them with their own ``lr``.

        Args:
            param_group (dict): specifies the Tensors to optimize (``'params'``) and any
                group-specific options (the rest fall back to ``defaults``).
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. Please "
                            "use a list instead.")
        else:
            param_group["params"] = list(params)

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed from other "
                                 "tensors); optimize the leaf it came from, or make it a leaf "
                                 "with .detach().requires_grad_()")
            if not param.dtype.is_floating_point:
                raise TypeError(f"optimizer can only optimize floating point Tensors, but one of "
                                f"the params has dtype {param.dtype}")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients ------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        r"""Reset the gradients of all optimized tensors.

        Args:
            set_to_none (bool): instead of filling with zeros, set ``.grad`` to None (the default;
                saves memory, and ``p.grad is None`` then shows which parameters got no gradient).
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    g.grad_fn = None
                    g._rg = False
                    g._np[...] = 0

    def step(self, closure=None):
        r"""Perform a single optimization step (update the parameters).

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss (needed by
                some algorithms; accepted by all).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement step(closure=None)")

    # -- hooks ----------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``; returns a removable handle."""
        h = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[h.id] = hook
        return h

    def register_step_post_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``; returns a removable handle."""
        h = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[h.id] = hook
        return h

    # -- state dict -----------------------------------------------------------------------------
    def state_dict(self):
        r"""The optimizer's state as a dict (PyTorch's layout).

        * ``state``: ``{index: {'step': tensor, 'exp_avg': tensor, ...}}`` for each parameter that
          has state; the index counts the parameters through all groups in order.
        * ``param_groups``: a list of dicts with the hyper-parameters and ``'params'``: the list of
          indices of that group's parameters.
        """
        index_of = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if id(p) not in index_of:
                    index_of[id(p)] = start
                    start += 1
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(p)]: v for p, v in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        r"""Load optimizer state (as returned by :meth:`state_dict`, possibly via ``labkit.load``).

        The parameters are matched by position: build the optimizer over the same model the same
        way as when the state was saved. Floating-point state tensors are cast to their
        parameter's dtype (``step`` stays as it is).
        """
        state_dict = copy.deepcopy(state_dict)
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than this optimizer ({len(groups)})")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group: group {i} has "
                                 f"{len(sg['params'])} parameters in the state dict but "
                                 f"{len(g['params'])} in this optimizer")
        id_map = {}
        for g, sg in zip(groups, saved_groups):
            for old_id, p in zip(sg["params"], g["params"]):
                id_map[int(old_id)] = p

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            k = int(k)
            if k not in id_map:
                continue
            param = id_map[k]
            state[param] = {key: _cast_state(param, key, value) for key, value in v.items()}

        new_groups = []
        for g, sg in zip(groups, saved_groups):
            ng = dict(sg)
            ng["params"] = g["params"]
            if "betas" in ng and isinstance(ng["betas"], list):
                ng["betas"] = tuple(ng["betas"])
            new_groups.append(ng)
        self.state = state
        self.param_groups = new_groups


def _cast_state(param, key, value):
    if not isinstance(value, Tensor):
        if isinstance(value, np.ndarray):
            value = _make(np.array(value))
        else:
            return value
    if key == "step":
        return value
    if value._np.dtype.kind == "f" and value._np.dtype != param._np.dtype:
        return _make(value._np.astype(param._np.dtype))
    if value._np.shape != param._np.shape and value._np.size == param._np.size:
        return _make(np.array(value._np.reshape(param._np.shape), order="C"))
    return _make(np.array(value._np, order="C"))


def _with_step_hooks(step):
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for hook in list(self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
                args, kwargs = result
        out = step(self, *args, **kwargs)
        for hook in list(self._optimizer_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    wrapper._labkit_step_hooks = True
    return wrapper
