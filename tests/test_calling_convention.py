"""PyTorch's calling convention, kept in one place (``labkit/ops/_registry.py``) and checked
against torch: NumPy-style keyword aliases (``axis``, ``keepdims``) and ``out=``."""
import warnings

import numpy as np
import pytest

import labkit

torch = pytest.importorskip("torch")

A = (np.arange(1.0, 7.0).reshape(2, 3) / 7.0).astype(np.float32)


def _plain(r):
    if isinstance(r, (labkit.Tensor, torch.Tensor)):
        return str(r.dtype).split(".")[-1], tuple(r.shape), np.round(
            r.detach().numpy().astype(float), 5).tolist()
    if isinstance(r, (tuple, list)):
        return [_plain(x) for x in r]
    return r


def _run(fn, m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return "ok", _plain(fn(m))
        except Exception as e:                              # noqa: BLE001 - compared below
            return "raised", type(e).__name__


def same(fn):
    lk, th = _run(fn, labkit), _run(fn, torch)
    assert lk == th, f"labkit {lk}\ntorch  {th}"
    return lk


# ------------------------------------------------------------------ aliases
ALIASES = {
    "sum(1, keepdims=True)": lambda m, x: x.sum(1, keepdims=True),
    "sum(axis=0)": lambda m, x: m.sum(x, axis=0),
    "argmax(axis=1)": lambda m, x: x.argmax(axis=1),
    "argmin(axis=0, keepdims=True)": lambda m, x: m.argmin(x, axis=0, keepdims=True),
    "mean(axis=0, keepdims=True)": lambda m, x: x.mean(axis=0, keepdims=True),
    "max(axis=1)": lambda m, x: tuple(x.max(axis=1)),
    "min(axis=1, keepdims=True)": lambda m, x: tuple(m.min(x, axis=1, keepdims=True)),
    "std(axis=1)": lambda m, x: x.std(axis=1),
    "var(axis=0, keepdims=True)": lambda m, x: x.var(axis=0, keepdims=True),
    "prod(axis=1)": lambda m, x: x.prod(axis=1),
    "any(axis=1)": lambda m, x: (x > 0.5).any(axis=1),
    "all(axis=0, keepdims=True)": lambda m, x: (x > 0.1).all(axis=0, keepdims=True),
    "amax(axis=1)": lambda m, x: x.amax(axis=1),
    "amin(axis=0, keepdims=True)": lambda m, x: m.amin(x, axis=0, keepdims=True),
    "logsumexp(axis=1)": lambda m, x: x.logsumexp(axis=1),
    "cumsum(axis=1)": lambda m, x: x.cumsum(axis=1),
    "softmax(x, axis=1)": lambda m, x: m.softmax(x, axis=1),
    "norm(dim=1, keepdim=True)": lambda m, x: x.norm(dim=1, keepdim=True),
    "both dim and axis": lambda m, x: x.sum(dim=0, axis=1),
    "unknown keyword": lambda m, x: x.sum(axes=1),
}


@pytest.mark.parametrize("case", list(ALIASES))
def test_numpy_keyword_aliases(case):
    r = same(lambda m: ALIASES[case](m, m.tensor(A)))
    assert r[0] == "ok" or case in ("both dim and axis", "unknown keyword")


# ------------------------------------------------------------------ out=
OUT = {
    "matmul": lambda m, o: m.matmul(m.tensor(A), m.tensor(A).T, out=o),
    "mm": lambda m, o: m.mm(m.tensor(A), m.tensor(A).T, out=o),
    "bmm": lambda m, o: m.bmm(m.tensor(A)[None], m.tensor(A).T[None], out=o),
    "add": lambda m, o: m.add(m.tensor(A), 1, alpha=2, out=o),
    "sub": lambda m, o: m.sub(m.tensor(A), m.tensor(A), out=o),
    "mul": lambda m, o: m.mul(m.tensor(A), 3, out=o),
    "div": lambda m, o: m.div(m.tensor(A), 4, out=o),
    "exp": lambda m, o: m.exp(m.tensor(A), out=o),
    "tanh": lambda m, o: m.tanh(m.tensor(A), out=o),
    "sum(dim)": lambda m, o: m.sum(m.tensor(A), 1, out=o),
    "mean(dim, keepdim)": lambda m, o: m.mean(m.tensor(A), 0, keepdim=True, out=o),
    "cat": lambda m, o: m.cat([m.tensor(A), m.tensor(A)], out=o),
    "stack": lambda m, o: m.stack([m.tensor(A), m.tensor(A)], 1, out=o),
    "where": lambda m, o: m.where(m.tensor(A) > 0.4, m.tensor(A), m.zeros(2, 3), out=o),
    "clamp": lambda m, o: m.clamp(m.tensor(A), 0.2, 0.6, out=o),
    "pow": lambda m, o: m.pow(m.tensor(A), 2, out=o),
    "sqrt": lambda m, o: m.sqrt(m.tensor(A), out=o),
    "zeros": lambda m, o: m.zeros(2, 3, out=o),
    "arange": lambda m, o: m.arange(5.0, out=o),
    "gt (bool result into float)": lambda m, o: m.gt(m.tensor(A), 0.4, out=o),
}


@pytest.mark.parametrize("case", list(OUT))
def test_out_writes_and_returns_out(case):
    def call(m):
        o = m.empty(0)
        r = OUT[case](m, o)
        assert r is o
        return o
    assert same(call)[0] == "ok"


def test_out_of_other_shape_is_resized_with_torchs_warning():
    for m in (labkit, torch):
        y = m.empty(3)
        with pytest.warns(UserWarning, match="was resized"):
            m.matmul(m.ones(2, 3), m.ones(3, 2), out=y)
        assert tuple(y.shape) == (2, 2) and y.sum().item() == 12.0
        y = m.empty(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m.matmul(m.ones(2, 3), m.ones(3, 2), out=y)


def test_out_of_right_shape_keeps_its_storage_and_views_see_it():
    y = labkit.zeros(2, 2)
    row = y[0]
    labkit.matmul(labkit.ones(2, 3), labkit.ones(3, 2), out=y)
    assert row.tolist() == [3.0, 3.0]


OUT_ERRORS = {
    "float result into long": lambda m: m.add(m.ones(2), 1.5, out=m.empty(2, dtype=m.int64)),
    "long result into float": lambda m: m.add(m.ones(2, dtype=m.int64), 1,
                                              out=m.empty(2, dtype=m.float32)),
    "float into double": lambda m: m.add(m.ones(2), 1, out=m.empty(2, dtype=m.float64)),
    "input requires grad": lambda m: m.add(m.ones(2, requires_grad=True), 1, out=m.empty(2)),
    "out requires grad": lambda m: m.exp(m.ones(2), out=m.empty(2, requires_grad=True)),
    "max(dim) into a tuple": lambda m: m.max(m.tensor(A), 1, out=(m.empty(0),
                                                                  m.empty(0, dtype=m.int64))),
    "method takes no out": lambda m: m.ones(2).sum(out=m.empty(0)),
    "view op takes no out": lambda m: m.reshape(m.ones(2), (2, 1), out=m.empty(0)),
    "factory dtype from out": lambda m: m.zeros(2, out=m.empty(0, dtype=m.int64)),
}


@pytest.mark.parametrize("case", list(OUT_ERRORS))
def test_out_rules_like_torch(case):
    same(OUT_ERRORS[case])


def test_out_with_requires_grad_inputs_works_under_no_grad():
    w = labkit.ones(2, requires_grad=True)
    y = labkit.empty(0)
    with labkit.no_grad():
        labkit.mul(w, 2, out=y)
    assert y.tolist() == [2.0, 2.0] and not y.requires_grad


def test_out_error_names_the_fix():
    with pytest.raises(RuntimeError, match=r"add\(\): functions with out=.*no_grad"):
        labkit.add(labkit.ones(2, requires_grad=True), 1, out=labkit.empty(2))


# Which functions take out= at all: labkit's registry against torch, one call per function.
SIGNATURE_SAMPLES = {
    "abs": (A,), "add": (A, A), "argmax": (A, 1), "argsort": (A,), "bmm": (A[None], A.T[None]),
    "cat": ([A, A],), "chunk": (A, 2), "clamp": (A, 0.1), "clone": (A,), "cumsum": (A, 1),
    "diagonal": (A,), "einsum": ("ij->j", A), "exp": (A,), "flatten": (A,), "flip": (A, (0,)),
    "gather": (A, 1, np.zeros((2, 1), dtype=np.int64)), "index_select": (A, 0, np.array([0])),
    "log_softmax": (A, 1), "logsumexp": (A, 1), "matmul": (A, A.T), "max": (A, 1), "mean": (A, 1),
    "median": (A, 1), "mm": (A, A.T), "movedim": (A, 0, 1), "narrow": (A, 0, 0, 1),
    "nonzero": (A,), "permute": (A, (1, 0)), "prod": (A, 1), "repeat_interleave": (A, 2),
    "reshape": (A, (3, 2)), "roll": (A, 1), "softmax": (A, 1), "sort": (A,), "split": (A, 1),
    "squeeze": (A,), "stack": ([A, A],), "std": (A, 1), "sum": (A, 1), "t": (A,), "tile": (A, (2,)),
    "topk": (A, 2), "transpose": (A, 0, 1), "tril": (A,), "unbind": (A,), "unsqueeze": (A, 0),
    "var": (A, 1), "where": (A > 0.3, A, A), "zeros_like": (A,), "ones_like": (A,),
    "full_like": (A, 2.0), "rand_like": (A,), "masked_select": (A, A > 0.3), "isnan": (A,),
    "trace": (A[:2, :2],), "diff": (A,), "cross": (np.ones((2, 3)), np.ones((2, 3))),
    "outer": (A[0], A[1]), "dot": (A[0], A[1]), "mv": (A, A[0]), "minimum": (A, A),
    "remainder": (A, 0.3), "floor_divide": (A, 0.3), "logical_and": (A > 0.3, A > 0.5),
}


def _args(m, args):
    return [m.tensor(a) if isinstance(a, np.ndarray) else
            [m.tensor(b) for b in a] if isinstance(a, list) else a for a in args]


def _takes_out(m, name):
    fn = getattr(m, name)
    args = _args(m, SIGNATURE_SAMPLES[name])
    r = fn(*args)
    rs = r if isinstance(r, tuple) else (r,)
    outs = tuple(m.empty(0, dtype=x.dtype) for x in rs)
    try:
        fn(*args, out=outs if isinstance(r, tuple) else outs[0])
        return True
    except TypeError:
        return False


@pytest.mark.parametrize("name", list(SIGNATURE_SAMPLES))
def test_out_accepted_exactly_where_torch_accepts_it(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert _takes_out(labkit, name) == _takes_out(torch, name)


def test_signature_shows_out():
    import inspect
    assert "out" in inspect.signature(labkit.matmul).parameters
    assert "out" not in inspect.signature(labkit.reshape).parameters
