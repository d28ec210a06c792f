"""``python -m labkit doctor``: is this laptop ready for the workshop?  A checklist with a fix for
every failure, for the morning of a workshop (or the week before).

    python -m labkit doctor          # in a terminal: exit status 1 when something is broken
    from labkit import doctor
    doctor.run()                     # in a notebook (00 · start here): the same checklist, then a
                                     # widget that reports back to the kernel that it rendered

Checked, all offline: Python, NumPy, Numba and labkit import with supported versions; the Numba
kernel cache can be written (``NUMBA_CACHE_DIR`` or next to labkit's sources) and is warm (the
check warms it: every kernel is compiled or loaded once); the shipped datasets load; JupyterLab /
Notebook 7, ipykernel, ipywidgets and anywidget are installed and their front-end extensions are
present and not disabled.  In a notebook the last check is a real one: a small widget whose
browser code, once drawn, sends a message to the kernel; the kernel answers with a verdict that
the widget shows ("✔ widgets render here").  Where widgets cannot run, the notebook shows the
widget's text fallback instead, which says what to fix.

Front-end messages are handled between cells, not while a cell runs, so the verdict arrives as
soon as the notebook is idle (after Run All has finished the later cells).
"""
from __future__ import annotations

import html
import json
import os
import pathlib
import sys
import tempfile
import time

__all__ = ["Check", "Report", "run", "checks", "widget_check", "WidgetCheck"]

OK, WARN, FAIL = "ok", "warn", "fail"
_MARK = {OK: "✔", WARN: "!", FAIL: "✘"}
_COLOUR = {OK: "#1a7f37", WARN: "#9a6700", FAIL: "#cf222e"}


class Check:
    """One line of the checklist: ``status`` is ok / warn / fail; ``fix`` says what to do."""

    def __init__(self, name, status, detail, fix=None):
        self.name, self.status, self.detail, self.fix = name, status, detail, fix

    def __str__(self):
        s = f"{_MARK[self.status]} {self.name}: {self.detail}"
        return s + (f"\n    fix: {self.fix}" if self.fix and self.status != OK else "")

    __repr__ = __str__


class Report:
    """The checklist.  Truthy when nothing failed; text in a terminal, HTML (+ widget) in a notebook."""

    def __init__(self, items, widget=None):
        self.items, self.widget = list(items), widget

    @property
    def ok(self):
        return all(c.status != FAIL for c in self.items)

    def __bool__(self):
        return self.ok

    def failures(self):
        return [c for c in self.items if c.status == FAIL]

    def __str__(self):
        n_fail = len(self.failures())
        tail = ("all good: ready for the workshop" if n_fail == 0 else
                f"{n_fail} problem{'s' if n_fail > 1 else ''} to fix (see 'fix:' above)")
        return "labkit doctor\n" + "\n".join(str(c) for c in self.items) + "\n" + tail

    __repr__ = __str__

    def _repr_html_(self):
        rows = []
        for c in self.items:
            fix = (f"<div style='margin-left:1.6em;color:#57606a'>fix: {html.escape(c.fix)}</div>"
                   if c.fix and c.status != OK else "")
            rows.append(f"<div class='labkit-doctor-item' data-status='{c.status}'>"
                        f"<b style='color:{_COLOUR[c.status]}'>{_MARK[c.status]}</b> "
                        f"<b>{html.escape(c.name)}</b>: {html.escape(c.detail)}{fix}</div>")
        head = ("all good: ready for the workshop" if self.ok else
                f"{len(self.failures())} problem(s) to fix")
        return (f"<div class='labkit-doctor' data-ok='{str(self.ok).lower()}' style='font-family:"
                f"sans-serif;line-height:1.5'>{''.join(rows)}<div><i>{head}</i></div></div>")

    def _ipython_display_(self):
        from IPython.display import display
        display(self._repr_mimebundle_(), raw=True)
        if self.widget is not None:
            display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return {"text/plain": str(self), "text/html": self._repr_html_()}


