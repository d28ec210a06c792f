"""OpenMP: labkit is not built with it (its kernels are Numba's; BLAS threads are NumPy's)."""


def is_available():
    return False
