"""Tensor methods and properties of labkit/tensor_extras.py vs PyTorch 2.13: what a dense real
CPU tensor answers, real-number identities, in-place operator dunders, memory questions,
``new``/``resize_``, ``fill_diagonal_``, Python maps, random fills, and
``register_post_accumulate_grad_hook`` (optimizer steps inside backward)."""
import numpy as np
import pytest

import labkit as lk

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(11)


def pair(a, grad=False):
    a = np.asarray(a)
    return lk.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def close(a, b, atol=1e-6):
    a_np = a.detach().numpy() if isinstance(a, (lk.Tensor, torch.Tensor)) else np.asarray(a)
    b_np = b.detach().numpy() if isinstance(b, (lk.Tensor, torch.Tensor)) else np.asarray(b)
    assert a_np.shape == b_np.shape, (a_np.shape, b_np.shape)
    np.testing.assert_allclose(a_np, b_np, atol=atol, rtol=1e-6)


def test_a_dense_cpu_tensor_answers_like_torchs():
    xl, xt = pair(RNG.standard_normal((2, 3)))
    for name in ("is_cpu", "is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_nested",
                 "is_mkldnn", "is_mps", "is_xla", "is_xpu", "is_ipu", "is_maia", "is_mtia",
                 "is_vulkan", "output_nr", "name"):
        assert getattr(xl, name) == getattr(xt, name), name
    for name in ("get_device", "is_distributed", "is_inference", "is_conj", "is_neg",
                 "is_pinned", "is_shared", "storage_offset", "dim_order"):
        assert getattr(xl, name)() == getattr(xt, name)(), name
    assert xl.grad_dtype == lk.float64
    assert xl.to_dense() is xl and xl.to_dense(lk.float32).dtype == lk.float32
    y = xl * 1
    assert y.output_nr == 0
    with pytest.warns(UserWarning, match="volatile"):
        assert xl.volatile is False
    with pytest.raises(RuntimeError, match="accelerator"):
        xl.pin_memory()
    assert xl.share_memory_() is xl
    with pytest.raises(RuntimeError, match="removed"):
        xl.reinforce(1.0)


def test_real_number_identities():
    xl, xt = pair(RNG.standard_normal((2, 3)))
    for name in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "conj_physical_"):
        assert getattr(xl, name)() is xl
    assert xl.real is xl and xt.real is xt
    with pytest.raises(RuntimeError, match="non-complex"):
        xl.imag
    close(xl.adjoint(), xt.adjoint())
    with pytest.raises(RuntimeError, match="matrices"):
        lk.ones(3).adjoint()
    assert complex(lk.tensor(2.5)) == complex(torch.tensor(2.5)) == 2.5 + 0j
    assert lk.tensor(3.7).__long__() == 3
    assert lk.tensor(0.0).__nonzero__() is False


def test_fix_hardshrink_prelu_with_gradients():
    a = RNG.uniform(-2, 2, (2, 3, 4))
    for name, args in (("fix", ()), ("hardshrink", (0.7,)), ("prelu", (None,))):
        xl, xt = pair(a, True)
        if name == "prelu":
            wl, wt = pair(RNG.uniform(0, 1, 3), True)
            yl, yt = xl.prelu(wl), xt.prelu(wt)
        else:
            yl, yt = getattr(xl, name)(*args), getattr(xt, name)(*args)
        close(yl, yt)
        up = RNG.standard_normal(a.shape)
        (yl * lk.tensor(up)).sum().backward()
        (yt * torch.tensor(up)).sum().backward()
        close(xl.grad, xt.grad)
        if name == "prelu":
            close(wl.grad, wt.grad)
    x = lk.tensor([1.5, -2.5])
    assert x.fix_() is x and x.tolist() == [1.0, -2.0]
    close(lk.tensor([-1.0, 2.0]).prelu(lk.tensor([0.25])),
          torch.tensor([-1.0, 2.0]).prelu(torch.tensor([0.25])))


@pytest.mark.parametrize("op,other,dtype", [
    ("__ilshift__", 2, "int64"), ("__irshift__", 1, "int64"), ("__iand__", 6, "int64"),
    ("__ior__", 5, "int64"), ("__ixor__", 3, "int64"), ("__ipow__", 2, "float64"),
    ("__imod__", 3, "int64"), ("__imod__", 1.5, "float64"), ("__ifloordiv__", 3, "int64"),
    ("__idiv__", 2.0, "float64")])
