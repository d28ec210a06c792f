"""PyTorch's semantics where real teaching programs depend on them (issue 12), checked against
torch itself: in-place arithmetic on indexed elements and views, index kinds, factory keywords,
views of 0-d tensors, integer results outside autograd, matrix-product dtypes, quiet floating
point and bfloat16.  (Keyword aliases and ``out=`` live in ``test_calling_convention.py``.)

Each case is a function of the module (``labkit`` or ``torch``), run with both; results are
compared as arrays with dtype and requires_grad, errors by exception type.
"""
import warnings

import numpy as np
import pytest

import labkit

torch = pytest.importorskip("torch")


def _plain(r):
    """A comparable picture of a result: arrays with dtype names and autograd flags."""
    if isinstance(r, (labkit.Tensor, torch.Tensor)):
        return ("tensor", str(r.dtype).split(".")[-1], tuple(r.shape), bool(r.requires_grad),
                r.grad_fn is not None, _rounded(r.detach().numpy().tolist()))
    if isinstance(r, (tuple, list)):
        return type(r).__name__, [_plain(x) for x in r]
    if isinstance(r, float):
        return float(f"{r:.10g}")
    return r


def _rounded(v):
    """Floats to 10 significant digits (float64 kernels may differ in the last ulp)."""
    if isinstance(v, list):
        return [_rounded(x) for x in v]
    return float(f"{v:.10g}") if isinstance(v, float) else v


def _run(fn, mod):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # torch's deprecation notes
        try:
            return "ok", _plain(fn(mod))
        except Exception as e:                               # noqa: BLE001 - compared below
            return "raised", type(e).__name__


def same(fn):
    lk, th = _run(fn, labkit), _run(fn, torch)
    assert lk == th, f"labkit {lk}\ntorch  {th}"
    return lk


