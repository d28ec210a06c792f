"""``RemovableHandle``: what every ``register_*hook`` in labkit returns (``torch.utils.hooks``).

One class for every layer (tensors, graph nodes, modules, optimizers), so it lives low: this
module imports nothing from labkit.
"""
import itertools
import weakref

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """``handle.remove()`` unregisters the hook; also a context manager (removed on exit)::

        with model.fc1.register_forward_hook(show):
            model(x)

    Hooks live either in a dict keyed by ``handle.id`` (modules, optimizers: ``extra_dict`` are
    more dicts keyed the same way, e.g. a hook's flags) or in a list where their order matters
    (tensors and graph nodes: pass the ``hook`` itself, the list entry to remove).
    """
    _ids = itertools.count()

    def __init__(self, hooks, hook=None, *, extra_dict=None):
        self.id = next(RemovableHandle._ids)
        self._hooks = _ref(hooks)
        self._hook = hook
        extras = () if extra_dict is None else \
            (extra_dict if isinstance(extra_dict, list) else [extra_dict])
        self._extras = tuple(_ref(d) for d in extras)

    def remove(self):
        hooks = self._hooks()
        if isinstance(hooks, list):
            try:
                hooks.remove(self._hook)
            except ValueError:
                pass
        elif hooks is not None:
            hooks.pop(self.id, None)
        for ref in self._extras:
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _ref(container):
    """A weak reference where the container allows one (a handle must not keep a module's hook
    dict alive), else a strong one (lists and plain dicts)."""
    try:
        return weakref.ref(container)
    except TypeError:
        return lambda: container
