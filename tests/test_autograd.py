"""Autograd semantics, checked against PyTorch where PyTorch defines them.

Accumulation, backward(gradient, retain_graph, inputs), retain_grad, hooks, grad modes, detach,
autograd.grad, custom Functions, in-place rules (leaf error, version counter, CopySlices on
views), deep graphs, freed graphs and flat memory, gradcheck, anomaly detection and the source
capture policy.
"""
import gc
import inspect
import weakref

import numpy as np
import pytest

import labkit as lk
from labkit import graph
from labkit.autograd import function as F

torch = pytest.importorskip("torch")


def _both(fn):
    """Run ``fn(M)`` with labkit and torch; return both results."""
    return fn(lk), fn(torch)


def _np(t):
    return t.detach().numpy() if t is not None else None


def _same(a, b, atol=1e-6):
    np.testing.assert_allclose(_np(a), _np(b), atol=atol, rtol=1e-5)


# ----------------------------------------------------------------------------- accumulation
def test_gradients_accumulate_across_backward_calls_and_uses():
    def run(M):
        x = M.tensor([1.0, -2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()            # x used twice in one graph
        (x.exp() + x).sum().backward()      # a second graph adds to x.grad
        return x.grad
    lg, tg = _both(run)
    _same(lg, tg)
    np.testing.assert_allclose(_np(lg), [2 + np.exp(1) + 1, -4 + np.exp(-2) + 1,
                                         6 + np.exp(3) + 1], rtol=1e-6)


def test_backward_with_gradient_argument_and_errors():
    def run(M):
        x = M.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = x * x
        y.backward(M.tensor([[1.0, 0.5], [0.0, -1.0]]))
        return x.grad
    _same(*_both(run))
    x = lk.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\[3\].*\[2, 2\]"):
        (x * 2).backward(lk.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        lk.ones(2).sum().backward()


def test_second_backward_raises_like_torch_and_retain_graph_allows_it():
    msgs = []
    for M in (lk, torch):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError) as e:
            y.backward()
        msgs.append(str(e.value))
    assert msgs[0].startswith("Trying to backward through the graph a second time")
    assert msgs[1].startswith("Trying to backward through the graph a second time")

    def run(M):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return x.grad
    lg, tg = _both(run)
    _same(lg, tg)
    np.testing.assert_allclose(_np(lg), [4.0, 8.0])


def test_graph_without_saved_values_can_run_twice_like_torch():
    def run(M):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        y = (x + 1).sum()
        y.backward()
        y.backward()
        return x.grad
    _same(*_both(run))


def test_backward_inputs_restricts_accumulation():
    def run(M):
        a = M.tensor([1.0, 2.0], requires_grad=True)
        b = M.tensor([3.0, 4.0], requires_grad=True)
        (a * b).sum().backward(inputs=[a])
        return a.grad, b.grad
    (la, lb), (ta, tb) = _both(run)
    _same(la, ta)
    assert lb is None and tb is None


# ----------------------------------------------------------------------------- retain_grad, hooks
def test_retain_grad_on_non_leaf():
    def run(M):
        x = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x * 2
        h.retain_grad()
        (h * h).sum().backward()
        return h.grad, x.grad, h.is_leaf, h.retains_grad
    (lh, lx, lleaf, lret), (th, tx, tleaf, tret) = _both(run)
    _same(lh, th)
    _same(lx, tx)
    assert (lleaf, lret) == (tleaf, tret) == (False, True)


def test_non_leaf_grad_is_none_without_retain_grad():
    x = lk.tensor([1.0], requires_grad=True)
    h = x * 2
    h.sum().backward()
    assert h.grad is None and x.grad is not None


def test_hooks_on_leaf_and_non_leaf_modify_gradients_and_can_be_removed():
    def run(M):
        seen = []
        x = M.tensor([1.0, 2.0], requires_grad=True)
        hx = x.register_hook(lambda g: seen.append(("x", g.tolist())))
        h = x * 3
        h.register_hook(lambda g: g * 10)          # scale the gradient flowing into h
        (h * h).sum().backward()
        hx.remove()
        (x * 1).sum().backward()                   # removed hook: not called again
        return x.grad, seen
    (lg, lseen), (tg, tseen) = _both(run)
    _same(lg, tg)
    assert lseen == tseen and len(lseen) == 1
    np.testing.assert_allclose(_np(lg), [181.0, 361.0])


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        lk.ones(2).register_hook(lambda g: g)


# ----------------------------------------------------------------------------- grad modes
def test_no_grad_enable_grad_set_grad_enabled_inference_mode_as_context_managers():
    x = lk.ones(2, requires_grad=True)
    with lk.no_grad():
        assert not (x * 2).requires_grad
        with lk.enable_grad():
            assert (x * 2).requires_grad
        assert not lk.is_grad_enabled()
    assert lk.is_grad_enabled()
    with lk.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert lk.is_grad_enabled()
    lk.set_grad_enabled(False)                        # plain call takes effect immediately
    try:
        assert not (x * 2).requires_grad
    finally:
        lk.set_grad_enabled(True)
    with lk.inference_mode():
        assert not (x * 2).requires_grad and lk.is_inference_mode_enabled()
    assert not lk.is_inference_mode_enabled()


def test_grad_modes_as_decorators_including_generators():
    x = lk.ones(2, requires_grad=True)

    @lk.no_grad()
    def f():
        return x * 2

    @lk.no_grad
    def f_bare():
        return x * 2

    @lk.enable_grad()
    def g():
        return x * 2

    @lk.inference_mode()
    def h():
        return x * 2

    @lk.no_grad()
    def gen():
        yield x * 2
        yield x * 3

    assert not f().requires_grad and not f_bare().requires_grad and not h().requires_grad
    with lk.no_grad():
        assert g().requires_grad
    assert [t.requires_grad for t in gen()] == [False, False]
    assert lk.is_grad_enabled()


def test_no_grad_restores_state_after_exception():
    with pytest.raises(ValueError):
        with lk.no_grad():
            raise ValueError("boom")
    assert lk.is_grad_enabled()


def test_detach_shares_data_and_cuts_the_graph():
    x = lk.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d[0] = 100.0                                       # shares storage (like torch)
    assert y[0].item() == 100.0
    z = (d * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [100.0, 4.0])


def test_requires_grad_flags_and_leaf_status():
    x = lk.tensor([1.0, 2.0])
    assert not x.requires_grad and x.is_leaf and x.grad_fn is None
    x.requires_grad_()
    assert x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        lk.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)


@pytest.mark.parametrize("expr,name", [
    (lambda M, x: x + x, "AddBackward0"), (lambda M, x: x * 2, "MulBackward0"),
    (lambda M, x: x - 1, "SubBackward0"), (lambda M, x: x / 2, "DivBackward0"),
    (lambda M, x: x.exp(), "ExpBackward0"), (lambda M, x: x.sum(), "SumBackward0"),
    (lambda M, x: x.mean(), "MeanBackward0"), (lambda M, x: x.tanh(), "TanhBackward0"),
    (lambda M, x: x @ x.T, "MmBackward0"), (lambda M, x: x.view(-1), "ViewBackward0"),
    (lambda M, x: x.T, "PermuteBackward0"), (lambda M, x: M.relu(x), "ReluBackward0"),
    (lambda M, x: x.sigmoid(), "SigmoidBackward0"), (lambda M, x: x.pow(2), "PowBackward0"),
    (lambda M, x: -x, "NegBackward0"), (lambda M, x: x.double(), "ToCopyBackward0"),
])
def test_grad_fn_names_match_torch(expr, name):
    lx = lk.ones(2, 2, requires_grad=True)
    tx = torch.ones(2, 2, requires_grad=True)
    assert expr(lk, lx).grad_fn.name() == name
    assert type(expr(torch, tx).grad_fn).__name__ == name


# ----------------------------------------------------------------------------- autograd.grad
def test_autograd_grad_matches_torch_and_leaves_dot_grad_alone():
    def run(M):
        x = M.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
        w = M.tensor([1.5, -0.5], requires_grad=True)
        y = (x @ w).tanh()
        gx, gw = M.autograd.grad(y, [x, w], grad_outputs=M.tensor([1.0, 2.0]))
        return gx, gw, x.grad
    (lgx, lgw, lxg), (tgx, tgw, txg) = _both(run)
    _same(lgx, tgx)
    _same(lgw, tgw)
    assert lxg is None and txg is None


def test_autograd_grad_unused_input_and_non_leaf_input():
    x = lk.tensor([1.0, 2.0], requires_grad=True)
    u = lk.tensor([3.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        lk.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = lk.autograd.grad(y, [x, u], allow_unused=True, retain_graph=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), [18.0, 36.0])
    (gh,) = lk.autograd.grad(y, h, retain_graph=True)        # gradient w.r.t. an intermediate
    np.testing.assert_allclose(gh.numpy(), [6.0, 12.0])
    gx2, gu2 = lk.autograd.grad(y, [x, u], materialize_grads=True)
    np.testing.assert_allclose(gu2.numpy(), [0.0])


def test_create_graph_through_a_rule_written_with_numpy_is_refused_with_a_clear_message():
    # (every built-in op supports create_graph=True: tests/test_higher_order.py)
    class Cube(lk.autograd.Function):
        raw = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            return np.full(np.shape(g), 3.0)        # built with NumPy (right at x = 1 only)

    x = lk.ones(2, requires_grad=True)
    (g,) = lk.autograd.grad(Cube.apply(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [3.0, 3.0])
    with pytest.raises(NotImplementedError, match="CubeBackward0 returned a ndarray"):
        lk.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)


# ----------------------------------------------------------------------------- custom Function
def _make_functions(M):
    class ScaledSquare(M.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale, name):
            ctx.save_for_backward(x)
            ctx.scale = scale
            ctx.flags = tuple(ctx.needs_input_grad)
            return x * x * scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x * ctx.scale, None, None

    class SortWithIndex(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            vals, idx = x.sort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return vals, idx

        @staticmethod
        def backward(ctx, gv, gi):
            (idx,) = ctx.saved_tensors
            out = M.zeros_like(gv)
            out[idx] = gv
            return out

    return ScaledSquare, SortWithIndex


def test_custom_function_save_for_backward_needs_input_grad_and_none_grads():
    def run(M):
        ScaledSquare, _ = _make_functions(M)
        x = M.tensor([1.0, -2.0, 0.5], requires_grad=True)
        y = ScaledSquare.apply(x, 3.0, "tag")
        y.sum().backward()
        return x.grad, y.grad_fn, y.requires_grad
    (lg, lfn, lrg), (tg, tfn, trg) = _both(run)
    _same(lg, tg)
    assert lrg and trg
    assert type(lfn).__name__ == type(tfn).__name__ == "ScaledSquareBackward"
    assert lfn.flags == (True, False, False)


def test_custom_function_mark_non_differentiable():
    def run(M):
        _, SortWithIndex = _make_functions(M)
        x = M.tensor([3.0, 1.0, 2.0], requires_grad=True)
        v, i = SortWithIndex.apply(x)
        (v * M.tensor([1.0, 10.0, 100.0])).sum().backward()
        return x.grad, i.requires_grad, i.tolist()
    (lg, lirg, li), (tg, tirg, ti) = _both(run)
    _same(lg, tg)
    assert lirg is False and tirg is False and li == ti == [1, 2, 0]


def test_custom_function_wrong_number_of_gradients_is_reported():
    class Bad(lk.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x = lk.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()


def test_gradcheck_accepts_correct_and_rejects_wrong_gradients():
    class WrongExp(lk.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y * 1.01                      # 1% off

    x = lk.tensor([0.3, -0.7, 1.1], dtype=lk.float64, requires_grad=True)
    assert lk.autograd.gradcheck(lambda t: (t.exp() * t.sin()).sum(), (x,))
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        lk.autograd.gradcheck(WrongExp.apply, (x,))
    assert lk.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError, match="float64"):
        lk.autograd.gradcheck(lambda t: t.exp(), (lk.ones(2, requires_grad=True),))


# ----------------------------------------------------------------------------- in-place rules
def test_inplace_on_leaf_requiring_grad_raises_like_torch():
    for M in (lk, torch):
        w = M.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                               "in an in-place operation"):
            w.add_(1)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            w[0] = 5.0
    w = lk.ones(3, requires_grad=True)
    with lk.no_grad():                              # how optimizers update parameters
        w.sub_(0.5 * lk.ones(3))
        w[0] = 2.0
    np.testing.assert_allclose(w.detach().numpy(), [2.0, 0.5, 0.5])


def test_modified_saved_tensor_is_detected_by_the_version_counter():
    x = lk.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    b = a.sin()                   # saves a
    a.mul_(2)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*SinBackward0.*"
                                           r"version 1; expected version 0"):
        b.sum().backward()
    # a view shares the version counter with its base
    x = lk.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a = x * 1
    b = a[0].exp() * a[0]         # Mul saves the view a[0]
    a[1].add_(1)                  # changes another row of the same storage
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_inplace_on_output_not_needed_for_backward_is_fine():
    def run(M):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        y = x + 1                 # Add saves nothing
        y.mul_(3)
        y.add_(x)
        y.sum().backward()
        return x.grad, y
    (lg, ly), (tg, ty) = _both(run)
    _same(lg, tg)
    _same(ly, ty)


@pytest.mark.parametrize("case", ["mul_column", "setitem_view", "transposed_step", "chain",
                                  "copy_into_zeros", "fill_view", "zero_view", "iadd_slice"])
def test_inplace_on_views_of_non_leaf_tensors_gives_torch_gradients(case):
    def run(M):
        x = M.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], requires_grad=True)
        w = M.tensor([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3], [0.7, 0.9, -2.0]])
        v = M.tensor([1.5, -2.5, 0.5], requires_grad=True)
        y = x * 2
        if case == "mul_column":
            y[:, 0].mul_(3)
        elif case == "setitem_view":
            r = y[1]
            r[1:] = v[:2] * 4
        elif case == "transposed_step":
            y.T[::2].mul_(v)
        elif case == "chain":
            y[:, 0].mul_(3)
            y[1:].add_(y[:1])
            col = y[:, 2]
            col.mul_(col.detach() + 1)
        elif case == "copy_into_zeros":
            y = M.zeros(3, 3)
            y[1].copy_(v)
            y = y * x
        elif case == "fill_view":
            y[0].fill_(7.0)
        elif case == "zero_view":
            y[:, 1].zero_()
        elif case == "iadd_slice":
            s = y[1:, 1:]
            s += v[1:]
        (y * w).sum().backward()
        return y, x.grad, v.grad
    (ly, lxg, lvg), (ty, txg, tvg) = _both(run)
    _same(ly, ty)
    _same(lxg, txg)
    assert (lvg is None) == (tvg is None)
    if tvg is not None:
        _same(lvg, tvg)