# ------------------------------------------------------------------ 1. in-place on indexed items
def _bigram_counts(m):
    words = ["emma", "olivia", "ava", "isabella", "sophia", "mia"]
    chars = sorted(set("".join(words)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    stoi["."] = 0
    N = m.zeros((len(stoi), len(stoi)), dtype=m.int32)
    for w in words:
        cs = ["."] + list(w) + ["."]
        for c1, c2 in zip(cs, cs[1:]):
            N[stoi[c1], stoi[c2]] += 1
    return N


def _confusion(m):
    pred, true = [0, 2, 1, 1, 0, 2, 2], [0, 1, 1, 1, 0, 2, 0]
    conf = m.zeros(3, 3)
    for p, t in zip(pred, true):
        conf[t][p] += 1
    return conf


def _word_vector(m):
    word_to_ix = {"me": 0, "gusta": 1, "comer": 2, "en": 3}
    vec = m.zeros(len(word_to_ix))
    for w in "me gusta comer en me".split():
        vec[word_to_ix[w]] += 1
    return vec


def _total_logprob(m):
    P = m.tensor([[0.1, 0.9], [0.6, 0.4]])
    total = 0.0
    n = 0
    for i, j in [(0, 1), (1, 0), (1, 1)]:
        logprob = m.log(P[i, j])
        total += logprob
        n += 1
    nll = -total
    return nll / n


def _dlogits(m):
    n = 4
    logits = m.tensor(np.linspace(-1, 1, 12).reshape(4, 3), dtype=m.float32)
    Yb = m.tensor([2, 0, 1, 2])
    dlogits = m.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    return dlogits


INPLACE = {
    "bigram counts N[i, j] += 1": _bigram_counts,
    "confusion[i][j] += 1": _confusion,
    "vec[word_to_ix[w]] += 1": _word_vector,
    "total += logprob": _total_logprob,
    "dlogits[range(n), Yb] -= 1": _dlogits,
    "repeated index does not accumulate": lambda m: _add_at(m, [1, 1, 2], 1.0),
    "repeated index with tensor values": lambda m: _add_at(m, m.tensor([0, 0, 3]),
                                                           m.tensor([1.0, 2.0, 3.0])),
    "mask *= 2": lambda m: _apply(m, lambda x: x.__setitem__(x > 4, x[x > 4] * 2)),
    "column += 1": lambda m: _iop(m, (slice(None), 1), "__iadd__", 1),
    "rows /= 2": lambda m: _iop(m, slice(1, 3), "__itruediv__", 2),
    "x[..., 0] -= 1": lambda m: _iop(m, (Ellipsis, 0), "__isub__", 1),
    "x[-1, -1] *= 3": lambda m: _iop(m, (-1, -1), "__imul__", 3),
    "0-d tensor index": lambda m: _iop(m, (m.tensor(1), m.tensor(2)), "__iadd__", 5),
    "numpy int index": lambda m: _iop(m, (np.int64(2), np.int32(0)), "__iadd__", 5),
    "x.T[0] += 1 (strided view)": lambda m: _apply(m, lambda x: x.T[0].__iadd__(1)),
    "sum result += 1": lambda m: _apply(m, lambda x: None, lambda x: x.sum().__iadd__(1)),
    "0-d arithmetic result *= 2": lambda m: _apply(m, lambda x: None,
                                                   lambda x: (x.sum() - 1).__imul__(2)),
    "element of int tensor += float": lambda m: _iop(m, (0, 0), "__iadd__", 0.5, dtype=m.int64),
}


def _add_at(m, idx, v):
    x = m.zeros(5)
    x[idx] += v
    return x


def _apply(m, op, result=None):
    x = m.arange(12.0).reshape(3, 4)
    op(x)
    return (x, result(x)) if result else x


def _iop(m, idx, name, v, dtype=None):
    x = m.arange(12).reshape(3, 4).to(dtype or m.float32)
    view = x[idx]
    setattr_result = getattr(view, name)(v)
    x[idx] = setattr_result                  # what Python runs for `x[idx] op= v`
    return x


@pytest.mark.parametrize("case", list(INPLACE))
def test_inplace_on_indexed_elements(case):
    assert same(INPLACE[case])[0] == "ok" or case.startswith("element of int")


def test_inplace_on_element_changes_the_base_and_bumps_its_version():
    x = labkit.zeros(3, 3)
    v0 = x._version
    e = x[1, 2]
    e += 1
    assert x[1, 2].item() == 1.0 and x._version > v0
    assert e._base is x and e.shape == ()


def _graph_through_indexed_update(m, w):
    y = w * 1.0
    y[0, 1] += w[1, 0] * 2
    y[range(2), [0, 2]] -= 1
    y[1][2] *= w[0, 0]
    y[:, 1] /= 3
    return (y ** 2).sum()


def test_autograd_through_indexed_updates_matches_torch():
    data = np.linspace(-1, 1, 6).reshape(2, 3)
    grads = []
    for m in (labkit, torch):
        w = m.tensor(data, dtype=m.float64, requires_grad=True)
        loss = _graph_through_indexed_update(m, w)
        loss.backward()
        grads.append((loss.item(), w.grad.numpy()))
    assert grads[0][0] == pytest.approx(grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)


def test_indexed_updates_gradcheck():
    w = labkit.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=labkit.float64,
                      requires_grad=True)
    assert labkit.autograd.gradcheck(lambda w: _graph_through_indexed_update(labkit, w), (w,))


def test_writes_through_data_are_hidden_from_autograd_but_detach_is_not():
    def through(attr):
        def run(m):
            x = m.ones(3, requires_grad=True)
            y = x * 1
            z = y * y
            plain = y.data if attr == "data" else y.detach()
            plain[1:].mul_(2)
            z.sum().backward()
            return x.grad, x._version
        return run
    assert same(through("data"))[0] == "ok"
    same(through("detach"))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        through("detach")(labkit)


def test_no_grad_updates_of_elements_count_versions_like_torch():
    def run(m):
        w = m.ones(2, 3, requires_grad=True)
        with m.no_grad():
            w[0, 1] += 1
            w[1] *= 2
            w[:, 2] -= w[:, 0]
        w.data[0, 0] += 5
        e = w.data[1, 1]
        e -= 1
        (w * w).sum().backward()
        return w, w.grad, w._version
    same(run)


@pytest.mark.parametrize("case", ["leaf element", "saved then modified"])
def test_inplace_errors_like_torch(case):
    def leaf(m):
        w = m.ones(3, requires_grad=True)
        w[0] += 1

    def saved(m):
        a = m.ones(3, requires_grad=True) * 1
        b = a[0]
        c = b * b
        b += 1
        c.backward()
    same({"leaf element": leaf, "saved then modified": saved}[case])
    with pytest.raises(RuntimeError):
        ({"leaf element": leaf, "saved then modified": saved}[case])(labkit)


# ------------------------------------------------------------------ 2. index kinds
INDICES = {
    "range": lambda m: range(1, 3),
    "range with step": lambda m: range(0, 3, 2),
    "tuple of ranges": lambda m: (range(2), range(2)),
    "range and tensor": lambda m: (range(3), m.tensor([0, 3, 1])),
    "numpy int64 array": lambda m: np.array([0, 2]),
    "numpy int32 array": lambda m: np.array([2, 0], dtype=np.int32),
    "numpy bool array": lambda m: np.array([True, False, True]),
    "list of bools": lambda m: [True, False, True],
    "list of bools on dim 1": lambda m: (slice(None), [True, False, True, False]),
    "0-d int tensor": lambda m: m.tensor(1),
    "0-d tensors pair": lambda m: (m.tensor(2), m.tensor(3)),
    "0-d bool tensor": lambda m: m.tensor(True),
    "int tensor": lambda m: m.tensor([1, 0]),
    "int32 tensor": lambda m: m.tensor([1, 0], dtype=m.int32),
    "bool tensor": lambda m: m.tensor([True, False, True]),
    "uint8 mask": lambda m: m.tensor([1, 0, 1], dtype=m.uint8),
    "nested tuple": lambda m: ((0, 1),),
    "empty list": lambda m: [],
    "list of ranges": lambda m: [range(2), range(2)],
    "list holding tensors": lambda m: [m.tensor(0), m.tensor(2)],
    "numpy integer scalar": lambda m: np.int64(2),
    "list of numpy ints": lambda m: [np.int64(1)],
    "ellipsis and list": lambda m: (Ellipsis, [0, 3]),
    "None and range": lambda m: (None, range(2)),
}


@pytest.mark.parametrize("case", list(INDICES))
def test_index_kinds_get(case):
    assert same(lambda m: m.arange(12.0).reshape(3, 4)[INDICES[case](m)])[0] == "ok"


@pytest.mark.parametrize("case", [c for c in INDICES if c != "uint8 mask"])   # torch refuses it
def test_index_kinds_set(case):
    def setitem(m):
        x = m.arange(12.0).reshape(3, 4)
        x[INDICES[case](m)] = -1.0
        return x
    assert same(setitem)[0] == "ok"


def test_float_index_still_rejected():
    same(lambda m: m.arange(4.0)[m.tensor([0.0, 1.0])])
    with pytest.raises(IndexError):
        labkit.arange(4.0)[labkit.tensor([0.0, 1.0])]


# ------------------------------------------------------------------ 3. factory keywords
X = np.arange(6.0).reshape(2, 3)
FACTORIES = {
    "zeros": lambda m, **k: m.zeros(2, 3, **k),
    "ones": lambda m, **k: m.ones((2, 3), **k),
    "empty": lambda m, **k: m.empty(2, 3, **k).zero_(),
    "full": lambda m, **k: m.full((2, 3), 1.5, **k),
    "arange": lambda m, **k: m.arange(0.0, 3.0, 0.5, **k),
    "linspace": lambda m, **k: m.linspace(0, 1, 5, **k),
    "logspace": lambda m, **k: m.logspace(0, 1, 5, **k),
    "eye": lambda m, **k: m.eye(3, **k),
    "rand": lambda m, **k: m.rand(2, 3, **k).zero_(),
    "randn": lambda m, **k: m.randn(2, 3, **k).zero_(),
    "normal(float, float, size)": lambda m, **k: m.normal(0.0, 1.0, (2, 3), **k).zero_(),
    "tensor": lambda m, **k: m.tensor([1.0, 2.0], **k),
    "zeros_like": lambda m, **k: m.zeros_like(m.tensor(X), **k),
    "ones_like": lambda m, **k: m.ones_like(m.tensor(X), **k),
    "empty_like": lambda m, **k: m.empty_like(m.tensor(X), **k).zero_(),
    "full_like": lambda m, **k: m.full_like(m.tensor(X), 2.0, **k),
    "rand_like": lambda m, **k: m.rand_like(m.tensor(X), **k).zero_(),
    "randn_like": lambda m, **k: m.randn_like(m.tensor(X), **k).zero_(),
    "new_zeros": lambda m, **k: m.tensor(X).new_zeros(2, **k),
    "new_ones": lambda m, **k: m.tensor(X).new_ones((2, 2), **k),
    "new_full": lambda m, **k: m.tensor(X).new_full((2,), 3.0, **k),
    "new_empty": lambda m, **k: m.tensor(X).new_empty(2, **k).zero_(),
    "new_tensor": lambda m, **k: m.tensor(X).new_tensor([1, 2], **k),
}
KEYWORDS = {"dtype": lambda m: m.float64, "device": lambda m: "cpu", "requires_grad": lambda m: True,
            "layout": lambda m: m.strided, "pin_memory": lambda m: False,
            "memory_format": lambda m: None, "generator": lambda m: m.Generator(),
            "requries_grad": lambda m: True, "out": lambda m: None, "axis": lambda m: 0}


@pytest.mark.parametrize("factory", list(FACTORIES))
@pytest.mark.parametrize("kw", list(KEYWORDS))
def test_factory_keywords_like_torch(factory, kw):
    """Every keyword PyTorch's factory takes is honoured; any other raises TypeError."""
    def call(m):
        v = KEYWORDS[kw](m)
        if kw == "memory_format" and m is torch:
            v = torch.contiguous_format
        if kw == "requires_grad" and "zero_" in factory:
            return FACTORIES[factory](m, requires_grad=True).requires_grad   # zero_ on a leaf
        return FACTORIES[factory](m, **{kw: v})
    if kw == "requires_grad" and "empty" in factory or (kw == "requires_grad" and factory in (
            "rand", "randn", "normal(float, float, size)", "rand_like", "randn_like")):
        def call(m):                                                    # noqa: F811
            fn = {"empty": lambda: m.empty(2, 3, requires_grad=True),
                  "empty_like": lambda: m.empty_like(m.tensor(X), requires_grad=True),
                  "new_empty": lambda: m.tensor(X).new_empty(2, requires_grad=True),
                  "rand": lambda: m.rand(2, 3, requires_grad=True),
                  "randn": lambda: m.randn(2, 3, requires_grad=True),
                  "normal(float, float, size)": lambda: m.normal(0.0, 1.0, (2, 3),
                                                                 requires_grad=True),
                  "rand_like": lambda: m.rand_like(m.tensor(X), requires_grad=True),
                  "randn_like": lambda: m.randn_like(m.tensor(X), requires_grad=True)}[factory]
            t = fn()
            return t.requires_grad, t.dtype == m.float32, t.is_leaf
    same(call)


@pytest.mark.parametrize("kw", ["requires_grad", "dtype", "device"])
def test_tensor_class_constructor_keywords(kw):
    same(lambda m: m.Tensor([1.0, 2.0], **{kw: KEYWORDS[kw](m)}))


KEYWORD_CALLS = {
    "zeros(size=)": lambda m: m.zeros(size=(2, 3)),
    "ones(size=) and dtype": lambda m: m.ones(size=[2], dtype=m.int64),
    "rand(size=)": lambda m: m.rand(size=(2, 3)).shape,
    "randn(size=)": lambda m: m.randn(size=(4,)).shape,
    "randint(high, size=)": lambda m: m.randint(5, size=(3,)).shape,
    "randint(low=, high=, size=)": lambda m: m.randint(low=2, high=3, size=(3,)),
    "arange(start=, end=, step=)": lambda m: m.arange(start=0, end=5, step=2),
    "linspace(start=, end=, steps=)": lambda m: m.linspace(start=0, end=1, steps=3),
    "eye(n=, m=)": lambda m: m.eye(n=2, m=3),
    "full(size=, fill_value=)": lambda m: m.full(size=(2,), fill_value=7),
    "normal(mean=, std=, size=)": lambda m: m.normal(mean=0.0, std=1.0, size=(2,)).shape,
    "randperm(n=)": lambda m: m.randperm(n=4).sort().values,
    "sizes twice": lambda m: m.zeros(2, size=(2,)),
    "Generator on cuda": lambda m: m.Generator(device="cuda"),
    "get_default_device": lambda m: str(m.get_default_device()),
    "set_default_device cpu": lambda m: (m.set_default_device("cpu"), str(m.ones(1).device)),
    "is_signed": lambda m: (m.ones(1).is_signed(), m.ones(1).byte().is_signed()),
}


@pytest.mark.parametrize("case", list(KEYWORD_CALLS))
def test_factory_keyword_calls(case):
    same(KEYWORD_CALLS[case])


def test_set_default_device_cuda_says_cpu_only():
    with pytest.raises(RuntimeError, match="CPU only"):
        labkit.set_default_device("cuda")


def test_misspelt_keyword_names_itself():
    with pytest.raises(TypeError, match="requries_grad"):
        labkit.zeros(3, requries_grad=True)
    with pytest.raises(TypeError, match="dtyp"):
        labkit.randn(3, dtyp=labkit.float64)


def test_requires_grad_on_integer_factory_raises_like_torch():
    same(lambda m: m.arange(5, requires_grad=True))
    same(lambda m: m.zeros(2, dtype=m.int64, requires_grad=True))


NORMALS = {
    "numbers and size": lambda m: m.normal(0.0, 0.01, (3, 1), requires_grad=True),
    "numbers, size, dtype": lambda m: m.normal(2, 3, size=(2,), dtype=m.float64),
    "tensor mean": lambda m: m.normal(m.zeros(2, 3), 1.0),
    "tensor mean and std": lambda m: m.normal(m.zeros(2, 3, dtype=m.float64), m.ones(2, 3,
                                                                                 dtype=m.float64)),
    "number mean, tensor std": lambda m: m.normal(0.0, m.ones(4)),
    "generator": lambda m: m.normal(0.0, 1.0, (2,), generator=m.Generator().manual_seed(1)),
    "numbers without size": lambda m: m.normal(0.0, 1.0),
    "tensor with size": lambda m: m.normal(m.zeros(2), 1.0, (2,)),
    "negative std": lambda m: m.normal(0.0, -1.0, (2,)),
}


@pytest.mark.parametrize("case", list(NORMALS))
def test_normal_overloads(case):
    def shape_dtype_grad(m):
        t = NORMALS[case](m)
        return tuple(t.shape), str(t.dtype).split(".")[-1], t.requires_grad, t.is_leaf
    same(shape_dtype_grad)


def test_normal_from_scratch_linear_regression_parameter_gets_a_grad():
    w = labkit.normal(0, 0.01, size=(2, 1), requires_grad=True)
    (w ** 2).sum().backward()
    assert w.grad is not None
    with labkit.no_grad():
        w -= 0.1 * w.grad


def test_normal_with_tensor_arguments_has_torchs_zero_gradients():
    """PyTorch's normal(mean_tensor, std) is on the graph but passes zero gradients back."""
    names = []
    for m in (labkit, torch):
        mean = m.tensor([0.5, -1.0], requires_grad=True)
        std = m.tensor([2.0, 0.5], requires_grad=True)
        s = m.normal(mean, std) + m.normal(mean, 1.0) + m.normal(0.0, std)
        s.sum().backward()
        np.testing.assert_array_equal(mean.grad.numpy(), [0.0, 0.0])
        np.testing.assert_array_equal(std.grad.numpy(), [0.0, 0.0])
        names.append(type(m.normal(mean, std).grad_fn).__name__)
    assert names[0] == names[1]


LEGACY = {
    "type()": lambda m: m.ones(2).type().split(".")[1],
    "type(LongTensor)": lambda m: m.ones(2, requires_grad=True).type(m.LongTensor),
    "type('torch.DoubleTensor')": lambda m: m.ones(2).type(f"{m.__name__}.DoubleTensor"),
    "isinstance FloatTensor": lambda m: (isinstance(m.ones(2), m.FloatTensor),
                                         isinstance(m.ones(2).double(), m.FloatTensor)),
    "LongTensor(list)": lambda m: m.LongTensor([1, 2]),
    "FloatTensor(sizes)": lambda m: tuple(m.FloatTensor(2, 3).shape),
    "to(dtype, non_blocking, copy)": lambda m: m.ones(2).to(m.float64, False, True),
    "to(device, dtype)": lambda m: m.ones(2).to("cpu", m.int32),
}


@pytest.mark.parametrize("case", list(LEGACY))
def test_legacy_types_and_to(case):
    r = same(LEGACY[case])
    assert r[0] == "ok"
    if case == "type()":
        assert labkit.ones(2).type() == "labkit.FloatTensor"


# ------------------------------------------------------------------ 4. views
VIEWS = {
    "0-d to [1]": lambda m: m.tensor(3.0).view(1),
    "0-d to []": lambda m: m.tensor(3.0).view([]),
    "0-d to [1, 1]": lambda m: m.tensor(3.0).view(1, 1),
    "0-d to -1": lambda m: m.tensor(3.0).view(-1),
    "indexed element to [1]": lambda m: m.arange(4.0)[2].view(1),
    "sum to [1]": lambda m: m.ones(3).sum().view(1),
    "[1] to []": lambda m: m.ones(1).view(()),
    "0-d to [2]": lambda m: m.tensor(3.0).view(2),
    "transposed": lambda m: m.arange(6.0).reshape(2, 3).T.view(6),
    "transposed, split of a dim": lambda m: m.arange(24.0).reshape(2, 3, 4).transpose(0, 1)
    .view(3, 2, 2, 2),
    "expanded": lambda m: m.ones(1, 4).expand(3, 4).view(12),
    "expanded keeps stride 0": lambda m: m.ones(1, 4).expand(3, 4).view(3, 2, 2),
    "stepped slice": lambda m: m.arange(12.0)[::2].view(2, 3),
    "column slice": lambda m: m.arange(12.0).reshape(3, 4)[:, 1:2].view(3),
    "empty transposed": lambda m: m.zeros(0, 3).T.view(-1),
    "view_as of 0-d": lambda m: m.tensor(2.0).view_as(m.ones(1, 1)),
    "flatten 0-d": lambda m: m.tensor(2.0).flatten(),
    "unflatten": lambda m: m.arange(6.0).unflatten(0, (2, -1)),
    "reshape transposed": lambda m: m.arange(6.0).reshape(2, 3).T.reshape(6),
    "diagonal is a view": lambda m: _write_through(m, lambda x: x.diagonal(1)),
    "diagonal of a batch": lambda m: _write_through(m, lambda x: x.view(2, 2, 3).diagonal(0, 1, 2)),
    "flip is a copy": lambda m: _write_through(m, lambda x: x.flip(0)),
    "roll is a copy": lambda m: _write_through(m, lambda x: x.roll(1, 0)),
    "narrow is a view": lambda m: _write_through(m, lambda x: x.narrow(1, 1, 2)),
    "select is a view": lambda m: _write_through(m, lambda x: x.select(1, 2)),
    "unflatten is a view": lambda m: _write_through(m, lambda x: x.unflatten(1, (3, 1))),
    "movedim is a view": lambda m: _write_through(m, lambda x: x.movedim(0, 1)),
}


def _write_through(m, view):
    """Write into ``view(x)`` and show ``x``: a view passes the write on, a copy does not."""
    x = m.arange(12.0).reshape(4, 3)
    view(x).mul_(-1)
    return x


@pytest.mark.parametrize("case", list(VIEWS))
def test_views_follow_torch_stride_rules(case):
    same(VIEWS[case])


def test_view_error_hints_reshape_only_when_torch_would():
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
        labkit.arange(6.0).reshape(2, 3).T.view(6)
    with pytest.raises(RuntimeError) as e:
        labkit.tensor(3.0).view(2)
    assert "reshape(...) instead" not in str(e.value)


def test_view_of_element_shares_memory():
    x = labkit.arange(4.0)
    v = x[2].view(1)
    v += 10
    assert x[2].item() == 12.0


# ------------------------------------------------------------------ 6. integer results
CASTS = {
    "long": lambda x, m: x.long(), "int": lambda x, m: x.int(), "bool": lambda x, m: x.bool(),
    "byte": lambda x, m: x.byte(), "to(int64)": lambda x, m: x.to(m.int64),
    "to(torch.bool)": lambda x, m: x.to(m.bool), "type(LongTensor)": lambda x, m: x.type(m.LongTensor),
    "type(int32)": lambda x, m: x.type(m.int32), "argmax": lambda x, m: x.argmax(),
    "argmin dim": lambda x, m: x.argmin(dim=0), "max indices": lambda x, m: x.max(0).indices,
    "comparison": lambda x, m: x > 0.5, "eq": lambda x, m: x == x, "isnan": lambda x, m: x.isnan(),
    "sort indices": lambda x, m: x.sort().indices, "topk indices": lambda x, m: x.topk(1).indices,
    "floor_divide to int": lambda x, m: (x * 3).long() // 2, "round then long": lambda x, m:
    x.round().long(), "nonzero": lambda x, m: x.nonzero(), "sign": lambda x, m: x.sign(),
    "float() keeps graph": lambda x, m: x.float(), "double() keeps graph": lambda x, m: x.double(),
}


@pytest.mark.parametrize("case", list(CASTS))
def test_integer_results_never_require_grad(case):
    same(lambda m: CASTS[case](m.tensor([0.25, 1.5], requires_grad=True), m))


def test_gradient_does_not_flow_through_an_integer_cast():
    for m in (labkit, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = (x.long() * 2).sum()
        assert not y.requires_grad
        with pytest.raises(RuntimeError):
            y.backward()


# ------------------------------------------------------------------ 7. matrix-product dtypes
def _f(m, *s):
    return m.ones(*s)


def _d(m, *s):
    return m.ones(*s, dtype=m.float64)


def _l(m, *s):
    return m.ones(*s, dtype=m.int64)


PRODUCTS = {
    "mm float@double": lambda m: _f(m, 2, 3) @ _d(m, 3, 2),
    "mm long@float": lambda m: _l(m, 2, 3) @ _f(m, 3, 2),
    "mv": lambda m: _f(m, 2, 3) @ _d(m, 3),
    "vector @ matrix": lambda m: _f(m, 3) @ _d(m, 3, 2),
    "dot": lambda m: m.dot(_f(m, 3), _d(m, 3)),
    "bmm": lambda m: m.bmm(_f(m, 2, 2, 3), _d(m, 2, 3, 2)),
    "batched @ matrix": lambda m: _f(m, 2, 2, 3) @ _d(m, 3, 2),
    "vector @ batched": lambda m: _f(m, 3) @ _d(m, 2, 3, 2),
    "torch.mm": lambda m: m.mm(_f(m, 2, 3), _d(m, 3, 2)),
    "torch.mv": lambda m: m.mv(_f(m, 2, 3), _d(m, 3)),
    "int32@int64": lambda m: _l(m, 2, 3).int() @ _l(m, 3, 2),
    "half@float": lambda m: _f(m, 2, 3).half() @ _f(m, 3, 2),
    "einsum": lambda m: m.einsum("ij,jk->ik", _f(m, 2, 3), _d(m, 3, 2)),
    "tensordot": lambda m: m.tensordot(_f(m, 2, 3), _d(m, 3, 2), 1),
    "addmm": lambda m: m.addmm(_f(m, 2, 2), _f(m, 2, 3), _d(m, 3, 2)),
    "addmm with a double bias": lambda m: m.addmm(_d(m, 2, 2), _f(m, 2, 3), _f(m, 3, 2)),
    "linear float@double": lambda m: m.nn.functional.linear(_f(m, 2, 3), _d(m, 4, 3)),
    "linear long input": lambda m: m.nn.functional.linear(_l(m, 5, 2, 3), _f(m, 4, 3)),
    "linear with bias": lambda m: m.nn.functional.linear(_d(m, 3), _f(m, 4, 3), _f(m, 4)),
    "Linear layer, double input": lambda m: m.nn.Linear(3, 4)(_d(m, 2, 3)),
    "int@int works": lambda m: _l(m, 2, 3) @ _l(m, 3, 2),
    "outer promotes": lambda m: m.outer(_f(m, 2), _d(m, 3)),
}


@pytest.mark.parametrize("case", list(PRODUCTS))
def test_matrix_products_do_not_promote(case):
    same(PRODUCTS[case])


@pytest.mark.parametrize("case", ["mm float@double", "mm long@float", "mv", "dot", "bmm",
                                  "half@float", "tensordot", "addmm with a double bias",
                                  "linear float@double", "linear long input", "linear with bias",
                                  "Linear layer, double input"])
def test_matrix_product_dtype_message_starts_like_torch(case):
    msgs = []
    for m in (labkit, torch):
        with pytest.raises(RuntimeError) as e:
            PRODUCTS[case](m)
        msgs.append(str(e.value))
    assert msgs[0].startswith(msgs[1]), msgs
    assert "shapes" in msgs[0]


# ------------------------------------------------------------------ 8. quiet floating point
QUIET = {
    "divide by zero": lambda m: m.ones(2) / 0,
    "zero by zero": lambda m: m.zeros(2) / m.zeros(2),
    "log(0)": lambda m: m.log(m.zeros(2)),
    "log of negative": lambda m: m.log(-m.ones(2)),
    "sqrt of negative": lambda m: m.sqrt(-m.ones(2)),
    "exp overflow": lambda m: m.exp(m.tensor([1000.0])),
    "float16 cast overflow": lambda m: m.tensor([1e6]).half(),
    "float16 tensor overflow": lambda m: m.tensor([1e6], dtype=m.float16),
    "in-place divide by zero": lambda m: m.ones(2).div_(0),
    "in-place /= 0": lambda m: _idiv(m),
    "pow overflow": lambda m: m.tensor([1e30]) ** 3,
    "mul overflow": lambda m: m.tensor([3e38]) * 10,
    "reciprocal of 0": lambda m: m.zeros(1).reciprocal(),
    "rsqrt of 0": lambda m: m.zeros(1).rsqrt(),
    "0-d divide": lambda m: m.ones(2).sum() / 0,
    "mean of empty": lambda m: m.zeros(0).mean(),
    "var of one": lambda m: m.ones(1).var(),
    "std of one": lambda m: m.ones(1).std(),
    "softmax with inf": lambda m: m.softmax(m.tensor([float("inf"), 1.0]), 0),
    "log_softmax of -inf": lambda m: m.log_softmax(m.tensor([float("-inf"), 1.0]), 0),
    "out= cast overflow": lambda m: m.mul(m.tensor([1e6]), 1, out=m.empty(0, dtype=m.float16)),
}


def _idiv(m):
    x = m.ones(2)
    x /= 0
    return x


def _backward_cases():
    def div(m):
        x = m.tensor([0.0, 1.0], requires_grad=True)
        (1 / x).sum().backward()
        return x.grad

    def log(m):
        x = m.tensor([0.0, 1.0], requires_grad=True)
        m.log(x).sum().backward()
        return x.grad

    def sqrt(m):
        x = m.tensor([0.0, 4.0], requires_grad=True)
        m.sqrt(x).sum().backward()
        return x.grad

    def norm(m):
        x = m.zeros(3, requires_grad=True)
        x.norm().backward()
        return x.grad
    return {"backward of 1/x at 0": div, "backward of log at 0": log,
            "backward of sqrt at 0": sqrt, "backward of norm at 0": norm}


QUIET.update(_backward_cases())


@pytest.mark.parametrize("case", list(QUIET))
def test_floating_point_edge_cases_are_silent_like_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lk = QUIET[case](labkit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        th = QUIET[case](torch)
    if th is not None:
        np.testing.assert_allclose(lk.detach().numpy().astype(float),
                                   th.detach().numpy().astype(float), rtol=1e-3)


def test_users_own_numpy_still_warns():
    labkit.ones(2) / 0
    with pytest.warns(RuntimeWarning):
        np.ones(2) / 0


# ------------------------------------------------------------------ 9. bfloat16
BF16 = {
    "dtype=bfloat16": lambda: labkit.zeros(2, dtype=labkit.bfloat16),
    "x.bfloat16()": lambda: labkit.ones(2).bfloat16(),
    "x.to(bfloat16)": lambda: labkit.ones(2).to(labkit.bfloat16),
    "tensor(..., dtype=bfloat16)": lambda: labkit.tensor([1.0], dtype=labkit.bfloat16),
    "set_default_dtype": lambda: labkit.set_default_dtype(labkit.bfloat16),
    "module.to(bfloat16)": lambda: labkit.nn.Linear(2, 2).to(labkit.bfloat16),
}


@pytest.mark.parametrize("case", list(BF16))
def test_bfloat16_gives_a_clear_error(case):
    assert repr(labkit.bfloat16) == "labkit.bfloat16"
    with pytest.raises(TypeError, match=r"labkit has no bfloat16.*float32.*\.float\(\)"):
        BF16[case]()
    assert labkit.get_default_dtype() is labkit.float32


# ------------------------------------------------------------------ finfo / iinfo
INFO = {
    "finfo float32": lambda m: repr(m.finfo(m.float32)),
    "finfo float16": lambda m: repr(m.finfo(m.float16)),
    "finfo default": lambda m: repr(m.finfo()),
    "finfo fields": lambda m: [getattr(m.finfo(m.float64), k) for k in
                               ("bits", "eps", "max", "min", "tiny", "smallest_normal",
                                "resolution", "dtype")],
    "finfo of an integer": lambda m: m.finfo(m.int64),
    "iinfo int64": lambda m: repr(m.iinfo(m.int64)),
    "iinfo uint8 max": lambda m: (m.iinfo(m.uint8).max, m.iinfo(m.int32).min, m.iinfo(m.int32).bits),
    "iinfo of a float": lambda m: m.iinfo(m.float32),
    "iinfo of bool": lambda m: m.iinfo(m.bool),
    "finfo equality": lambda m: m.finfo(m.float32) == m.finfo(m.float32),
    "masking with finfo.min": lambda m: m.zeros(2).masked_fill(m.tensor([True, False]),
                                                               m.finfo(m.float32).min),
}


@pytest.mark.parametrize("case", list(INFO))
def test_finfo_iinfo(case):
    same(INFO[case])