# ------------------------------------------------------------------ the checks
def _version(mod):
    return getattr(mod, "__version__", "?")


def _vtuple(v):
    out = []
    for part in str(v).split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def check_python():
    v = sys.version.split()[0]
    if sys.version_info < (3, 10):
        return Check("Python", FAIL, f"{v} is too old (labkit needs 3.10 or newer)",
                     "install Python 3.11 (python.org or conda) and re-create the environment")
    return Check("Python", OK, f"{v} ({sys.executable})")


def check_import(name, minimum, fix):
    try:
        mod = __import__(name)
    except Exception as e:                       # ImportError, or a broken binary
        return Check(name, FAIL, f"cannot be imported ({type(e).__name__}: {e})", fix)
    v = _version(mod)
    if _vtuple(v) < _vtuple(minimum):
        return Check(name, FAIL, f"{v} is older than the {minimum} labkit needs", fix)
    return Check(name, OK, v)


def cache_dir():
    """Where Numba will keep labkit's compiled kernels: (path, how it was chosen)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return pathlib.Path(env), "NUMBA_CACHE_DIR"
    return pathlib.Path(__file__).resolve().parent / "kernels" / "__pycache__", "next to labkit's sources"


def _writable(path):
    """None when ``path`` can be created and written, else the error text."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".labkit-doctor-"):
            pass
    except OSError as e:
        return f"{type(e).__name__}: {e.strerror or e}"
    return None


def check_cache():
    path, how = cache_dir()
    err = _writable(path)
    if err is None:
        return Check("kernel cache", OK, f"{path} is writable ({how})")
    if how == "NUMBA_CACHE_DIR":
        return Check("kernel cache", FAIL,
                     f"NUMBA_CACHE_DIR={path} cannot be used ({err}): every session would compile "
                     f"all kernels again (minutes on a slow laptop)",
                     "point NUMBA_CACHE_DIR at a folder you can write, e.g. "
                     "`export NUMBA_CACHE_DIR=$HOME/.cache/labkit-numba`, or unset it")
    return Check("kernel cache", WARN,
                 f"{path} is not writable ({err}); Numba falls back to its per-user cache",
                 "install labkit where you can write (a venv you own), or set NUMBA_CACHE_DIR to "
                 "a writable folder")


def check_warm(cache_check):
    if cache_check.status == FAIL:
        return Check("kernels warm", FAIL, "skipped: the kernel cache cannot be written",
                     "fix the kernel cache first, then run `python -m labkit doctor` again")
    try:
        from .warmup import warmup
        t0 = time.perf_counter()
        report = warmup(verbose=False)
        dt = time.perf_counter() - t0
    except Exception as e:
        return Check("kernels warm", FAIL, f"warm-up failed: {type(e).__name__}: {e}",
                     "reinstall labkit (`pip install --force-reinstall labkit`) and report the error")
    bad = [s for s in report if s.status.startswith("error") or s.status == "no example"]
    if bad:
        return Check("kernels warm", FAIL, f"{len(bad)} kernel(s) failed: "
                     + "; ".join(f"{s.module}.{s.name}: {s.status}" for s in bad[:3]),
                     "reinstall numba and labkit; if it persists, report the error")
    compiled = sum(s.status == "compiled" for s in report)
    return Check("kernels warm", OK, f"{len(report)} kernels ready in {dt:.1f} s "
                 f"({compiled} compiled now, the rest loaded from the cache)")


