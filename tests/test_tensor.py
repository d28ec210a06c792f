"""The Tensor itself: creation functions, dtypes and PyTorch's promotion rules, properties,
conversions, the 'cpu' device, random numbers and printing -- compared with PyTorch."""
import itertools

import numpy as np
import pytest

import labkit as lk

torch = pytest.importorskip("torch")


def _norm(x):
    """Comparable plain data: (dtype name, shape, values) for tensors, names for dtypes."""
    if isinstance(x, (lk.Tensor, torch.Tensor)):
        return (str(x.dtype).split(".")[-1], tuple(x.shape), x.detach().numpy().tolist())
    if isinstance(x, (lk.dtype, torch.dtype)):
        return str(x).split(".")[-1]
    if isinstance(x, tuple):
        return tuple(_norm(v) for v in x)
    if isinstance(x, list):
        return [_norm(v) for v in x]
    return x


SAME_AS_TORCH = {
    "tensor_int": lambda M: M.tensor([1, 2, 3]),
    "tensor_bool": lambda M: M.tensor([True, False]),
    "tensor_float": lambda M: M.tensor([[1.0, 2.0]]),
    "tensor_mixed": lambda M: M.tensor([1, 2.5]),
    "tensor_0d": lambda M: M.tensor(3),
    "tensor_dtype": lambda M: M.tensor([1, 2], dtype=M.float64),
    "tensor_nested_tensors": lambda M: M.tensor([M.tensor(1.5).item(), 2.0]),
    "zeros": lambda M: M.zeros(2, 3),
    "zeros_tuple_dtype": lambda M: M.zeros((2, 3), dtype=M.int64),
    "ones_list": lambda M: M.ones([2]),
    "full_int": lambda M: M.full((2, 2), 7),
    "full_float": lambda M: M.full((2, 2), 7.5),
    "full_bool": lambda M: M.full((2,), True),
    "empty_shape": lambda M: tuple(M.empty(2, 3).shape),
    "arange": lambda M: M.arange(5),
    "arange_float_step": lambda M: M.arange(0, 1, 0.25),
    "arange_negative_step": lambda M: M.arange(5, 0, -2),
    "arange_float_start": lambda M: M.arange(0.5, 3),
    "arange_dtype": lambda M: M.arange(4, dtype=M.float32),
    "linspace": lambda M: M.linspace(0, 1, 5),
    "linspace_one": lambda M: M.linspace(2, 3, 1),
    "eye": lambda M: M.eye(3),
    "eye_rect": lambda M: M.eye(2, 3),
    "zeros_like": lambda M: M.zeros_like(M.tensor([1, 2])),
    "ones_like_dtype": lambda M: M.ones_like(M.tensor([1, 2]), dtype=M.float32),
    "full_like": lambda M: M.full_like(M.tensor([1.0, 2.0]), 3),
    "empty_like_shape": lambda M: tuple(M.empty_like(M.ones(2, 1)).shape),
    "randint_dtype": lambda M: M.randint(0, 5, (3,)).dtype,
    "randint_high_only": lambda M: tuple(M.randint(3, (2, 2)).shape),
    "randperm_dtype": lambda M: M.randperm(4).dtype,
    "rand_shape": lambda M: tuple(M.rand(2, 3).shape),
    "randn_dtype": lambda M: M.randn(2, dtype=M.float64).dtype,
    "rand_like": lambda M: (M.rand_like(M.ones(2, 2)).shape, M.rand_like(M.ones(2)).dtype),
    "randn_like_double": lambda M: M.randn_like(M.ones(2, dtype=M.float64)).dtype,
    "float": lambda M: M.tensor([1, 2]).float(),
    "long_truncates": lambda M: M.tensor([1.7, -1.7]).long(),
    "double": lambda M: M.tensor([1, 2]).double(),
    "bool": lambda M: M.tensor([0.0, 2.0]).bool(),
    "to_dtype": lambda M: M.tensor([1, 2]).to(M.float64),
    "to_cpu": lambda M: M.tensor([1, 2]).to("cpu"),
    "to_device_and_dtype": lambda M: M.tensor([1, 2]).to("cpu", M.float32),
    "to_dtype_kw": lambda M: M.tensor([1, 2]).to(dtype=M.float32, device="cpu"),
    "to_tensor": lambda M: M.tensor([1, 2]).to(M.ones(1, dtype=M.float64)),
    "type_as": lambda M: M.tensor([1, 2]).type_as(M.ones(1)),
    "item_float": lambda M: M.tensor([2.5]).item(),
    "item_int": lambda M: M.tensor([[7]]).item(),
    "tolist": lambda M: M.tensor([[1, 2]]).tolist(),
    "tolist_0d": lambda M: M.tensor(1.5).tolist(),
    "size": lambda M: tuple(M.ones(2, 3).size()),
    "size_dim": lambda M: M.ones(2, 3).size(-1),
    "shape_index": lambda M: M.ones(2, 3).shape[1],
    "numel": lambda M: M.ones(2, 3).numel(),
    "dim_ndim": lambda M: (M.ones(2, 3).dim(), M.ones(2, 3).ndim),
    "mT": lambda M: tuple(M.ones(2, 3, 4).mT.shape),
    "T": lambda M: M.arange(6).reshape(2, 3).T,
    "is_contiguous_T": lambda M: M.ones(2, 3).T.is_contiguous(),
    "contiguous": lambda M: M.ones(2, 3).T.contiguous().is_contiguous(),
    "stride": lambda M: M.ones(2, 3).stride(),
    "stride_T": lambda M: M.ones(2, 3).T.stride(),
    "device_str": lambda M: str(M.ones(1).device),
    "device_kw": lambda M: M.ones(2, device="cpu"),
    "device_obj": lambda M: M.ones(2, device=M.device("cpu")),
    "device_eq": lambda M: M.ones(1).device == M.device("cpu"),
    "cpu": lambda M: M.ones(2).cpu(),
    "is_floating_point": lambda M: (M.ones(1).is_floating_point(), M.tensor([1]).is_floating_point()),
    "element_size": lambda M: (M.ones(1).element_size(), M.tensor([1]).element_size()),
    "clone_is_copy": lambda M: (lambda t: (t.clone().add_(1), t))(M.ones(2)),
    "numpy_shares": lambda M: (lambda t: (t.numpy().__setitem__(0, 5.0), t)[1])(M.ones(2)),
    "from_numpy_shares": lambda M: (lambda a: (M.from_numpy(a), a.__setitem__(0, 9.0))[0])(
        np.zeros(2, dtype=np.float32)),
    "from_numpy_int32_dtype": lambda M: M.from_numpy(np.arange(3, dtype=np.int32)).dtype,
    "as_tensor_no_copy": lambda M: (lambda a: (M.as_tensor(a), a.__setitem__(0, 9.0))[0])(
        np.zeros(2, dtype=np.float32)),
    "as_tensor_list": lambda M: M.as_tensor([1.0, 2.0], dtype=M.float64),
}


