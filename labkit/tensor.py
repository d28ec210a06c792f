"""The Tensor: a NumPy array plus what autograd needs (requires_grad, grad, grad_fn, version).

This file holds the Tensor's core: construction, properties, conversion, printing and backward.
Ops (``+``, ``exp``, ``sum``, ``view`` ...) are defined with their gradient rules in
``labkit/ops/`` and attached to the class by ``labkit.ops.register``.
"""
import math
import numbers

import numpy as np
from numpy import ndarray      # (read by every op's _make: see autograd/function.py)

from . import dtypes as D
from .autograd.fpstate import quiet
from .autograd import backward, function as F
from .autograd import grad_mode
from .autograd.function import AccumulateGrad, _RemovableHandle

_state = grad_mode._state


class device:
    """Only the CPU exists in labkit; ``device('cpu')`` is accepted so PyTorch code runs."""
    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        t = str(type)
        if ":" in t:
            t, idx = t.split(":", 1)
            index = int(idx)
        if t != "cpu":
            raise RuntimeError(
                f"labkit runs on the CPU only, so device '{type}' is not available. Use "
                f"device='cpu' (code written as `'cuda' if labkit.cuda.is_available() else 'cpu'` "
                f"picks it automatically). To train on a GPU, move the model to PyTorch with "
                f"labkit.interop.to_torch(model).")
        self.type, self.index = "cpu", index

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        try:
            return device(other).type == self.type
        except (RuntimeError, TypeError, ValueError):
            return False

    def __hash__(self):
        return hash("cpu")


_CPU = device("cpu")


