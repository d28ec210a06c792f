"""Threads: how many labkit uses, the one pool they come from, and single-threaded BLAS calls.

labkit runs its parallel work -- elementwise and row-wise kernels, convolution and pooling
kernels, and the row (or column) blocks of its float32 matrix products -- on **one** pool: Numba's
(its TBB layer where the ``tbb`` package is installed).  Each block of a matrix product is one
*single-threaded* call of NumPy's OpenBLAS ``sgemm`` made from a pool thread, so OpenBLAS's own
thread pool is never woken by labkit and never spins against the kernels (the reasons and the
measurements are in ``kernels/__init__.py``).  OpenBLAS runs with one thread only while labkit's
blocks run (``blas_serial_begin``); the user's own NumPy keeps its threads.

* ``get_num_threads()`` / ``set_num_threads(n)``: the number of threads labkit's work is split
  over (``labkit.set_num_threads`` as ``torch.set_num_threads``; it also limits OpenBLAS for the
  matrix products labkit leaves to NumPy, such as float64 ones).  The default is
  ``LABKIT_NUM_THREADS`` from the environment, else the cores this process may run on.
* Results do not depend on the thread count: work is cut into pieces by the shape alone (fixed
  chunk and block sizes) and the threads only share the pieces out.
* Large kernels run as ``par_jit`` drivers at every thread count (``sync_numba`` gives Numba's
  pool labkit's count); ``parallel()`` -- more than one thread set, and a threading layer safe to
  call from any thread (``tbb`` or ``omp``; on Numba's ``workqueue`` layer, which is not, labkit
  runs its serial kernels) -- decides whether matrix products are split.
"""
import ctypes
import os
import sys
import threading

_ENV = "LABKIT_NUM_THREADS"
CHUNK = 16384          # elements of one piece of a flat array in the parallel drivers (par_jit)
PAR_MIN = 65536        # elements of work below which a kernel runs serially (measured: see
                       # kernels/__init__.py)


def _cores():
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):         # not Linux
        return os.cpu_count() or 1


def _from_env():
    raw = os.environ.get(_ENV, "").strip()
    if not raw:
        return _cores()
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        import warnings
        warnings.warn(f"{_ENV}={raw!r} is not a positive integer number of threads; using "
                      f"{_cores()} (set e.g. {_ENV}=1 for serial kernels)", RuntimeWarning)
        return _cores()
    return n


_num_threads = _from_env()
_layer = None          # Numba's threading layer once a parallel kernel has run ("tbb", "omp", ...)


def get_num_threads():
    """The number of threads labkit splits its kernels and matrix products over."""
    return _num_threads


def set_num_threads(int):  # noqa: A002  (PyTorch's parameter name)
    """Use ``int`` threads for labkit's kernels and matrix products (like
    ``torch.set_num_threads``).

    Also limits OpenBLAS (NumPy's BLAS) to that many threads for the products labkit hands to
    NumPy (float64, integer and other non-float32 work), as torch's setting limits its BLAS.
    """
    global _num_threads
    n = int
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    n = n.__index__()
    if n < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n} "
                           f"(1 runs labkit's kernels serially)")
    _num_threads = n
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=n, user_api="blas")


def layer_ok():
    """False when Numba's threading layer cannot be used from any thread (``workqueue``)."""
    return _layer in (None, "tbb", "omp")


def parallel():
    """True when labkit's kernels should split their work over threads."""
    return _num_threads > 1 and layer_ok()


def sync_numba():
    """Numba's thread count for this Python thread = labkit's (Numba keeps one per thread)."""
    import numba
    n = min(_num_threads, numba.config.NUMBA_NUM_THREADS)
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)


# ------------------------------------------------------------------ Numba's threading layer
def _tbb_paths():
    # pip installs the tbb package's shared library into <prefix>/lib (Library/bin on Windows),
    # which the dynamic loader does not search in a virtual environment.
    name = {"win32": "tbb12.dll", "darwin": "libtbb.12.dylib"}.get(sys.platform, "libtbb.so.12")
    for d in ("lib", os.path.join("Library", "bin")):
        yield os.path.join(sys.prefix, d, name)


