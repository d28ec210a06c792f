"""``%load_ext labkit``'s ``%lk_why``: the graph of a notebook cell that failed in a labkit op.

The graph of failing code itself (``lk.viz.graph(fn)`` when ``fn()`` raises) is built in
:mod:`labkit.viz._graphdata` (:func:`run_recorded`, :func:`failure_graph`) and shown by
:func:`labkit.viz.graphview.graph`; this module sits above both.
"""
from __future__ import annotations

from ._graphdata import failing_op


# ------------------------------------------------------------------ %load_ext labkit: %lk_why
class FailureHook:
    """With ``%load_ext labkit``: when a cell fails inside a labkit op (a shape mismatch), the
    usual traceback is followed by one line offering ``%lk_why``, which re-runs that cell's code
    with recording on and shows the graph up to the failing op (see :func:`graph`)."""

    TYPES = (RuntimeError, ValueError, IndexError, TypeError)

    def __init__(self, shell):
        self.shell = shell
        self.source = None          # the code of the last cell that failed in a labkit op
        self._running = None        # the code of the cell now running

    def _pre_run_cell(self, info=None):
        self._running = getattr(info, "raw_cell", None)

    def install(self):
        self.shell.set_custom_exc(self.TYPES, self.handler)
        self.shell.events.register("pre_run_cell", self._pre_run_cell)

    def uninstall(self):
        self.shell.set_custom_exc((), None)
        try:
            self.shell.events.unregister("pre_run_cell", self._pre_run_cell)
        except ValueError:
            pass

    def handler(self, shell, etype, evalue, tb, tb_offset=None):
        shell.showtraceback((etype, evalue, tb), tb_offset=tb_offset)
        name, inputs, _where = failing_op(evalue)
        if name is not None and inputs and self._running:
            self.source = self._running
            print(f"labkit: run %lk_why to see the graph up to the failing op ({name}); it runs "
                  f"this cell's code again with recording on.")
        return None

    def why(self):
        """The ``%lk_why`` magic: re-run the failed cell under recording, show the view."""
        from .graphview import graph
        if not self.source:
            print("labkit: no cell has failed inside a labkit op since %load_ext labkit")
            return None
        code = compile(self.source, "<lk_why>", "exec")
        ns = self.shell.user_ns
        try:
            graph(lambda: exec(code, ns), title="why it failed")
        except Exception as e:          # the expected failure: graph() displayed the view
            print(f"labkit: {type(e).__name__}: {e}")
            return None
        print("labkit: the cell ran without error this time")
        return None
