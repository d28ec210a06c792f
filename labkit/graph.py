"""The graph API the widgets read: ``trace`` (the backward graph as plain data) and ``record``
(an ordered tape of one forward and backward pass, for op-by-op replay).

Everything returned is JSON-serialisable (dicts, lists, str, int, float, bool, None), so a
widget can ship it to the browser as is.  The contract (version 1):

``trace(*tensors, params=None)`` returns::

    {"version": 1,
     "roots": ["n12"],                      # ids of the nodes the tensors hang from
     "nodes": [{"id": "n12",
                "kind": "op" | "leaf" | "param",
                "label": "MulBackward0" | "<param name>" | "leaf",
                "op": "Mul" | "AccumulateGrad",          # Function class name
                "shape": [2, 3], "dtype": "float32",
                "requires_grad": true,
                "source": {"file": ..., "line": 12, "func": ..., "code": "y = a * b"} | null,
                "rule": "d(a*b)/da = b ..." | null,      # the local derivative, in words
                "value": <stats> | null,                  # leaves/params/roots (values of
                "grad": <stats> | null}],                 #   intermediates: use record())
     "edges": [{"source": "n3", "target": "n12", "index": 0}]}   # forward direction

``<stats>`` is ``{"numel", "shape", "mean", "std", "min", "max", "absmax", "norm", "nonfinite",
"zero_frac", "hist": {"edges": [...], "counts": [...]}, "values": [...] (only when numel <= 64)}``.

``with record() as tape:`` captures every op call (also ops that need no gradient) and every
backward step; ``tape.to_dict()`` gives ``{"version": 1, "tensors": {...}, "forward": [...],
"backward": [...]}`` (see :class:`Tape`).  Recording swaps the engine's apply functions for
recording ones while the block runs, so when nothing records, ops pay nothing at all.
"""
import linecache
import math

import numpy as np

from .autograd import engine as _engine
from .autograd import function as _F
from .autograd.function import AccumulateGrad
from .tensor import Tensor

__all__ = ["trace", "record", "Tape", "summarize", "capture_source", "RULES"]

MAX_VALUES = 64

