"""The signature fixes behave as PyTorch does (values, positional and keyword calls, errors).

tests/test_conformance.py checks that every signature matches PyTorch's (the harness is
tests/signature_conformance.py); this file checks that what the signatures promise works: each
call runs under labkit and under torch and the results (or the exception types) must agree.
"""
import inspect
import warnings

import numpy as np
import pytest

import labkit

torch = pytest.importorskip("torch")

import signature_conformance as sc  # noqa: E402

X = (np.arange(1.0, 13.0).reshape(3, 4) / 13.0).astype(np.float64)
SPD = (np.eye(3) * 3 + np.full((3, 3), 0.5)).astype(np.float64)


def _plain(r):
    if isinstance(r, (labkit.Tensor, torch.Tensor)):
        return str(r.dtype).split(".")[-1], tuple(r.shape), np.round(
            r.detach().numpy().astype(float), 6).tolist()
    if isinstance(r, (tuple, list)):
        return [_plain(x) for x in r]
    if isinstance(r, (labkit.dtype, torch.dtype)):
        return str(r).split(".")[-1]
    return r


def _run(fn, m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", _plain(fn(m))
        except Exception as e:                              # noqa: BLE001 - compared below
            return "raised", type(e).__name__


def same(fn):
    lk, th = _run(fn, labkit), _run(fn, torch)
    assert lk == th, f"labkit {lk}\ntorch  {th}"
    return lk


def _out_call(call):
    """``call(m, out)`` with an empty out: what it returns is out, holding the result."""
    def fn(m):
        out = m.empty(0, dtype=m.float64)
        r = call(m, out)
        assert r is out
        return out
    return fn


# ------------------------------------------------------------------ out= on special.*
SPECIAL_OUT = {
    "erf": lambda m, o: m.special.erf(m.tensor(X), out=o),
    "expit": lambda m, o: m.special.expit(m.tensor(X), out=o),
    "logit(eps)": lambda m, o: m.special.logit(m.tensor(X), 1e-3, out=o),
    "xlogy": lambda m, o: m.special.xlogy(m.tensor(X), m.tensor(X), out=o),
    "xlog1py": lambda m, o: m.special.xlog1py(m.tensor(X), m.tensor(X), out=o),
    "i0e": lambda m, o: m.special.i0e(m.tensor(X), out=o),
    "ndtr": lambda m, o: m.special.ndtr(m.tensor(X), out=o),
    "ndtri": lambda m, o: m.special.ndtri(m.tensor(X), out=o),
    "log_ndtr": lambda m, o: m.special.log_ndtr(m.tensor(X), out=o),
    "entr": lambda m, o: m.special.entr(m.tensor(X), out=o),
    "zeta": lambda m, o: m.special.zeta(m.tensor(X) + 2, m.tensor(X), out=o),
    "polygamma": lambda m, o: m.special.polygamma(1, m.tensor(X), out=o),
    "multigammaln": lambda m, o: m.special.multigammaln(m.tensor(X) + 2, 2, out=o),
    "chebyshev_polynomial_t": lambda m, o: m.special.chebyshev_polynomial_t(m.tensor(X), 3,
                                                                          out=o),
    "round(decimals)": lambda m, o: m.special.round(m.tensor(X), decimals=2, out=o),
    "logsumexp": lambda m, o: m.special.logsumexp(m.tensor(X), 1, out=o),
    "sinc": lambda m, o: m.special.sinc(m.tensor(X), out=o),
}


@pytest.mark.parametrize("case", sorted(SPECIAL_OUT))
def test_special_out_writes_and_returns_out(case):
    same(_out_call(SPECIAL_OUT[case]))


# ------------------------------------------------------------------ out= on linalg.*
LINALG_OUT = {
    "inv": lambda m, o: m.linalg.inv(m.tensor(SPD), out=o),
    "det": lambda m, o: m.linalg.det(m.tensor(SPD), out=o),
    "solve": lambda m, o: m.linalg.solve(m.tensor(SPD), m.tensor(X[:, :2]), out=o),
    "cholesky": lambda m, o: m.linalg.cholesky(m.tensor(SPD), out=o),
    "vector_norm": lambda m, o: m.linalg.vector_norm(m.tensor(X), 3, 1, out=o),
    "matrix_norm": lambda m, o: m.linalg.matrix_norm(m.tensor(X), out=o),
    "norm": lambda m, o: m.linalg.norm(m.tensor(X), out=o),
    "svdvals": lambda m, o: m.linalg.svdvals(m.tensor(X), out=o),
    "eigvalsh": lambda m, o: m.linalg.eigvalsh(m.tensor(SPD), out=o),
    "pinv": lambda m, o: m.linalg.pinv(m.tensor(X), out=o),
    "matrix_power": lambda m, o: m.linalg.matrix_power(m.tensor(SPD), 3, out=o),
    "multi_dot": lambda m, o: m.linalg.multi_dot([m.tensor(X), m.tensor(X).T], out=o),
    "vecdot": lambda m, o: m.linalg.vecdot(m.tensor(X), m.tensor(X), out=o),
    "cross": lambda m, o: m.linalg.cross(m.tensor(X[:, :3]), m.tensor(X[:, 1:]), out=o),
    "torch.inverse": lambda m, o: m.inverse(m.tensor(SPD), out=o),
    "torch.cholesky(upper)": lambda m, o: m.cholesky(m.tensor(SPD), True, out=o),
}


@pytest.mark.parametrize("case", sorted(LINALG_OUT))
def test_linalg_out_writes_and_returns_out(case):
    same(_out_call(LINALG_OUT[case]))


def test_linalg_out_with_several_results_takes_a_tuple():
    def call(m):
        o = (m.empty(0, dtype=m.float64), m.empty(0, dtype=m.float64))
        r = m.linalg.slogdet(m.tensor(SPD), out=o)
        assert r[0] is o[0] and r[1] is o[1]
        return list(o)
    same(call)
    same(lambda m: m.linalg.slogdet(m.tensor(SPD), out=m.empty(0)))    # not a tuple: raises


def test_linalg_out_refuses_inputs_that_require_grad():
    same(lambda m: m.linalg.inv(m.tensor(SPD, requires_grad=True), out=m.empty(0,
                                                                              dtype=m.float64)))


def test_svd_driver_is_cuda_only_as_in_torch():
    same(lambda m: m.linalg.svd(m.tensor(X), driver=None)[1])
    same(lambda m: m.linalg.svdvals(m.tensor(X), driver=None))
    same(lambda m: m.linalg.svd(m.tensor(X), driver="gesvd"))
    same(lambda m: m.linalg.svdvals(m.tensor(X), driver="gesvdj"))
    with pytest.raises(RuntimeError, match="driver="):
        labkit.linalg.svd(labkit.tensor(X), driver="gesvd")


# ------------------------------------------------------------------ out= on F and fft
F_OUT = {
    "gelu": lambda m, o: m.nn.functional.gelu(m.tensor(X), out=o),
    "softplus": lambda m, o: m.nn.functional.softplus(m.tensor(X), 2.0, out=o),
    "hardshrink": lambda m, o: m.nn.functional.hardshrink(m.tensor(X), 0.3, out=o),
    "softshrink": lambda m, o: m.nn.functional.softshrink(m.tensor(X), 0.3, out=o),
    "linear": lambda m, o: m.nn.functional.linear(m.tensor(X), m.tensor(X), out=o),
    "avg_pool2d": lambda m, o: m.nn.functional.avg_pool2d(m.tensor(X)[None, None], 2, out=o),
    "fft.fftfreq": lambda m, o: m.fft.fftfreq(5, 0.5, out=o),
    "fft.rfftfreq": lambda m, o: m.fft.rfftfreq(6, out=o),
}


@pytest.mark.parametrize("case", sorted(F_OUT))
def test_functional_and_fft_out(case):
    same(_out_call(F_OUT[case]))


def test_fftfreq_keywords():
    same(lambda m: m.fft.fftfreq(4, dtype=m.float64, requires_grad=True).requires_grad)
    same(lambda m: m.fft.rfftfreq(4, d=0.1, layout=m.strided))
    same(lambda m: m.fft.fftfreq(4, bogus=1))


# Functions whose ATen schema has an out overload PyTorch does not expose: labkit's registry
# lists them in NO_OUT (the signature test then requires no out=); torch must refuse out= here.
NO_OUT_CALLS = {
    "adaptive_avg_pool1d": lambda m, o: m.nn.functional.adaptive_avg_pool1d(
        m.tensor(X)[None], 2, out=o),
    "avg_pool1d": lambda m, o: m.nn.functional.avg_pool1d(m.tensor(X)[None], 2, out=o),
    "channel_shuffle": lambda m, o: m.nn.functional.channel_shuffle(
        m.tensor(X).reshape(1, 4, 3, 1), 2, out=o),
    "pixel_shuffle": lambda m, o: m.nn.functional.pixel_shuffle(
        m.tensor(X).reshape(1, 4, 3, 1), 2, out=o),
    "pixel_unshuffle": lambda m, o: m.nn.functional.pixel_unshuffle(
        m.tensor(X).reshape(1, 1, 2, 6), 2, out=o),
    "matrix_exp": lambda m, o: m.linalg.matrix_exp(m.tensor(SPD), out=o),
    "conv_tbc": lambda m, o: m.nn.functional.conv_tbc(
        m.tensor(X).reshape(3, 1, 4), m.ones(1, 4, 2, dtype=m.float64),
        m.zeros(2, dtype=m.float64), out=o),
    "full_like": lambda m, o: m.full_like(m.tensor(X), 2.0, out=o),
    "std_mean": lambda m, o: m.std_mean(m.tensor(X), 0, out=(o, o)),
}


@pytest.mark.parametrize("case", sorted(NO_OUT_CALLS))
def test_no_out_where_torch_has_none(case):
    from labkit.ops._registry import NO_OUT
    assert case in NO_OUT
    assert same(lambda m: NO_OUT_CALLS[case](m, m.empty(0, dtype=m.float64))) == \
        ("raised", "TypeError")


def test_hand_written_bindings_are_torchs():
    # Tensor.copy_: PyTorch's binding takes other= (its docs and schema say src)
    assert "Tensor.copy_" in sc.BINDINGS
    same(lambda m: m.zeros(3).copy_(other=m.ones(3)))
    same(lambda m: m.zeros(3).copy_(src=m.ones(3)))                      # refused by both
    same(lambda m: m.zeros(3).copy_(m.ones(3), True))
    # Tensor.where: other= (its docs say y)
    assert "Tensor.where" in sc.BINDINGS
    same(lambda m: m.tensor(X).where(condition=m.tensor(X) > 0.5, other=0.0))
    same(lambda m: m.tensor(X).where(m.tensor(X) > 0.5, y=0.0))           # refused by both


@pytest.mark.parametrize("path", sorted(sc.DOC_ERRATA))
def test_doc_errata_are_refused_by_torch(path):
    # keywords PyTorch's docstring lists but its function refuses: the harness drops them
    for kw in sc.DOC_ERRATA[path]:
        value = torch.strided if kw == "layout" else False
        with pytest.raises(TypeError, match=kw):
            torch.zeros(2).new_tensor([1.0], **{kw: value})
        with pytest.raises(TypeError, match=kw):
            labkit.zeros(2).new_tensor([1.0], **{kw: value})


# ------------------------------------------------------------------ names, defaults, keywords
CALLS = {
    "nansum(dtype)": lambda m: m.nansum(m.tensor([1, 2, 3], dtype=m.int32), dtype=m.float64),
    "nansum(x, 0, False, dtype)": lambda m: m.nansum(m.tensor(X), 0, False, dtype=m.float32),
    "Tensor.nansum(dtype)": lambda m: m.tensor([[1.0, float("nan")]]).nansum(1, dtype=m.float64),
    "nanmean(dtype)": lambda m: m.nanmean(m.tensor([1.0, float("nan"), 4.0]), dtype=m.float64),
    "Tensor.nanmean(0, True, dtype)": lambda m: m.tensor(X).nanmean(0, True, dtype=m.float32),
    "swapaxes(axis0=, axis1=)": lambda m: m.swapaxes(m.tensor(X), axis0=0, axis1=1),
    "Tensor.swapaxes(axis0=, axis1=)": lambda m: m.tensor(X).swapaxes(axis0=1, axis1=0),
    "swapaxes(dim0=) refused": lambda m: m.swapaxes(m.tensor(X), dim0=0, dim1=1),
    "swapdims(dim0=, dim1=)": lambda m: m.swapdims(m.tensor(X), dim0=0, dim1=1),
    "Tensor.swapaxes_(0, 1)": lambda m: m.tensor(X).swapaxes_(0, 1),
    "dot(tensor=)": lambda m: m.dot(m.tensor(X[0]), tensor=m.tensor(X[1])),
    "Tensor.dot(tensor=)": lambda m: m.tensor(X[0]).dot(tensor=m.tensor(X[1])),
    "dot(other=) refused": lambda m: m.dot(m.tensor(X[0]), other=m.tensor(X[1])),
    "promote_types(type1=, type2=)": lambda m: m.promote_types(type1=m.int64,
                                                                type2=m.float32),
    "true_divide(x, other=)": lambda m: m.true_divide(m.tensor(X), other=m.tensor(X) + 1),
    "split_with_sizes(split_sizes=)": lambda m: m.split_with_sizes(m.tensor(X), split_sizes=[1, 3],
                                                                    dim=1),
    "gather(sparse_grad=False)": lambda m: m.gather(m.tensor(X), 1, m.tensor([[0], [2], [1]]),
                                                    sparse_grad=False),
    "aminmax(dim=) keyword-only": lambda m: list(m.aminmax(m.tensor(X), dim=1)),
    "aminmax(x, 1) refused": lambda m: m.aminmax(m.tensor(X), 1),
    "topk default dim": lambda m: list(m.topk(m.tensor(X), 2)),
    "kthvalue default dim": lambda m: list(m.kthvalue(m.tensor(X), 2)),
    "amax(x) default dim": lambda m: m.amax(m.tensor(X)),
    "var(x, 0, True, True)": lambda m: m.var(m.tensor(X), 0, True, True),
    "std(correction=0)": lambda m: m.std(m.tensor(X), correction=0),
    "expand_copy(implicit=True)": lambda m: m.expand_copy(m.tensor(X[:1]), (3, 4),
                                                          implicit=True),
    "Tensor.expand(implicit=True)": lambda m: m.tensor(X[:1]).expand(2, 4, implicit=True),
    "scalar_tensor(dtype, layout)": lambda m: m.scalar_tensor(2.5, dtype=m.float64,
                                                              layout=m.strided),
    "asarray(requires_grad=None)": lambda m: m.asarray([1.0, 2.0], requires_grad=None),
    "__format__(format_spec=)": lambda m: m.tensor(2.5).__format__(format_spec=".3f"),
    "__setitem__ positional": lambda m: m.tensor(X).__setitem__((0, 0), 5.0),
    "__setitem__(k=) refused": lambda m: m.tensor(X).__setitem__(k=0, v=1.0),
    "new_tensor(dtype=)": lambda m: m.tensor(X).new_tensor([1, 2], dtype=m.float32),
}


@pytest.mark.parametrize("case", sorted(CALLS))
def test_calls_like_torch(case):
    same(CALLS[case])


INPLACE = {
    "pow_(exponent=)": lambda m: m.tensor(X).pow_(exponent=2),
    "add_(other=, alpha=)": lambda m: m.tensor(X).add_(other=m.tensor(X), alpha=2),
    "sub_(y, alpha=)": lambda m: m.tensor(X).sub_(m.tensor(X), alpha=0.5),
    "mul_(other=)": lambda m: m.tensor(X).mul_(other=3),
    "div_(other=, rounding_mode=)": lambda m: m.tensor(X).div_(other=0.1, rounding_mode="floor"),
    "div_(y, bogus=) refused": lambda m: m.tensor(X).div_(2, bogus=1),
    "clamp_(min=)": lambda m: m.tensor(X).clamp_(min=0.5),
    "transpose_(dim0=, dim1=)": lambda m: m.tensor(X).transpose_(dim0=0, dim1=1),
    "add_ on a leaf that requires grad": lambda m: m.tensor(X, requires_grad=True).add_(1),
}


@pytest.mark.parametrize("case", sorted(INPLACE))
def test_inplace_keywords_like_torch(case):
    same(INPLACE[case])


def test_inplace_methods_show_the_out_of_place_parameters():
    T = labkit.Tensor
    assert list(inspect.signature(T.pow_).parameters) == ["input", "exponent"]
    assert "alpha" in inspect.signature(T.add_).parameters
    assert "rounding_mode" in inspect.signature(T.div_).parameters
    assert list(inspect.signature(labkit.transpose_copy).parameters)[:3] == ["input", "dim0",
                                                                             "dim1"]


def test_uniform_and_random_take_from_and_to_positionally():
    # PyTorch's parameters are called ``from`` (a Python keyword) and ``to``: positional
    u = labkit.empty(2000, dtype=labkit.float64).uniform_(2.0, 3.0)
    assert 2.0 <= float(u.min()) and float(u.max()) < 3.0 and abs(float(u.mean()) - 2.5) < 0.05
    r = labkit.zeros(2000, dtype=labkit.int64).random_(3, 7)
    assert set(r.tolist()) == {3, 4, 5, 6}
    r = labkit.zeros(500, dtype=labkit.int64).random_(4)           # random_(to): [0, to)
    assert set(r.tolist()) == {0, 1, 2, 3}
    u = labkit.empty(10).uniform_(to=0.5)
    assert float(u.max()) < 0.5
    # random_(): PyTorch's full range, [0, 2^mantissa] for floats (exact integers), the type's
    # range for integers
    for dt, top in ((labkit.float32, 2 ** 24), (labkit.float16, 2 ** 11), (labkit.uint8, 255),
                    (labkit.int32, 2 ** 31 - 1), (labkit.bool, 1)):
        r = labkit.empty(20000, dtype=dt).random_()
        assert 0 <= float(r.min()) and float(r.max()) <= top and float(r.max()) > top / 2
        assert (r == r.round()).all() if dt.is_floating_point else True


def test_meshgrid_without_indexing_warns_and_uses_ij_as_torch():
    for m in (labkit, torch):
        with pytest.warns(UserWarning, match="indexing"):
            g = m.meshgrid(m.arange(2), m.arange(3))
        assert tuple(g[0].shape) == (2, 3)
    same(lambda m: list(m.meshgrid(m.arange(2), m.arange(3), indexing="xy")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labkit.meshgrid(labkit.arange(2), labkit.arange(3), indexing="ij")   # no warning


def test_sparse_grad_true_is_not_implemented():
    with pytest.raises(NotImplementedError, match="sparse_grad"):
        labkit.gather(labkit.tensor(X), 1, labkit.tensor([[0], [2], [1]]), sparse_grad=True)


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(2, pin_memory=True),
    lambda m: m.tensor([1.0], pin_memory=True),
    lambda m: m.empty_like(m.zeros(2), pin_memory=True),
    lambda m: m.arange(3, pin_memory=True),
])
def test_pin_memory_true_raises_as_torch_does_without_an_accelerator(call):
    with pytest.raises(RuntimeError):            # torch's type (NotImplementedError is one)
        call(torch)
    with pytest.raises(NotImplementedError, match="pin_memory"):
        call(labkit)
    assert _plain(labkit.zeros(2, pin_memory=False)) == _plain(torch.zeros(2, pin_memory=False))


def test_repr_with_tensor_contents_as_torch():
    for make in (lambda m: m.tensor([1.0, 2.0]), lambda m: m.tensor([1, 2], dtype=m.int32),
                 lambda m: m.tensor([1.0], requires_grad=True) * 2):
        want = make(torch).__repr__(tensor_contents="[...]").replace("torch.", "labkit.")
        assert make(labkit).__repr__(tensor_contents="[...]") == want
    assert repr(labkit.tensor([1.0, 2.0])) == "tensor([1., 2.])"


def test_nn_cuda_device_is_refused_and_cpu_accepted():
    assert labkit.nn.Linear(2, 3, device="cpu").weight.shape == (3, 2)
    with pytest.raises(RuntimeError, match="CPU only"):
        labkit.nn.Linear(2, 3, device="cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        labkit.nn.BatchNorm1d(3, device="cuda:0")
    with pytest.raises(RuntimeError, match="CPU only"):      # torch: "not compiled with CUDA"
        labkit.tensor(X).cuda(non_blocking=True)


def test_hardtanh_old_keyword_names_warn_as_torch():
    for m in (labkit, torch):
        with pytest.warns(FutureWarning) as rec:
            layer = m.nn.Hardtanh(min_value=-0.25, max_value=0.5)
        assert ["min_value" in str(w.message) for w in rec] == [True, False]
        assert (layer.min_val, layer.max_val) == (-0.25, 0.5)
    same(lambda m: m.nn.Hardtanh(-0.5, 0.5)(m.tensor(X) - 0.5))


def test_lazy_batchnorm_bias_false_as_torch():
    def call(m):
        bn = m.nn.LazyBatchNorm1d(bias=False)
        y = bn(m.tensor(X, dtype=m.float32))
        return bn.bias is None, tuple(bn.weight.shape), y
    same(call)


def test_transformer_layers_default_activation_is_relu_function():
    import labkit.nn.functional as F
    for cls in (labkit.nn.TransformerEncoderLayer, labkit.nn.TransformerDecoderLayer):
        assert inspect.signature(cls).parameters["activation"].default is F.relu
    assert labkit.nn.TransformerEncoderLayer(4, 2).activation is F.relu
    assert labkit.nn.TransformerEncoderLayer(4, 2, activation="gelu").activation is F.gelu


def test_compile_takes_torchs_keywords_and_returns_the_model():
    f = lambda x: x * 2                                                  # noqa: E731
    assert labkit.compile(f, name="f", recompile_limit=4, isolate_recompiles=True,
                          shapes_spec=None) is f
    assert labkit.compile(name="g")(f) is f
    assert inspect.signature(labkit.compile).parameters["backend"].default is None


def test_save_and_load_with_torchs_defaults(tmp_path):
    import pickle
    assert inspect.signature(labkit.save).parameters["pickle_module"].default is pickle
    p = tmp_path / "w.safetensors"
    labkit.save({"w": labkit.tensor(X)}, p, pickle, 2, True, False)
    got = labkit.load(p, weights_only=None)["w"]
    assert got.tolist() == labkit.tensor(X).tolist()


# ------------------------------------------------------------------ the harness itself
def test_harness_reports_a_difference():
    # the comparison can fail: a labkit signature missing keepdim, renaming dim, or changing a
    # default is reported
    tsig = inspect.signature(lambda input, dim=None, keepdim=False, *, out=None: 0)
    assert sc.compare_signatures("f", tsig, inspect.signature(
        lambda input, dim=None, keepdim=False, *, out=None: 0), False) == []
    gaps = sc.compare_signatures("f", tsig, inspect.signature(lambda input, axis=None: 0), False)
    assert gaps == ["f: parameter 1 is 'axis', torch's is 'dim'",
                    "f: no parameter 'keepdim' (torch's parameter 2)",
                    "f: keyword out= not accepted"]
    gaps = sc.compare_signatures("f", tsig, inspect.signature(
        lambda input, dim=0, keepdim=False, *, out=None: 0), False)
    assert gaps == ["f: default dim=0, torch's is None"]


def test_harness_requires_other_overloads_and_varargs_keywords():
    old_max = inspect.signature(lambda input, dim=None, keepdim=False, *, out=None: 0)
    assert any("keyword other=" in g for g in sc._overload_keywords("max", torch.max, old_max,
                                                                    False))
    cands = sc.torch_signatures("Tensor.view", torch.Tensor.view,
                                torch.overrides.get_testing_overrides())
    gaps = sc._varargs_keywords("Tensor.view", cands, inspect.signature(
        lambda self, *shape: 0), True)
    assert "Tensor.view: keyword size= not accepted (labkit takes *shape)" in gaps
    assert sc._varargs_keywords("Tensor.view", cands, inspect.signature(
        lambda self, *args, size=None, dtype=None: 0), True) == []


def test_harness_reads_torchs_schemas():
    # true_divide's docstring says (dividend, divisor); the binding takes (input, other)
    sigs = [list(s.parameters) for s, _ in sc._schema_signatures("true_divide")]
    assert ["input", "other", "out"] in sigs
    with pytest.raises(TypeError):
        torch.true_divide(torch.ones(1), divisor=torch.ones(1))
    (sig, _), = [c for c in sc._schema_signatures("Tensor.uniform_")]
    assert list(sig.parameters)[1:3] == ["from_", "to"]


# ------------------------------------------------------------------ memory_format=
IMG = np.arange(120.0).reshape(2, 3, 4, 5)


@pytest.mark.parametrize("call", [
    lambda m: m.tensor(IMG).contiguous(memory_format=m.channels_last),
    lambda m: m.tensor(IMG).clone(memory_format=m.channels_last),
    lambda m: m.tensor(IMG).float(memory_format=m.channels_last),
    lambda m: m.tensor(IMG).to(memory_format=m.channels_last),
    lambda m: m.zeros_like(m.tensor(IMG), memory_format=m.channels_last),
    lambda m: m.tensor(IMG).contiguous(memory_format=m.channels_last).contiguous(),
    lambda m: m.tensor(IMG).contiguous(memory_format=m.channels_last).to(
        memory_format=m.contiguous_format),
    lambda m: m.tensor(IMG).contiguous(memory_format=m.channels_last) + 1,
    lambda m: m.tensor(IMG[None]).clone(memory_format=m.channels_last_3d),
    lambda m: m.tensor(IMG).cpu(memory_format=m.channels_last),
], ids=["contiguous", "clone", "float", "to", "zeros_like", "back", "to contiguous", "add",
        "3d", "cpu"])
def test_memory_format_lays_out_values_as_torch(call):
    # the values and the strides PyTorch gives (is_contiguous answers as PyTorch's)
    def described(m):
        t = call(m)
        return (t, t.stride(), t.is_contiguous(),
                t.is_contiguous(memory_format=m.channels_last))
    same(described)


@pytest.mark.parametrize("call", [
    lambda m: m.tensor(X).contiguous(memory_format=m.channels_last),        # rank 2
    lambda m: m.tensor(IMG).clone(memory_format=m.channels_last_3d),        # rank 4
    lambda m: m.tensor(IMG).float(memory_format="channels_last"),          # not a format
])
def test_memory_format_errors_as_torch(call):
    assert same(call)[0] == "raised"


def test_memory_format_keeps_the_graph():
    a = labkit.tensor(IMG, requires_grad=True)
    b = a.float(memory_format=labkit.channels_last)       # a is float already: a laid-out copy
    assert b is not a and a.is_contiguous()
    (b * b).sum().backward()
    assert np.allclose(a.grad.numpy(), 2 * IMG)


# ------------------------------------------------------------------ keywords now honoured
HONOURED = {
    "Tensor.norm(dtype=)": lambda m: m.tensor(X, dtype=m.float32).norm(dtype=m.float64),
    "norm(x, 1, 0, dtype=)": lambda m: m.norm(m.tensor(X, dtype=m.float32), 1, 0,
                                               dtype=m.float64),
    "F.normalize(out=)": _out_call(lambda m, o: m.nn.functional.normalize(m.tensor(X), out=o)),
    "sdpa(enable_gqa=True)": lambda m: m.nn.functional.scaled_dot_product_attention(
        m.tensor(IMG[:1, :2] / 100), m.tensor(IMG[:1, :1] / 50), m.tensor(IMG[:1, :1] / 70),
        enable_gqa=True),
    "sdpa heads differ without enable_gqa": lambda m: m.nn.functional.scaled_dot_product_attention(
        m.tensor(IMG[:1, :2]), m.tensor(IMG[:1, :1, :3]), m.tensor(IMG[:1, :1, :3])),
    "repeat_interleave(output_size=)": lambda m: m.repeat_interleave(m.arange(3), 2,
                                                                     output_size=6),
    "repeat_interleave(wrong output_size)": lambda m: m.repeat_interleave(m.arange(3), 2,
                                                                          output_size=5),
    "linalg.lu_factor(pivot=False)": lambda m: m.linalg.lu_factor(m.tensor(SPD), pivot=False),
    "linalg.lu(pivot=False)": lambda m: m.linalg.lu(m.tensor(SPD), pivot=False),
}


@pytest.mark.parametrize("case", sorted(HONOURED))
def test_keywords_are_honoured_as_torch(case):
    same(HONOURED[case])


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_running_stats_as_torch(use_input_stats):
    def call(m):
        rm, rv = m.tensor([0.1, -0.2, 0.3]), m.tensor([1.0, 2.0, 0.5])
        y = m.nn.functional.instance_norm(m.tensor(IMG[:, :, :2] / 50, dtype=m.float32), rm, rv,
                                          m.tensor([1.0, 2.0, 3.0]), m.tensor([0.0, 0.5, 1.0]),
                                          use_input_stats=use_input_stats, momentum=0.3)
        return y, rm, rv
    for a, b in zip(call(labkit), call(torch)):            # float32: equal to rounding
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_sparse_embedding_gives_a_dense_gradient_and_says_so():
    # torch's weight.grad would be a sparse tensor with these values
    for call in (lambda w: labkit.nn.functional.embedding(labkit.tensor([0, 1, 1]), w,
                                                           sparse=True),
                 lambda w: labkit.nn.functional.embedding_bag(labkit.tensor([[0, 1, 1]]), w,
                                                               mode="sum", sparse=True)):
        w = labkit.tensor(SPD, requires_grad=True)
        with pytest.warns(UserWarning, match="sparse=True"):
            call(w).sum().backward()
        assert w.grad.tolist() == [[1.0] * 3, [2.0] * 3, [0.0] * 3]
    with pytest.warns(UserWarning, match="sparse=True"):
        labkit.nn.Embedding(4, 2, sparse=True)(labkit.tensor([1]))
    same(lambda m: m.nn.functional.embedding(m.tensor([2, 0]), m.tensor(SPD), sparse=False))


def _singular_batch(m):
    A = m.tensor(np.stack([SPD, np.zeros((3, 3)), np.diag([1.0, -1.0, 1.0])]))
    return A


@pytest.mark.parametrize("name,call", [
    ("inv_ex", lambda m, A, ce: m.linalg.inv_ex(A, check_errors=ce)),
    ("solve_ex", lambda m, A, ce: m.linalg.solve_ex(A, m.ones(3, 3, dtype=m.float64),
                                                   check_errors=ce)),
    ("cholesky_ex", lambda m, A, ce: m.linalg.cholesky_ex(A, check_errors=ce)),
    ("lu_factor_ex", lambda m, A, ce: m.linalg.lu_factor_ex(A, check_errors=ce)),
])
def test_ex_functions_report_info_or_raise_with_check_errors(name, call):
    # info as PyTorch's (LAPACK's codes); the good matrices' results as PyTorch's; a failed
    # matrix's result is unspecified in PyTorch (labkit: NaN); check_errors=True raises
    for m in (labkit, torch):
        with pytest.raises(RuntimeError):
            call(m, _singular_batch(m), True)
    lk, th = call(labkit, _singular_batch(labkit), False), call(torch, _singular_batch(torch),
                                                                 False)
    assert lk[-1].tolist() == th[-1].tolist()
    ok = [i for i, v in enumerate(th[-1].tolist()) if v == 0]
    np.testing.assert_allclose(lk[0].numpy()[ok], th[0].numpy()[ok], rtol=1e-10, atol=1e-12)
    assert same(lambda m: list(call(m, m.tensor(SPD), True)))[0] == "ok"


FIRST_PARAMS = {
    "det(input=)": lambda m: m.det(input=m.tensor(SPD)),
    "logdet(input=)": lambda m: m.logdet(input=m.tensor(SPD)),
    "slogdet(input=)": lambda m: list(m.slogdet(input=m.tensor(SPD))),
    "inverse(input=)": lambda m: m.inverse(input=m.tensor(SPD)),
    "matrix_power(input=, n=)": lambda m: m.matrix_power(input=m.tensor(SPD), n=2),
    "Tensor.det()": lambda m: m.tensor(SPD).det(),
    "det(A=) refused": lambda m: m.det(A=m.tensor(SPD)),
    "det(out=) refused": lambda m: m.det(m.tensor(SPD), out=m.empty(0)),
    "linalg.norm(input=)": lambda m: m.linalg.norm(input=m.tensor(X)),
    "linalg.norm(A=) refused": lambda m: m.linalg.norm(A=m.tensor(X)),
    "cholesky_solve(input=, input2=)": lambda m: m.cholesky_solve(
        input=m.tensor(X[:, :2]), input2=m.linalg.cholesky(m.tensor(SPD))),
}


@pytest.mark.parametrize("case", sorted(FIRST_PARAMS))
def test_first_parameters_by_torchs_names(case):
    same(FIRST_PARAMS[case])


def test_rng_state_and_threads_by_torchs_names():
    state = labkit.get_rng_state()
    a = labkit.rand(3)
    labkit.set_rng_state(new_state=state)
    assert labkit.rand(3).tolist() == a.tolist()
    n = labkit.get_num_threads()
    labkit.set_num_threads(int=n)
    assert labkit.get_num_threads() == n


# ------------------------------------------------------------------ f(*sizes) also by keyword
VARARGS_KEYWORDS = {
    "view(size=)": lambda m: m.tensor(X).view(size=(4, 3)),
    "view(2, 6)": lambda m: m.tensor(X).view(2, 6),
    "view(dtype=)": lambda m: m.tensor(X).view(dtype=m.int64),
    "view(m.int64)": lambda m: m.tensor(X).view(m.int64),
    "view(2, size=) refused": lambda m: m.tensor(X).view(2, size=(6,)),
    "reshape(shape=)": lambda m: m.tensor(X).reshape(shape=(2, 6)),
    "torch.reshape(x, shape=)": lambda m: m.reshape(m.tensor(X), shape=(12,)),
    "permute(dims=)": lambda m: m.tensor(X).permute(dims=(1, 0)),
    "torch.permute(x, dims=)": lambda m: m.permute(m.tensor(X), dims=(1, 0)),
    "expand(size=)": lambda m: m.tensor(X[:1]).expand(size=(2, 4)),
    "repeat(repeats=)": lambda m: m.tensor(X).repeat(repeats=(2, 1)),
    "sum_to_size(size=)": lambda m: m.tensor(X).sum_to_size(size=(1, 4)),
    "new_zeros(size=)": lambda m: m.tensor(X).new_zeros(size=(2,)),
    "new_ones(2, 3)": lambda m: m.tensor(X).new_ones(2, 3),
    "new_empty(size=).shape": lambda m: tuple(m.tensor(X).new_empty(size=(2,)).shape),
    "expand_copy(input=, size=)": lambda m: m.expand_copy(input=m.tensor(X[:1]), size=(2, 4)),
    "view_copy(input=, size=)": lambda m: m.view_copy(input=m.tensor(X), size=(12,)),
    "permute_copy(x, dims=)": lambda m: m.permute_copy(m.tensor(X), dims=(1, 0)),
    "result_type(tensor=, other=)": lambda m: m.result_type(tensor=m.ones(2, dtype=m.int32),
                                                            other=2.5),
    "result_type(scalar=, tensor=)": lambda m: m.result_type(scalar=2.5,
                                                             tensor=m.ones(2, dtype=m.int32)),
    "result_type(scalar1=, scalar2=)": lambda m: m.result_type(scalar1=2, scalar2=True),
    "result_type(x, x)": lambda m: m.result_type(m.ones(2, dtype=m.int32), m.tensor(1.0)),
    "result_type(x) refused": lambda m: m.result_type(m.ones(2)),
}


@pytest.mark.parametrize("case", sorted(VARARGS_KEYWORDS))
def test_size_arguments_by_keyword_as_torch(case):
    same(VARARGS_KEYWORDS[case])


# ------------------------------------------------------------------ other overloads' keywords
OVERLOAD_KEYWORDS = {
    "max(x, other=)": lambda m: m.max(m.tensor(X), other=m.tensor(X).flip(0)),
    "Tensor.min(other=)": lambda m: m.tensor(X).min(other=m.tensor(X).flip(1)),
    "max(x, 1) still (values, indices)": lambda m: list(m.max(m.tensor(X), 1)),
    "tensor_split(sections=)": lambda m: list(m.tensor_split(m.tensor(X), sections=3, dim=1)),
    "tensor_split(indices=)": lambda m: list(m.tensor_split(m.tensor(X), indices=[1, 3], dim=1)),
    "Tensor.tensor_split(tensor_indices_or_sections=)": lambda m: list(m.tensor(X).tensor_split(
        tensor_indices_or_sections=m.tensor([1]))),
    "hsplit(sections=)": lambda m: list(m.hsplit(m.tensor(X), sections=2)),
    "vsplit(indices=)": lambda m: list(m.tensor(X).vsplit(indices=[1])),
    "dsplit(sections=)": lambda m: list(m.dsplit(m.tensor(IMG), sections=5)),
    "mm(out_dtype=)": lambda m: m.mm(m.tensor(X), m.tensor(X).T, out_dtype=m.float32),
    "bmm(out_dtype=)": lambda m: m.bmm(m.tensor(X)[None], m.tensor(X).T[None],
                                       out_dtype=m.float32),
    "addmm(out_dtype=)": lambda m: m.addmm(m.tensor(SPD), m.tensor(SPD), m.tensor(SPD),
                                           out_dtype=m.float32),
    "set_(source)": lambda m: m.zeros(2, dtype=m.float64).set_(m.tensor(X)),
    "set_()": lambda m: m.tensor(X).set_(),
}


@pytest.mark.parametrize("case", sorted(OVERLOAD_KEYWORDS))
def test_other_overloads_keywords_as_torch(case):
    same(OVERLOAD_KEYWORDS[case])


def test_out_dtype_and_set_storage_are_not_implemented_naming_them():
    with pytest.raises(NotImplementedError, match="out_dtype"):
        labkit.mm(labkit.ones(2, 2), labkit.ones(2, 2), out_dtype=labkit.float32)
    with pytest.raises(NotImplementedError, match="storage_offset"):
        labkit.zeros(4).set_(labkit.ones(4), 1, (2,), (1,))


def test_split_method_and_function_parameter_names_as_torch():
    same(lambda m: list(m.tensor(X).split(split_size=2)))
    same(lambda m: list(m.split(m.tensor(X), split_size_or_sections=[1, 2])))
    same(lambda m: m.tensor(X).split(split_size_or_sections=2))           # refused by both


def test_module_modules_remove_duplicate_as_torch():
    def call(m):
        lin = m.nn.Linear(2, 2)
        seq = m.nn.Sequential(lin, lin)
        return len(list(seq.modules())), len(list(seq.modules(remove_duplicate=False)))
    assert same(call) == ("ok", [2, 3])


# PyTorch's bindings name the matrix ``input`` for these (A= is refused), whatever the docs say
@pytest.mark.parametrize("name,extra", [
    ("pinv", {}), ("matrix_norm", {}), ("eigvalsh", {}), ("cholesky", {}), ("matrix_rank", {}),
    ("cond", {}), ("cholesky_ex", {}), ("matrix_exp", {}), ("matrix_power", {"n": 2}),
    ("norm", {}), ("tensorinv", {"ind": 1}),
])
def test_linalg_input_keyword_as_torchs_binding(name, extra):
    same(lambda m: _plain_all(getattr(m.linalg, name)(input=m.tensor(SPD), **extra)))
    same(lambda m: getattr(m.linalg, name)(A=m.tensor(SPD), **extra))      # refused by both


def _plain_all(r):
    return list(r) if isinstance(r, tuple) else r


def test_linalg_eigh_input_keyword():
    same(lambda m: m.linalg.eigh(input=m.tensor(SPD))[0])


def test_numpy_array_protocol_copy_as_torch():
    def call(m):
        t = m.zeros(3)
        a = np.array(t, copy=True)
        a[0] = 5                                  # a copy: t unchanged
        b = np.asarray(t)
        b[1] = 7                                  # shared: t changes
        return t
    same(call)
    same(lambda m: np.asarray(m.zeros(3), dtype=np.float64, copy=False))  # refused by both


def test_random_split_defaults_to_the_global_generator_as_torch():
    from labkit.utils.data import random_split
    assert inspect.signature(random_split).parameters["generator"].default is \
        labkit.random.default_generator
    labkit.manual_seed(3)
    a = [list(s.indices) for s in random_split(range(10), [0.5, 0.5])]
    labkit.manual_seed(3)
    assert [list(s.indices) for s in random_split(range(10), [0.5, 0.5])] == a


def test_names_of_the_merged_torch_namespace_as_torch():
    same(lambda m: m.orgqr(m.geqrf(m.tensor(SPD))[0], input2=m.geqrf(m.tensor(SPD))[1]))
    same(lambda m: m.ormqr(m.geqrf(m.tensor(SPD))[0], input2=m.geqrf(m.tensor(SPD))[1],
                           input3=m.tensor(X[:, :3]).T.contiguous()))
    same(lambda m: tuple(m.zeros(6).resize_(size=(2, 3)).shape))
    same(lambda m: m.kl_div(m.tensor(X), m.tensor(X)))                  # ATen's: no reduction
    same(lambda m: m.native_layer_norm(m.tensor(X), (4,), None, None, 1e-5,
                                       out=(m.empty(0), m.empty(0), m.empty(0))))
    assert sc.BINDINGS["Tensor.__nonzero__"] == "(self)"
    same(lambda m: m.tensor(1.0).__nonzero__())
    same(lambda m: m.tensor(1.0).__nonzero__(as_tuple=True))             # refused by both
