"""Generic checks driven by the op table (``tests/optable.py``), three per op:

1. forward in float64 against the NumPy reference;
2. backward against float64 central differences (``labkit.autograd.gradcheck``);
3. forward *and* backward in float32 against PyTorch, with every float input given to the op as
   a contiguous tensor, a transposed view, a negative-stride (flipped) view or a stepped slice.

A row of the table is enough for an op to get all three; nothing here names a particular op.
Hypothesis draws shapes (size-0 and size-1 dims, broadcasting, different ranks) and values.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit
from optable import OPS

torch = pytest.importorskip("torch")

N = int(os.environ.get("LABKIT_OPTABLE_EXAMPLES", "5"))   # CI: ~45 s for the whole table
_settings = settings(max_examples=N, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                            HealthCheck.data_too_large])

LAYOUTS = ["contiguous", "transposed", "flipped", "stepped"]


# ----------------------------------------------------------------------------- argument plumbing
def _is_float_array(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _split_leaves(args):
    """Replace every float array in ``args`` (also inside lists) by a slot number.

    Returns (template, arrays): the float arrays become the differentiable leaves.
    """
    arrays = []

    def walk(a):
        if _is_float_array(a):
            arrays.append(a)
            return _Slot(len(arrays) - 1)
        if isinstance(a, list) and any(_is_float_array(x) for x in a):
            return [walk(x) for x in a]
        return a
    return [walk(a) for a in args], arrays


class _Slot:
    def __init__(self, i):
        self.i = i


def _convert(M, a):
    """Integer/bool arrays (also inside index tuples) become tensors of library ``M``."""
    if isinstance(a, np.ndarray):
        return M.tensor(a)
    if isinstance(a, tuple):
        return tuple(_convert(M, x) for x in a)
    return a


def _build(M, template, inputs):
    def fill(a):
        if isinstance(a, _Slot):
            return inputs[a.i]
        if isinstance(a, list) and any(isinstance(x, _Slot) for x in a):
            return [fill(x) for x in a]
        return _convert(M, a)
    return [fill(a) for a in template]


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _np_outputs(ref_out):
    return list(ref_out) if isinstance(ref_out, (tuple, list)) else [ref_out]


# ----------------------------------------------------------------------------- layouts
def _leaf_storage(x, layout):
    """The array a leaf is created from so that ``_view(leaf, layout)`` has the values of ``x``."""
    if layout == "transposed":
        return np.ascontiguousarray(np.transpose(x))
    if layout == "flipped":
        return np.flip(x).copy()          # (ascontiguousarray keeps a size-1 negative stride)
    if layout == "stepped":
        return np.repeat(x, 2, axis=-1)
    return x


def _view(leaf, layout):
    nd = leaf.ndim
    if layout == "transposed":
        return leaf.permute(*range(nd - 1, -1, -1))
    if layout == "flipped":
        return leaf.flip(tuple(range(nd)))
    if layout == "stepped":
        return leaf[..., ::2]
    return leaf


def _usable(layout, x):
    if layout == "transposed":
        return x.ndim >= 2
    if layout in ("flipped", "stepped"):
        return x.ndim >= 1
    return True


# ----------------------------------------------------------------------------- comparisons
def _assert_close(actual, expected, atol, rtol, what):
    a = np.asarray(actual)
    e = np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    if e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), atol=atol,
                                   rtol=rtol, equal_nan=True, err_msg=what)


def _assert_like_torch(lt, tt, atol, rtol, what):
    assert isinstance(lt, labkit.Tensor), f"{what}: {type(lt).__name__} is not a labkit.Tensor"
    assert lt.dtype.name == str(tt.dtype).replace("torch.", ""), \
        f"{what}: dtype {lt.dtype} vs torch {tt.dtype}"
    assert list(lt.shape) == list(tt.shape), f"{what}: shape {list(lt.shape)} vs {list(tt.shape)}"
    _assert_close(lt.detach().numpy(), tt.detach().numpy(), atol, rtol, what)


# ----------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("op", OPS, ids=repr)
@_settings
@given(data=st.data())
def test_forward_matches_numpy_float64(op, data):
    args = data.draw(op.args, label="args")
    if op.ref is None:
        return
    template, arrays = _split_leaves(list(args))
    out = op.fn(labkit, *_build(labkit, template, [labkit.tensor(a) for a in arrays]))
    expected = _np_outputs(op.ref(*args))
    got = _outputs(out)
    assert len(got) == len(expected), f"{op.name}: {len(got)} outputs, NumPy gives {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        assert isinstance(g, labkit.Tensor)
        if g.dtype.is_floating_point and arrays:
            assert g.dtype is labkit.float64, f"{op.name}: float64 inputs gave {g.dtype}"
        _assert_close(g.numpy(), e, 1e-10, 1e-9, f"{op.name} output {i} vs NumPy")


@pytest.mark.parametrize("op", [op for op in OPS if op.grad and op.gradcheck], ids=repr)
@_settings
@given(data=st.data())
def test_backward_gradcheck_float64(op, data):
    args = data.draw(op.args, label="args")
    template, arrays = _split_leaves(list(args))
    leaves = [labkit.tensor(a, requires_grad=True) for a in arrays]
    assert labkit.autograd.gradcheck(
        lambda *xs: op.fn(labkit, *_build(labkit, template, list(xs))), leaves,
        eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("op", OPS, ids=repr)
@_settings
@given(data=st.data())
def test_forward_backward_match_torch_float32(op, data):
    args = data.draw(op.args, label="args")
    layout = data.draw(st.sampled_from(LAYOUTS if op.layouts else LAYOUTS[:1]), label="layout")
    template, arrays = _split_leaves(list(args))
    layouts = [layout if _usable(layout, a) else "contiguous" for a in arrays]
    rng = np.random.default_rng(0)
    results = {}
    for M in (labkit, torch):
        leaves = [M.tensor(_leaf_storage(a, lay), dtype=M.float32, requires_grad=op.grad)
                  for a, lay in zip(arrays, layouts)]
        inputs = [_view(l, lay) for l, lay in zip(leaves, layouts)]
        fn = op.torch_fn or op.fn if M is torch else op.fn
        outs = _outputs(fn(M, *_build(M, template, inputs)))
        results[M] = (leaves, outs)
    (l_leaves, l_outs), (t_leaves, t_outs) = results[labkit], results[torch]
    assert len(l_outs) == len(t_outs), f"{op.name}: {len(l_outs)} outputs vs torch {len(t_outs)}"
    for i, (lo, to) in enumerate(zip(l_outs, t_outs)):
        _assert_like_torch(lo, to, op.atol, op.rtol, f"{op.name} ({layout}) output {i}")
        assert lo.requires_grad == to.requires_grad, \
            f"{op.name} output {i}: requires_grad {lo.requires_grad} vs torch {to.requires_grad}"
    if not op.grad:
        return
    # backward with the same random upstream gradient through every differentiable output
    pairs = [(lo, to) for lo, to in zip(l_outs, t_outs) if to.requires_grad]
    if not pairs:
        return
    ups = [rng.uniform(-1, 1, tuple(to.shape)).astype(np.float32) for _, to in pairs]
    labkit.autograd.backward([lo for lo, _ in pairs], [labkit.tensor(u) for u in ups])
    torch.autograd.backward([to for _, to in pairs], [torch.tensor(u) for u in ups])
    for k, (ll, tl) in enumerate(zip(l_leaves, t_leaves)):
        if tl.grad is None:
            assert ll.grad is None or not ll.grad.numpy().any(), \
                f"{op.name}: input {k} got a gradient, torch gives none"
            continue
        assert ll.grad is not None, f"{op.name}: input {k} got no gradient ({layout})"
        _assert_like_torch(ll.grad, tl.grad, op.atol * 10, op.rtol * 10,
                           f"{op.name} ({layout}) grad of input {k}")