# The local derivative of each primitive, in words (shown by the graph view and the stepper).
RULES = {
    "Add": "d(a+b)/da = 1, d(a+b)/db = 1: the gradient passes through unchanged",
    "Sub": "d(a-b)/da = 1, d(a-b)/db = -1",
    "Mul": "d(a*b)/da = b, d(a*b)/db = a: each input gets the gradient times the other input",
    "Div": "d(a/b)/da = 1/b, d(a/b)/db = -a/b^2",
    "Pow": "d(a^n)/da = n*a^(n-1), d(a^n)/dn = a^n*ln(a)",
    "Neg": "d(-a)/da = -1",
    "Exp": "d(e^a)/da = e^a (the output itself)",
    "Log": "d(ln a)/da = 1/a",
    "Log1p": "d(ln(1+a))/da = 1/(1+a)",
    "Expm1": "d(e^a - 1)/da = e^a",
    "Sqrt": "d(sqrt a)/da = 1/(2 sqrt a)",
    "Rsqrt": "d(a^-1/2)/da = -1/2 a^-3/2",
    "Sin": "d(sin a)/da = cos a",
    "Cos": "d(cos a)/da = -sin a",
    "Tanh": "d(tanh a)/da = 1 - tanh(a)^2",
    "Sigmoid": "d(s(a))/da = s(a) * (1 - s(a))",
    "Relu": "d(relu a)/da = 1 where a > 0, else 0",
    "Abs": "d|a|/da = sign(a)",
    "Clamp": "gradient passes where min <= a <= max, 0 where clamped",
    "Maximum": "the gradient goes to the larger input (split on ties)",
    "Minimum": "the gradient goes to the smaller input (split on ties)",
    "Where": "the gradient goes to whichever input was selected",
    "Sum": "d(sum a)/da_i = 1: the gradient is copied to every summed element",
    "Mean": "d(mean a)/da_i = 1/n",
    "Prod": "d(prod a)/da_i = product of the other elements",
    "MaxMinDim": "only the selected (max/min) element receives the gradient",
    "AMaxMin": "the max/min element(s) receive the gradient, split between ties",
    "Var": "d(var a)/da_i = 2 (a_i - mean) / (n - correction)",
    "Norm2": "d||a||/da = a / ||a||",
    "Logsumexp": "d(logsumexp a)/da = softmax(a)",
    "Cumsum": "the gradient of a cumulative sum is the reversed cumulative sum of the gradient",
    "MatMul": "d(A@B)/dA = G @ B^T, d(A@B)/dB = A^T @ G",
    "Einsum": "each operand's gradient is an einsum of the output gradient with the others",
    "Softmax": "dy/dx = y * (g - sum(g*y)): the softmax Jacobian applied to the gradient",
    "LogSoftmax": "dy/dx = g - softmax(x) * sum(g)",
    "Reshape": "reshape the gradient back to the input's shape",
    "Permute": "permute the gradient back with the inverse permutation",
    "Expand": "sum the gradient over the broadcast (expanded) dimensions",
    "Repeat": "sum the gradient over the repeated copies",
    "Cat": "split the gradient back into the concatenated pieces",
    "Stack": "unstack the gradient back into the stacked pieces",
    "Index": "scatter the gradient back to the indexed positions (zeros elsewhere)",
    "IndexPut": "the overwritten positions get no gradient; the written values get theirs",
    "Gather": "scatter-add the gradient back to the gathered positions",
    "Scatter": "the written positions pass the gradient to the source",
    "MaskedFill": "filled positions get no gradient",
    "Flip": "flip the gradient back",
    "Roll": "roll the gradient back",
    "Tri": "the zeroed triangle gets no gradient",
    "Clone": "the gradient passes through unchanged",
    "To": "the gradient is converted back to the input's dtype",
    "Lerp": "d/da = 1-w, d/db = w, d/dw = b-a",
    "Addcmul": "d/da = 1, d/db = v*c, d/dc = v*b",
    "AccumulateGrad": "adds the incoming gradient into the leaf's .grad",
    # fused nn ops (labkit.nn.functional)
    "Linear": "y = x W^T + b: dx = G W, dW = G^T x, db = sum of G over the batch",
    "Conv2d": "dx = transposed convolution of G with the kernels; dW = correlation of x with G; "
              "db = sum of G",
    "ConvTranspose2d": "the gradient of a transposed convolution is a convolution (and vice versa)",
    "Unfold": "fold (sum) the gradient patches back onto the image",
    "MaxPool2d": "only the max element of each window receives the gradient",
    "AvgPool2d": "each element of a window receives G / (window size)",
    "BatchNorm": "normalised over the batch: dx = (G - mean(G) - x_hat * mean(G * x_hat)) / std",
    "LayerNorm": "normalised over the features: dx = (G - mean(G) - x_hat * mean(G * x_hat)) / std",
    "GroupNorm": "normalised over each group: as LayerNorm, within the group",
    "Dropout": "dropped elements get 0, kept ones G / (1 - p)",
    "Embedding": "scatter-add G into the rows of the table that were looked up",
    "CrossEntropy": "d loss / d logits = (softmax(logits) - one_hot(target)) / N",
    "NLLLoss": "d loss / d logp = -1/N at the target class, 0 elsewhere",
    "BinaryCrossEntropy": "d loss / dp = (p - y) / (p (1 - p)) / N",
    "BCEWithLogits": "d loss / d logit = (sigmoid(logit) - y) / N",
    "LeakyReLU": "1 where x > 0, the negative slope elsewhere",
    "ELU": "1 where x > 0, alpha * e^x elsewhere",
    "GELU": "d(x Phi(x))/dx = Phi(x) + x phi(x)",
    "SiLU": "d(x s(x))/dx = s(x) (1 + x (1 - s(x)))",
    "Softplus": "d softplus(x)/dx = sigmoid(x)",
    "Mish": "d(x tanh(softplus x))/dx = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)",
    "Hardtanh": "1 inside [min, max], 0 outside",
    "LogSigmoid": "d log s(x)/dx = 1 - s(x)",
    "ConstantPad": "crop the gradient back to the unpadded region",
}


