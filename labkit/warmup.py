"""Compile (or load from Numba's disk cache) every labkit kernel ahead of time.

    import labkit
    labkit.warmup()                 # or, in a shell:  python -m labkit warmup

The first call of a Numba kernel compiles it (0.15-0.4 s each, several seconds for the package);
later processes load the compiled code from the on-disk cache (a few ms each).  Run this once after
installing, or at the top of a workshop notebook, so that no lesson stalls in its first epoch.

How kernels are found
---------------------
Every module in the ``labkit.kernels`` package is imported, and every *public* Numba dispatcher
defined in it is a kernel.  Names starting with ``_`` are helpers (``_exp32``): they are compiled
as part of the kernels that call them.

The convention for kernel modules: ``WARMUP``
---------------------------------------------
A kernel module declares tiny example arguments for each public kernel in a module-level dict::

    WARMUP = {
        "exp": lambda: (np.zeros(4, np.float32), np.empty(4, np.float32)),
        "lerp": lambda: (x, y, np.float32(0.5), out),       # scalars typed as at run time
        # several signatures: return a list of argument tuples
        "has_nonfinite": lambda: [(f32_array,), (f64_array,)],
    }

- the values are callables (so that importing the module allocates nothing) returning one tuple
  of arguments, or a list of tuples when the kernel is used with several signatures;
- the arguments must have exactly the types the dispatch code passes at run time (dtype, number
  of dimensions, C-contiguity, ``np.float32`` vs Python ``float``, ``int`` vs ``bool``): each
  distinct combination is a separate compiled specialisation;
- keep them tiny (a few elements): warm-up is about compiling, not computing.
A kernel without an entry is reported as ``no example`` (and ``tests/test_warmup.py`` fails).
``tests/test_warmup.py`` also checks that, after warm-up, real float32 work compiles nothing new
(the examples have the run-time types).

Statuses: ``compiled`` (not in the cache: compiled and saved), ``cached`` (loaded from the disk
cache), ``ready`` (already loaded in this process), ``no example``, ``error: ...``.
"""
import importlib
import pkgutil
import sys
import time
from collections import namedtuple

KernelStatus = namedtuple("KernelStatus", "module name status seconds")


def kernel_modules():
    """The imported modules of ``labkit.kernels`` that define Numba kernels."""
    from . import kernels
    if kernels.jit_module() is None:                  # LABKIT_JIT=0: nothing to compile
        return []
    from numba.core.registry import CPUDispatcher
    mods = []
    for info in sorted(pkgutil.iter_modules(kernels.__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"{kernels.__name__}.{info.name}")
        if any(isinstance(v, CPUDispatcher) for v in vars(mod).values()):
            mods.append(mod)
    return mods


def discover():
    """(module, name, dispatcher) for every public kernel defined in ``labkit.kernels.*``."""
    from numba.core.registry import CPUDispatcher
    found = []
    for mod in kernel_modules():
        for name, obj in vars(mod).items():
            if (isinstance(obj, CPUDispatcher) and not name.startswith("_")
                    and obj.py_func.__module__ == mod.__name__):      # not an imported helper
                found.append((mod, name, obj))
    return found


def _counts(disp):
    st = disp.stats
    return sum(st.cache_hits.values()), sum(st.cache_misses.values())


def example(mod, name):
    """The warm-up example of kernel ``name`` in module ``mod`` (None if it has none)."""
    return getattr(mod, "WARMUP", {}).get(name)


def _warm_one(mod, name, disp):
    example_ = example(mod, name)
    short = mod.__name__.rsplit(".", 1)[-1]
    if example_ is None:
        return KernelStatus(short, name, "no example", 0.0)
    t0 = time.perf_counter()
    try:
        arg_sets = example_()
        if not isinstance(arg_sets, list):
            arg_sets = [arg_sets]
        n0, (hits0, misses0) = len(disp.overloads), _counts(disp)
        for args in arg_sets:
            disp(*(args if isinstance(args, tuple) else (args,)))
        n1, (hits1, misses1) = len(disp.overloads), _counts(disp)
    except Exception as e:                            # report, keep warming the others
        return KernelStatus(short, name, f"error: {type(e).__name__}: {e}",
                            time.perf_counter() - t0)
    if n1 == n0:
        status = "ready"                              # already loaded in this process
    elif misses1 > misses0 or hits1 - hits0 < n1 - n0:
        status = "compiled"                           # (also for a dispatcher without cache=True)
    else:
        status = "cached"
    return KernelStatus(short, name, status, time.perf_counter() - t0)


class _Progress:
    """A progress bar in Jupyter (when ipywidgets is installed), else one rewritten text line."""

    def __init__(self, total, verbose):
        self.total, self.verbose, self.bar = total, verbose, None
        if not verbose:
            return
        try:
            shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
            if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
                import ipywidgets
                from IPython.display import display
                self.bar = ipywidgets.IntProgress(min=0, max=max(total, 1),
                                                  description="labkit warmup")
                self.label = ipywidgets.Label()
                display(ipywidgets.HBox([self.bar, self.label]))
        except Exception:                             # no widgets: text is fine
            self.bar = None

    def update(self, i, st):
        if not self.verbose:
            return
        text = f"[{i}/{self.total}] {st.module}.{st.name}: {st.status} ({st.seconds:.2f} s)"
        if self.bar is not None:
            self.bar.value, self.label.value = i, text
        else:
            sys.stderr.write("\r\x1b[2K" + text if sys.stderr.isatty() else text + "\n")
            sys.stderr.flush()

    def close(self, summary):
        if not self.verbose:
            return
        if self.bar is not None:
            self.label.value = summary
        else:
            sys.stderr.write(("\r\x1b[2K" if sys.stderr.isatty() else "") + summary + "\n")
            sys.stderr.flush()


def warmup(verbose=True):
    """Compile or load every labkit kernel; returns a list of ``KernelStatus``.

    With ``verbose`` a progress line (a bar in Jupyter with ipywidgets) and a summary are shown.
    Problems (kernels without a ``WARMUP`` example, examples that fail) are reported, not raised.
    """
    t0 = time.perf_counter()
    kernels = discover()
    prog = _Progress(len(kernels), verbose)
    report = []
    for i, (mod, name, disp) in enumerate(kernels, 1):
        st = _warm_one(mod, name, disp)
        report.append(st)
        prog.update(i, st)
    counts = {}
    for st in report:
        key = st.status.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    summary = (f"labkit warmup: {len(report)} kernels in {time.perf_counter() - t0:.2f} s ("
               + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ")")
    if not report:
        summary = "labkit warmup: nothing to do (LABKIT_JIT=0)"
    prog.close(summary)
    if verbose:
        for st in report:
            if st.status == "no example" or st.status.startswith("error"):
                sys.stderr.write(f"  {st.module}.{st.name}: {st.status}\n")
    return report


class _CallableModule(type(sys)):
    """``labkit.warmup`` is resolved lazily by ``labkit.__getattr__`` to the function above, but
    once this module has been imported (``import labkit.warmup``, ``python -m labkit``) the import
    system binds the *module* to ``labkit.warmup``.  Calling the module calls the function, so
    ``labkit.warmup()`` works either way."""

    def __call__(self, verbose=True):
        return warmup(verbose)


sys.modules[__name__].__class__ = _CallableModule
