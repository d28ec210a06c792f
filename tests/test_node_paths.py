"""The two ways a built-in op builds its graph node give the same node.

``a + b`` between two Tensors of one dtype takes ``apply_pair`` (labkit/autograd/function.py), the
short path; every other call takes ``_apply_raw``.  Here both run on the same inputs and
everything the engine, the version checks, ``create_graph`` and the graph views read off the node
is compared.  Plus the metadata a node keeps for its outputs (``_out_meta``), which a leaf's
``.data =`` or ``set_`` can change.
"""
import numpy as np
import pytest

import labkit as lk
from labkit import graph
from labkit.autograd import function as F
from labkit.ops.elementwise import Add, Div, Maximum, Minimum, Mul, Pow, Sub

torch = pytest.importorskip("torch")

OPS = [Add, Sub, Mul, Div, Maximum, Minimum, Pow.variant("PowBackward1")]
SHAPES = [((4,), (4,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), ())]


class _Two(lk.autograd.Function):
    """A user Function with two outputs, so that an input can be output 1 of its node."""

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g0, g1):
        return g0 * 2 + g1 * 3


def _operand(kind, shape, dtype, seed):
    arr = np.random.default_rng(seed).uniform(0.5, 2.0, shape).astype(dtype)
    if kind == "const":
        return lk.tensor(arr)
    leaf = lk.tensor(arr, requires_grad=True)
    if kind == "leaf":
        return leaf
    return _Two.apply(leaf * 0.5)[1]            # a non-leaf: output 1 of a user Function's node


def _node_facts(res, a, b):
    """What is read off an op's result and its node (nodes compared by identity)."""
    owner = {id(a._vc): "a", id(b._vc): "b", id(res._vc): "result"}
    n = res.grad_fn
    facts = {"value": res._np.copy(), "dtype": res._np.dtype, "shape": res._np.shape,
             "requires_grad": res.requires_grad, "node": None if n is None else type(n)}
    if n is not None:
        facts.update(needs=n.needs_input_grad, edges=[(id(f), nr) for f, nr in n.next_functions],
                     meta=n._out_meta, n_out=n._n_out, src=n._src,
                     versions=[(owner[id(vc)], v, i, j) for vc, v, i, j in n._saved_vc or ()])
    return facts


@pytest.mark.parametrize("cls", OPS, ids=lambda c: c._node_cls.__name__)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("kinds", [("leaf", "leaf"), ("leaf", "const"), ("const", "nonleaf"),
                                   ("nonleaf", "nonleaf"), ("const", "const")])
def test_apply_pair_builds_the_node_the_general_path_builds(cls, shapes, kinds):
    dtype = np.float64 if shapes[0] == () else np.float32
    a = _operand(kinds[0], shapes[0], dtype, 1)
    b = _operand(kinds[1], shapes[1], dtype, 2)
    short, general = F.apply_pair(cls, a, b), F._apply_raw(cls, (a, b))
    fs, fg = _node_facts(short, a, b), _node_facts(general, a, b)
    np.testing.assert_array_equal(fs.pop("value"), fg.pop("value"))
    assert fs == fg
    assert type(short._np) is np.ndarray             # a 0-d result is an array, not a scalar
    if short.requires_grad:                          # and the two nodes give the same gradients
        leaves = [t for t in (a, b) if t.requires_grad]
        gs = lk.autograd.grad(short.sum(), leaves)
        gg = lk.autograd.grad(general.sum(), leaves)
        for x, y in zip(gs, gg):
            np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_division_of_shapes_that_do_not_broadcast_raises_torchs_error():
    for M in (lk, torch):
        with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of "
                                               r"tensor b \(4\) at non-singleton dimension 0"):
            M.ones(3) / M.ones(4)


def test_apply_pair_without_grad_makes_plain_tensors():
    a, b = lk.ones(3, requires_grad=True), lk.ones(3, requires_grad=True)
    for mode in (lk.no_grad, lk.inference_mode):
        with mode():
            r = a * b
        assert r.grad_fn is None and not r.requires_grad


def test_saved_inputs_modified_in_place_are_reported():
    a, b = lk.ones(3, requires_grad=True), lk.ones(3, requires_grad=True)
    x = a * 1.0
    y = x * b                                         # saves x and b
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_anomaly_mode_checks_the_short_path_with_source_capture_off():
    a, b = lk.full((2,), float("inf"), requires_grad=True), lk.zeros(2)
    with lk.autograd.detect_anomaly():
        prev = graph.capture_source(False)            # anomaly mode turned it on: now off again
        try:
            with pytest.raises(RuntimeError, match="'Mul'"):
                a * b                                 # inf * 0: nan
        finally:
            graph.capture_source(prev)


def test_a_node_keeps_the_shape_and_dtype_of_each_output():
    x = lk.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    y = x * 2
    assert y.grad_fn._out_meta == (((2, 2), np.dtype(np.float32)),)
    values, idx = y.max(dim=1)
    assert values.grad_fn._out_meta == (((2,), np.dtype(np.float32)), ((2,), np.dtype(np.int64)))
    assert x._accumulator()._out_meta == (((2, 2), np.dtype(np.float32)),)


def test_a_leaf_whose_data_is_replaced_takes_gradients_of_its_new_shape():
    def run(M):
        x = M.ones(1, requires_grad=True)
        (x * x).sum().backward()                      # (labkit keeps x's AccumulateGrad)
        x.data = M.full((5,), 1 / 3, dtype=M.float64)
        x.grad = None
        (x * x).sum().backward()                      # 2x: not a float32 number
        return x.grad
    g, tg = run(lk), run(torch)
    assert g.shape == tuple(tg.shape) and g.dtype.name == "float64" == str(tg.dtype)[6:]
    np.testing.assert_array_equal(g.numpy(), tg.numpy())


def test_set_under_no_grad_gives_the_leaf_gradients_of_its_new_shape():
    def run(M):
        x = M.ones(1, requires_grad=True)
        (x * x).sum().backward()
        with M.no_grad():
            x.set_(M.full((5,), 1 / 3))
        x.grad = None
        (x * x).sum().backward()
        return x.grad
    g, tg = run(lk), run(torch)
    assert g.shape == tuple(tg.shape)
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-6)
