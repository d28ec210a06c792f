"""Intel MKL: True only when NumPy's BLAS (which labkit's matrix products use) is MKL."""


def is_available():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return False
    import numpy  # noqa: F401  (load its BLAS so threadpoolctl sees it)
    return any(i.get("internal_api") == "mkl" for i in threadpool_info())
