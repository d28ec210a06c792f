"""Numba kernels against their NumPy reference (and float64 truth), edge values, dispatch, pool.

Tolerances (max errors measured on 2.4e6 points over the whole float32 range, in brackets):
- exp <= 2 ulp [1.0]: Cephes minimax polynomial after a Cody-Waite reduction;
- sigmoid <= 3 ulp [2.5] and silu <= 4 ulp [3.1]: exp plus one division and a multiply;
- tanh <= 5 ulp [4.4]: Eigen's rational approximation;
- gelu = x Phi(x): |err| <= 2.5e-7 |x| + 2 ulp [1.93e-7 |x|]: Phi from the erfc approximation of
  Numerical Recipes (fractional error < 1.2e-7) plus float32 evaluation, so the error scales with x;
- arithmetic kernels (backward rules, addcmul, lerp, softmax): a few ulp from FMA contraction and
  reassociated sums, compared with rtol 2e-6 (softmax: against float64 sums).
"""
import math
import sys

import numpy as np
import pytest

from labkit import kernels as K
from labkit.kernels import reference as ref

pytestmark = pytest.mark.skipif(not K.USE_JIT, reason="LABKIT_JIT=0: no Numba kernels to test")

J = K.jit_module()
F32 = np.float32
TINY = np.finfo(F32).tiny

EDGE = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-40, -1e-40, 1e-6, -1e-6,
                 0.5, -0.5, 0.625, -0.625, 1.0, -1.0, 8.9, 9.5, -9.5, 20.0, -20.0, 88.0, 88.4,
                 88.72, 88.73, -87.5, -100.0, -103.9, -104.5, 1e30, -1e30,
                 np.finfo(F32).max, -np.finfo(F32).max], dtype=F32)


def _data(n=20000, scale=4.0, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([(rng.standard_normal(n) * scale).astype(F32), EDGE])


def _jit1(name, x):
    out = np.empty_like(x)
    getattr(J, name)(x, out)
    return out


def _ulps(got, want64):
    """Error in units of the last place of the correctly rounded float32 result (finite, normal)."""
    with np.errstate(over="ignore"):
        w32 = want64.astype(F32)
    ok = np.isfinite(w32) & (np.abs(w32) >= TINY)
    return np.abs(got[ok].astype(np.float64) - want64[ok]) / np.spacing(np.abs(w32[ok]))


def _same_specials(got, want64):
    """NaN where the truth is NaN, the same infinities, and nothing else non-finite."""
    with np.errstate(over="ignore"):
        w32 = want64.astype(F32)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(w32))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(w32))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(w32))


def _truth(name, x):
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        if name == "erf":
            return np.vectorize(math.erf, otypes=[np.float64])(x64)
        if name == "gelu":
            erfc = np.vectorize(math.erfc, otypes=[np.float64])
            return x64 * 0.5 * erfc(-x64 / math.sqrt(2))
        return getattr(ref, name)(x64)


@pytest.mark.parametrize("name,max_ulp", [("exp", 2), ("sigmoid", 3), ("tanh", 5), ("silu", 4),
                                          ("erf", 2)])
def test_unary_ulp_against_float64(name, max_ulp):
    x = _data()
    if name == "silu":
        x = x[~(np.abs(x) > 80)]          # silu(-90) is x * (subnormal sigmoid): few bits left
    got, want = _jit1(name, x), _truth(name, x)
    _same_specials(got, want)
    assert _ulps(got, want).max() <= max_ulp


def test_exp_whole_range_and_overflow_edge():
    # the old kernel returned inf for 88.38 < x <= 88.72 (2**128 built in one factor)
    x = np.linspace(-110, 90, 200_001, dtype=F32)
    got, want = _jit1("exp", x), np.exp(x.astype(np.float64))
    _same_specials(got, want)
    assert _ulps(got, want).max() <= 2
    sub = (want < TINY) & (want > 0)              # subnormal results: within 1 subnormal step
    assert np.abs(got[sub] - want[sub]).max() <= 1.5e-45


def test_tanh_keeps_tiny_values_and_saturates():
    x = np.array([1e-40, -1e-40, 1e-20, 3e-4, 9.0, 50.0, -50.0], F32)
    got = _jit1("tanh", x)
    assert got[0] == x[0] and got[1] == x[1] and got[2] == x[2]
    assert got[4] <= 1 and got[5] == 1 and got[6] == -1