def test_inplace_dunders_keep_the_tensor(op, other, dtype):
    a = np.array([1, 4, 7, 10]).astype(dtype)
    xl, xt = lk.tensor(a), torch.tensor(a)
    assert getattr(xl, op)(other) is xl
    assert getattr(xt, op)(other) is xt
    close(xl, xt)


def test_shift_and_division_dunders():
    xl, xt = lk.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    close(xl << 2, xt << 2)
    close(xl >> 1, xt >> 1)
    close(2 << xl, 2 << xt)
    close(64 >> xl, 64 >> xt)
    v = lk.tensor([1, 2])
    w = v
    v <<= 1
    assert v is w and v.tolist() == [2, 4]
    yl, yt = lk.tensor([2.0, 4.0]), torch.tensor([2.0, 4.0])
    close(yl.__div__(4), yt.__div__(4))
    close(yl.__rdiv__(8), yt.__rdiv__(8))
    close(yl.__div__(3, rounding_mode="floor"), torch.div(yt, 3, rounding_mode="floor"))
    with pytest.raises(RuntimeError):
        lk.tensor([1, 2]).__idiv__(2)             # float result into an int tensor


def test_container_protocol():
    x = lk.arange(5)
    assert 3 in x and 7 not in x and lk.tensor(2) in x
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        "a" in x
    assert [t.item() for t in reversed(x)] == [4, 3, 2, 1, 0]
    assert reversed(lk.tensor(3.0)).item() == 3.0
    with pytest.raises(TypeError, match="deleting"):
        del x[0]


def test_numpy_functions_on_a_tensor_give_a_tensor():
    x = lk.tensor([0.0, 1.0])
    y = np.sin(x)
    assert isinstance(y, lk.Tensor)
    close(y, np.sin([0.0, 1.0]))
    assert isinstance(np.add(x, 1), lk.Tensor)


def test_storage_offset_dim_order_and_is_set_to_match_torch():
    a = np.arange(24.0).reshape(2, 3, 4)
    xl, xt = pair(a)
    for f in (lambda t: t[1:], lambda t: t[:, 1:, 2:], lambda t: t.permute(2, 0, 1),
              lambda t: t.transpose(0, 1)[1], lambda t: t.reshape(6, 4)[3:]):
        assert f(xl).storage_offset() == f(xt).storage_offset()
        assert f(xl).dim_order() == f(xt).dim_order()
    assert xl.is_set_to(xl) and not xl.is_set_to(xl.view(24)) and not xl.is_set_to(xl.clone())
    assert xl.const_data_ptr() == xl.data_ptr()


def test_new_and_resize():
    x = lk.tensor([1.0, 2.0], dtype=lk.float64)
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype == lk.float64
    assert x.new([1, 2]).tolist() == [1.0, 2.0] and x.new([1, 2]).dtype == lk.float64
    assert x.new((2, 3)).tolist() == [2.0, 3.0]              # a tuple is data, as in torch
    assert x.new(lk.Size([4])).shape == (4,) and x.new(size=(3,)).shape == (3,)
    assert x.new().shape == (0,)
    y = lk.arange(6.0)
    assert y.resize_(2, 2) is y and y.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    y.resize_(8)
    assert y.shape == (8,) and y[:4].tolist() == [0.0, 1.0, 2.0, 3.0]
    z = lk.zeros(3)
    z.resize_as_(lk.zeros(1, 2))
    assert z.shape == (1, 2)
    with pytest.raises(RuntimeError, match="require grad"):
        lk.ones(2, requires_grad=True).resize_(3)
    with pytest.warns(UserWarning, match="deprecated"):
        assert lk.arange(6).resize(2, 3).shape == (2, 3)


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((5, 3), False), ((5, 3), True),
                                        ((7, 3), True), ((3, 5), True), ((3, 3, 3), False)])
def test_fill_diagonal_matches_torch(shape, wrap):
    xl, xt = lk.zeros(*shape), torch.zeros(*shape)
    assert xl.fill_diagonal_(2.0, wrap) is xl
    xt.fill_diagonal_(2.0, wrap)
    close(xl, xt)
    tl, tt = lk.zeros(4, 6).t(), torch.zeros(4, 6).t()     # not contiguous
    tl.fill_diagonal_(1.0, True)
    tt.fill_diagonal_(1.0, True)
    close(tl, tt)
    with pytest.raises(RuntimeError):
        lk.zeros(2, 3, 4).fill_diagonal_(1.0)


