"""Kernel dispatch: Numba kernels for float32 contiguous data, the NumPy reference otherwise.

Ops call e.g. ``kernels.unary("sigmoid", x)`` or ``kernels.binary("relu_backward", g, y)``;
``kernels.backend(family, *arrays)`` is the one "float32 contiguous -> Numba, else reference"
choice (``kernels/nn.py`` and the optimizers use it too).
``LABKIT_JIT=0`` in the environment forces the reference path (pure NumPy, easy to debug).
Numba is imported on first use, so ``import labkit`` stays fast.

Threading policy: one pool (Numba's, TBB layer) for kernels and matrix products
---------------------------------------------------------------------------------
(``threads.py``, ``gemm.py``, ``par_jit.py``, ``rnn_jit.py``; the scaling table:
``benchmarks/bench_threads.py``; the latest numbers: ``benchmarks/README.md``, "Threads".)

What the first round measured (2 vCPUs, numba 0.68.1, NumPy 2.4's OpenBLAS 0.3.31 pthreads):
a Numba ``prange`` kernel right after a BLAS call found OpenBLAS's worker spinning on the second
core (10-70x slow-downs with the ``omp`` layer, the loop locked to ~8 ms time slices), so every
kernel was serial and only BLAS used the second core.  Two pools fighting is the problem, so
labkit now has one:

* **Matrix products** (float32, above OpenBLAS's own single-thread size m*n*k = 262,144) are cut
  into blocks by ``gemm.block_shape`` and each block is one ``cblas_sgemm`` called from a pool
  thread with OpenBLAS held at one thread (``threads.blas_serial_begin``/``end``: OpenBLAS's
  count is process-wide -- ``openblas_set_num_threads_local`` changes it for every thread in
  NumPy's pthreads build, and ``cblas_sgemm_batch_strided`` crashes on problems OpenBLAS's
  small-matrix kernels take; both measured).  OpenBLAS's pool therefore never wakes for labkit's
  work (per-thread CPU time in ``tests/test_threads.py``), while the user's own NumPy keeps it.
  The blocks, each rule measured (the numbers are in ``gemm.block_shape``):
  - rows: **one block per thread** (every block packs the right operand again: MLP B=512's
    512 x 784 x 256 took 1.07 ms in 2 blocks, 1.36 ms in 8 -- OpenBLAS's own two threads 1.11,
    torch's MKL 1.00), at multiples of 16 rows so that the shares are even;
  - where rows cannot be cut: one column block per thread for large products (one call on one
    thread), up to 4 column blocks under OpenBLAS's small-matrix size (an LSTM step 37 us
    instead of 51 on one thread), or the inner dimension in up to 4 parts (a weight gradient
    over 2048 rows: 204 -> 118 us on two threads);
  - ``x @ W^T`` with few rows as ``(W @ x^T)^T`` (OpenBLAS packs the small ``x`` in its slow
    transposed copy, not ``W``: 64 x 784 x 256 351 -> 301 us on one thread);
  - narrow products (10 outputs): 64-row blocks, which OpenBLAS's small kernels take twice as
    fast, on one thread too;
  - stacks with two batch dimensions (attention's (batch, heads) views) by their strides, no copy.
  On two threads the products of bench_train's workloads now take what torch's MKL takes
  (0.92-1.07x, 11 shapes, same minutes).
* **An LSTM layer's time loop** is one Numba function (``rnn_jit``; Python's per-step calls were
  ~7 us of each 30).  The batch rows are cut into **chains** of ~8 rows that never wait for each
  other: threads take whole chains, so the steps need no synchronisation at all (a step of
  (N=32, H=128) on 2 threads: 4 chains; the previous rule -- every thread on every step, 4
  blocks of hidden units, a wait per step -- lost 20-40% of its time on the host's slow
  phases).  Within a chain each step's product goes in blocks of hidden units small enough for
  OpenBLAS's small-matrix kernels, as few as possible (fwd + bwd loops on one thread 3.07 ms vs
  3.85 for the previous blocks; ``nn.lstm_blocks``).  With more threads than chains (small
  batches), threads share a chain's steps, claiming its blocks from atomic counters
  (``atomics.py``); a thread that does not show up leaves its work to the others.
* **Kernels** above ``threads.PAR_MIN`` elements (64 Ki) run as ``par_jit`` drivers: the serial
  kernel on fixed pieces (16 Ki-element chunks, blocks of rows, single images) inside one
  ``prange`` -- elementwise and softmax/layer-norm/cross-entropy/attention rows, im2col/col2im,
  pooling, the SGD and Adam updates -- at one thread too (the same compiled code, the same
  bits), except kernels that only copy or select (im2col, max pooling forward), which run
  serial there (the driver cost them ~10%).
* **Same numbers at every thread count**: pieces and blocks that change the numbers depend on
  the shape alone; row blocks of multiples of 16 rows, and column blocks, that stay above
  OpenBLAS's small-matrix kernels (m*n*k > 1e6) give the whole product's bits, so their count
  may follow the threads (measured on 174 shapes and layouts at 64-row multiples, then 104 row
  cuts and 83 column cuts).
* **A parallel region costs** ~2 us empty and the second thread joins within ~10 us (TBB, 2
  vCPUs, quiet): 2 x 25 us of work took 36 us, 2 x 122 us 135 us, back to back or with Python
  between.  (An earlier reading that back-to-back regions rarely got the worker was taken with
  other programs on the cores.)
* **TBB, not omp**: Numba's ``omp`` layer (GNU OpenMP) spins and binds each thread to its share
  of the work; on a busy machine (other programs on the cores) one descheduled thread stalls the
  region: tanh over 262 Ki floats had a *median* of 16 ms instead of 73 us (loaded, 00:00).  TBB
  steals work: a thread that does not show up leaves its pieces to the others, the worst case is
  the serial time.  TBB is also safe with fork and with several Python threads (tested); omp is
  not fork-safe, ``workqueue`` not thread-safe (labkit stays serial on it).  ``tbb`` is a
  dependency (x86-64 wheels); ``threads.prepare_numba`` loads it from the environment's ``lib/``.
* Under load this is the difference that shows most: notebook 09 (char transformer) took 11-14 s
  with load 3.4-5.9 on the 2 cores, 52-79 s before (OpenBLAS's and torch's spinning pools: 60-120
  s measured last round); bench_train's LeNet step 11 ms vs 87 ms (torch: 550 ms).
* ``OPENBLAS_THREAD_TIMEOUT=4`` is set by ``scripts/lab`` (every notebook kernel inherits it):
  after each of the *user's own* NumPy products OpenBLAS's threads spin for ~0.1 s, and a labkit
  product started then shares its cores with them -- 2x slower (bench_engine, which times
  labkit's and NumPy's calls alternately in one process: matmul n=256...1024 2.0x NumPy's time,
  1.03x with the setting).  NumPy's own products barely notice (256 x 256 back to back: 185 ->
  192 us).  OpenBLAS reads it when it loads, so a library cannot set it after NumPy is imported;
  in other processes set it before starting Python.

Memory: glibc's malloc settings and a pool for large outputs
------------------------------------------------------------
A fresh page costs a page fault: ~4.5 ms per 40 MB here (exp on 1e7 floats: 7.0 ms into a fresh
array, 2.6 ms into a reused one).  glibc's defaults hand memory back to the system too eagerly for
a training loop: its trim threshold follows the largest block freed so far (2x, from 128 KiB), so
when a step frees its activations (tens of MB) the top of the heap is returned with ``brk`` and the
next step faults every page in again (measured: 990 faults/step for LeNet B=64, 2,880 for the
transformer block; 8.6 -> 6.3 ms and 17.9 -> 11.6 ms per step once fixed).  At import labkit
therefore calls ``mallopt`` (glibc on Linux only; ``_tune_malloc``): blocks below 32 MiB come from
the heap and up to 64 MiB of free heap is kept mapped.  ``LABKIT_MALLOC_TUNE=0`` turns this off, and
it is skipped when the environment already sets ``MALLOC_*_`` or ``GLIBC_TUNABLES``.

Blocks of >= 32 MiB are fresh ``mmap`` s either way.  Kernel outputs of >= 32 MiB therefore come
from a small pool (``empty``), as does the scratch the nn Functions keep for backward from 256 KiB
(im2col columns, LSTM states: writing into fresh pages there was most of an LSTM step's time): a pooled buffer is handed out again only when the pool holds the
last reference to it (no tensor, view, saved value or NumPy array still refers to it), checked with
``sys.getrefcount`` under a lock.  At most ``POOL_MAX_BYTES`` stay pooled; ``empty_cache()``
releases them.
"""
import importlib
import os
import sys
import threading