@pytest.mark.parametrize("name", list(SAME_AS_TORCH))
def test_same_as_torch(name):
    fn = SAME_AS_TORCH[name]
    assert _norm(fn(lk)) == _norm(fn(torch))


# ----------------------------------------------------------------------------- promotion
DTYPES = ["bool", "int64", "float32", "float64"]


def _mk(M, dt, dimmed):
    d = getattr(M, dt)
    return M.ones(2, dtype=d) if dimmed else M.ones((), dtype=d)


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)))
def test_tensor_tensor_promotion_including_zero_dim(a, b):
    for da, db in [(1, 1), (1, 0), (0, 1), (0, 0)]:
        def run(M):
            x, y = _mk(M, a, da), _mk(M, b, db)
            r = (x | y) if a == b == "bool" else (x + y)
            return r.dtype, (x * y).dtype if "bool" not in (a, b) else None, (x > y).dtype
        assert _norm(run(lk)) == _norm(run(torch)), (a, b, da, db)


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_tensor_python_scalar_promotion(a, scalar):
    for dimmed in (1, 0):
        def run(M):
            x = _mk(M, a, dimmed)
            return (x * scalar).dtype, (scalar * x).dtype, (x == scalar).dtype
        assert _norm(run(lk)) == _norm(run(torch)), (a, scalar, dimmed)


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("op", ["div", "mean", "sum", "exp", "sqrt", "pow", "rpow", "prod",
                                "cumsum", "max", "sign", "where", "matmul_int"])
