"""LAPACK-style helpers on plain NumPy arrays (no tensors), for ``labkit.linalg``: LU with
partial pivoting and its pivots (getrf), and the ``info`` codes PyTorch's ``*_ex`` functions
return (getrf's first zero pivot, potrf's first leading minor that is not positive definite), and
the options only CUDA's solvers have (PyTorch refuses them for CPU tensors, as labkit does)."""
import numpy as np


def getrf(a):
    """LAPACK-style LU with partial pivoting of one (m, n) matrix: (LU, 1-based pivots)."""
    a = a.astype(np.float64, copy=True)
    m, n = a.shape
    k_max = min(m, n)
    piv = np.zeros(k_max, np.int32)
    for k in range(k_max):
        p = k + int(np.argmax(np.abs(a[k:, k]))) if m > k else k
        piv[k] = p + 1
        if p != k:
            a[[k, p]] = a[[p, k]]
        if a[k, k] != 0:
            a[k + 1:, k] /= a[k, k]
            a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return a, piv


def perm_from_pivots(piv, m):
    """The row permutation P (as an index array) with A = P L U."""
    perm = np.arange(m)
    for k, p in enumerate(piv):
        p = int(p) - 1
        perm[[k, p]] = perm[[p, k]]
    return perm


def lu_info(a):
    """LAPACK's getrf info per matrix: the 1-based index of the first zero pivot, else 0."""
    info = np.zeros(a.shape[:-2], np.int32)
    for idx in np.ndindex(*info.shape):
        zero = np.flatnonzero(np.diagonal(getrf(a[idx])[0]) == 0)
        info[idx] = zero[0] + 1 if zero.size else 0
    return info


def cholesky_info(a):
    """potrf's info per matrix: the order of the first leading minor that is not positive
    definite, else 0."""
    info = np.zeros(a.shape[:-2], np.int32)
    for idx in np.ndindex(*info.shape):
        for k in range(1, a.shape[-1] + 1):
            if np.linalg.eigvalsh(a[idx][:k, :k])[0] <= 0:
                info[idx] = k
                break
    return info


def cpu_driver(driver):
    # driver= picks a cuSOLVER method: PyTorch refuses it for CPU tensors, as labkit does
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on "
                           "CUDA inputs with cuSOLVER backend; labkit runs on the CPU, so leave "
                           "driver=None")


def cpu_pivot(pivot):
    if not pivot:                                 # PyTorch: a CUDA-only option too
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU "
                           "(labkit runs on the CPU only): use pivot=True")