def check_threads():
    """How many threads labkit uses and whether its kernels can share them (the TBB layer)."""
    from . import kernels
    from .kernels import threads
    n = threads.get_num_threads()
    if n == 1:
        return Check("threads", OK, "1 (LABKIT_NUM_THREADS or set_num_threads): serial kernels")
    try:
        par = kernels.parallel_module() is not None
        import numba
        layer = numba.threading_layer()
    except Exception as e:                    # report, don't stop the checklist
        return Check("threads", WARN, f"{n} set, but the thread pool did not start "
                     f"({type(e).__name__}: {e}); kernels run serially",
                     "pip install tbb (Linux/Windows x86-64), or set LABKIT_NUM_THREADS=1")
    if not par:
        return Check("threads", WARN, f"{n} set, but Numba's {layer!r} threading layer cannot be "
                     "shared between threads: kernels run serially",
                     "pip install tbb (Linux/Windows x86-64), or unset NUMBA_THREADING_LAYER")
    return Check("threads", OK, f"{n} (Numba's {layer} pool for kernels and matrix products; "
                 f"LABKIT_NUM_THREADS or labkit.set_num_threads to change)")


def check_datasets():
    try:
        from . import datasets
        train, test = datasets.digits(split=0.8, seed=0)
        n = len(train) + len(test)
    except Exception as e:
        return Check("datasets", FAIL, f"the shipped datasets do not load ({type(e).__name__}: {e})",
                     "reinstall labkit from a wheel or a full clone (the data files are part of it)")
    return Check("datasets", OK, f"shipped with labkit, no download needed ({n} digit images)")


def _labextension(name):
    """(installed folder or None, disabled?) of a JupyterLab/Notebook 7 front-end extension."""
    try:
        from jupyter_core.paths import jupyter_config_path, jupyter_path
    except ImportError:
        return None, False
    found = None
    for base in jupyter_path("labextensions"):
        p = pathlib.Path(base) / name
        if (p / "package.json").exists():
            found = p
            break
    disabled = False
    for base in jupyter_config_path():
        cfg = pathlib.Path(base) / "labconfig" / "page_config.json"
        try:
            data = json.loads(cfg.read_text())
        except (OSError, ValueError):
            continue
        dis = data.get("disabledExtensions", {})
        names = dis if isinstance(dis, list) else [k for k, v in dis.items() if v]
        if any(n == name or n.startswith(name + ":") for n in names):
            disabled = True
    return found, disabled


def check_frontends():
    items = []
    have = []
    for mod, label in (("jupyterlab", "JupyterLab"), ("notebook", "Notebook")):
        try:
            have.append(f"{label} {_version(__import__(mod))}")
        except ImportError:
            pass
    if have:
        items.append(Check("front-ends", OK, ", ".join(have)))
    else:
        items.append(Check("front-ends", WARN, "neither JupyterLab nor Notebook 7 is installed here "
                           "(fine if you use VS Code's Jupyter extension)",
                           "pip install 'labkit[lab]' (or: pip install jupyterlab notebook)"))
    items.append(check_import("ipykernel", "6.29", "pip install ipykernel"))
    for mod, minimum, ext in (("ipywidgets", "8.1", "@jupyter-widgets/jupyterlab-manager"),
                              ("anywidget", "0.9", "anywidget")):
        c = check_import(mod, minimum, f"pip install '{mod}>={minimum}' in the kernel's environment")
        if c.status == OK and have:
            folder, disabled = _labextension(ext)
            if folder is None:
                c = Check(mod, FAIL, f"{c.detail}, but its front-end extension {ext} is missing",
                          f"pip install --force-reinstall '{mod}>={minimum}' in the environment "
                          "that runs JupyterLab")
            elif disabled:
                c = Check(mod, FAIL, f"{c.detail}, but the front-end extension {ext} is disabled",
                          f"jupyter labextension enable {ext}")
            else:
                c = Check(mod, OK, f"{c.detail}, front-end extension enabled")
        items.append(c)
    return items


def checks(warm=True):
    """All terminal checks, in order."""
    items = [check_python(),
             check_import("numpy", "1.26", "pip install 'numpy>=1.26'"),
             check_import("numba", "0.60", "pip install 'numba>=0.60' (or conda install numba)")]
    from . import __version__
    items.append(Check("labkit", OK, f"{__version__} ({pathlib.Path(__file__).resolve().parent})"))
    cache = check_cache()
    items.append(cache)
    if warm:
        items.append(check_warm(cache))
    items.append(check_threads())
    items.append(check_datasets())
    items += check_frontends()
    return items