def test_inplace_on_a_view_with_itself_needs_its_old_value_and_raises_like_torch():
    for M in (lk, torch):
        x = M.ones(3, requires_grad=True)
        y = x * 2
        c = y[1:]
        c.mul_(c)                          # Mul saved c, which the op then overwrote
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_view_of_leaf_inplace_raises():
    x = lk.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[:2].mul_(2)


# ----------------------------------------------------------------------------- deep graphs, memory
def test_deep_graph_of_10000_ops_backward_is_iterative():
    x = lk.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10_000], rtol=1e-3)
    del y                          # freeing a 10,000-deep chain must not recurse either
    gc.collect()


def test_graph_is_freed_after_backward():
    x = lk.randn(100, requires_grad=True)
    h = x.exp()
    y = (h * x).sum()
    node = y.grad_fn
    mul = node.next_functions[0][0]
    assert mul.name() == "MulBackward0" and mul._saved is not None
    y.backward()
    assert mul._saved is None                       # saved arrays released
    ref = weakref.ref(mul)
    del y, h, node, mul
    gc.collect()
    assert ref() is None                            # and the nodes themselves once unreachable


def test_memory_stays_flat_over_10000_training_steps():
    w = lk.randn(8, 4, requires_grad=True)
    b = lk.zeros(4, requires_grad=True)
    x = lk.randn(16, 8)

    def step():
        loss = ((x @ w + b).relu() ** 2).mean()
        loss.backward()
        with lk.no_grad():
            w.sub_(0.01 * w.grad)
            b.sub_(0.01 * b.grad)
        w.grad = None
        b.grad = None

    for _ in range(200):                            # warm-up (caches, first allocations)
        step()
    gc.collect()
    objects_before = len(gc.get_objects())
    for _ in range(10_000):
        step()
    gc.collect()
    grown = len(gc.get_objects()) - objects_before
    assert grown < 50, f"{grown} more live objects after 10,000 steps (a graph is kept alive?)"