def prepare_numba():
    """Before Numba starts its threads: make TBB loadable so Numba picks its ``tbb`` layer (safe
    with threads and with fork) unless the user chose a layer with ``NUMBA_THREADING_LAYER``."""
    if os.environ.get("NUMBA_THREADING_LAYER"):
        return
    for path in _tbb_paths():
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
            except OSError:
                continue
            return


def note_layer():
    """Record Numba's threading layer after the first parallel kernel (see ``parallel``)."""
    global _layer
    if _layer is None:
        import numba
        try:
            _layer = numba.threading_layer()
        except ValueError:                   # no parallel kernel has run yet
            return
        if _layer not in ("tbb", "omp"):
            return
        if _layer == "omp" and hasattr(os, "register_at_fork"):
            # GNU OpenMP cannot be used in a child forked after it started: stay serial there.
            os.register_at_fork(after_in_child=_serial_in_child)


def _serial_in_child():
    global _num_threads, _layer
    _num_threads = 1
    _layer = "omp (forked)"                     # not layer_ok: no parallel driver in the child


# ------------------------------------------------------------------ NumPy's OpenBLAS
_SYMS = (("scipy_cblas_sgemm64_", "scipy_openblas_get_num_threads64_",
          "scipy_openblas_set_num_threads64_"),        # NumPy's wheels (64-bit integers)
         ("cblas_sgemm64_", "openblas_get_num_threads64_", "openblas_set_num_threads64_"))
_blas = None            # (get_num_threads, set_num_threads) through ctypes; False: no OpenBLAS
_blas_lock = threading.Lock()
_blas_users = 0         # labkit products running now (several Python threads may run them)
_blas_saved = 0         # OpenBLAS's thread count before the first of them started


def _openblas():
    """(library, (sgemm, get threads, set threads) names) of the OpenBLAS NumPy uses, or None."""
    import numpy as np  # noqa: F401  (loads the BLAS so threadpoolctl sees it)
    from threadpoolctl import threadpool_info
    for info in threadpool_info():
        if info.get("internal_api") != "openblas":
            continue
        try:
            lib = ctypes.CDLL(info["filepath"])
        except OSError:
            continue
        for names in _SYMS:
            if all(hasattr(lib, n) for n in names):
                return lib, names
    return None


def blas_symbols():
    """``{name: address}`` of the OpenBLAS ``sgemm`` labkit's GEMM blocks call, or None when
    NumPy's BLAS is not an OpenBLAS with 64-bit integers (then labkit's matrix products stay with
    ``np.matmul``).  Also prepares ``blas_serial``."""
    global _blas
    found = _openblas()
    if found is None:
        _blas = False
        return None
    lib, (sgemm, get, set_) = found
    getf, setf = getattr(lib, get), getattr(lib, set_)
    getf.restype, setf.argtypes = ctypes.c_int, [ctypes.c_int]
    _blas = (getf, setf)
    return {"labkit_cblas_sgemm": ctypes.cast(getattr(lib, sgemm), ctypes.c_void_p).value}


def blas_serial_begin():
    """OpenBLAS to one thread while labkit's pool runs sgemm blocks (``blas_serial_end`` puts the
    user's setting back).  OpenBLAS has one process-wide thread count -- with NumPy's pthreads
    build ``openblas_set_num_threads_local`` changes it for every thread too (measured) -- so a
    block called from a pool thread would otherwise hand half its work to OpenBLAS's own pool,
    which then spins against labkit's.  Counted, so that concurrent callers restore it once."""
    global _blas_users, _blas_saved
    if _blas is None:
        blas_symbols()                      # finds the handles (none: not an OpenBLAS)
    with _blas_lock:
        if _blas_users == 0 and _blas:
            _blas_saved = _blas[0]()
            if _blas_saved != 1:
                _blas[1](1)
        _blas_users += 1


def blas_serial_end():
    global _blas_users
    with _blas_lock:
        _blas_users -= 1
        if _blas_users == 0 and _blas and _blas_saved != 1:
            _blas[1](_blas_saved)