def test_python_maps():
    x = lk.tensor([1.0, 2.0, 3.0])
    assert x.apply_(lambda v: v * 10) is x and x.tolist() == [10.0, 20.0, 30.0]
    x.map_(lk.tensor([1.0]), lambda a, b: a + b)
    assert x.tolist() == [11.0, 21.0, 31.0]
    x.map2_(lk.tensor([1.0, 2.0, 3.0]), lk.tensor(2.0), lambda a, b, c: a - b * c)
    assert x.tolist() == [9.0, 17.0, 25.0]
    with pytest.raises(RuntimeError, match="requires grad"):
        lk.ones(2, requires_grad=True).apply_(abs)


def test_random_fills_follow_their_distribution_and_generator():
    n = 40000
    ln = lk.empty(n, dtype=lk.float64).log_normal_(0.5, 0.4)
    logs = np.log(ln.numpy())
    assert abs(logs.mean() - 0.5) < 0.02 and abs(logs.std() - 0.4) < 0.02
    ge = lk.empty(n).geometric_(0.25)
    assert ge.min().item() >= 1 and abs(ge.mean().item() - 4.0) < 0.15
    ca = lk.empty(n).cauchy_(1.0, 2.0)
    assert abs(float(np.median(ca.numpy())) - 1.0) < 0.1
    g1, g2 = lk.Generator().manual_seed(5), lk.Generator().manual_seed(5)
    assert lk.empty(4).cauchy_(generator=g1).tolist() == lk.empty(4).cauchy_(generator=g2).tolist()
    with pytest.raises(RuntimeError):
        lk.empty(2).geometric_(1.5)


def _model(lib, seed_w):
    w1 = lib.tensor(seed_w[0], requires_grad=True)
    w2 = lib.tensor(seed_w[1], requires_grad=True)
    return [w1, w2]


def test_post_accumulate_grad_hook_runs_an_optimizer_inside_backward():
    ws = [RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))]
    x = RNG.standard_normal((5, 3))
    results = []
    for lib in (lk, torch):
        ref = _model(lib, ws)
        opt = lib.optim.SGD(ref, lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (lib.tensor(x) @ ref[0] @ ref[1]).tanh().sum().backward()
            opt.step()
        params = _model(lib, ws)
        opts = {p: lib.optim.SGD([p], lr=0.1) for p in params}
        seen = []

        def hook(p, opts=opts, seen=seen):
            seen.append(p.grad is not None)
            opts[p].step()
            opts[p].zero_grad()
        handles = [p.register_post_accumulate_grad_hook(hook) for p in params]
        for _ in range(3):
            (lib.tensor(x) @ params[0] @ params[1]).tanh().sum().backward()
        assert seen == [True] * 6
        for a, b in zip(ref, params):
            close(a, b)
        handles[0].remove()
        params[0].grad = None
        (lib.tensor(x) @ params[0] @ params[1]).sum().backward()
        assert params[0].grad is not None                 # the removed hook did not step
        results.append([p.detach().numpy().copy() for p in params])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_post_accumulate_grad_hook_only_on_leaves():
    x = lk.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require"):
        lk.ones(2).register_post_accumulate_grad_hook(lambda t: None)


def test_removed_methods_raise_like_torch():
    x = lk.eye(2)
    for name in ("lstsq", "solve"):
        with pytest.raises(RuntimeError, match="removed"):
            getattr(x, name)(x)
    for name in ("symeig", "eig"):
        with pytest.raises(RuntimeError, match="removed"):
            getattr(x, name)()


def test_split_and_unbind_of_a_permuted_view_give_the_right_gradients():
    # (Split's backward lays the gradient out as the input was: here a permuted view)
    x = lk.randn(4, 3, 6, requires_grad=True)
    t = torch.tensor(x.detach().numpy(), requires_grad=True)
    for lib, a in ((lk, x), (torch, t)):
        p = a.permute(1, 0, 2).unbind(0)               # p[1] unused
        c = a.transpose(0, 2).chunk(3, 0)               # c[2] unused
        (p[0] * 2 + p[2] ** 2).sum().backward(retain_graph=True)
        (c[0] * 3 + c[1]).sum().backward()
    assert np.allclose(x.grad.numpy(), t.grad.numpy())