def test_result_dtypes_of_ops(a, op):
    if (a, op) in {("bool", "mean"), ("int64", "mean")}:     # torch refuses: labkit too
        with pytest.raises(RuntimeError, match="mean"):
            _mk(lk, a, 1).mean()
        return
    if a == "bool" and op == "matmul_int":
        return

    def run(M):
        x = _mk(M, a, 1)
        return {"div": lambda: x / 2, "mean": lambda: x.mean(), "sum": lambda: x.sum(),
                "exp": lambda: x.exp(), "sqrt": lambda: x.sqrt(), "pow": lambda: x ** 2,
                "rpow": lambda: 2 ** x, "prod": lambda: x.prod(), "cumsum": lambda: x.cumsum(0),
                "max": lambda: x.max(), "sign": lambda: x.sign(),
                "where": lambda: M.where(_mk(M, "bool", 1), x, 0.5),
                "matmul_int": lambda: x @ x}[op]().dtype
    assert _norm(run(lk)) == _norm(run(torch))


def test_default_dtype_switch():
    lk.set_default_dtype(lk.float64)
    try:
        assert lk.tensor([1.5]).dtype is lk.float64 and lk.zeros(1).dtype is lk.float64
        assert (lk.tensor([1, 2]) * 0.5).dtype is lk.float64
    finally:
        lk.set_default_dtype(lk.float32)
    assert lk.get_default_dtype() is lk.float32
    with pytest.raises(TypeError, match="floating"):
        lk.set_default_dtype(lk.int64)


def test_dtype_objects():
    assert lk.float is lk.float32 and lk.double is lk.float64 and lk.long is lk.int64
    assert repr(lk.float32) == "labkit.float32" and lk.float32.is_floating_point
    assert not lk.int64.is_floating_point
    assert lk.promote_types(lk.int64, lk.float32) is lk.float32
    assert lk.result_type(lk.tensor([1, 2]), 2.5) is lk.float32


# ----------------------------------------------------------------------------- device
def test_cuda_gives_a_clear_error():
    for call in (lambda: lk.ones(2, device="cuda"), lambda: lk.ones(2).to("cuda"),
                 lambda: lk.ones(2).cuda(), lambda: lk.device("cuda:0")):
        with pytest.raises(RuntimeError, match="CPU only.*device='cpu'"):
            call()
    assert lk.cuda.is_available() is False


def test_numpy_of_tensor_requiring_grad_raises_like_torch():
    x = lk.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\) instead"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_item_of_many_elements_raises():
    with pytest.raises(RuntimeError, match="a Tensor with 3 elements cannot be converted to Scalar"):
        lk.ones(3).item()


# ----------------------------------------------------------------------------- random numbers
def test_manual_seed_reproduces_and_generators_are_independent():
    lk.manual_seed(123)
    a = lk.randn(5)
    lk.manual_seed(123)
    b = lk.randn(5)
    assert a.tolist() == b.tolist()
    g1 = lk.Generator().manual_seed(7)
    g2 = lk.Generator().manual_seed(7)
    assert lk.rand(4, generator=g1).tolist() == lk.rand(4, generator=g2).tolist()
    assert lk.randn(3, generator=g1).tolist() != lk.randn(3, generator=g1).tolist()
    state = lk.get_rng_state()
    c = lk.rand(3)
    lk.set_rng_state(state)
    assert lk.rand(3).tolist() == c.tolist()


def test_random_distributions_have_the_right_statistics_and_ranges():
    lk.manual_seed(0)
    u = lk.rand(20000)
    n = lk.randn(20000)
    assert 0.0 <= u.min().item() and u.max().item() < 1.0 and abs(u.mean().item() - 0.5) < 0.01
    assert abs(n.mean().item()) < 0.03 and abs(n.std().item() - 1.0) < 0.03
    r = lk.randint(-3, 4, (5000,))
    assert r.dtype is lk.int64 and r.min().item() == -3 and r.max().item() == 3
    p = lk.randperm(50)
    assert sorted(p.tolist()) == list(range(50))


