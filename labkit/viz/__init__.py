"""labkit.viz: notebook widgets that show training while it runs.

    mon = labkit.viz.Monitor()                 # live curves, progress bar, runs, PNG/CSV export
    b = labkit.viz.boundary(model, X, y)       # decision boundary + first-layer neurons (2-D data)
    labkit.viz.lr_find(model, loss_fn, loader) # learning-rate range test with a suggestion
    labkit.viz.watch(model)                    # per-layer gradient / activation health
    labkit.viz.graph(loss, params=model)       # the backward graph; click a node for stats
    labkit.viz.step(lambda: loss_fn(model(x), y))   # replay forward and backward op by op

Widgets are anywidgets: they work offline (the JavaScript ships in labkit/static) in JupyterLab 4,
Notebook 7 and VS Code, update in place, and are throttled so that training is not slowed down.
Imported lazily, so ``import labkit`` stays fast and needs no widget libraries.

The implementation modules have private names (``labkit.viz._boundary``...): importing a submodule
binds its name on the package, so a module named like a public function (``boundary``) would
replace the function.  tests/test_viz_names.py keeps every public name distinct from every module.
"""
import importlib

# public name -> the module (in this package) that defines it
_EXPORTS = {
    "Monitor": "monitor",
    "Boundary": "_boundary",
    "boundary": "_boundary",
    "lr_find": "_lr_find",
    "LRFinderResult": "_lr_find",
    "watch": "_watch",
    "Watch": "_watch",
    "graph": "graphview",
    "GraphView": "graphview",
    "step": "stepper",
    "Stepper": "stepper",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'labkit.viz' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
