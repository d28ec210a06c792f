"""Threads: labkit.set_num_threads / get_num_threads / LABKIT_NUM_THREADS, one pool for kernels and
matrix products (kernels/threads.py, gemm.py, par_jit.py), and results that do not depend on the
number of threads."""
import multiprocessing as mp
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import labkit as lk
import labkit.nn.functional as F
from labkit import kernels as K
from labkit.kernels import gemm, threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def nthreads():
    """Set labkit's thread count inside a test; restored afterwards (BLAS limit included)."""
    before = lk.get_num_threads()
    yield lk.set_num_threads
    lk.set_num_threads(before)


@pytest.fixture
def small_par_min(monkeypatch):
    # the parallel drivers for every size, so that small test tensors exercise them
    monkeypatch.setattr(threads, "PAR_MIN", 1)


def _run(code, **env):
    e = dict(os.environ, PYTHONPATH=ROOT, **env)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return r


# ------------------------------------------------------------------ the switches
def test_set_num_threads_round_trips_and_limits_blas(nthreads):
    from threadpoolctl import threadpool_info
    nthreads(1)
    assert lk.get_num_threads() == 1 and not threads.parallel()
    assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    a = lk.randn(64, 64)
    assert np.allclose((a @ a).numpy(), a.numpy() @ a.numpy(), atol=1e-4)
    nthreads(3)
    assert lk.get_num_threads() == 3


@pytest.mark.parametrize("bad, message", [(0, "positive integer"), (-2, "positive integer"),
                                          (1.5, "expects an int, but got float"),
                                          (True, "expects an int, but got bool")])
def test_set_num_threads_rejects_what_torch_rejects(bad, message, nthreads):
    import torch
    with pytest.raises(RuntimeError):
        torch.set_num_threads(bad)
    before = lk.get_num_threads()
    with pytest.raises(RuntimeError, match=message):
        lk.set_num_threads(bad)
    assert lk.get_num_threads() == before           # nothing changed


def test_numpy_integers_are_accepted(nthreads):
    nthreads(np.int64(2))
    assert lk.get_num_threads() == 2


def test_labkit_num_threads_from_the_environment():
    r = _run("import labkit; print(labkit.get_num_threads())", LABKIT_NUM_THREADS="3")
    assert r.stdout.strip() == "3"
    r = _run("import labkit; print(labkit.get_num_threads())", LABKIT_NUM_THREADS="zero")
    assert "not a positive integer" in r.stderr
    assert int(r.stdout.strip()) == len(os.sched_getaffinity(0))


def test_default_is_the_cores_this_process_may_use():
    r = _run("import labkit; print(labkit.get_num_threads())", LABKIT_NUM_THREADS="")
    assert int(r.stdout.strip()) == len(os.sched_getaffinity(0))


def test_the_pool_is_numbas_tbb_layer_and_parallel_drivers_are_chosen(nthreads):
    nthreads(2)
    x = np.zeros((4, 3, 64, 64), np.float32)
    mod = K.backend("nn", x, work=threads.PAR_MIN)
    import numba
    assert numba.threading_layer() == "tbb"          # the tbb package is a dependency
    assert mod is K.parallel_module() and mod.__name__.endswith("par_jit")
    assert K.backend("nn", x, work=threads.PAR_MIN - 1).__name__.endswith("nn_jit")
    nthreads(1)                     # the same drivers (same bits), on one of Numba's threads
    assert K.backend("nn", x, work=10 ** 9) is K.parallel_module()
    assert numba.get_num_threads() == 1


def test_a_user_chosen_threading_layer_is_respected():
    # workqueue cannot be called from several threads at once: labkit stays serial on it
    code = ("import numpy as np, labkit as lk, labkit.kernels as K, numba\n"
            "lk.set_num_threads(2)\n"
            "x = lk.randn(400, 400)\n"
            "y = (x @ x).tanh()\n"
            "print(numba.threading_layer(), K.threads.parallel())\n")
    r = _run(code, NUMBA_THREADING_LAYER="workqueue")
    assert r.stdout.split() == ["workqueue", "False"]