def capture_source(enabled=True):
    """Record the user's source line on every graph node (about 1 us per op)."""
    prev = _F._source.enabled
    _F._source.enabled = bool(enabled)
    return prev


# --------------------------------------------------------------------------------------- stats
def summarize(arr, bins=20, max_values=MAX_VALUES):
    """Cheap summary statistics of an array (one sort-free pass per statistic, float64 sums)."""
    if arr is None:
        return None
    if isinstance(arr, Tensor):
        arr = arr._np
    a = np.asarray(arr)
    out = {"numel": int(a.size), "shape": list(a.shape), "dtype": str(a.dtype)}
    if a.size == 0:
        return out
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    finite = np.isfinite(a) if a.dtype.kind == "f" else None
    nonfinite = 0 if finite is None else int(a.size - np.count_nonzero(finite))
    f = a[finite] if nonfinite else a
    out["nonfinite"] = nonfinite
    if f.size:
        f64 = f.astype(np.float64, copy=False)
        mn, mx = float(f64.min()), float(f64.max())
        out.update(mean=float(f64.mean()), std=float(f64.std()), min=mn, max=mx,
                   absmax=float(max(abs(mn), abs(mx))), norm=float(np.sqrt(np.dot(f64.ravel(), f64.ravel()))),
                   zero_frac=float(np.count_nonzero(f64 == 0) / f64.size))
        if mx > mn:
            counts, edges = np.histogram(f64, bins=bins, range=(mn, mx))
            out["hist"] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
        else:
            out["hist"] = {"edges": [mn, mx], "counts": [int(f64.size)]}
    if a.size <= max_values:
        out["values"] = [_num(v) for v in a.ravel().tolist()]
    return out


def _num(v):
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)          # JSON has no NaN/Inf
    return v


def _source(src):
    if not src:
        return None
    fname, line, func = src
    return {"file": fname, "line": int(line), "func": func,
            "code": linecache.getline(fname, line).strip() or None}


def _param_names(params):
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = dict(params.named_parameters())
    return {id(t): name for name, t in dict(params).items()}


# --------------------------------------------------------------------------------------- trace
def _walk(root_nodes):
    """All nodes reachable from the roots, iteratively (deep graphs are fine)."""
    seen = {}
    stack = list(root_nodes)
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen[id(n)] = n
        for nxt, _ in n.next_functions:
            if nxt is not None and id(nxt) not in seen:
                stack.append(nxt)
    return sorted(seen.values(), key=lambda n: n.seq)


def node_id(node):
    return f"n{node.seq}"


