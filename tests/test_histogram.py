"""labkit.histc / labkit.histogram (functions and Tensor methods) vs PyTorch's documented
behaviour and torch's results: bins as a count or as edges, range, weight, density, the
automatic range, values on edges and outside the range, return type and errors."""
import numpy as np
import pytest

import labkit as lk

torch = pytest.importorskip("torch")


def data(n=1000, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(n).astype(dtype) * 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("args", [(), (10,), (7, -2.0, 2.0), (5, 0, 0), (4, -1.0, 1.0)])
def test_histc_matches_torch(dtype, args):
    x = data(dtype=dtype)
    a = lk.histc(lk.tensor(x), *args)
    b = torch.histc(torch.tensor(x), *args)
    assert a.dtype == getattr(lk, str(b.dtype).split(".")[1])
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(lk.tensor(x).histc(*args).numpy(), b.numpy())


def test_histc_edges_and_special_ranges():
    x = [1., 2, 1, 4, 2.5, 7]
    assert lk.histc(lk.tensor(x), bins=4).tolist() == torch.histc(torch.tensor(x), 4).tolist()
    # values equal to max fall in the last bin; outside the range are dropped
    assert lk.histc(lk.tensor(x), 4, 0, 3).tolist() == [0., 2., 1., 1.][:0] + \
        torch.histc(torch.tensor(x), 4, 0, 3).tolist()
    # all values equal: the range is widened by 1 on each side
    assert lk.histc(lk.tensor([2., 2.]), bins=4).tolist() == [0., 0., 2., 0.]
    assert lk.histc(lk.tensor([[1., 2.], [3., 4.]]), 4).shape == (4,)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        lk.histc(lk.tensor(x), 3, 5, 1)
    with pytest.raises(RuntimeError, match="not finite"):
        lk.histc(lk.tensor([1., float("nan")]), 3)
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        lk.histc(lk.tensor(x), 0)
    with pytest.raises(NotImplementedError, match="floating"):
        lk.histc(lk.tensor([1, 2]), 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(bins=10), dict(bins=3, range=(-1.0, 2.5)),
                                dict(bins=8, density=True), dict(bins=6, weight=True),
                                dict(bins=6, weight=True, density=True, range=(0.0, 4.0))])
def test_histogram_matches_torch(dtype, kw):
    x = data(dtype=dtype).reshape(20, 50)
    w = np.abs(data(seed=1, dtype=dtype)).reshape(20, 50)
    la = dict(kw, weight=lk.tensor(w)) if kw.get("weight") else kw
    ta = dict(kw, weight=torch.tensor(w)) if kw.get("weight") else kw
    a = lk.histogram(lk.tensor(x), **la)
    b = torch.histogram(torch.tensor(x), **ta)
    assert type(a).__name__ == "histogram" and a._fields == ("hist", "bin_edges")
    hist, edges = a
    np.testing.assert_allclose(hist.numpy(), b.hist.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(edges.numpy(), b.bin_edges.numpy())
    assert hist.dtype == edges.dtype == lk.tensor(x).dtype
    m = lk.tensor(x).histogram(**la)
    np.testing.assert_array_equal(m.hist.numpy(), hist.numpy())


def test_histogram_with_edges_tensor():
    x = [1., 2, 1, 4, 2.5, 7]
    e = [0., 1.5, 3., 10.]
    a = lk.histogram(lk.tensor(x), lk.tensor(e), weight=lk.arange(6.), density=True)
    b = torch.histogram(torch.tensor(x), torch.tensor(e), weight=torch.arange(6.),
                        density=True)
    np.testing.assert_allclose(a.hist.numpy(), b.hist.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(a.bin_edges.numpy(), e)
    # exactly on an inner edge: the right bin; on the last edge: the last bin
    assert lk.histogram(lk.tensor([1.5, 10.0, 0.0, -1.0, 11.0]), lk.tensor(e)).hist.tolist() \
        == [1., 1., 1.]
    # equal values: widened by 0.5 each side (numpy's convention, as PyTorch)
    h = lk.histogram(lk.tensor([2., 2.]), 4)
    np.testing.assert_array_equal(h.bin_edges.numpy(), [1.5, 1.75, 2.0, 2.25, 2.5])
    assert h.hist.tolist() == [0., 0., 2., 0.]
    with pytest.raises(RuntimeError, match="min should not exceed max"):
        lk.histogram(lk.tensor(x), 3, range=(5., 1.))
    with pytest.raises(RuntimeError, match="same shape"):
        lk.histogram(lk.tensor(x), 3, weight=lk.ones(2))
    with pytest.raises(NotImplementedError, match="floating"):
        lk.histogram(lk.tensor([1, 2]), 3)
    assert "hist=tensor(" in repr(h) and repr(h).startswith("labkit.return_types.histogram(")
