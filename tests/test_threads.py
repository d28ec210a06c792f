"""labkit.set_num_threads / get_num_threads control BLAS threads (and Numba's, once imported)."""
import numpy as np
import pytest

import labkit as lk


def test_set_num_threads_limits_blas_and_restores():
    before = lk.get_num_threads()
    try:
        lk.set_num_threads(1)
        assert lk.get_num_threads() == 1
        a = lk.randn(64, 64)
        assert np.allclose((a @ a).numpy(), a.numpy() @ a.numpy(), atol=1e-4)
    finally:
        lk.set_num_threads(before)
    assert lk.get_num_threads() == before


def test_set_num_threads_rejects_nonsense():
    with pytest.raises(ValueError, match="positive"):
        lk.set_num_threads(0)