import numpy as np

from . import reference as ref
from . import threads

USE_JIT = os.environ.get("LABKIT_JIT", "1") != "0"
_jit = None
_F32 = np.dtype(np.float32)


def jit_module():
    """The Numba kernel module (imported lazily); None when JIT is disabled."""
    global _jit
    if not USE_JIT:
        return None
    if _jit is None:
        threads.prepare_numba()           # before Numba starts its threads
        from . import jit as _m
        _jit = _m
    return _jit


def _ok(*arrs):
    for a in arrs:
        if a.dtype != _F32 or not a.flags.c_contiguous:
            return False
    return USE_JIT


# ------------------------------------------------------------------ the one dispatcher
_FAMILIES = {"": ("jit", "reference"), "nn": ("nn_jit", "nn_reference"),
             "optim": ("optim_jit", "optim_reference")}
_modules = {}


def backend(family, *arrs, work=0):
    """The kernel module for ``arrs``: the family's Numba module (``jit``, ``nn_jit``,
    ``optim_jit``) when every array is float32 and C-contiguous (and ``LABKIT_JIT`` is not 0),
    else its NumPy reference (``reference``, ``nn_reference``, ``optim_reference``).  With
    ``work`` (elements) of at least ``threads.PAR_MIN`` and more than one thread, the parallel
    drivers of ``par_jit`` instead: same functions, same results, the work split over threads."""
    fast = _ok(*arrs)
    par = _par_for(work) if fast else None
    if par is not None:
        return par
    mod = _modules.get((family, fast))
    if mod is None:
        if fast:
            jit_module()                          # import numba the usual way first
        name = _FAMILIES[family][0 if fast else 1]
        mod = _modules[(family, fast)] = importlib.import_module(f"{__name__}.{name}")
    return mod


