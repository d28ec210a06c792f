"""``%load_ext labkit``: notebook magics and the re-run safety check.

Magics:
    %lk_graph EXPR      show the backward graph of the tensor EXPR evaluates to
    %%lk_step           run the cell inside ``labkit.graph.record()``; the cell's last line must be a
                        scalar tensor expression; replay its forward and backward op by op
    %lk_warmup          compile/load every kernel now (so the lesson doesn't wait on JIT later)
    %lk_why             after a shape error inside a labkit op: the graph up to the failing op

Re-run safety: when a cell's ``backward()`` adds into gradients that the *previous run of the same
cell* filled (and nothing zeroed them in between), labkit warns in plain words.  This is the classic
notebook bug: re-running a training cell without ``zero_grad()`` doubles the gradients.
"""
import warnings

from .autograd import engine as _engine
from .autograd.function import AccumulateGrad

__all__ = ["load_ipython_extension", "unload_ipython_extension", "RerunGuard",
           "DoubledGradientWarning"]


class DoubledGradientWarning(UserWarning):
    pass


class RerunGuard:
    """Tracks which cell last accumulated into each leaf's ``.grad`` (weakly, per leaf)."""

    def __init__(self):
        self.cell = None            # (cell_key, execution_count) of the running cell
        self._warned = set()

    def pre_run_cell(self, info=None):
        key = getattr(info, "cell_id", None) or getattr(info, "raw_cell", None)
        self._count = getattr(self, "_count", 0) + 1
        self.cell = (key, self._count)
        self._warned.clear()

    def observe(self, node, grads_out, grads_in):
        if type(node) is not AccumulateGrad or self.cell is None:
            return
        leaf = node.variable
        if leaf is None or leaf._grad is None:
            return
        g = leaf._grad
        prev = leaf.__dict__.get("_lk_last_accumulate")   # (cell_key, run, grad id, version)
        key, run = self.cell
        if prev is not None:
            pkey, prun, gid, ver = prev
            # The grad tensor is the one we saw, changed only by this one accumulation since.
            if pkey == key and prun != run and gid == id(g) and g._vc[0] == ver + 1 \
                    and key not in self._warned:
                self._warned.add(key)
                warnings.warn(
                    "backward() added into gradients left over from the previous run of this "
                    "cell, so they are now doubled. Call optimizer.zero_grad() (or "
                    "model.zero_grad()) before loss.backward(), or re-create the model, before "
                    "re-running a training cell.", DoubledGradientWarning, stacklevel=2)
        leaf.__dict__["_lk_last_accumulate"] = (key, run, id(g), g._vc[0])


_guard = None
_failure_hook = None


def _magics(ip):
    from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

    @magics_class
    class LabkitMagics(Magics):
        @line_magic
        def lk_graph(self, line):
            """%lk_graph [--gradcheck] EXPR — show the backward graph of a tensor expression.

            With ``--gradcheck`` the (scalar) expression is evaluated again while recording, and
            every op's backward rule is checked against finite differences (red: wrong)."""
            from .viz import graph
            line = line.strip()
            if line.startswith("--gradcheck"):
                expr = line[len("--gradcheck"):].strip()
                if not expr:
                    raise ValueError("usage: %lk_graph --gradcheck EXPR  (EXPR: a scalar loss)")
                return graph(lambda: self.shell.ev(expr), gradcheck=True)
            if not line:
                raise ValueError("usage: %lk_graph [--gradcheck] EXPR")
            return graph(self.shell.ev(line))

        @cell_magic
        def lk_step(self, line, cell):
            """%%lk_step — replay the cell's computation and its backward op by op."""
            from .viz import step
            shell = self.shell
            lines = cell.rstrip().splitlines()
            body, last = "\n".join(lines[:-1]), lines[-1]

            def run():
                if body.strip():
                    shell.ex(body)
                return shell.ev(last)
            return step(run)

        @line_magic
        def lk_why(self, line):
            """%lk_why — after a shape error in a labkit op: the graph up to the failing op."""
            return _failure_hook.why() if _failure_hook is not None else None

        @line_magic
        def lk_warmup(self, line):
            """%lk_warmup — compile or load every labkit kernel now."""
            from .warmup import warmup
            warmup(verbose=True)

    return LabkitMagics


def tensor_html(t):
    """IPython's HTML view of a labkit tensor: the static card of labkit.viz (loaded on first
    display), or None (text only) for scalars and short vectors."""
    from .viz._tensorcard import tensor_html as card
    return card(t)


def register_tensor_view(shell):
    """A tensor that is a cell's last expression (or is ``display``-ed) also shows its static
    view; its ``repr`` stays PyTorch's text.  Called by ``import labkit`` inside IPython."""
    from .tensor import Tensor
    shell.display_formatter.formatters["text/html"].for_type(Tensor, tensor_html)


def load_ipython_extension(ip):
    global _guard
    ip.register_magics(_magics(ip))
    if _guard is None:
        _guard = RerunGuard()
        ip.events.register("pre_run_cell", _guard.pre_run_cell)
        _engine._Observers.backward.append(_guard.observe)
    from .graph import capture_source
    capture_source(True)          # in notebooks, graph nodes remember the user's line
    from .viz._tensorcard import register_ipython
    register_ipython(ip)          # a tensor as a cell's last expression: the static tensor view
    global _failure_hook
    from .viz._failing import FailureHook
    _failure_hook = FailureHook(ip)
    _failure_hook.install()       # a shape error in a labkit op offers %lk_why


def unload_ipython_extension(ip):
    global _guard
    if _guard is not None:
        try:
            ip.events.unregister("pre_run_cell", _guard.pre_run_cell)
        except ValueError:
            pass
        if _guard.observe in _engine._Observers.backward:
            _engine._Observers.backward.remove(_guard.observe)
        _guard = None
    from .viz._tensorcard import unregister_ipython
    unregister_ipython(ip)
    global _failure_hook
    if _failure_hook is not None:
        _failure_hook.uninstall()
        _failure_hook = None