# ----------------------------------------------------------------------------- anomaly, source lines
def test_detect_anomaly_names_the_forward_op_and_line():
    x = lk.tensor([1.0, -1.0])
    with lk.autograd.detect_anomaly():
        with pytest.raises(RuntimeError) as e:
            lk.log(x)  # FORWARD-NAN
    msg = str(e.value)
    assert "'Log'" in msg and "nan" in msg and "FORWARD-NAN" in msg and __file__ in msg


def test_detect_anomaly_names_the_backward_op_and_the_forward_line():
    x = lk.tensor([4.0, 0.0], requires_grad=True)
    with lk.autograd.detect_anomaly():
        y = x.sqrt()  # THE-SQRT
        line = inspect.currentframe().f_lineno - 1
        with pytest.raises(RuntimeError) as e:
            (y * 0.0).sum().backward()
    msg = str(e.value)
    assert "SqrtBackward0" in msg and f"line {line}" in msg and "THE-SQRT" in msg


def test_anomaly_mode_allows_intended_infinities_in_forward():
    with lk.autograd.detect_anomaly():
        s = lk.tensor([[1.0, 2.0]], requires_grad=True)
        masked = s.masked_fill(lk.tensor([[False, True]]), float("-inf"))
        p = masked.softmax(dim=-1)
        p.sum().backward()
    np.testing.assert_allclose(p.detach().numpy(), [[1.0, 0.0]])