def trace(*tensors, params=None, stats=True):
    """The backward graph behind ``tensors`` as plain data (see the module docstring)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    names = _param_names(params)
    roots, root_meta = [], {}
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"trace() expects tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise ValueError("trace(): this tensor does not require grad, so it has no graph. "
                             "Did you compute it under no_grad() or from tensors without "
                             "requires_grad=True?")
        n = t.grad_fn if t.grad_fn is not None else t._accumulator()
        roots.append(n)
        root_meta[id(n)] = t
    nodes = _walk(roots)
    out_meta = {}                       # node -> (shape, dtype) of its output, read off consumers
    edges = []
    for n in nodes:
        for i, ((nxt, nr), meta) in enumerate(zip(n.next_functions, n._in_meta or
                                                  [None] * len(n.next_functions))):
            if nxt is None:
                continue
            edges.append({"source": node_id(nxt), "target": node_id(n), "index": i})
            if meta is not None:
                out_meta.setdefault(id(nxt), meta)
    res_nodes = []
    for n in nodes:
        t = root_meta.get(id(n))
        if type(n) is AccumulateGrad:
            var = n.variable
            name = names.get(id(var)) if var is not None else None
            shape = list(var._np.shape) if var is not None else []
            d = {"id": node_id(n), "kind": "param" if name else "leaf", "label": name or "leaf",
                 "op": "AccumulateGrad", "shape": shape,
                 "dtype": str(var._np.dtype) if var is not None else None, "requires_grad": True,
                 "source": None, "rule": RULES["AccumulateGrad"],
                 "value": summarize(var._np) if (stats and var is not None) else None,
                 "grad": summarize(var._grad._np) if (stats and var is not None and
                                                      var._grad is not None) else None}
        else:
            meta = out_meta.get(id(n))
            shape, dtype = ((list(t._np.shape), str(t._np.dtype)) if t is not None else
                            ((list(meta[0]), str(meta[1])) if meta else (None, None)))
            fname = n._fn.__name__ if n._fn is not None else type(n).__name__
            d = {"id": node_id(n), "kind": "op", "label": n.name(), "op": fname,
                 "shape": shape, "dtype": dtype, "requires_grad": True,
                 "source": _source(n.source), "rule": RULES.get(fname),
                 "value": summarize(t._np) if (stats and t is not None) else None,
                 "grad": summarize(t._grad._np) if (stats and t is not None and
                                                    t._grad is not None) else None}
        res_nodes.append(d)
    return {"version": 1, "roots": [node_id(n) for n in roots], "nodes": res_nodes, "edges": edges}


# --------------------------------------------------------------------------------------- record
class Tape:
    """What ``record()`` saw: tensors by id, forward op calls, backward steps, all in order.

    ``tensors``: ``{tid: {"id", "shape", "dtype", "requires_grad", "name", "value": <stats>,
    "grad": <stats or None>}}``.
    ``forward``: ``[{"step", "op", "node", "inputs": [tid | {"const": repr}], "outputs": [tid],
    "source", "rule"}]`` in call order.
    ``backward``: ``[{"step", "node", "op", "outputs": [tid], "grad_outputs": [<stats>],
    "inputs": [tid | None], "grad_inputs": [<stats> | None]}]`` in execution order; a leaf's
    ``AccumulateGrad`` step names the leaf in ``outputs``.
    """

    def __init__(self, values=True, params=None):
        self.values = values
        self.names = _param_names(params)
        self._tensors = {}           # id(tensor) -> (tid, tensor)   (kept alive while recording)
        self._node_out = {}          # id(node) -> [tid per output]
        self._node_in = {}           # id(node) -> [tid | None per input]
        self.forward = []
        self.backward = []
        self._info = {}

    def _tid(self, t):
        e = self._tensors.get(id(t))
        if e is None:
            tid = f"t{len(self._tensors)}"
            self._tensors[id(t)] = (tid, t)
            self._info[tid] = {"id": tid, "shape": list(t._np.shape), "dtype": str(t._np.dtype),
                               "requires_grad": bool(t._rg), "name": self.names.get(id(t)),
                               "value": summarize(t._np) if self.values else None, "grad": None}
            return tid
        return e[0]

    def _on_forward(self, cls, args, out):
        outs = out if isinstance(out, tuple) else (out,)
        ins = []
        for a in args:
            if isinstance(a, Tensor):
                ins.append(self._tid(a))
            elif isinstance(a, (int, float, bool)) or a is None:
                ins.append({"const": repr(a)})
        out_ids = [self._tid(o) for o in outs if isinstance(o, Tensor)]
        node = next((o.grad_fn for o in outs if isinstance(o, Tensor) and o.grad_fn is not None), None)
        if node is not None:
            self._node_out[id(node)] = out_ids
            self._node_in[id(node)] = [i if isinstance(i, str) else None
                                       for i, a in zip(ins, [a for a in args
                                                             if isinstance(a, Tensor) or
                                                             isinstance(a, (int, float, bool)) or
                                                             a is None])]
            tensor_ids = [self._tid(a) if isinstance(a, Tensor) else None for a in args]
            self._node_in[id(node)] = tensor_ids
        self.forward.append({"step": len(self.forward), "op": cls.__name__,
                             "node": node_id(node) if node is not None else None,
                             "label": node.name() if node is not None else cls.__name__,
                             "inputs": ins, "outputs": out_ids,
                             "source": _source(node.source if node is not None and node.source
                                               else _F.user_frame_location()),
                             "rule": RULES.get(cls.__name__)})

    def _on_backward(self, node, grads_out, grads_in):
        if type(node) is AccumulateGrad:
            var = node.variable
            tid = self._tid(var) if var is not None else None
            g = grads_out[0] if grads_out else None
            if tid is not None and g is not None:
                self._info[tid]["grad"] = summarize(g)
            self.backward.append({"step": len(self.backward), "node": node_id(node),
                                  "op": "AccumulateGrad", "label": "AccumulateGrad",
                                  "outputs": [tid], "grad_outputs": [summarize(g)],
                                  "inputs": [], "grad_inputs": [], "rule": RULES["AccumulateGrad"]})
            return
        outs = self._node_out.get(id(node), [])
        ins = self._node_in.get(id(node), [None] * len(node.next_functions))
        fname = node._fn.__name__ if node._fn is not None else node.name()
        self.backward.append({
            "step": len(self.backward), "node": node_id(node), "op": fname, "label": node.name(),
            "outputs": outs, "grad_outputs": [summarize(g) for g in grads_out],
            "inputs": ins,
            "grad_inputs": [summarize(g._np if isinstance(g, Tensor) else g) if g is not None else None
                            for g in grads_in],
            "rule": RULES.get(fname)})
        for tid, g in zip(outs, grads_out):
            if g is not None and tid in self._info:
                self._info[tid]["grad"] = summarize(g)

    def to_dict(self):
        return {"version": 1, "tensors": dict(self._info), "forward": list(self.forward),
                "backward": list(self.backward)}

    def __len__(self):
        return len(self.forward) + len(self.backward)

    def __repr__(self):
        return f"<labkit.graph.Tape: {len(self.forward)} forward ops, {len(self.backward)} backward steps>"


class record:
    """``with labkit.graph.record() as tape:`` — capture forward ops and backward steps.

    Args:
        values: keep value/gradient statistics (and full values for tensors of <= 64 elements).
        params: a Module or dict of named tensors, to label leaves with parameter names.
    """
    _active = None

    def __init__(self, values=True, params=None):
        self.tape = Tape(values=values, params=params)

    def __enter__(self):
        if record._active is not None:
            raise RuntimeError("labkit.graph.record() blocks cannot be nested")
        record._active = self
        tape = self.tape
        self._orig = (_F._apply_raw, _F._apply_user, _F._source.enabled)
        orig_raw, orig_user = self._orig[0], self._orig[1]

        def rec_raw(cls, args):
            out = orig_raw(cls, args)
            tape._on_forward(cls, args, out)
            return out

        def rec_user(cls, args):
            out = orig_user(cls, args)
            tape._on_forward(cls, args, out)
            return out
        _F._apply_raw, _F._apply_user = rec_raw, rec_user
        _F._source.enabled = True
        _engine._Observers.backward.append(tape._on_backward)
        return tape

    def __exit__(self, *exc):
        _F._apply_raw, _F._apply_user, _F._source.enabled = self._orig
        try:
            _engine._Observers.backward.remove(self.tape._on_backward)
        except ValueError:
            pass
        record._active = None
        return False
