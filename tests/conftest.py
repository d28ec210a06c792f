"""Shared test setup.

Import order: numba (through labkit's kernels) before torch.  Both orders were tried on this
machine (tests/test_import_order.py checks both in subprocesses); labkit never imports torch.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import labkit  # noqa: E402
from labkit import kernels  # noqa: E402

kernels.jit_module()          # numba first, then torch (see test_import_order.py)

try:
    import torch  # noqa: E402
except ImportError:          # pragma: no cover - torch is in the dev extras
    torch = None


@pytest.fixture(scope="session")
def ipython_shell():
    """The one IPython shell of this test process (IPython's test app starts only once)."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython
    return start_ipython() or get_ipython()


@pytest.fixture(autouse=True)
def _seed():
    labkit.manual_seed(0)
    np.random.seed(0)
    yield


def pytest_report_header(config):
    return [f"labkit JIT: {kernels.USE_JIT}; torch: {getattr(torch, '__version__', 'not installed')}"]


# CI sets LABKIT_NO_SKIPS=1: every dependency is installed there, so a skipped test means a
# missing install step, and the run must fail rather than quietly test less.
_SKIPPED = []


def pytest_runtest_logreport(report):
    if report.skipped and os.environ.get("LABKIT_NO_SKIPS"):
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _SKIPPED and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if _SKIPPED:
        terminalreporter.write_line(f"LABKIT_NO_SKIPS: {len(_SKIPPED)} tests were skipped "
                                    f"(e.g. {_SKIPPED[0]}); failing the run", red=True)
