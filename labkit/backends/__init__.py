"""``labkit.backends`` ~ ``torch.backends``: the switches real programs read and set.

labkit runs on the CPU only, with NumPy's BLAS and its own Numba kernels, so the answers are
honest: there is no MPS, CUDA, cuDNN, oneDNN (MKL-DNN) or OpenMP build (``is_available()`` and
``is_built()`` are False).  The flags programs set (``cudnn.benchmark``, ``cudnn.deterministic``,
``cuda.matmul.allow_tf32`` ...) are plain attributes: setting them works and changes nothing,
since every labkit computation is already deterministic and in full precision.

    import labkit as torch
    use_mps = not args.no_mps and torch.backends.mps.is_available()     # False
    torch.backends.cudnn.benchmark = True                               # accepted
"""
import warnings

from . import cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum  # noqa: F401

__all__ = ["cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled", "set_float32_matmul_precision",
           "get_float32_matmul_precision"]

# Process-wide switches that PyTorch keeps at its top level (labkit.use_deterministic_algorithms
# ...).  They are remembered and reported back; labkit's results do not depend on them.
_flags = {"deterministic": False, "warn_only": False, "matmul_precision": "highest"}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Ask for deterministic algorithms. labkit's are always deterministic, so this only
    records the setting (``are_deterministic_algorithms_enabled()`` reports it)."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' must be bool, not "
                        f"{type(mode).__name__}")
    _flags.update(deterministic=mode, warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled():
    return _flags["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _flags["warn_only"]


def set_float32_matmul_precision(precision):
    """Accepts PyTorch's ``'highest'``, ``'high'`` and ``'medium'``; labkit's float32 matrix
    products are always full float32 precision (there are no TF32 / bfloat16 units here)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the "
                      f"set_float32_matmul_precision call has no effect.", UserWarning,
                      stacklevel=2)
        return
    _flags["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _flags["matmul_precision"]