# ------------------------------------------------------------------ the widget round trip
_ESM = r"""
function frontend() {
  const b = document.body;
  if (b && [...b.classList].some(c => c.startsWith("vscode"))) return "VS Code";
  if (location.pathname.includes("/notebooks/")) return "Jupyter Notebook";
  if (location.pathname.includes("/lab")) return "JupyterLab";
  return "a Jupyter front-end";
}
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "labkit-doctor-widget";
  box.style.cssText = "font-family:sans-serif;padding:6px 10px;border-left:4px solid #57606a";
  const line = document.createElement("span");
  box.appendChild(line);
  el.appendChild(box);
  const show = () => {
    const status = model.get("status");
    box.dataset.status = status;
    box.style.borderLeftColor = status === "ok" ? "#1a7f37" : "#57606a";
    line.textContent = model.get("verdict") ||
      "… the widget is drawn; waiting for the kernel to answer (it answers when the notebook is idle)";
  };
  model.on("change:verdict", show);
  model.on("change:status", show);
  show();
  model.set("rendered", { frontend: frontend(), user_agent: navigator.userAgent, at: Date.now() });
  model.save_changes();
  const timer = setTimeout(() => {
    if (model.get("status") !== "ok") {
      box.dataset.status = "no-reply";
      line.textContent = "✘ the widget is drawn but the kernel has not answered after 60 s. " +
        "Fix: wait for running cells to finish; if it stays, restart the kernel (Kernel → Restart) " +
        "and make sure the kernel runs in the environment where labkit and ipywidgets are installed.";
    }
  }, 60000);
  return () => clearTimeout(timer);
}
export default { render };
"""

_FIX = ("✘ widgets do not render here: you are reading this text instead of the widget. Fix: in "
        "JupyterLab or Notebook 7, install ipywidgets and anywidget in the environment that runs "
        "Jupyter (pip install 'labkit[lab]') and reload the page; in VS Code, install the Jupyter "
        "extension and select this environment's kernel; then run this cell again.")


def _widget_class():
    import anywidget
    import traitlets

    class WidgetCheck(anywidget.AnyWidget):
        """Drawn by the browser, it messages the kernel; the kernel's verdict shows in it."""
        _esm = _ESM
        rendered = traitlets.Dict({}).tag(sync=True)        # set by the browser on render
        verdict = traitlets.Unicode("").tag(sync=True)      # set by the kernel in reply
        status = traitlets.Unicode("waiting").tag(sync=True)

        @traitlets.observe("rendered")
        def _on_rendered(self, change):
            info = change["new"] or {}
            self.frontend = info.get("frontend", "a Jupyter front-end")
            self.status = "ok"
            self.verdict = (f"✔ widgets render here ({self.frontend}): the browser drew this "
                            "widget and the kernel heard back from it.")

        @property
        def ok(self):
            """True once the browser has reported that it drew the widget."""
            return self.status == "ok"

        def __repr__(self):
            return _FIX

    return WidgetCheck


WidgetCheck = None


def widget_check():
    """A widget that proves the round trip browser -> kernel -> browser (see the module doc)."""
    global WidgetCheck
    if WidgetCheck is None:
        WidgetCheck = _widget_class()
    return WidgetCheck()


def _in_kernel():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and hasattr(ip, "kernel")


def run(warm=True, widget=None):
    """The checklist as a :class:`Report`; in a notebook kernel it also shows the widget check."""
    if widget is None:
        widget = _in_kernel()
    w = None
    if widget:
        try:
            w = widget_check()
        except ImportError:
            pass                    # the anywidget check in the list already says what to do
    return Report(checks(warm=warm), widget=w)


def main(warm=True):
    """The CLI: print the checklist; exit status 1 when something failed."""
    report = run(warm=warm, widget=False)
    print(report)
    if report.ok:
        print("In a notebook, 00_start_here.ipynb also checks that widgets render in the browser.")
    return 0 if report.ok else 1
