"""labkit.viz: notebook widgets that show training while it runs.

    mon = labkit.viz.Monitor()                 # live curves, progress bar, runs, PNG/CSV export
    b = labkit.viz.boundary(model, X, y)       # decision boundary + first-layer neurons (2-D data)
    labkit.viz.lr_find(model, loss_fn, loader) # learning-rate range test with a suggestion
    labkit.viz.watch(model)                    # per-layer gradient / activation health
    labkit.viz.graph(loss, params=model)       # the backward graph; click a node for stats
    labkit.viz.step(lambda: loss_fn(model(x), y))   # replay forward and backward op by op
    labkit.viz.show(t)                         # look inside a tensor: heatmap, slices, stats
    labkit.viz.attention(w, tokens)            # attention patterns, head by head, hover a token
    labkit.viz.activations(model, x)           # per-layer activations; dead/saturated units
    labkit.viz.embeddings(emb, labels)         # an embedding table in 2-D (PCA), live

Widgets are anywidgets (all on ``labkit.viz._base.Widget``): they work offline (the JavaScript ships
in labkit/static, built from extensions/src) in JupyterLab 4, Notebook 7, VS Code and marimo
(``mo.ui.anywidget(w)``), update in place, and are throttled so that training is not slowed down.
Each leaves a static picture as a separate output, which the live widget hides, so nbconvert's
HTML and viewers without widgets show it.  Imported lazily, so ``import labkit`` stays fast and
needs no widget libraries.

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
    "show": "_tensorview",
    "TensorView": "_tensorview",
    "attention": "_attention",
    "AttentionView": "_attention",
    "activations": "_activations",
    "Activations": "_activations",
    "embeddings": "_embeddings",
    "EmbeddingView": "_embeddings",
}

__all__ = sorted(_EXPORTS)


def _register_tensor_views():
    """In IPython, a labkit tensor that is a cell's last expression shows the static tensor view
    (text/html; ``repr`` stays PyTorch's text), and treescope, if installed, renders labkit
    tensors like arrays.  NumPy only: no widget library is imported here."""
    import importlib.util
    from ._tensorcard import register_ipython, register_treescope
    register_ipython()
    if importlib.util.find_spec("treescope") is not None:
        register_treescope()


_register_tensor_views()


def __getattr__(name):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'labkit.viz' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