def test_gelu_and_backward_absolute_error():
    x = _data(scale=3.0)
    got, want = _jit1("gelu", x), _truth("gelu", x)
    fin = np.isfinite(x)
    _same_specials(got[np.isfinite(x)], want[np.isfinite(x)])
    err = np.abs(got[fin] - want[fin])
    with np.errstate(over="ignore"):
        assert np.all(err <= 2.5e-7 * np.abs(x[fin]) + 2 * np.spacing(np.abs(want[fin]).astype(F32)))

    g = np.random.default_rng(1).standard_normal(x.size).astype(F32)
    out = np.empty_like(x)
    J.gelu_backward(g, x, out)
    with np.errstate(invalid="ignore"):
        want_b = ref.gelu_backward(g.astype(np.float64), x.astype(np.float64))
    fin = np.isfinite(x)
    err = np.abs(out[fin] - want_b[fin])
    assert np.all(err <= 4e-7 * np.abs(g[fin]) * np.maximum(1, np.abs(x[fin])) + 1e-30)


@pytest.mark.parametrize("name", ["relu_backward", "sigmoid_backward", "tanh_backward",
                                  "silu_backward"])
def test_binary_against_reference(name):
    rng = np.random.default_rng(2)
    x = _data()
    g = rng.standard_normal(x.size).astype(F32)
    # the second argument is what the op saves: the output y for sigmoid/tanh, else the input x
    y = {"sigmoid_backward": lambda: _jit1("sigmoid", x),
         "tanh_backward": lambda: _jit1("tanh", x)}.get(name, lambda: x)()
    out = np.empty_like(g)
    getattr(J, name)(g, y, out)
    with np.errstate(all="ignore"):
        want = getattr(ref, name)(g.astype(np.float64), y.astype(np.float64))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
    fin = np.isfinite(want)
    # relative, plus a little absolute (in units of g) where silu' = 0 cancels (x ~ -1.28)
    err = np.abs(out[fin] - want[fin])
    assert np.all(err <= 4e-6 * np.abs(want[fin]) + 2e-7 * np.abs(g[fin]))


