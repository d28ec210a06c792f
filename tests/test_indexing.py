"""Indexing beyond the op table: views vs copies, ``x[key] = value`` semantics, and the errors
(type *and* wording) for bad keys, compared with PyTorch."""
import numpy as np
import pytest
import torch

import labkit

KEYS = [
    0, -1, slice(1, None), slice(None, None, 2), (Ellipsis, 1), (None, 0), (1, slice(0, 2)),
    [0, 2, 0], (slice(None), [1, 0]), "mask", "row_mask", "int_tensor", ([0, 1], [1, 2]),
]


def _key(M, k, shape):
    rng = np.random.default_rng(1)
    if k == "mask":
        return M.tensor(rng.random(shape) < 0.5)
    if k == "row_mask":
        return M.tensor(np.array([True, False, True]))
    if k == "int_tensor":
        return M.tensor(np.array([[2, 0], [1, 1]]))
    return k


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_getitem_matches_torch(key):
    a = np.arange(12.0).reshape(3, 4)
    got = labkit.tensor(a)[_key(labkit, key, a.shape)]
    want = torch.tensor(a)[_key(torch, key, a.shape)]
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.dtype is labkit.float64


@pytest.mark.parametrize("key", KEYS, ids=str)
@pytest.mark.parametrize("value", ["scalar", "broadcast"])
def test_setitem_matches_torch(key, value):
    a = np.arange(12.0).reshape(3, 4)
    lk, th = labkit.tensor(a), torch.tensor(a)
    target_shape = tuple(th[_key(torch, key, a.shape)].shape)
    v = -7.5 if value == "scalar" else np.arange(target_shape[-1] if target_shape else 1) - 9.0
    lk[_key(labkit, key, a.shape)] = v if value == "scalar" else labkit.tensor(v)
    th[_key(torch, key, a.shape)] = v if value == "scalar" else torch.tensor(v)
    np.testing.assert_array_equal(lk.numpy(), th.numpy())


def test_basic_index_is_a_view_sharing_memory_and_version():
    x = labkit.zeros(3, 4)
    v = x[1, ::2]
    v += 5                                   # writes through to x, like torch
    assert x[1].tolist() == [5.0, 0.0, 5.0, 0.0]
    assert v._version == x._version >= 1
    assert x.T[0, 1].item() == 5.0


def test_advanced_index_is_a_copy():
    x = labkit.zeros(3, 4)
    c = x[[0, 1]]
    c += 1
    assert x.sum().item() == 0.0
    m = x[x == 0]
    m += 1
    assert x.sum().item() == 0.0


def test_flip_is_a_copy_like_torch():
    x = labkit.arange(4.0)
    y = x.flip(0)
    y[0] = 100.0
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert y.tolist() == [100.0, 2.0, 1.0, 0.0]


def test_setitem_with_grad_value_makes_target_differentiable():
    w = labkit.tensor([1.0, 2.0], requires_grad=True)
    x = labkit.zeros(3, 2)
    x[1] = w * 3
    assert x.requires_grad and x.grad_fn is not None
    (x * labkit.arange(6.0).reshape(3, 2)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 9.0])


def test_setitem_overwrites_gradient_of_replaced_region():
    x = labkit.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y[1] = 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, 2.0])


def test_repeated_advanced_indices_accumulate_gradient():
    x = labkit.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_index_put_accumulate_and_index_add():
    x = labkit.zeros(3)
    i = labkit.tensor([0, 0, 2])
    v = labkit.tensor([1.0, 2.0, 5.0])
    assert x.index_put((i,), v, accumulate=True).tolist() == [3.0, 0.0, 5.0]
    assert x.index_put((i,), v).tolist()[1:] == [0.0, 5.0]
    assert labkit.zeros(3, 2).index_add(0, i, labkit.ones(3, 2)).tolist() == \
        [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]


def test_nonzero_and_where_single_argument():
    x = labkit.tensor([[0, 3], [4, 0]])
    assert x.nonzero().tolist() == [[0, 1], [1, 0]]
    rows, cols = labkit.where(x)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert labkit.nonzero(labkit.tensor(5)).shape == torch.nonzero(torch.tensor(5)).shape


def test_one_hot_infers_classes_and_dtype():
    r = labkit.one_hot(labkit.tensor([0, 3, 1]))
    assert r.shape == (3, 4) and r.dtype is labkit.int64
    assert r.argmax(1).tolist() == [0, 3, 1]


def test_scatter_add_counts_like_bincount():
    idx = labkit.tensor([0, 2, 2, 1, 2])
    counts = labkit.zeros(3).scatter_add(0, idx, labkit.ones(5))
    assert counts.tolist() == [1.0, 1.0, 3.0]
    assert labkit.bincount(idx).tolist() == [1, 1, 3]