def test_set_detect_anomaly_function_and_context():
    assert not lk.autograd.is_anomaly_enabled()
    lk.autograd.set_detect_anomaly(True)
    try:
        assert lk.autograd.is_anomaly_enabled() and F._source.enabled
    finally:
        lk.autograd.set_detect_anomaly(False)
    assert not lk.autograd.is_anomaly_enabled() and not F._source.enabled
    with lk.autograd.set_detect_anomaly(True):
        assert lk.autograd.is_anomaly_enabled()
    assert not lk.autograd.is_anomaly_enabled()


def test_source_capture_is_off_by_default_and_on_when_asked():
    x = lk.ones(2, requires_grad=True)
    assert (x * 2).grad_fn.source is None
    prev = graph.capture_source(True)
    try:
        y = x * 2  # CAPTURED
    finally:
        graph.capture_source(prev)
    fname, line, func = y.grad_fn.source
    assert fname == __file__ and func == "test_source_capture_is_off_by_default_and_on_when_asked"
    assert "CAPTURED" in open(fname).read().splitlines()[line - 1]
    with lk.autograd.detect_anomaly():
        assert (x * 2).grad_fn.source is not None
    assert (x * 2).grad_fn.source is None


def test_leaf_grads_never_alias_shared_gradients():
    # Add passes its incoming gradient straight through to both inputs, and backward(gradient=g)
    # hands over the caller's array: every .grad must still own its storage.
    import numpy as np
    a = lk.randn(3, requires_grad=True)
    b = lk.randn(3, requires_grad=True)
    g = lk.ones(3)
    (a + b).backward(g)
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    assert not np.shares_memory(a.grad.numpy(), g.numpy())
    a.grad.add_(1)
    assert b.grad.tolist() == [1, 1, 1] and g.tolist() == [1, 1, 1]
    # autograd.grad captures the gradient reaching an input while another leaf accumulates it
    c = lk.randn(3, requires_grad=True)
    y = c * 1
    (gy,) = lk.autograd.grad((y + 0).sum(), [y], retain_graph=True)
    assert gy.tolist() == [1, 1, 1]


