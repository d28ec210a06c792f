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


@pytest.fixture(autouse=True)
def _seed():
    labkit.manual_seed(0)
    np.random.seed(0)
    yield


def pytest_report_header(config):
    return [f"labkit JIT: {kernels.USE_JIT}; torch: {getattr(torch, '__version__', 'not installed')}"]