# ----------------------------------------------------------------------------- printing
PRINT_CASES = {
    "small_signed": np.array([[0.00703, -0.0735], [0.0681, 0.0861]], dtype=np.float32),
    "3d": np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32),
    "ints_as_float": np.arange(12.0, dtype=np.float32).reshape(3, 4),
    "summarized_1d": np.random.default_rng(1).standard_normal(2000).astype(np.float32),
    "summarized_2d": np.random.default_rng(2).standard_normal((40, 40)).astype(np.float32),
    "sci_small": np.array([1e-5, 1.0, 3.0], dtype=np.float32),
    "sci_big": np.array([1e9, 2.0], dtype=np.float32),
    "nonfinite": np.array([np.nan, 1.5, -np.inf], dtype=np.float32),
    "scalar": np.array(3.5, dtype=np.float32),
    "zeros": np.zeros(2, dtype=np.float32),
    "empty_2d": np.zeros((2, 0), dtype=np.float32),
    "long_line": np.random.default_rng(3).standard_normal(30).astype(np.float32),
    "int64": np.array([1, 2, -300]),
    "bool": np.array([True, False]),
    "float64": np.random.default_rng(4).standard_normal((2, 3)),
    "int_wrap": np.arange(200).reshape(2, 100),
    "empty_int": np.array([], dtype=np.int64),
    "wide_range": np.array([100000.0, -2.0], dtype=np.float32),
}


@pytest.mark.parametrize("name", list(PRINT_CASES))
def test_repr_matches_torch(name):
    a = PRINT_CASES[name]
    assert repr(lk.from_numpy(a.copy())).replace("labkit.", "torch.") == \
        repr(torch.from_numpy(a.copy()))


def test_repr_with_grad_fn_and_requires_grad():
    x = lk.tensor([[0.1, -0.2]], requires_grad=True)
    tx = torch.tensor([[0.1, -0.2]], requires_grad=True)
    assert repr(x) == repr(tx)
    assert repr(x * 2) == repr(tx * 2)
    assert repr((x * 2).sum()) == repr((tx * 2).sum())
    long = lk.randn(20, requires_grad=True)
    assert repr(long * 1).splitlines()[-1].endswith("grad_fn=<MulBackward0>)")


def test_set_printoptions():
    try:
        lk.set_printoptions(precision=2)
        assert repr(lk.tensor([1.2345, 2.0])) == "tensor([1.23, 2.00])"
    finally:
        lk.set_printoptions(profile="default")
    assert repr(lk.tensor([1.2345, 2.0])) == "tensor([1.2345, 2.0000])"


def test_numpy_scalars_keep_their_dtype_like_torch():
    import numpy as np
    import torch
    for v in (np.float64(1.5), np.float32(2.0), np.int32(3), np.int64(4), np.bool_(True)):
        assert lk.tensor(v).dtype.name == str(torch.tensor(v).dtype).split(".")[1], v


def test_where_method_and_return_types_follow_torch():
    x = lk.tensor([1.0, 2.0, 3.0, 4.0])
    tx = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.where(x > 2, lk.zeros(4)).tolist() == tx.where(tx > 2, torch.zeros(4)).tolist()
    m = lk.tensor([[1.0, 5.0], [3.0, 4.0]])
    for name in ("max", "min"):
        r = getattr(m, name)(dim=1)
        assert type(r).__name__ == name and r.indices.tolist() == getattr(
            torch.tensor(m.numpy()), name)(dim=1).indices.tolist()
        assert repr(r).startswith(f"labkit.return_types.{name}(\nvalues=tensor(")
    assert type(m.sort()).__name__ == "sort" and type(m.topk(1)).__name__ == "topk"
    assert type(m.median(1)).__name__ == "median" and type(m.kthvalue(1)).__name__ == "kthvalue"
    assert lk.return_types.aminmax(1, 2).max == 2


@pytest.mark.parametrize("right", [False, True])
def test_bucketize_and_searchsorted_match_torch(right):
    vals = [[0.5, 2.0, 2.5, 9.0], [1.0, 3.0, -1.0, 2.0]]
    for M in (lk, torch):
        b = M.bucketize(M.tensor(vals), M.tensor([1.0, 2.0, 3.0]), right=right)
        s = M.searchsorted(M.tensor([[1.0, 3, 5, 7], [2, 4, 6, 8]]), M.tensor(vals), right=right)
        s1 = M.searchsorted(M.tensor([1.0, 2, 3]), M.tensor(vals), out_int32=True, right=right)
        if M is lk:
            ours = (b.tolist(), s.tolist(), s1.tolist(), str(s1.dtype)[-5:])
        else:
            assert ours == (b.tolist(), s.tolist(), s1.tolist(), str(s1.dtype)[-5:])