def test_sort_is_stable_and_topk_gradient():
    x = labkit.tensor([2.0, 1.0, 2.0, 0.0], requires_grad=True)
    v, i = x.sort(stable=True)
    assert i.tolist() == [3, 1, 0, 2]
    x.topk(2).values.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0, 0.0]


# ----------------------------------------------------------------------------- errors vs torch
def _a(M):
    return M.arange(12.0).reshape(3, 4)


ERRORS = [
    ("int out of range", lambda M: _a(M)[3], "index 3 is out of bounds for dimension 0 with size 3"),
    ("negative int out of range", lambda M: _a(M)[:, -5], "index -5 is out of bounds"),
    ("list out of range", lambda M: _a(M)[[0, 7]], "out of bounds"),
    ("tensor out of range", lambda M: _a(M)[M.tensor([1, 9])], "9"),
    ("too many indices", lambda M: _a(M)[0, 0, 0], "too many indices for tensor of dimension 2"),
    ("float index tensor", lambda M: _a(M)[M.tensor([0.0, 1.0])], "tensors used as indices"),
    ("float index", lambda M: _a(M)[1.5], ""),
    ("mask shape", lambda M: _a(M)[M.tensor([True, False])], "[2]"),
    ("negative step", lambda M: _a(M)[::-1], "step must be greater than zero"),
    ("setitem shape mismatch", lambda M: _a(M).__setitem__(0, M.ones(3)), ""),
    ("gather float index", lambda M: M.gather(_a(M), 1, M.tensor([[0.0]])), "int64"),
    ("gather ndim", lambda M: M.gather(_a(M), 1, M.tensor([0])), ""),
    ("gather out of range", lambda M: M.gather(_a(M), 1, M.tensor([[4]])), "out of bounds"),
    ("scatter out of range", lambda M: M.zeros(3).scatter(0, M.tensor([5]), M.ones(1)), ""),
    ("index_select 2-d index", lambda M: M.index_select(_a(M), 0, M.tensor([[0]])), ""),
    ("masked_fill int mask", lambda M: _a(M).masked_fill(M.ones(3, 4, dtype=M.int64), 0.0),
     "bool"),
    ("masked_fill mask shape", lambda M: _a(M).masked_fill(M.ones(2, dtype=M.bool), 0.0), ""),
    ("one_hot negative", lambda M: M.nn.functional.one_hot(M.tensor([-1, 2]), 3)
     if M is torch else M.one_hot(M.tensor([-1, 2]), 3), "non-negative"),
    ("one_hot too few classes", lambda M: M.nn.functional.one_hot(M.tensor([3]), 2)
     if M is torch else M.one_hot(M.tensor([3]), 2), "smaller than num_classes"),
    ("topk k too large", lambda M: M.arange(3.0).topk(4), "k"),
    ("narrow past the end", lambda M: _a(M).narrow(1, 3, 2), ""),
    ("split sizes do not sum", lambda M: _a(M).split([1, 1], 0), "sum"),
    ("cat ranks", lambda M: M.cat([_a(M), M.ones(4)]), ""),
    ("cat sizes", lambda M: M.cat([_a(M), M.ones(2, 3)]), "Sizes of tensors must match"),
    ("stack sizes", lambda M: M.stack([_a(M), M.ones(4, 3)]), "stack expects each tensor"),
    ("view incompatible", lambda M: _a(M).T.view(12), "view"),
    ("reshape numel", lambda M: _a(M).reshape(5, -1), "invalid for input of size 12"),
    ("expand non-singleton", lambda M: _a(M).expand(2, 3, 5), "must match the existing size"),
    ("permute length", lambda M: _a(M).permute(0), ""),
    ("squeeze dim range", lambda M: _a(M).squeeze(2), "Dimension out of range"),
    ("dim out of range", lambda M: _a(M).sum(2), "Dimension out of range"),
    ("max of empty", lambda M: M.ones(0).max(), ""),
    ("einsum operand count", lambda M: M.einsum("ij,jk->ik", _a(M)), ""),
    ("mm shapes", lambda M: M.mm(_a(M), _a(M)), "3x4 and 3x4"),
    ("matmul 0-d", lambda M: M.matmul(M.tensor(2.0), _a(M)), "1D"),
    ("cross wrong size", lambda M: M.cross(M.ones(2), M.ones(2), dim=0), ""),
]


@pytest.mark.parametrize("name,call,text", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch_type(name, call, text):
    with pytest.raises(Exception) as th:
        call(torch)
    with pytest.raises(Exception) as lk:
        call(labkit)
    # the same exception class as PyTorch (labkit never leaks NumPy/Numba errors)
    assert isinstance(lk.value, type(th.value)) or type(th.value) in type(lk.value).__mro__, \
        f"{name}: labkit raised {type(lk.value).__name__}: {lk.value}; torch raises " \
        f"{type(th.value).__name__}: {th.value}"
    assert type(lk.value).__module__.split(".")[0] not in ("numpy", "numba")
    assert text in str(lk.value), f"{name}: message lacks {text!r}: {lk.value}"