def test_fresh_gradients_are_adopted_without_a_copy(monkeypatch):
    # A gradient that nothing else refers to (a matmul's output) becomes .grad as it is.
    import numpy as np
    import labkit.autograd.engine as E
    copies = []

    class _NP:
        def __getattr__(self, k):
            return getattr(np, k)

        def array(self, *a, **k):
            copies.append(1)
            return np.array(*a, **k)

    w = lk.randn(64, 32, requires_grad=True)
    x = lk.randn(8, 64)
    monkeypatch.setattr(E, "np", _NP())
    (x @ w).relu().sum().backward()
    assert copies == [] and w.grad.shape == (64, 32)
    assert lk.allclose(w.grad, x.T @ ((x @ w) > 0).float())


def test_grad_runs_only_the_part_of_the_graph_it_needs():
    # as in PyTorch: autograd.grad w.r.t. an intermediate runs nothing below it, so the rest of
    # the graph keeps its saved values and its hooks do not fire
    fired = []
    x = lk.tensor([0.5, 1.5], requires_grad=True)
    h = x.exp()
    h.grad_fn.register_hook(lambda gi, go: fired.append("exp"))
    y = (h * 2).sin().sum()
    (gh,) = lk.autograd.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), 2 * np.cos(2 * np.exp([0.5, 1.5])), rtol=1e-6)
    assert fired == [] and x.grad is None
    h.sum().backward()                     # Exp's saved output is still there
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 1.5]), rtol=1e-6)
    assert fired == ["exp"]
    with pytest.raises(RuntimeError, match="second time"):
        lk.autograd.grad(y, h)             # the part that did run was freed