def test_addcmul_and_lerp_against_reference():
    rng = np.random.default_rng(3)
    a, b, c = (rng.standard_normal(10001).astype(F32) for _ in range(3))
    out = np.empty_like(a)
    J.addcmul(a, b, c, F32(0.3), out)
    want = ref.addcmul(a.astype(np.float64), b, c, np.float64(F32(0.3)))
    np.testing.assert_allclose(out, want, rtol=2e-6, atol=2e-7)
    for w in (0.0, 0.25, -0.7, 0.5, 1.0, 2.5):
        J.lerp(a, b, F32(w), out)
        np.testing.assert_allclose(out, ref.lerp(a.astype(np.float64), b, w), rtol=2e-6, atol=4e-7)
    J.lerp(a, b, F32(1.0), out)
    np.testing.assert_array_equal(out, b)          # exact at the ends, like PyTorch
    J.lerp(a, b, F32(0.0), out)
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (1, 7), (64, 10), (5, 1000), (2, 3)])
def test_rowwise_against_float64(shape):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) * 5).astype(F32)
    g = rng.standard_normal(shape).astype(F32)
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    for name in ("softmax_lastdim", "log_softmax_lastdim"):
        got = K.rowwise(name, x)
        np.testing.assert_allclose(got, getattr(ref, name)(x64), rtol=2e-6, atol=1e-6)
    y = K.rowwise("softmax_lastdim", x)
    np.testing.assert_allclose(K.rowwise("softmax_backward_lastdim", g, y),
                               ref.softmax_backward_lastdim(g64, y.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)
    ly = K.rowwise("log_softmax_lastdim", x)
    np.testing.assert_allclose(K.rowwise("log_softmax_backward_lastdim", g, ly),
                               ref.log_softmax_backward_lastdim(g64, ly.astype(np.float64)),
                               rtol=1e-5, atol=1e-5)


def test_softmax_special_rows():
    x = np.array([[1, np.nan, 2], [-np.inf] * 3, [np.inf, 1, 2], [1e30, 1e30, -1e30],
                  [-np.inf, 0, 0]], F32)
    got = K.rowwise("softmax_lastdim", x)
    with np.errstate(invalid="ignore"):
        want = ref.softmax_lastdim(x.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    assert np.isnan(got[:3]).all() and np.array_equal(got[4], [0, 0.5, 0.5])


def test_has_nonfinite():
    x = np.zeros(50000, F32)
    assert not K.has_nonfinite(x)
    for v in (np.nan, np.inf, -np.inf):
        for pos in (0, 16383, 16384, 49999):
            y = x.copy()
            y[pos] = v
            assert K.has_nonfinite(y)
    big = np.full(10, np.finfo(F32).max, F32)
    assert not K.has_nonfinite(big) and not K.has_nonfinite(-big)
    assert not K.has_nonfinite(np.array([], F32)) and not K.has_nonfinite(np.arange(3))
    assert K.has_nonfinite(np.array([1.0, np.nan]))                  # float64: reference path
    assert K.has_nonfinite(np.array([[1, 2], [3, np.inf]], F32)[:, 1])  # strided: reference path


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh", "gelu", "silu"])
def test_unary_dispatch_sizes_and_layouts(name):
    for shape in [(0,), (1,), (), (3, 0, 2), (2, 3, 4)]:
        x = np.linspace(-3, 3, math.prod(shape), dtype=F32).reshape(shape)
        got = K.unary(name, x)
        assert got.shape == x.shape and got.dtype == F32 and got.flags.c_contiguous
        np.testing.assert_allclose(got, _truth(name, x), rtol=5e-6, atol=1e-7)
    base = _data(1000)
    with np.errstate(all="ignore"):
        x = base[::2]                                     # non-contiguous: NumPy reference
        np.testing.assert_array_equal(K.unary(name, x), getattr(ref, name)(x))
        x64 = base.astype(np.float64)                     # float64: reference
        np.testing.assert_array_equal(K.unary(name, x64), getattr(ref, name)(x64))


def test_binary_dispatch_falls_back_for_mismatch():
    g = np.ones((3, 4), F32)
    y = np.linspace(-1, 1, 4, dtype=F32)                  # broadcast shape: reference path
    np.testing.assert_array_equal(K.binary("relu_backward", g, y), ref.relu_backward(g, y))
    gf = np.asfortranarray(np.arange(12, dtype=F32).reshape(3, 4))
    np.testing.assert_array_equal(K.binary("tanh_backward", gf, gf), ref.tanh_backward(gf, gf))
    a = np.arange(4, dtype=F32)
    np.testing.assert_array_equal(K.addcmul(a, a, a[:, None], 2.0), ref.addcmul(a, a, a[:, None], 2))
    np.testing.assert_array_equal(K.lerp(a, a + 1, np.full(4, 0.3)), ref.lerp(a, a + 1, np.full(4, 0.3)))


def test_reference_sigmoid_and_lerp_are_stable():
    x = np.array([-1000.0, -50, 0, 50, 1000], np.float64)
    s = ref.sigmoid(x)
    assert np.all(np.isfinite(s)) and s[0] == 0 and s[-1] == 1 and 0 < s[1] < 1e-21
    a, b = np.array([1e8, -3.0]), np.array([1.0, 7.0])
    np.testing.assert_array_equal(ref.lerp(a, b, 1.0), b)


# ------------------------------------------------------------------ pool of large outputs
@pytest.fixture
def small_pool(monkeypatch):
    K.empty_cache()
    monkeypatch.setattr(K, "POOL_MIN_BYTES", 4096)
    monkeypatch.setattr(K, "POOL_MAX_BYTES", 4096 * 8)
    yield
    K.empty_cache()


@pytest.mark.skipif(not K._POOL_OK, reason="pool disabled without the GIL")
def test_pool_never_hands_out_a_live_buffer(small_pool):
    import labkit
    x = np.linspace(-1, 1, 2048, dtype=F32)               # 8 KiB
    y1 = K.unary("exp", x)
    y2 = K.unary("exp", x)
    assert not np.shares_memory(y1, y2)
    addr = y1.__array_interface__["data"][0]
    view = y1[5:]                                          # a view keeps the buffer alive
    del y1
    y3 = K.unary("tanh", x)
    assert not np.shares_memory(y3, view) and not np.shares_memory(y3, y2)
    np.testing.assert_allclose(view, np.exp(x[5:]), rtol=1e-6)    # not overwritten
    del view, y3
    y4 = K.unary("sigmoid", x)                             # now a free buffer is reused
    assert K.pool_info()[0] >= 2
    reused = y4.__array_interface__["data"][0]
    t = labkit.tensor(0.0)
    t._np = y4                                            # a tensor holding it keeps it too
    del y4
    y5 = K.unary("exp", x)
    assert y5.__array_interface__["data"][0] != reused
    assert reused in {addr} | {b.__array_interface__["data"][0] for b in K._pool}
    del t
    K.empty_cache()
    assert K.pool_info() == (0, 0, 0)


@pytest.mark.skipif(not K._POOL_OK, reason="pool disabled without the GIL")
def test_pool_is_bounded(small_pool):
    x = np.zeros(2048, F32)
    live = [K.unary("exp", x) for _ in range(20)]          # 20 x 8 KiB, pool keeps <= 32 KiB
    n, held, used = K.pool_info()
    assert n <= 4 and held <= 4096 * 8 and used == held
    assert len({a.__array_interface__["data"][0] for a in live}) == 20
    del live
    assert K.pool_info()[2] == 0


# ------------------------------------------------------------------ conventions
def test_every_public_kernel_has_a_warmup_example_and_is_module_level():
    from numba.core.registry import CPUDispatcher
    names = {k for k, v in vars(J).items() if isinstance(v, CPUDispatcher)}
    public = {k for k in names if not k.startswith("_")}
    assert public == set(J.WARMUP)
    for k in public:
        d = getattr(J, k)
        assert d.py_func.__qualname__ == k                # not built in a closure
        assert type(d._cache).__name__ != "NullCache"     # cache=True
        assert "nnan" not in str(d.targetoptions.get("fastmath", ""))
        assert "ninf" not in str(d.targetoptions.get("fastmath", ""))


def test_no_parallel_kernels():
    # threading policy (see kernels/__init__.py): serial kernels only
    from numba.core.registry import CPUDispatcher
    for k, v in vars(J).items():
        if isinstance(v, CPUDispatcher):
            assert not v.targetoptions.get("parallel"), k
    assert "numba" in sys.modules


def test_softmax_max_and_nan_at_every_position():
    # the row max is taken with 8 interleaved accumulators plus a tail loop: try every slot
    for m in (1, 7, 8, 13, 17):
        for pos in range(m):
            x = np.full((2, m), -40.0, F32)                 # exp(-120) == 0 in float32
            x[0, pos] = 80.0                               # exp(80 - 0) would overflow float32
            x[1, pos] = np.nan
            y = K.rowwise("softmax_lastdim", x)
            assert y[0, pos] == 1.0 and np.all(y[0, np.arange(m) != pos] == 0)
            assert np.isnan(y[1]).all()
            ly = K.rowwise("log_softmax_lastdim", x)
            assert ly[0, pos] == 0.0 and np.isnan(ly[1]).all()


_FAULTS_SCRIPT = r"""
import resource, numpy as np, labkit.kernels as K
def step():                                   # a step's activations: 40 x 1 MiB, then freed
    acts = [np.ones(1 << 18, np.float32) for _ in range(40)]
    del acts
for _ in range(3):
    step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(K.MALLOC_TUNED, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 10)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_malloc_tuning_keeps_freed_activations_mapped():
    # glibc's default trim threshold returns a freed step's 40 MiB to the system, so every step
    # faults its pages in again (~10,000 faults); labkit's mallopt keeps them mapped.
    import os
    import subprocess
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}

    def run(**extra):
        out = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT], env={**env, **extra},
                             capture_output=True, text=True, check=True).stdout.split()
        return out[0], float(out[1])

    tuned, faults = run()
    off, faults_off = run(LABKIT_MALLOC_TUNE="0")
    user, _ = run(MALLOC_TRIM_THRESHOLD_="131072")
    assert (tuned, off, user) == ("True", "False", "False")
    assert faults < 200, f"{faults} page faults per step with labkit's malloc settings"
    assert faults_off > 5000, f"only {faults_off} faults/step with glibc defaults: test is moot"