class memory_format:
    """PyTorch's memory formats: how a tensor's values are laid out (its strides), never what
    they are.  ``channels_last`` keeps an image batch (N, C, H, W) in N, H, W, C order."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"labkit.{self.name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def _check_device(dev):
    if dev is not None and not (dev is _CPU):
        device(dev)


_new_object = object.__new__            # (a global: looking it up on ``object`` costs per call)


def _make(arr, requires_grad=False, grad_fn=None, out_nr=0):
    """Wrap an ndarray (no copy).  The fast constructor used by every op.

    Two invariants hold here for every op at once: the storage is an ndarray (NumPy gives 0-d
    results as scalars, which can't be written in place: ``loss += 1``), and only floating-point
    tensors take part in autograd, as in PyTorch (an integer or bool result, such as ``x.long()``,
    ``argmax`` or a comparison, is a constant without ``grad_fn``).
    """
    if type(arr) is not ndarray:
        arr = np.asarray(arr)
    if requires_grad and arr.dtype.kind != "f":
        requires_grad, grad_fn = False, None
    t = _new_object(Tensor)
    t._np = arr
    t._rg = requires_grad
    t.grad_fn = grad_fn
    t._grad = None
    t._out_nr = out_nr
    t._vc = [0]
    t._base = None
    t._hooks = None
    t._accum = None
    t._retains_grad = False
    return t


def _to_array(data, dtype=None):
    """Convert Python data / arrays / tensors (also nested lists of tensors) to an ndarray."""
    if isinstance(data, Tensor):
        arr = data._np
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)            # NumPy arrays and scalars keep their dtype (as torch)
    else:
        if isinstance(data, (list, tuple)) and data and _contains_tensor(data):
            data = _untensor(data)
        try:
            arr = np.asarray(data)
        except ValueError:
            raise _ragged_error(data) from None
        if dtype is None:
            if arr.dtype.kind == "f":
                arr = arr.astype(D.get_default_dtype().np)
            elif arr.dtype.kind in "iu":
                arr = arr.astype(np.int64)
            elif arr.dtype.kind == "b":
                pass
            elif arr.dtype.kind == "O" or arr.dtype.kind in "USV":
                raise TypeError(f"can't convert {type(data).__name__} of this content to a tensor: "
                                f"expected numbers or (nested, equally long) lists of numbers")
            elif arr.dtype.kind == "c":
                raise TypeError("labkit has no complex dtypes")
    if dtype is not None:
        with quiet():                   # 1e6 as float16 is inf, silently (as in PyTorch)
            arr = arr.astype(D.as_dtype(dtype).np, copy=False)
    elif arr.dtype not in D._FROM_NP:
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float64 if arr.dtype.itemsize > 4 else np.float32)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"can't convert array of dtype {arr.dtype} to a labkit tensor")
    return arr


def _ragged_error(data):
    """PyTorch's ValueError for nested lists of unequal lengths, naming the dim."""
    level, dim = [data], 0
    while level:
        seqs = [x for x in level if isinstance(x, (list, tuple))]
        if seqs and len(seqs) != len(level):
            return ValueError(f"expected sequence of length {len(seqs[0])} at dim {dim} (got a "
                              f"number): nested lists must be rectangular")
        lengths = {len(x) for x in seqs}
        if len(lengths) > 1:
            n0 = len(seqs[0])
            bad = next(len(x) for x in seqs if len(x) != n0)
            return ValueError(f"expected sequence of length {n0} at dim {dim} (got {bad}): "
                              f"nested lists must be rectangular (pad the short rows)")
        level = [y for x in seqs for y in x]
        dim += 1
    return ValueError("can't convert this data to a tensor: nested lists must be rectangular")


def _contains_tensor(seq):
    for x in seq:
        if isinstance(x, Tensor):
            return True
        if isinstance(x, (list, tuple)) and x and _contains_tensor(x):
            return True
    return False


def _untensor(seq):
    return [(_untensor(x) if isinstance(x, (list, tuple)) else
             (x._np if isinstance(x, Tensor) else x)) for x in seq]


class Tensor:
    """A multi-dimensional array with reverse-mode autograd (``labkit.Tensor`` ~ ``torch.Tensor``).

    Create tensors with :func:`labkit.tensor`, :func:`labkit.zeros`, :func:`labkit.randn`, ...
    ``Tensor(data)`` works too (float32, like ``torch.Tensor``), and ``Tensor(2, 3)`` makes an
    uninitialised 2x3 tensor.
    """
    __slots__ = ("_np", "_rg", "grad_fn", "_grad", "_out_nr", "_vc", "_base", "_hooks",
                 "_accum", "_retains_grad", "__weakref__", "__dict__")
    __array_priority__ = 1000          # numpy_array + tensor -> Tensor.__radd__

    def __new__(cls, *args, device=None):
        _check_device(device)
        t = object.__new__(cls)
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            arr = _to_array(args[0], D.get_default_dtype() if not isinstance(args[0], (Tensor, np.ndarray)) else None)
        elif all(isinstance(a, numbers.Integral) for a in args):
            arr = np.empty(args, dtype=D.get_default_dtype().np)
        else:
            raise TypeError("Tensor(...) takes data (a list/array) or sizes (ints); use "
                            "labkit.tensor(data, dtype=...) for more control")
        t._np, t._rg, t.grad_fn, t._grad, t._out_nr = arr, False, None, None, 0
        t._vc, t._base, t._hooks, t._accum, t._retains_grad = [0], None, None, None, False
        return t

    # ---- basic properties ---------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._np.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._np.shape)
        return self._np.shape[_wrap_dim(dim, self._np.ndim)]

    @property
    def dtype(self):
        return D._FROM_NP[self._np.dtype]

    @property
    def device(self):
        return _CPU

    @property
    def is_cuda(self):
        return False

    @property
    def ndim(self):
        return self._np.ndim

    def dim(self):
        return self._np.ndim

    def ndimension(self):
        return self._np.ndim

    def numel(self):
        return self._np.size

    nelement = numel

    def element_size(self):
        return self._np.itemsize

    @property
    def itemsize(self):
        return self._np.itemsize

    @property
    def nbytes(self):
        return self._np.nbytes

    def stride(self, dim=None):
        st = tuple(s // self._np.itemsize for s in self._np.strides)
        return st if dim is None else st[_wrap_dim(dim, self._np.ndim)]

    def is_contiguous(self, memory_format=None):
        a = self._np
        if memory_format is channels_last or memory_format is channels_last_3d:
            nd = 4 if memory_format is channels_last else 5
            return a.ndim == nd and a.transpose((0,) + tuple(range(2, nd)) + (1,)).flags.c_contiguous
        return a.flags.c_contiguous

    def is_floating_point(self):
        return self._np.dtype.kind == "f"

    def is_complex(self):
        return False

    def is_signed(self):
        return self.dtype.is_signed

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def _version(self):
        return self._vc[0]

    @property
    def layout(self):
        return "strided"

    def data_ptr(self):
        return self._np.__array_interface__["data"][0]

    # ---- autograd -----------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        if requires_grad and self._np.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                               f"(this one is {self.dtype}); convert it first, e.g. x.float()")
        self._rg = bool(requires_grad)
        return self

    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self._np.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients "
                               f"(this one is {self.dtype}); convert it first, e.g. x.float()")
        if not value and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        self._rg = bool(value)

    @property
    def grad(self):
        """The gradient accumulated by backward (a Tensor of the same shape), or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got "
                                f"{type(value).__name__}")
            if value._np.shape != self._np.shape:
                raise RuntimeError(f"assigned grad has data of a different size: grad shape "
                                   f"{list(value._np.shape)} vs tensor shape {list(self._np.shape)}")
        self._grad = value

    def _accumulator(self):
        acc = self._accum
        if acc is None:
            acc = self._accum = AccumulateGrad(self)
        return acc

    def detach(self):
        """A new tensor sharing this one's data, cut from the graph (never requires grad)."""
        t = _make(self._np, False, None, 0)
        t._vc = self._vc
        t._base = self._base if self._base is not None else self
        return t

    def detach_(self):
        self.grad_fn = None
        self._rg = False
        return self

    @property
    def data(self):
        """This tensor's data as a tensor outside the graph (``w.data -= lr * w.grad`` works).

        Unlike ``detach()``, and as in PyTorch, writes through ``.data`` are hidden from autograd:
        it has its own version counter, so a saved tensor changed this way is not reported."""
        return _make(self._np, False, None, 0)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._set_storage(value._np)

    def _set_storage(self, arr):
        """Replace this tensor's array (``.data = ``, ``set_``); gradients that later reach it as
        a leaf take the new shape and dtype (its AccumulateGrad keeps them: see Node)."""
        self._np = arr
        if self._accum is not None:
            self._accum._out_meta = ((arr.shape, arr.dtype),)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        import weakref
        ref = weakref.ref(self)
        nr = self._out_nr

        def _retain(grads):
            t = ref()
            g = grads[nr]
            if t is not None and g is not None:
                if isinstance(g, Tensor):              # create_graph=True: keep it on its graph
                    t._grad = g if t._grad is None else t._grad + g
                elif t._grad is None:
                    t._grad = _make(np.array(g, dtype=t._np.dtype), False, None, 0)
                else:
                    t._grad._np += g
        _retain._retains_grad = True                    # runs after the tensor's other hooks
        self.grad_fn.register_prehook(_retain)

    @property
    def retains_grad(self):
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            return _RemovableHandle(self._hooks, hook)
        nr = self._out_nr

        def _pre(grads):
            g = grads[nr]
            if g is None:
                return None
            graph = isinstance(g, Tensor)                # create_graph=True: grads are Tensors
            r = hook(g if graph else _make(g, False, None, 0))
            if r is None:
                return None
            grads = list(grads)
            if graph:
                grads[nr] = r if isinstance(r, Tensor) else _make(np.asarray(r), False, None, 0)
            else:
                grads[nr] = r._np if isinstance(r, Tensor) else np.asarray(r)
            return grads
        h = self.grad_fn.register_prehook(_pre)
        return h

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. graph leaves (accumulated into ``.grad``)."""
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self, force=False):
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._np

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise RuntimeError("Can't convert a Tensor that requires grad to a NumPy array. "
                               "Use tensor.detach().numpy() instead.")
        a = self._np                                # NumPy's protocol: copy=True copies,
        if dtype is not None and np.dtype(dtype) != a.dtype:   # copy=False refuses to
            if copy is False:
                raise ValueError("Unable to avoid copy while creating an array as requested: "
                                 "the dtype conversion needs one")
            return a.astype(dtype)
        return a.copy() if copy else a

    def item(self):
        if self._np.size != 1:
            raise RuntimeError(f"a Tensor with {self._np.size} elements cannot be converted to "
                               f"Scalar (item() needs exactly one element; shape "
                               f"{list(self._np.shape)}). Reduce it first, e.g. .sum() or .mean()")
        return self._np.reshape(()).item()

    def tolist(self):
        return self._np.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._np.dtype.kind not in "iub" or self._np.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._np.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                               f"(shape {list(self._np.shape)}); use .any() or .all()")
        return bool(self._np.reshape(()).item())

    def __len__(self):
        if self._np.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._np.shape[0]

    def __iter__(self):
        if self._np.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._np.shape[0]))

    __hash__ = object.__hash__

    def __reduce_ex__(self, proto):
        return (_rebuild, (self._np.copy(), self.requires_grad))

    def __copy__(self):
        t = _make(self._np, self.requires_grad, self.grad_fn, self._out_nr)
        return t

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment. Use .detach().clone() first.")
        t = object.__new__(type(self))
        t._np, t._rg, t.grad_fn, t._out_nr = self._np.copy(), self._rg, None, 0
        t._grad = None if self._grad is None else self._grad.__deepcopy__(memo)
        t._vc, t._base, t._hooks, t._accum, t._retains_grad = [0], None, None, None, False
        for k, v in self.__dict__.items():
            t.__dict__[k] = v
        memo[id(self)] = t
        return t

    def cpu(self, memory_format=None):
        return self if memory_format is None else self.to(memory_format=memory_format)

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        _check_device("cuda" if device is None else device)    # raises: labkit is CPU-only
        return self

    # ---- printing ---------------------------------------------------------------------------
    def __repr__(self, *, tensor_contents=None):
        # tensor_contents: text printed in place of the values (PyTorch's hook for subclasses)
        return _format(self, tensor_contents)

    def __str__(self):
        return _format(self)

    def __format__(self, format_spec):
        if self._np.ndim == 0 and format_spec:
            return format(self._np.item(), format_spec)
        return str(self)


def _rebuild(arr, requires_grad):
    return _make(arr, requires_grad, None, 0)


class Size(tuple):
    """``tensor.shape``: a tuple that prints like PyTorch's ``torch.Size([2, 3])``."""

    def __repr__(self):
        return f"labkit.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


def _wrap_dim(dim, ndim):
    """Normalise a possibly negative dim, raising PyTorch's IndexError when out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim


class _PrintOptions:
    """``labkit.set_printoptions`` state (PyTorch's names and defaults)."""
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrintOptions()


def _summarized(a, edge):
    """The corners of a big array: ``edge`` items at both ends of every long axis."""
    for ax in range(a.ndim):
        if a.shape[ax] > 2 * edge:
            a = np.concatenate([np.take(a, range(edge), axis=ax),
                                np.take(a, range(a.shape[ax] - edge, a.shape[ax]), axis=ax)], axis=ax)
    return a


class _Formatter:
    """PyTorch's element formatter: one style and one width for the whole tensor.

    Floats: integers print as ``3.``, ordinary values with 4 decimals, and scientific notation
    when the magnitudes span more than 1000x, exceed 1e8 or go below 1e-4.  Every element is
    right-aligned to the widest one, which is where the space before positive numbers comes from.
    """

    def __init__(self, a):
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        p = PRINT_OPTS.precision
        if not self.floating:
            for v in a.reshape(-1).tolist():
                self.width = max(self.width, len(str(v)))
            return
        vals = a[np.isfinite(a) & (a != 0)].astype(np.float64)
        if vals.size:
            absv = np.abs(vals)
            vmin, vmax = absv.min(), absv.max()
            self.int_mode = bool(np.all(vals == np.ceil(vals)))
            if self.int_mode:
                self.sci_mode = vmax / vmin > 1000.0 or vmax > 1.0e8
                fmt = (lambda v: f"{v:.{p}e}") if self.sci_mode else (lambda v: f"{v:.0f}.")
            else:
                self.sci_mode = vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4
                fmt = (lambda v: f"{v:.{p}e}") if self.sci_mode else (lambda v: f"{v:.{p}f}")
            for v in np.unique(vals).tolist():
                self.width = max(self.width, len(fmt(v)))
        if PRINT_OPTS.sci_mode is not None:
            self.sci_mode = PRINT_OPTS.sci_mode

    def format(self, v):
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{PRINT_OPTS.precision}f}"
        return s.rjust(self.width)


def _body(a, indent, summarize, fmt):
    """The bracketed part of the repr, laid out like PyTorch's ``_tensor_str``."""
    edge = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        per_line = max(1, (PRINT_OPTS.linewidth - indent) // (fmt.width + 2))
        if summarize and a.shape[0] > 2 * edge:
            data = ([fmt.format(v) for v in a[:edge].tolist()] + [" ..."] +
                    [fmt.format(v) for v in a[-edge:].tolist()])
        else:
            data = [fmt.format(v) for v in a.tolist()]
        lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    n = a.shape[0]
    if summarize and n > 2 * edge:
        rows = ([_body(a[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."] +
                [_body(a[i], indent + 1, summarize, fmt) for i in range(n - edge, n)])
    else:
        rows = [_body(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _format(t, tensor_contents=None):
    """``tensor([[ 0.0070, -0.0735], ...], grad_fn=<MulBackward0>)``, as PyTorch prints it."""
    a = t._np
    prefix = "tensor("
    indent = len(prefix)
    dt = D._FROM_NP[a.dtype]
    suffixes = []
    if tensor_contents is not None:
        body = str(tensor_contents)
        if not (dt is D.get_default_dtype() or dt is D.int64 or dt is D.bool):
            suffixes.append(f"dtype=labkit.{dt.name}")
    elif a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if dt is not D.get_default_dtype():
            suffixes.append(f"dtype=labkit.{dt.name}")
        body = "[]"
    else:
        summarize = a.size > PRINT_OPTS.threshold
        fmt = _Formatter(_summarized(a, PRINT_OPTS.edgeitems) if summarize else a)
        body = _body(a, indent, summarize, fmt)
        if not (dt is D.get_default_dtype() or dt is D.int64 or dt is D.bool):
            suffixes.append(f"dtype=labkit.{dt.name}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    out = [prefix, body]
    last_len = len(body) - body.rfind("\n") + 1 if "\n" in body else indent + len(body)
    for sfx in suffixes:
        if last_len + len(sfx) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + sfx)
            last_len = indent + len(sfx)
        else:
            out.append(", " + sfx)
            last_len += len(sfx) + 2
    out.append(")")
    head = "Parameter containing:\n" if type(t).__name__ == "Parameter" else ""
    return head + "".join(out)


F._Tensor = Tensor
F._make = _make
