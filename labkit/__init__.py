"""labkit: a small, readable, Numba-accelerated tensor engine with autograd, speaking PyTorch.

    import labkit as torch          # typical PyTorch teaching code runs unchanged
    x = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    (x.tanh() @ x.T).softmax(dim=-1)[0, 1].backward()
    x.grad
"""
__version__ = "0.1.0"

import builtins as _builtins
import sys

from . import dtypes as _dtypes
from .dtypes import (bool, dtype, float, float16, float32, float64, half, double, int, int32,
                     int64, long, uint8, bfloat16, get_default_dtype, set_default_dtype,
                     promote_types, result_type, finfo, iinfo)
from .tensor import (Tensor, Size, device, memory_format, contiguous_format, preserve_format,
                     channels_last, channels_last_3d)
from .autograd import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled)
from .autograd.grad_mode import is_inference_mode_enabled
from . import autograd
from .ops import FUNCTIONS as _FUNCTIONS
from .ops.extra_linalg import pinverse  # torch's older spelling (positional rcond)
from . import creation as _creation  # noqa: F401  (registers tensor/zeros/... and to/float/...)
from .random import Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state
from . import cuda
from . import random

globals().update(_FUNCTIONS)

from .creation import (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor,  # noqa: E402
                       BoolTensor, ByteTensor, get_default_device, set_default_device)
from .namespace import NAMES as _NAMES, NN_ALIASES as _NN_ALIASES  # noqa: E402
from . import tensor_extras as _tensor_extras  # noqa: E402,F401  (more Tensor methods)
from . import scope as _scope  # noqa: E402
globals().update(_NAMES)
strided = "strided"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.is_floating_point()


from .kernels.threads import get_num_threads, set_num_threads  # noqa: E402


def __getattr__(name):
    # Lazy submodules keep `import labkit` fast and the import order one-way.
    import importlib
    if name in ("nn", "optim", "utils", "datasets", "graph", "viz", "interop", "exercises",
                "serialization", "linalg", "backends", "onnx", "compiler", "special", "fft",
                "signal"):
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("save", "load"):
        return getattr(importlib.import_module(f"{__name__}.serialization"), name)
    if name == "compile":
        return importlib.import_module(f"{__name__}.compiler").compile
    if name in ("use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
                "is_deterministic_algorithms_warn_only_enabled", "set_float32_matmul_precision",
                "get_float32_matmul_precision"):
        return getattr(importlib.import_module(f"{__name__}.backends"), name)
    if name == "warmup":
        return importlib.import_module(f"{__name__}.warmup").warmup
    if name in _NN_ALIASES:         # torch.conv2d, torch.batch_norm ...: nn ops at the top level
        return importlib.import_module(f"{__name__}.nn.functional.toplevel").NAMES[name]
    raise _scope.error("labkit", name)   # out of scope: says why (still an AttributeError)


def __dir__():
    # tab completion shows the lazily loaded names too (labkit.nn, labkit.conv2d ...)
    return sorted(set(globals()) | _NN_ALIASES | {
        "nn", "optim", "utils", "datasets", "graph", "viz", "interop", "exercises",
        "serialization", "linalg", "backends", "onnx", "compiler", "special", "fft", "signal",
        "inverse", "det", "slogdet", "logdet", "save", "load", "compile", "warmup"})


def _show_tensors_in_ipython():
    """Inside IPython (a notebook), tensors display with their static view (``repr`` unchanged)."""
    ipy = sys.modules.get("IPython")            # not imported: not inside IPython
    shell = ipy.get_ipython() if ipy is not None else None
    if shell is not None and hasattr(shell, "display_formatter"):
        from .ipython_ext import register_tensor_view
        register_tensor_view(shell)


_show_tensors_in_ipython()


def load_ipython_extension(ip):
    """``%load_ext labkit``: magics (%lk_graph, %%lk_step, %lk_warmup) and the re-run check."""
    from .ipython_ext import load_ipython_extension as _load
    _load(ip)


def unload_ipython_extension(ip):
    from .ipython_ext import unload_ipython_extension as _unload
    _unload(ip)
