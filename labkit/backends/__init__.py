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
from . import cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum  # noqa: F401

__all__ = ["cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