_par = None


def parallel_module():
    """``par_jit`` (parallel drivers of the Numba kernels), or None when Numba's threading layer
    cannot be used from any thread (then labkit stays serial; see ``threads.parallel``)."""
    global _par
    if _par is None:
        jit_module()
        from . import par_jit
        v = np.zeros(4, _F32)
        par_jit.unary(0, v, v)                    # starts the pool: now the layer is known
        threads.note_layer()
        _par = par_jit if threads.layer_ok() else False
    return _par or None


# ------------------------------------------------------------------ glibc malloc
MALLOC_MMAP_THRESHOLD = 32 << 20   # blocks below this come from the (reused) heap
MALLOC_TRIM_THRESHOLD = 64 << 20   # free heap kept mapped between steps


def _tune_malloc():
    """Set glibc's mmap/trim thresholds (see the module docstring); True when applied."""
    if os.environ.get("LABKIT_MALLOC_TUNE", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") for k in os.environ):
        return False                                   # the user chose their own settings
    import ctypes
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version                      # glibc only (not musl)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD))


MALLOC_TUNED = _tune_malloc()

# ------------------------------------------------------------------ output buffers
POOL_MIN_BYTES = MALLOC_MMAP_THRESHOLD   # below this glibc's heap reuses mapped pages
SCRATCH_MIN_BYTES = 256 << 10      # scratch that Functions keep for backward (see kernels/nn.py)
POOL_MAX_BYTES = 256 << 20         # the most the pool keeps (in use or free)
_pool = []                         # 1-D uint8 arrays; free when only the pool refers to them
_pool_lock = threading.Lock()
_POOL_OK = getattr(sys, "_is_gil_enabled", lambda: True)()   # refcounts are exact with the GIL


def _free_refcount():
    # References to a pooled buffer nobody else holds, as seen inside the scan in _alloc:
    # the pool list, the loop variable, getrefcount's argument.
    probe = [np.empty(1, np.uint8)]
    for b in probe:
        return sys.getrefcount(b)


_FREE_REFS = _free_refcount()


def empty(shape, dtype, min_bytes=None):
    """An uninitialised C-contiguous array, from the pool when it has at least ``min_bytes``
    (default ``POOL_MIN_BYTES``: kernel outputs; scratch kept for backward, such as im2col columns
    or LSTM states, passes ``SCRATCH_MIN_BYTES``).  A pooled buffer is handed out again only once
    nothing but the pool refers to it."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= n
    if nbytes < (POOL_MIN_BYTES if min_bytes is None else min_bytes) or not _POOL_OK:
        return np.empty(shape, dtype)
    with _pool_lock:
        for b in _pool:
            if b.nbytes == nbytes and sys.getrefcount(b) <= _FREE_REFS:
                return b.view(dtype).reshape(shape)
        held = sum(b.nbytes for b in _pool)
        if held + nbytes > POOL_MAX_BYTES:            # make room: drop free buffers of other sizes
            for b in list(_pool):
                if sys.getrefcount(b) <= _FREE_REFS + 1:   # + the reference from list(_pool)
                    _pool.remove(b)
                    held -= b.nbytes
                del b
        buf = np.empty(nbytes, np.uint8)
        if held + nbytes <= POOL_MAX_BYTES:
            _pool.append(buf)
        return buf.view(dtype).reshape(shape)


def _alloc(x):
    """An uninitialised array shaped like ``x`` (pooled when large)."""
    return empty(x.shape, x.dtype)


def empty_cache():
    """Forget the pooled output buffers (memory returns to the system once no tensor uses it)."""
    with _pool_lock:
        _pool.clear()


def pool_info():
    """(buffers pooled, bytes pooled, bytes of them in use) -- for tests and curious users."""
    with _pool_lock:
        used = [sys.getrefcount(b) > _FREE_REFS for b in _pool]
        return len(_pool), sum(b.nbytes for b in _pool), sum(
            b.nbytes for b, u in zip(_pool, used) if u)


# ------------------------------------------------------------------ dispatch
# (kept lean: on tiny tensors this glue costs more than the kernel, ~0.3 us)
_kernels = {}


def _kernel(name):
    k = _kernels.get(name)
    if k is None:
        k = _kernels[name] = getattr(jit_module(), name)
    return k


def _par_for(size):
    """The parallel drivers for ``size`` elements of work, at *any* thread count: the same
    compiled driver at one thread gives the same bits as at several, where the serial kernel
    compiled on its own may not (LLVM vectorises a ``reassoc`` reduction differently once the
    kernel is inlined into a driver: log_softmax's rows differed)."""
    if size < threads.PAR_MIN:
        return None
    par = parallel_module()
    if par is not None:
        threads.sync_numba()
    return par


def unary(name, x):
    if USE_JIT and x.dtype == _F32 and x.flags.c_contiguous:
        out = np.empty(x.shape, _F32) if x.nbytes < POOL_MIN_BYTES else _alloc(x)
        par = _par_for(x.size)
        if par is not None:
            par.unary(par.UNARY.index(name), x.reshape(-1), out.reshape(-1))
        elif x.ndim == 1:
            _kernel(name)(x, out)
        else:
            _kernel(name)(x.reshape(-1), out.reshape(-1))
        return out
    return getattr(ref, name)(x)


def binary(name, a, b):
    """Fused elementwise kernel of two same-shape arrays (e.g. a backward rule ``(g, y)``)."""
    if a.shape == b.shape and _ok(a, b):
        out = np.empty(a.shape, _F32) if a.nbytes < POOL_MIN_BYTES else _alloc(a)
        par = _par_for(a.size)
        if par is not None:
            par.binary(par.BINARY.index(name), a.reshape(-1), b.reshape(-1), out.reshape(-1))
        elif a.ndim == 1:
            _kernel(name)(a, b, out)
        else:
            _kernel(name)(a.reshape(-1), b.reshape(-1), out.reshape(-1))
        return out
    return getattr(ref, name)(a, b)


def rowwise(name, *arrs):
    """Kernel over the last axis (softmax family); other axes are flattened into rows."""
    x = arrs[0]
    if x.ndim >= 1 and x.size and all(a.shape == x.shape for a in arrs) and _ok(*arrs):
        m = x.shape[-1]
        out = _alloc(x)
        rows = [a.reshape(-1, m) for a in arrs] + [out.reshape(-1, m)]
        par = _par_for(x.size)
        if par is None:
            _kernel(name)(*rows)
        elif len(arrs) == 1:
            par.rowwise2(par.ROWWISE.index(name), *rows)
        else:
            par.rowwise3(par.ROWWISE.index(name), *rows)
        return out
    return getattr(ref, name)(*arrs)


def addcmul(a, b, c, value):
    """``a + value * b * c`` in one pass."""
    if a.shape == b.shape == c.shape and _ok(a, b, c) and np.ndim(value) == 0:
        out = _alloc(a)
        par = _par_for(a.size)
        k = par.addcmul if par is not None else jit_module().addcmul
        k(a.reshape(-1), b.reshape(-1), c.reshape(-1), np.float32(value), out.reshape(-1))
        return out
    return ref.addcmul(a, b, c, value)


def lerp(a, b, w):
    """``a + w * (b - a)`` (PyTorch's two-sided formula) for a scalar weight."""
    if a.shape == b.shape and _ok(a, b) and np.ndim(w) == 0:
        out = _alloc(a)
        jit_module().lerp(a.reshape(-1), b.reshape(-1), np.float32(w), out.reshape(-1))
        return out
    return ref.lerp(a, b, w)


def has_nonfinite(x):
    """True if the array holds a NaN or an infinity (False for non-float dtypes)."""
    if x.dtype.kind not in "fc" or x.size == 0:
        return False
    if _ok(x):
        return bool(jit_module().has_nonfinite(x.reshape(-1)))
    return ref.has_nonfinite(x)