# ------------------------------------------------------------------ same numbers at any count
def _training_step(seed):
    rng = np.random.default_rng(seed)
    x = lk.tensor(rng.standard_normal((6, 3, 18, 18)).astype(np.float32), requires_grad=True)
    w = lk.tensor(rng.standard_normal((5, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
    y = F.max_pool2d(y, 3, stride=1, padding=1)
    z = lk.tanh(y).sigmoid() * F.gelu(y) + F.silu(y).exp() * 1e-3
    h = F.layer_norm(z.reshape(6, -1), (z.reshape(6, -1).shape[-1],))
    lin = lk.tensor(rng.standard_normal((270, 405)).astype(np.float32) * 0.05,
                    requires_grad=True)
    h = F.linear(h, lin)
    t = lk.tensor(rng.integers(0, 27, 60))
    loss = (F.cross_entropy(h.reshape(60, -1), t) + F.softmax(h, -1).square().sum()
            + F.log_softmax(h, -1).mean())
    loss.backward()
    return [loss.detach().numpy(), x.grad.numpy(), w.grad.numpy(), lin.grad.numpy()]


def test_a_training_step_gives_the_same_bits_at_every_thread_count(nthreads, small_par_min):
    results = {}
    for n in (1, 2, 3, 4):
        nthreads(n)
        results[n] = _training_step(0)
    for n in (2, 3, 4):
        for a, b in zip(results[1], results[n]):
            assert np.array_equal(a, b), n


SHAPES = [(64, 784, 256), (512, 784, 256), (2048, 64, 64), (100, 300, 70), (7, 1000, 300),
          (1000, 9, 1000), (33, 17, 5), (32, 128, 512), (32, 512, 128), (1000, 129, 3),
          (64, 2048, 64), (64, 2048, 256), (100, 1100, 30)]


@pytest.mark.parametrize("m, k, n", SHAPES)
@pytest.mark.parametrize("layout", ["nn", "tn", "nt", "tt"])
def test_matmul_blocks_same_bits_at_every_thread_count_and_right(m, k, n, layout, nthreads):
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    if layout[0] == "t":
        a = np.ascontiguousarray(a.T).T               # same values, transposed storage
    if layout[1] == "t":
        b = np.ascontiguousarray(b.T).T
    nthreads(1)
    one = gemm.matmul(a, b)
    for t in (2, 3):
        nthreads(t)
        assert np.array_equal(gemm.matmul(a, b), one)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    assert np.abs(one - ref).max() <= 1e-5 * np.abs(ref).max() * np.sqrt(k)


@pytest.mark.parametrize("case", ["stack", "shared_a", "shared_b", "stack_transposed", "heads",
                                  "heads_shared", "heads_flipped"])
def test_matmul_stacks_and_shared_operands(case, nthreads):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5, 70, 90)).astype(np.float32)
    B = rng.standard_normal((5, 90, 80)).astype(np.float32)
    # attention's (batch, heads, T, d) views of (batch, T, heads * d): two batch dimensions
    # that cannot be merged into one
    Q = rng.standard_normal((3, 70, 4, 90)).astype(np.float32).transpose(0, 2, 1, 3)
    K = rng.standard_normal((3, 80, 4, 90)).astype(np.float32).transpose(0, 2, 3, 1)
    a, b = {"stack": (A, B), "shared_a": (A[0], B), "shared_b": (A, B[0]),
            "stack_transposed": (A, np.ascontiguousarray(B.transpose(0, 2, 1)).transpose(0, 2, 1)),
            "heads": (Q, K), "heads_shared": (Q, B[0]), "heads_flipped": (Q[::-1], K[:, ::-1])
            }[case]
    nthreads(1)
    one = gemm.matmul(a, b)
    nthreads(2)
    got = gemm.matmul(a, b)
    assert np.array_equal(got, one)
    assert got.shape == np.matmul(a, b).shape
    assert np.allclose(got, np.matmul(a.astype(np.float64), b.astype(np.float64)), atol=1e-3)
    out = np.empty(got.shape, np.float32)
    assert gemm.matmul(a, b, out=out) is out and np.array_equal(out, got)


def test_matmul_leaves_other_cases_to_numpy():
    a64 = np.random.rand(300, 300)
    assert np.array_equal(gemm.matmul(a64, a64), a64 @ a64)            # float64
    s = np.random.rand(300, 600).astype(np.float32)[:, ::2]             # no unit stride
    assert np.allclose(gemm.matmul(s, s.T), s @ s.T, atol=1e-3)
    z = np.zeros((0, 300), np.float32)
    assert gemm.matmul(z, np.ones((300, 400), np.float32)).shape == (0, 400)
    assert np.array_equal(gemm.matmul(np.ones((300, 0), np.float32), np.ones((0, 400),
                                                                            np.float32)),
                          np.zeros((300, 400), np.float32))


def test_block_shape_rows_one_block_per_thread_other_cuts_by_the_shape_alone():
    assert gemm.block_shape(200, 30, 40, 2) == (200, 30, 40)            # one block
    for m, n, k in [(512, 256, 784), (2048, 64, 64), (1000, 1000, 20), (36864, 24, 25)]:
        assert gemm.block_shape(m, n, k, 1) == (m, n, k)                 # serial: one call
        assert gemm.block_shape(m, n, k, 2, batch=2) == (m, n, k)        # a matrix per thread
        for t in (2, 3, 4):
            bm, bn, bk = gemm.block_shape(m, n, k, t)                    # rows are cut
            assert (bn, bk) == (n, k) and bm % gemm.ROW_CUT == 0
            assert (m - (-(-m // bm) - 1) * bm) * n * k > gemm.SMALL_KERNEL_MNK   # the last
            assert bm * n * k > gemm.SMALL_KERNEL_MNK
            assert 2 <= -(-m // bm) <= t                                 # at most one per thread
    assert gemm.block_shape(512, 256, 784, 2) == (256, 256, 784)
    # large products whose rows cannot be cut: one column block per thread, each above the
    # small-matrix kernels (MLP B=64's first layer), so a serial run is one call
    assert gemm.block_shape(64, 256, 784, 1) == (64, 256, 784)
    assert gemm.block_shape(64, 256, 784, 2) == (64, 128, 784)
    assert gemm.block_shape(64, 256, 784, 4) == (64, 64, 784)
    assert gemm.block_shape(64, 300, 784, 8) == (64, 64, 784)          # last block 44 columns
    for t in range(2, 9):
        bn = gemm.block_shape(64, 300, 784, t)[1]
        assert 64 * 784 * min(bn, 300 - (-(-300 // bn) - 1) * bn) > gemm.SMALL_KERNEL_MNK
    # columns or the inner dimension (cut in the serial run too): the same at every count
    for (m, n, k), want in [((32, 512, 128), (32, 128, 128)),     # an LSTM step: 4 small blocks
                            ((32, 128, 512), (32, 32, 512)),      # ... its backward
                            ((64, 64, 2048), (64, 64, 512)),      # a weight gradient: 4 parts
                            ((64, 256, 2048), (64, 256, 512)),
                            ((512, 10, 256), (64, 10, 256)),      # narrow: 64-row blocks
                            ((1000, 1000, 9), (64, 1000, 9))]:
        assert {gemm.block_shape(m, n, k, t) for t in (1, 2, 3, 8)} == {want}


def test_sum_rows_is_the_column_sum_and_leaves_blas_threads():
    from threadpoolctl import threadpool_info
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    rng = np.random.default_rng(3)
    for shape in [(2048, 64), (3000, 5), (70, 1), (10, 7), (0, 4)]:
        x = rng.standard_normal(shape).astype(np.float32)
        got = gemm.sum_rows(x)
        assert got.shape == (shape[1],) and got.dtype == np.float32
        np.testing.assert_allclose(got, x.astype(np.float64).sum(0), rtol=1e-5, atol=1e-4)
    x = rng.standard_normal((300, 6))                                  # float64: np.sum
    assert np.array_equal(gemm.sum_rows(x), x.sum(0))
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_users_numpy_keeps_openblas_threads(nthreads):
    from threadpoolctl import threadpool_info
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    a = lk.randn(512, 784)
    w = lk.randn(256, 784, requires_grad=True)
    F.linear(a, w).sum().backward()
    after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert after == before
    # and a later change of OpenBLAS's threads by the user still takes effect on this thread
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        F.linear(a, w)
        assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == [1]
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


# ------------------------------------------------------------------ safety
def test_kernels_from_several_python_threads_at_once(nthreads, small_par_min):
    nthreads(2)
    expected = _training_step(3)
    errors, got = [], [None] * 4

    def work(i):
        try:
            got[i] = _training_step(3)
        except Exception as e:               # reported below
            errors.append(e)
    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    for r in got:
        for a, b in zip(r, expected):
            assert np.array_equal(a, b)


def _child_step(q):
    q.put(_training_step(5)[1].sum())


def test_a_forked_child_can_use_the_kernels(nthreads, small_par_min):
    nthreads(2)
    parent = _training_step(5)[1].sum()                # the pool has started in the parent
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_step, args=(q,))
    p.start()
    got = q.get(timeout=120)
    p.join(timeout=60)
    assert p.exitcode == 0 and got == parent


@pytest.mark.parametrize("H, N, reverse, bf", [(128, 9, False, False), (13, 9, True, True),
                                                (40, 50, False, True), (256, 3, True, False)])
def test_lstm_time_loop_same_bits_at_every_thread_count_and_as_the_step_loop(H, N, reverse, bf,
                                                                           nthreads, monkeypatch):
    """The fused time loop (rnn_jit: each step's product and cell in blocks of hidden units)
    against the step-by-step loop (a product, then the cell kernel), forward and backward; N=50
    runs as seven chains of batch rows, N=3 as one chain whose steps the threads share
    (``lstm_blocks``); every size on the pool; ``bf``: the output and its gradient batch
    first."""
    from labkit.kernels import nn as NK
    monkeypatch.setattr(NK, "LSTM_PAR_MIN", 0)
    rng = np.random.default_rng(H)
    L = 6
    xw = rng.standard_normal((L, N, 4 * H)).astype(np.float32)
    bias = rng.standard_normal(4 * H).astype(np.float32)
    w = (rng.standard_normal((4 * H, H)) / np.sqrt(H)).astype(np.float32)
    h0, c0 = rng.standard_normal((2, N, H)).astype(np.float32)
    g_out = rng.standard_normal((N, L, H) if bf else (L, N, H)).astype(np.float32)
    gh, gc = rng.standard_normal((2, N, H)).astype(np.float32)

    def run():
        hs, cs = np.empty((L + 1, N, H), np.float32), np.empty((L + 1, N, H), np.float32)
        acts, dg = np.empty((L, N, 4 * H), np.float32), np.empty((L, N, 4 * H), np.float32)
        hs[0], cs[0] = h0, c0
        out = NK.lstm_forward(xw, bias, w, hs, cs, acts, reverse, bf)
        by_time = hs[:0:-1] if reverse else hs[1:]
        assert np.array_equal(out, by_time.transpose(1, 0, 2) if bf else by_time)
        dh, dc = gh.copy(), gc.copy()
        NK.lstm_backward(acts, cs, w, g_out, dh, dc, dg, reverse, bf)
        return hs, cs, acts, dg, dh, dc
    got = {}
    for t in (1, 2, 3):
        nthreads(t)
        got[t] = run()
    for t in (2, 3):
        for a, b in zip(got[1], got[t]):
            assert np.array_equal(a, b), t
    monkeypatch.setattr(NK, "_rnn_jit", lambda *a: None)        # the step-by-step loop
    for a, b in zip(got[1], run()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("ntask, rb", [(1, 6), (3, 6), (8, 6), (2, 2), (3, 4), (8, 1)])
def test_lstm_claimed_blocks_any_number_of_workers(ntask, rb, nthreads):
    """The parallel time loop's workers take chains of batch rows, then claim each step's blocks
    from atomic counters: one worker doing everything, more workers than chains or blocks, and
    uneven chains give the serial loop's bits."""
    from labkit.kernels import gemm, nn as NK
    assert gemm._kernels()                  # (NumPy's OpenBLAS, as every supported install has)
    from labkit.kernels import rnn_jit as R
    nthreads(2)
    rng = np.random.default_rng(ntask)
    L, N, H = 5, 6, 20
    nc = -(-N // rb)
    hb = 10                                 # two blocks of hidden units: threads share steps
    f = np.float32
    xw, g_out = rng.standard_normal((L, N, 4 * H)).astype(f), rng.standard_normal((L, N, H)).astype(f)
    w = (rng.standard_normal((4 * H, H)) / 5).astype(f)
    wp = np.ascontiguousarray(w[NK._gate_order(H, hb)].T)
    bias = rng.standard_normal(4 * H).astype(f)

    def run(parallel):
        hs, cs = np.zeros((L + 1, N, H), f), np.zeros((L + 1, N, H), f)
        hs[0], cs[0] = 0.5, -0.5
        acts, out, dg = np.empty((L, N, 4 * H), f), np.empty((L, N, H), f), np.empty((L, N, 4 * H), f)
        dh, dc = np.ones((N, H), f), np.ones((N, H), f)
        fa = (xw, bias, wp, hs, cs, acts, np.empty((N, 4 * H), f), hb, rb, True, False, out)
        ba = (acts, cs, w, g_out, False, dg, dh, dc, hb, rb, True)
        if parallel:
            sync = np.zeros(1 + nc * 2 * L, np.int64)
            R.forward_parallel(*fa, sync, ntask)
            done = sync[1:].reshape(nc, 2, L)[:, 1]
            assert (done == -(-H // hb)).all()                     # every block counted once
            R.backward_parallel(*ba, np.zeros(1 + nc * (2 * L + 1), np.int64), ntask)
        else:
            R.forward_serial(*fa)
            R.backward_serial(*ba)
        return out, acts, dg, dh, dc
    for a, b in zip(run(False), run(True)):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw_amsgrad"])
def test_optimizer_updates_same_bits_at_every_thread_count(opt, nthreads, small_par_min):
    def run():
        rng = np.random.default_rng(7)
        p = lk.tensor(rng.standard_normal(70_001).astype(np.float32), requires_grad=True)
        o = {"sgd": lambda: lk.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True),
             "adam": lambda: lk.optim.Adam([p], lr=0.01),
             "adamw_amsgrad": lambda: lk.optim.AdamW([p], lr=0.01, amsgrad=True)}[opt]()
        for _ in range(3):
            o.zero_grad()
            (p * p).sum().backward()
            o.step()
        return p.detach().numpy().copy()
    nthreads(1)
    one = run()
    nthreads(2)
    assert K.backend("optim", np.zeros(4, np.float32), work=70_001).__name__.endswith("par_jit")
    assert np.array_equal(run(), one)


@pytest.mark.parametrize("axis", [0, 1])
def test_matmul_adds_a_bias_in_its_blocks(axis, nthreads):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((300, 500)).astype(np.float32)
    b = np.ascontiguousarray(rng.standard_normal((200, 500)).astype(np.float32)).T
    bias = rng.standard_normal(200 if axis == 1 else 300).astype(np.float32)
    nthreads(1)
    one = gemm.matmul(a, b, bias=bias, bias_axis=axis)
    nthreads(2)
    assert np.array_equal(gemm.matmul(a, b, bias=bias, bias_axis=axis), one)
    ref = a.astype(np.float64) @ b + (bias if axis == 1 else bias[:, None])
    assert np.abs(one - ref).max() < 1e-3
    stack = gemm.matmul(a, np.stack([b, b]), bias=bias, bias_axis=axis)      # per matrix
    assert np.allclose(stack[1], one, atol=1e-4)


def test_labkit_products_leave_openblas_pool_asleep_and_users_numpy_threaded():
    # CPU time per thread from /proc (independent of how busy the machine is): OpenBLAS's own
    # threads (those a NumPy product starts before labkit is imported) get no work from labkit's
    # products, and the user's NumPy product afterwards still uses them.
    code = r"""
import os, threading, numpy as np
def ticks():
    out = {}
    for t in os.listdir('/proc/self/task'):
        try:
            out[int(t)] = int(open(f'/proc/self/task/{t}/stat').read().split(')')[1].split()[11])
        except OSError:
            pass
    return out
a = np.random.rand(1200, 1200).astype(np.float32)
a @ a
blas = set(ticks()) - {threading.get_native_id()}
import labkit as lk
from labkit.kernels import gemm
lk.set_num_threads(2)
gemm.matmul(a, a)
t0 = ticks()
for _ in range(15):
    gemm.matmul(a, a)
t1 = ticks()
during = sum(t1[t] - t0[t] for t in blas if t in t1)
t0 = ticks()
for _ in range(15):
    a @ a
t1 = ticks()
after = sum(t1[t] - t0[t] for t in blas if t in t1)
print(len(blas), during, after)
"""
    n, during, after = map(int, _run(code, LABKIT_NUM_THREADS="2").stdout.split())
    assert n >= 1 and during <= 1 and after >= 5, (n, during, after)


@pytest.mark.parametrize("env, status, words", [
    ({}, "ok", "tbb pool"),
    ({"LABKIT_NUM_THREADS": "1"}, "ok", "serial kernels"),
    ({"NUMBA_THREADING_LAYER": "workqueue", "LABKIT_NUM_THREADS": "2"}, "warn", "workqueue")])
def test_doctor_reports_the_threads(env, status, words):
    r = _run("from labkit import doctor; c = doctor.check_threads(); print(c.status); "
             "print(c.detail)", **env)
    got_status, detail = r.stdout.splitlines()[:2]
    assert got_status == status and words in detail


def test_one_thread_from_the_start_runs_products_from_the_cache():
    # a process that never starts the pool loads gemm_jit (which holds a parallel function) from
    # Numba's cache: the pool must be started first, or the call crashes (it did)
    gemm.matmul(np.ones((512, 784), np.float32), np.ones((784, 256), np.float32))   # cached
    r = _run("import numpy as np, labkit as lk\n"
             "x = lk.ones(512, 784); w = lk.ones(256, 784, requires_grad=True)\n"
             "lk.nn.functional.linear(x, w).sum().backward()\n"
             "print(float(w.grad.sum()))", LABKIT_NUM_THREADS="1")
    assert float(r.stdout) == 512 * 784 * 256


def test_same_bits_across_processes_with_different_thread_counts():
    # LABKIT_NUM_THREADS alone (OpenBLAS keeps its own count): a serial run's products must not
    # be split by OpenBLAS's pool either (a GPT run differed in the last bit before this)
    code = ("import numpy as np, labkit as lk\n"
            "rng = np.random.default_rng(0)\n"
            "out = []\n"
            "for m, k, n in [(512, 784, 256), (2048, 128, 65), (2048, 128, 512), (32, 128, 512)]:\n"
            "    a = rng.standard_normal((m, k)).astype(np.float32)\n"
            "    b = rng.standard_normal((n, k)).astype(np.float32)\n"
            "    out.append((lk.tensor(a) @ lk.tensor(b).T).numpy())\n"
            "print(np.concatenate([o.ravel() for o in out]).view(np.uint32).sum(dtype=np.uint64),"
            " np.concatenate([o.ravel() for o in out])[::997].tobytes().hex())\n")
    got = {t: _run(code, LABKIT_NUM_THREADS=t).stdout for t in ("1", "2")}
    assert got["1"] == got["2"]


@pytest.mark.parametrize("name", ["softmax_lastdim", "log_softmax_lastdim"])
def test_row_kernels_same_bits_at_every_thread_count(name, nthreads):
    # many rows per piece: log_softmax's rows differed when one thread ran the serial kernel
    x = np.random.default_rng(4).standard_normal((4096, 64)).astype(np.float32)
    nthreads(1)
    one = K.rowwise(name, x)
    nthreads(2)
    assert np.array_equal(K.rowwise(name, x), one)


def test_addcmul_on_the_pool_same_bits_and_right(nthreads):
    rng = np.random.default_rng(8)
    a, b, c = (rng.standard_normal(3 * threads.PAR_MIN + 5).astype(np.float32) for _ in range(3))
    assert K._par_for(a.size) is K.parallel_module()            # the parallel driver runs
    got = {}
    for t in (1, 2, 3):
        nthreads(t)
        got[t] = K.addcmul(a, b, c, 0.5)
    assert np.array_equal(got[1], got[2]) and np.array_equal(got[1], got[3])
    np.testing.assert_allclose(got[1], a + 0.5 * b * c, rtol=1e-6, atol=1e-6)


def test_few_rows_times_a_transposed_weight_goes_swapped(nthreads, monkeypatch):
    """x @ W^T with few rows is made as (W @ x^T)^T (OpenBLAS packs the small x): the result is
    a C-ordered (m, n) array with the bias, the same at every thread count."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((20, 300)).astype(np.float32)
    w = rng.standard_normal((200, 300)).astype(np.float32)
    b = rng.standard_normal(200).astype(np.float32)
    calls = []
    swapped = gemm._swapped
    monkeypatch.setattr(gemm, "_swapped", lambda *a: calls.append(1) or swapped(*a))
    got = {}
    for t in (1, 2, 3):
        nthreads(t)
        got[t] = gemm.matmul(x, w.T, bias=b)
    assert len(calls) == 3 and got[1].flags.c_contiguous and got[1].shape == (20, 200)
    assert np.array_equal(got[1], got[2]) and np.array_equal(got[1], got[3])
    ref = x.astype(np.float64) @ w.T.astype(np.float64) + b
    np.testing.assert_allclose(got[1], ref, rtol=1e-4, atol=1e-3)
    out = np.empty((20, 200), np.float32)
    assert gemm.matmul(x, w.T, out=out) is out
    np.testing.assert_allclose(out, ref - b, rtol=1e-4, atol=1e-3)
    gemm.matmul(w[:64], x.T[:, :64].copy())                    # C-ordered operands: not swapped
    assert len(calls) == 4