def test_backward_inputs_skips_branches_that_lead_elsewhere():
    fired = []
    a = lk.tensor([1.0, 2.0], requires_grad=True)
    b = lk.tensor([3.0, 4.0], requires_grad=True)
    tb = b.tanh()
    tb.grad_fn.register_hook(lambda gi, go: fired.append("tanh"))
    (a * 3 + tb).sum().backward(inputs=[a])
    assert a.grad.tolist() == [3.0, 3.0] and b.grad is None and fired == []


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
@pytest.mark.parametrize("create_graph", [False, True])
def test_retain_grad_sees_the_gradient_after_the_tensors_hooks(create_graph):
    # PyTorch runs retain_grad's hook last, whatever the registration order
    res = {}
    for M in (lk, torch):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        h = x * 3
        h.retain_grad()
        h.register_hook(lambda g: g * 2)
        (h ** 2).sum().backward(create_graph=create_graph)
        res[M.__name__] = (h.grad.detach().numpy().tolist(), x.grad.detach().numpy().tolist(),
                           h.grad.requires_grad)
    assert res["labkit"] == res["torch"]


# grad_fn names as PyTorch prints them (tutorials print them; the graph views show them)
_NAMED = {
    "x.T": lambda M, x, v, b: x.T, "x.t()": lambda M, x, v, b: x.t(),
    "x.mT": lambda M, x, v, b: x.mT, "transpose": lambda M, x, v, b: x.transpose(0, 1),
    "unsqueeze": lambda M, x, v, b: x.unsqueeze(0), "squeeze()": lambda M, x, v, b: x[None].squeeze(),
    "squeeze(0)": lambda M, x, v, b: x[None].squeeze(0), "x[None]": lambda M, x, v, b: x[None],
    "x[0]": lambda M, x, v, b: x[0], "x[:, 1]": lambda M, x, v, b: x[:, 1],
    "x[1:3]": lambda M, x, v, b: x[1:3], "x[0, 1:3]": lambda M, x, v, b: x[0, 1:3],
    "x[..., 0]": lambda M, x, v, b: x[..., 0], "x[[0, 1]]": lambda M, x, v, b: x[[0, 1]],
    "x[mask]": lambda M, x, v, b: x[x > 0], "narrow": lambda M, x, v, b: x.narrow(0, 1, 2),
    "sum()": lambda M, x, v, b: x.sum(), "sum(1)": lambda M, x, v, b: x.sum(1),
    "mean(1)": lambda M, x, v, b: x.mean(1), "max()": lambda M, x, v, b: x.max(),
    "min()": lambda M, x, v, b: x.min(), "max(1)": lambda M, x, v, b: x.max(1).values,
    "amax(1)": lambda M, x, v, b: x.amax(1), "amin(1)": lambda M, x, v, b: x.amin(1),
    "bmm": lambda M, x, v, b: b.bmm(b.mT), "mv": lambda M, x, v, b: x.mv(v),
    "dot": lambda M, x, v, b: v.dot(v), "mm": lambda M, x, v, b: x.mm(x.T),
    "x @ v": lambda M, x, v, b: x @ v, "1 - x": lambda M, x, v, b: 1 - x,
    "x - 1": lambda M, x, v, b: x - 1, "clamp": lambda M, x, v, b: x.clamp(-1, 1),
    "tril": lambda M, x, v, b: x.tril(), "triu": lambda M, x, v, b: x.triu(),
    "index_select": lambda M, x, v, b: x.index_select(0, M.tensor([0])),
    "split": lambda M, x, v, b: x.split(2)[0], "split([1, 3])": lambda M, x, v, b: x.split([1, 3])[0],
    "chunk": lambda M, x, v, b: x.chunk(2)[0], "unbind": lambda M, x, v, b: x.unbind(0)[0],
    "norm": lambda M, x, v, b: x.norm(), "x ** v": lambda M, x, v, b: x ** v,
    "2 ** x": lambda M, x, v, b: 2.0 ** x, "view": lambda M, x, v, b: x.view(12),
    "linear": lambda M, x, v, b: M.nn.functional.linear(x, M.ones(2, 3), M.ones(2)),
    "linear, no bias": lambda M, x, v, b: M.nn.functional.linear(x, M.ones(2, 3)),
    "expand": lambda M, x, v, b: v.expand(2, 3), "cat": lambda M, x, v, b: M.cat([x, x]),
    "gather": lambda M, x, v, b: x.gather(1, M.zeros(4, 1, dtype=M.long)),
}


@pytest.mark.parametrize("expr", list(_NAMED))
def test_grad_fn_names_match_torch(expr):
    names = []
    for M in (lk, torch):
        M.manual_seed(0)
        x, v = M.randn(4, 3, requires_grad=True), M.randn(3, requires_grad=True)
        b = M.randn(2, 4, 3, requires_grad=True)
        names.append(type(_NAMED[expr](M, x, v, b).grad_fn).__name__)
    assert names[0] == names[1]
