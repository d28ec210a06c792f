"""The rest of ``torch``'s namespace vs PyTorch 2.13: top-level in-place functions, nn ops at the
top level (ATen's argument order), windows, small composites, settings, creation, random
draws, ``vmap``, and what labkit leaves out on purpose (``labkit.scope``).  Tensor methods and
properties are in test_tensor_extras.py."""
import warnings

import numpy as np
import pytest

import labkit as lk
from labkit import namespace as N
from labkit.autograd import gradcheck

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(7)


def rnd(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, shape)


def pair(a, grad=False):
    a = np.asarray(a)
    g = grad and a.dtype.kind == "f"
    return lk.tensor(a, requires_grad=g), torch.tensor(a, requires_grad=g)


def close(a, b, atol=1e-6):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y, atol)
        return
    a_np = a.detach().numpy() if isinstance(a, lk.Tensor) else np.asarray(a)
    b_np = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a_np.shape == b_np.shape, (a_np.shape, b_np.shape)
    np.testing.assert_allclose(a_np, b_np, atol=atol, rtol=1e-6)


def same(name, arrays, *args, grad=True, atol=1e-6, lk_fn=None, t_fn=None, **kw):
    """labkit.<name> and torch.<name> on the same float64 arrays: outputs and input gradients."""
    ps = [pair(a, grad) for a in arrays]
    lo = (lk_fn or getattr(lk, name))(*[p[0] for p in ps], *args, **kw)
    to = (t_fn or getattr(torch, name))(*[p[1] for p in ps], *args, **kw)
    close(lo, to, atol)
    if grad:
        lo1 = lo[0] if isinstance(lo, tuple) else lo
        to1 = to[0] if isinstance(to, tuple) else to
        up = RNG.standard_normal(tuple(to1.shape))
        (lo1 * lk.tensor(up)).sum().backward()
        (to1 * torch.tensor(up)).sum().backward()
        for (l, t) in ps:
            if t.requires_grad and t.grad is not None:
                close(l.grad, t.grad, atol=max(atol, 1e-6))
    return lo, to


# ---------------------------------------------------------------- in-place functions
UNARY_DOMAIN = {"acosh_": (1.1, 3.0), "arccosh_": (1.1, 3.0), "log_": (0.1, 3.0),
                "log10_": (0.1, 3.0), "log2_": (0.1, 3.0), "sqrt_": (0.1, 3.0),
                "rsqrt_": (0.1, 3.0), "logit_": (0.1, 0.9), "reciprocal_": (0.5, 2.0)}
EXTRA_ARGS = {"clamp_": lambda m: (-0.5, 0.5), "clip_": lambda m: (-0.5, 0.5),
              "clamp_max_": lambda m: (0.3,), "clamp_min_": lambda m: (0.3,),
              "fill_": lambda m: (2.5,), "ldexp_": lambda m: (m.tensor([2.0, 1.0, 3.0]),),
              "xlogy_": lambda m: (m.tensor([0.5, 1.5, 2.0], dtype=m.float64),),
              "addmv_": lambda m: (m.tensor(np.eye(3)), m.tensor([1.0, 2.0, 3.0],
                                                                 dtype=m.float64))}
SPECIAL = {"gcd_", "lcm_", "index_put_", "detach_", "conj_physical_", "resize_as_"}


@pytest.mark.parametrize("name", sorted(set(N.INPLACE) - SPECIAL))
def test_inplace_functions_modify_their_input_as_torch_does(name):
    lo, hi = UNARY_DOMAIN.get(name, (-0.9, 0.9))
    a = RNG.uniform(lo, hi, 3)
    xl, xt = lk.tensor(a), torch.tensor(a)
    args_l = EXTRA_ARGS.get(name, lambda m: ())(lk)
    args_t = EXTRA_ARGS.get(name, lambda m: ())(torch)
    rl = getattr(lk, name)(xl, *args_l)
    rt = getattr(torch, name)(xt, *args_t)
    assert rl is xl and rt is xt
    close(xl, xt)


def test_inplace_functions_integer_and_indexing_ones():
    for name in ("gcd_", "lcm_"):
        xl, xt = lk.tensor([4, 6, 9]), torch.tensor([4, 6, 9])
        assert getattr(lk, name)(xl, lk.tensor([6, 4, 3])) is xl
        getattr(torch, name)(xt, torch.tensor([6, 4, 3]))
        close(xl, xt)
    xl, xt = lk.zeros(4), torch.zeros(4)
    lk.index_put_(xl, (lk.tensor([1, 3]),), lk.tensor([5.0, 6.0]), accumulate=True)
    torch.index_put_(xt, (torch.tensor([1, 3]),), torch.tensor([5.0, 6.0]), accumulate=True)
    close(xl, xt)
    y = lk.ones(2, requires_grad=True) * 2
    assert lk.detach_(y) is y and y.grad_fn is None and not y.requires_grad


def test_an_inplace_function_records_its_gradient():
    a = rnd(4)
    xl = lk.tensor(a, requires_grad=True)
    yl = xl * 1
    lk.sigmoid_(yl)
    yl.sum().backward()
    xt = torch.tensor(a, requires_grad=True)
    yt = xt * 1
    torch.sigmoid_(yt)
    yt.sum().backward()
    close(xl.grad, xt.grad)


# ---------------------------------------------------------------- nn ops at the top level
def test_nn_aliases_table_matches_the_module():
    from labkit.nn.functional import toplevel
    assert set(toplevel.NAMES) == N.NN_ALIASES


def test_convolutions_and_pooling_at_the_top_level():
    same("conv1d", [rnd(2, 3, 7), rnd(4, 3, 3)], None, 2, 1)
    same("conv2d", [rnd(1, 2, 5, 5), rnd(3, 2, 3, 3), rnd(3)], 1, 1)
    same("conv_transpose2d", [rnd(1, 2, 4, 4), rnd(2, 3, 3, 3)], None, 2, 1, 1)
    same("convolution", [rnd(1, 2, 5, 5), rnd(3, 2, 3, 3), rnd(3)], [1, 1], [1, 1], [1, 1],
         False, [0, 0], 1)
    same("convolution", [rnd(1, 2, 4), rnd(2, 3, 3), rnd(3)], [2], [1], [1], True, [1], 1)
    same("max_pool1d", [rnd(2, 3, 9)], 3, 2, 1, 1, True)
    same("max_pool2d", [rnd(1, 2, 6, 6)], 2)
    same("max_pool3d", [rnd(1, 1, 4, 4, 4)], 2, [])
    same("avg_pool1d", [rnd(2, 3, 8)], 3, 2, 1)
    same("adaptive_avg_pool1d", [rnd(2, 3, 8)], 3)
    (v, i), _ = same("adaptive_max_pool1d", [rnd(2, 3, 8)], 3)
    assert i.dtype == lk.int64
    close(*same("max_pool1d_with_indices", [rnd(1, 2, 7)], 2, 2, 0, 1, True))


def test_normalization_takes_atens_argument_order():
    x, w, b = rnd(4, 3, 5), rnd(3), rnd(3)
    rm, rv = rnd(3), rnd(3, lo=0.5, hi=2.0)
    same("batch_norm", [x, w, b], None, None, True, 0.1, 1e-5, False)
    rl, rt = pair(rm), pair(rv)
    yl = lk.batch_norm(lk.tensor(x), lk.tensor(w), lk.tensor(b), rl[0], rt[0], True, 0.3, 1e-5,
                       False)
    yt = torch.batch_norm(torch.tensor(x), torch.tensor(w), torch.tensor(b), rl[1], rt[1], True,
                          0.3, 1e-5, False)
    close(yl, yt)
    close(rl[0], rl[1])                       # running stats updated in place, like torch
    close(rt[0], rt[1])
    same("instance_norm", [x, w, b], None, None, True, 0.1, 1e-5, False)
    same("layer_norm", [x], [5])
    same("layer_norm", [x, rnd(5), rnd(5)], lk_fn=lambda a, w, b: lk.layer_norm(a, [5], w, b, 1e-3),
         t_fn=lambda a, w, b: torch.layer_norm(a, [5], w, b, 1e-3))
    same("group_norm", [rnd(2, 4, 3), rnd(4), rnd(4)],
         lk_fn=lambda a, w, b: lk.group_norm(a, 2, w, b),
         t_fn=lambda a, w, b: torch.group_norm(a, 2, w, b))
    same("rms_norm", [x, rnd(5)], lk_fn=lambda a, w: lk.rms_norm(a, [5], w),
         t_fn=lambda a, w: torch.rms_norm(a, [5], w))


def test_embedding_takes_the_weight_first():
    w = rnd(6, 3)
    idx = np.array([[0, 5], [2, 2]])
    wl, wt = pair(w, True)
    yl = lk.embedding(wl, lk.tensor(idx), 2)
    yt = torch.embedding(wt, torch.tensor(idx), 2)
    close(yl, yt)
    yl.sum().backward()
    yt.sum().backward()
    close(wl.grad, wt.grad)                   # padding_idx=2 gets no gradient
    close(lk.embedding(lk.tensor(w), lk.tensor(idx)), torch.embedding(torch.tensor(w),
                                                                       torch.tensor(idx)))


@pytest.mark.parametrize("reduction", [None, 0, 1, 2])
def test_losses_at_the_top_level_reduce_with_an_int_default_none(reduction):
    kw = {} if reduction is None else {"reduction": reduction}
    a, b = rnd(4, 3), rnd(4, 3)
    t = np.sign(rnd(4)) + (rnd(4) == 0)
    same("kl_div", [a, rnd(4, 3, lo=0.1, hi=1.0)], **kw)
    same("binary_cross_entropy_with_logits", [a, rnd(4, 3, lo=0, hi=1)], **kw)
    same("margin_ranking_loss", [a, b, np.sign(rnd(4, 3))], 0.2, **kw)
    same("hinge_embedding_loss", [a, np.sign(rnd(4, 3))], 0.5, **kw)
    same("cosine_embedding_loss", [a, b, t], 0.1, **kw)
    same("triplet_margin_loss", [a, b, rnd(4, 3)], 1.0, 2.0, 1e-6, True, **kw)
    if reduction is not None:
        same("poisson_nll_loss", [a, rnd(4, 3, lo=0, hi=3)], True, False, 1e-8, reduction)


def test_loss_reduction_must_be_an_int():
    with pytest.raises(TypeError, match="must be int"):
        lk.kl_div(lk.zeros(2), lk.zeros(2), reduction="mean")


def test_ctc_loss_at_the_top_level():
    lp = torch.randn(6, 2, 5, dtype=torch.float64).log_softmax(2).numpy()
    tg = np.array([[1, 2, 3], [4, 1, 0]])
    for red in (0, 1, 2):
        same("ctc_loss", [lp, tg], [6, 5], [3, 2], 0, red, grad=red != 0, atol=1e-5)


def test_activations_dropout_and_shuffles_at_the_top_level():
    x = rnd(2, 4, 3)
    same("prelu", [x, rnd(4)])
    same("celu", [x], 0.7)
    same("selu", [x])
    same("threshold", [x], 0.2, -1.0)
    same("hardshrink", [x], 0.6)
    same("rrelu", [x], 0.1, 0.3, False)
    same("pixel_shuffle", [rnd(1, 8, 2, 2)], 2)
    same("pixel_unshuffle", [rnd(1, 2, 4, 4)], 2)
    same("channel_shuffle", [rnd(1, 4, 2)], 2, grad=False)
    same("cosine_similarity", [x, rnd(2, 4, 3)], 1)
    same("pairwise_distance", [rnd(3, 4), rnd(3, 4)], 1.5)
    same("pdist", [rnd(4, 3)])
    same("bilinear", [rnd(2, 3), rnd(2, 4), rnd(5, 3, 4), rnd(5)])
    for name in ("dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"):
        same(name, [x], 0.5, False)           # not training: the identity
    y = lk.feature_dropout(lk.ones(8, 16, 5), 0.5, True)
    per_channel = y.numpy().reshape(8 * 16, 5)
    assert np.all(per_channel.min(1) == per_channel.max(1))   # whole channels kept or zeroed
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    z = lk.ones(1000)
    assert lk.dropout_(z, 0.5, True) is z and set(np.unique(z.numpy())) == {0.0, 2.0}
    w = lk.ones(3)
    assert lk.selu_(w) is w and lk.celu_(w) is w and lk.threshold_(w, 5.0, 0.0) is w


def test_grid_sampler_and_affine_grid_generator():
    theta = rnd(2, 2, 3)
    same("affine_grid_generator", [theta], [2, 3, 4, 5], False)
    x, g = rnd(2, 3, 4, 5), rnd(2, 3, 3, 2, lo=-1.1, hi=1.1)
    for mode in (0, 1, 2):
        for pad in (0, 1, 2):
            same("grid_sampler", [x, g], mode, pad, False, grad=mode != 1, atol=1e-5)


def test_recurrent_cells_and_layers_match_torch():
    x, h, c = rnd(3, 4), rnd(3, 5), rnd(3, 5)
    same("rnn_tanh_cell", [x, h, rnd(5, 4), rnd(5, 5), rnd(5), rnd(5)])
    same("rnn_relu_cell", [x, h, rnd(5, 4), rnd(5, 5)])
    same("gru_cell", [x, h, rnd(15, 4), rnd(15, 5), rnd(15), rnd(15)])
    hl, ht = pair(h, True)
    cl, ct = pair(c, True)
    ps = [pair(a, True) for a in (x, rnd(20, 4), rnd(20, 5), rnd(20), rnd(20))]
    ol = lk.lstm_cell(ps[0][0], (hl, cl), *[p[0] for p in ps[1:]])
    ot = torch.lstm_cell(ps[0][1], (ht, ct), *[p[1] for p in ps[1:]])
    close(ol, ot)
    (ol[0].sum() + 2 * ol[1].sum()).backward()
    (ot[0].sum() + 2 * ot[1].sum()).backward()
    for a, b in ps + [(hl, ht), (cl, ct)]:
        close(a.grad, b.grad)
    # whole layers from flat parameter lists: 2 layers, bidirectional, batch_first
    mod = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True).double()
    params = [p.detach().numpy() for p in mod._flat_weights]
    xs, h0, c0 = rnd(2, 6, 4), rnd(4, 2, 5), rnd(4, 2, 5)
    args = (True, 2, 0.0, False, True, True)
    ol = lk.lstm(lk.tensor(xs), (lk.tensor(h0), lk.tensor(c0)), [lk.tensor(p) for p in params],
                 *args)
    ot = torch.lstm(torch.tensor(xs), (torch.tensor(h0), torch.tensor(c0)),
                    [torch.tensor(p) for p in params], *args)
    close(ol, ot)
    gmod = torch.nn.GRU(4, 5, num_layers=1).double()
    gparams = [p.detach().numpy() for p in gmod._flat_weights]
    xs, h0 = rnd(6, 2, 4), rnd(1, 2, 5)
    for name in ("gru", "rnn_tanh", "rnn_relu"):
        ps = gparams if name == "gru" else [p[:5] if p.shape[0] == 15 else p for p in gparams]
        close(getattr(lk, name)(lk.tensor(xs), lk.tensor(h0), [lk.tensor(p) for p in ps], True,
                                1, 0.0, False, False, False),
              getattr(torch, name)(torch.tensor(xs), torch.tensor(h0),
                                   [torch.tensor(p) for p in ps], True, 1, 0.0, False, False,
                                   False))


# ---------------------------------------------------------------- windows and composites
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_window_functions_match_torch(n, periodic):
    for name in ("bartlett_window", "blackman_window", "hann_window", "hamming_window"):
        close(getattr(lk, name)(n, periodic), getattr(torch, name)(n, periodic))
    close(lk.hamming_window(n, periodic, 0.6, 0.3), torch.hamming_window(n, periodic, 0.6, 0.3))
    close(lk.kaiser_window(n, periodic, 5.0), torch.kaiser_window(n, periodic, 5.0), atol=1e-6)
    assert lk.hann_window(n, dtype=lk.float64).dtype == lk.float64
    assert lk.hann_window(n).dtype == lk.float32


def test_vander_row_stack_range():
    for N_, inc in ((None, False), (4, True), (1, False), (0, True)):
        same("vander", [rnd(4)], N_, inc, grad=False)    # (torch 2.13's vander backward fails)
    close(lk.vander(lk.tensor([1, 2, 3])), torch.vander(torch.tensor([1, 2, 3])))
    assert lk.vander(lk.tensor([1, 2, 3])).dtype == lk.int64
    x = lk.tensor([0.0, 2.0], requires_grad=True)
    assert gradcheck(lambda t: lk.vander(t, 4), (x.double().detach().requires_grad_(),))
    same("row_stack", [], [lk.ones(2), lk.zeros(2)], grad=False, lk_fn=lambda *a: lk.row_stack(
        [lk.ones(2), lk.zeros(2)]), t_fn=lambda *a: torch.row_stack([torch.ones(2),
                                                                    torch.zeros(2)]))
    with pytest.warns(UserWarning, match="deprecated"):
        r = lk.range(1, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(r, torch.range(1, 4))
        close(lk.range(0, 1, 0.25), torch.range(0, 1, 0.25))
        close(lk.range(5, 1, -2), torch.range(5, 1, -2))
        assert lk.range(1, 4).dtype == lk.float32
        assert lk.range(1, 4, dtype=lk.int64).dtype == lk.int64


def test_old_linear_algebra_spellings():
    a, b, c = rnd(3, 4), rnd(4, 2), rnd(2, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same("chain_matmul", [a, b, c])
        same("chain_matmul", [a])
        same("nuclear_norm", [rnd(3, 4)])
        same("nuclear_norm", [rnd(3, 4)], True)
        same("nuclear_norm", [rnd(2, 3, 4)], [1, 2], True)
        same("frobenius_norm", [rnd(3, 4)], [0, 1])
        same("frobenius_norm", [rnd(3, 4)], [1], True)
    with pytest.warns(UserWarning, match="deprecated"):
        lk.nuclear_norm(lk.eye(3))
    for name in ("lstsq", "solve", "symeig", "eig", "matrix_rank"):
        x = lk.eye(2)
        with pytest.raises(RuntimeError, match="removed"):
            getattr(lk, name)(x, x) if name in ("lstsq", "solve") else getattr(lk, name)(x)
    with pytest.raises(RuntimeError, match="linalg.eigh"):
        lk.eye(2).symeig()
    same("matmul", [a, b], lk_fn=lk.linalg.matmul, t_fn=torch.linalg.matmul)


def test_copies_of_views():
    x = rnd(3, 4)
    same("select_copy", [x], 1, 2)
    same("slice_copy", [x], 1, 1, None, 2)
    same("split_copy", [x], 2, 1)
    same("detach_copy", [x], grad=False)
    xl = lk.tensor(x)
    assert lk.slice_copy(xl, 0, 0, 2).data_ptr() != xl.data_ptr()


def test_segment_reduce_matches_torch():
    data = rnd(6, 2)
    for red in ("sum", "mean", "max", "min", "prod"):
        same("segment_reduce", [data], red, lengths=torch.tensor([2, 0, 3, 1]).numpy(),
             grad=False, lk_fn=lambda d, r, lengths: lk.segment_reduce(d, r,
                                                                     lengths=lk.tensor(lengths)),
             t_fn=lambda d, r, lengths: torch.segment_reduce(d, r, lengths=torch.tensor(lengths)))
    xl, xt = pair(data, True)
    off = np.array([0, 2, 2, 6])
    yl = lk.segment_reduce(xl, "sum", offsets=lk.tensor(off), initial=1.0)
    yt = torch.segment_reduce(xt, "sum", offsets=torch.tensor(off), initial=1.0)
    close(yl, yt)
    yl.sum().backward()
    yt.sum().backward()
    close(xl.grad, xt.grad)


def test_cond_and_while_loop_run_eagerly():
    x = lk.tensor([1.0, 2.0])
    assert lk.cond(x.sum() > 0, lambda t: t * 2, lambda t: t - 1, (x,)).tolist() == [2.0, 4.0]
    assert lk.cond(False, lambda t: t * 2, lambda t: t - 1, [x]).tolist() == [0.0, 1.0]
    with pytest.raises(RuntimeError, match="single-element"):
        lk.cond(x, lambda t: t, lambda t: t, (x,))
    i, s = lk.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), (lk.tensor(0),
                                                                         lk.tensor(0)))
    assert (i.item(), s.item()) == (5, 10)


# ---------------------------------------------------------------- questions and settings
def test_predicates_answer_like_torch():
    x, t = lk.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 2.0]])
    for name in ("is_complex", "is_signed", "is_conj", "is_neg", "is_inference",
                 "is_distributed", "get_device"):
        assert getattr(lk, name)(x) == getattr(torch, name)(t), name
    assert lk.is_signed(lk.tensor([1], dtype=lk.uint8)) is False
    assert lk.is_same_size(x, lk.zeros(1, 2)) and not lk.is_same_size(x, lk.zeros(2))
    assert lk.is_nonzero(lk.tensor([0.5])) and not lk.is_nonzero(lk.tensor(0))
    with pytest.raises(RuntimeError, match="more than one value"):
        lk.is_nonzero(x)
    with pytest.raises(RuntimeError, match="no values"):
        lk.is_nonzero(lk.zeros(0))
    assert lk.is_storage(x) is False
    assert lk.typename(x) == "labkit.FloatTensor" and lk.typename(3) == "int"
    assert lk.typename(lk.nn.Linear) == "labkit.nn.modules.linear.Linear" or \
        lk.typename(lk.nn.Linear).endswith(".Linear")
    assert lk.real(x) is x and lk.conj(x) is x and lk.resolve_conj(x) is x
    assert lk.resolve_neg(x) is x and lk.conj_physical(x) is x
    with pytest.raises(RuntimeError, match="non-complex"):
        lk.imag(x)
    a = rnd(2, 3, 4)
    close(lk.adjoint(lk.tensor(a)), torch.adjoint(torch.tensor(a)))
    same("fix", [rnd(5) * 3], grad=True)
    y = lk.tensor([1.5, -2.5])
    assert lk.fix(y, out=lk.empty(2)).tolist() == [1.0, -2.0]
    d = lk.tensor([1.0], requires_grad=True) * 2
    assert lk.detach(d).requires_grad is False


def test_can_cast_matches_torch_for_every_pair():
    names = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        for b in names:
            assert lk.can_cast(getattr(lk, a), getattr(lk, b)) == \
                torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)


def test_settings_round_trip():
    assert lk.set_flush_denormal(False) is True and lk.set_flush_denormal(True) is False
    assert lk.get_num_interop_threads() >= 1
    n = lk.get_num_interop_threads()
    lk.set_num_interop_threads(2)
    assert lk.get_num_interop_threads() == 2
    lk.set_num_interop_threads(n)
    lk.init_num_threads()
    assert lk.is_warn_always_enabled() is False
    lk.set_warn_always(True)
    assert lk.is_warn_always_enabled() is True
    lk.set_warn_always(False)
    assert not lk.is_anomaly_enabled()
    lk.set_anomaly_enabled(True, False)
    try:
        assert lk.is_anomaly_enabled() and lk.autograd.is_anomaly_enabled()
        assert lk.is_anomaly_check_nan_enabled() is False
    finally:
        lk.set_anomaly_enabled(False)
    assert lk.get_deterministic_debug_mode() == 0
    for mode, want in (("warn", 1), (2, 2), ("default", 0)):
        lk.set_deterministic_debug_mode(mode)
        assert lk.get_deterministic_debug_mode() == want
    assert lk.are_deterministic_algorithms_enabled() is False
    with pytest.raises(RuntimeError, match="debug_mode"):
        lk.set_deterministic_debug_mode("loud")
    assert lk.is_vulkan_available() is False
    with pytest.warns(UserWarning, match="set_default_dtype"):
        lk.set_default_tensor_type(lk.DoubleTensor)
    try:
        assert lk.get_default_dtype() == lk.float64 and lk.ones(1).dtype == lk.float64
    finally:
        lk.set_default_dtype(lk.float32)
    with pytest.raises(TypeError):
        lk.set_default_tensor_type("torch.LongTensor")


# ---------------------------------------------------------------- creation
def test_empty_strided_and_empty_permuted_lay_memory_out_like_torch():
    x = lk.empty_strided((2, 3), (1, 2))
    assert x.shape == (2, 3) and x.stride() == torch.empty_strided((2, 3), (1, 2)).stride()
    x.fill_(1.0)
    assert x.sum().item() == 6
    p = lk.empty_permuted((2, 3, 4, 5), (0, 2, 3, 1))
    assert p.shape == (2, 3, 4, 5)
    assert p.stride() == torch.empty_permuted((2, 3, 4, 5), (0, 2, 3, 1)).stride()
    assert lk.empty_strided((0, 3), (3, 1)).numel() == 0
    assert lk.tensor([1.0]).new_empty_strided((2, 2), (1, 2)).stride() == (1, 2)


def test_frombuffer_shares_memory():
    buf = bytearray(np.arange(4, dtype=np.float32).tobytes())
    t = lk.frombuffer(buf, dtype=lk.float32)
    tt = torch.frombuffer(bytearray(buf), dtype=torch.float32)
    close(t, tt)
    t[0] = 9.0
    assert np.frombuffer(buf, dtype=np.float32)[0] == 9.0
    close(lk.frombuffer(buf, dtype=lk.float32, count=2, offset=4), np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        lk.frombuffer(bytearray(3), dtype=lk.float32)


def test_dlpack_round_trips_with_torch_and_numpy():
    x = lk.tensor([[1.0, 2.0], [3.0, 4.0]])
    t = torch.from_dlpack(x)
    t[0, 0] = 7.0
    assert x[0, 0].item() == 7.0                        # shared memory
    y = lk.from_dlpack(torch.arange(3.0))
    assert y.tolist() == [0.0, 1.0, 2.0] and y.dtype == lk.float32
    z = lk.from_dlpack(np.arange(3))
    assert z.dtype == lk.int64
    cap = lk.to_dlpack(x)
    assert type(cap).__name__ == "PyCapsule"
    assert x.__dlpack_device__() == (1, 0)
    with pytest.raises(RuntimeError, match="detach"):
        lk.ones(2, requires_grad=True).__dlpack__()


# ---------------------------------------------------------------- random
def test_binomial_and_poisson_draw_with_the_right_statistics_and_generator():
    n = lk.full((20000,), 10.0)
    p = lk.full((20000,), 0.3)
    b = lk.binomial(n, p)
    assert b.dtype == lk.float32 and abs(b.mean().item() - 3.0) < 0.1
    assert b.min().item() >= 0 and b.max().item() <= 10
    r = lk.poisson(lk.full((20000,), 4.0))
    assert abs(r.mean().item() - 4.0) < 0.1 and abs(r.var().item() - 4.0) < 0.3
    g1, g2 = lk.Generator().manual_seed(3), lk.Generator().manual_seed(3)
    assert lk.poisson(lk.ones(5), g1).tolist() == lk.poisson(lk.ones(5), generator=g2).tolist()
    with pytest.raises(RuntimeError):
        lk.poisson(lk.tensor([-1.0]))


# ---------------------------------------------------------------- vmap
def test_vmap_maps_over_dims_like_torch():
    a, b = rnd(3, 4), rnd(4, 5)
    same("vmap", [a], lk_fn=lambda x: lk.vmap(lambda r: r * r.sum())(x),
         t_fn=lambda x: torch.vmap(lambda r: r * r.sum())(x))
    same("vmap", [a, b], lk_fn=lambda x, y: lk.vmap(lk.matmul, in_dims=(0, None),
                                                   out_dims=1)(x, y),
         t_fn=lambda x, y: torch.vmap(torch.matmul, in_dims=(0, None), out_dims=1)(x, y))
    same("vmap", [a, rnd(4, 3)], lk_fn=lambda x, y: lk.vmap(lk.dot, in_dims=(1, 0))(x, y),
         t_fn=lambda x, y: torch.vmap(torch.dot, in_dims=(1, 0))(x, y))
    # nested vmap, several outputs, out_dims per output
    f = lambda x: (x.sum(), x * 2)                                     # noqa: E731
    x = rnd(2, 3, 4)
    close(lk.vmap(lk.vmap(f), out_dims=(0, 1))(lk.tensor(x)),
          torch.vmap(torch.vmap(f), out_dims=(0, 1))(torch.tensor(x)))
    with pytest.raises(ValueError, match="same size"):
        lk.vmap(lk.add)(lk.ones(2), lk.ones(3))
    with pytest.raises(ValueError, match="at least one"):
        lk.vmap(lk.add, in_dims=(None, None))(lk.ones(2), lk.ones(2))


def test_vmap_same_randomness_repeats_draws():
    y = lk.vmap(lambda r: r + lk.rand(()), randomness="same")(lk.zeros(4))
    assert len(set(y.tolist())) == 1
    z = lk.vmap(lambda r: r + lk.rand(()), randomness="different")(lk.zeros(4))
    assert len(set(z.tolist())) == 4


# ---------------------------------------------------------------- out of scope, on purpose
@pytest.mark.parametrize("owner,name,category", [
    (lk, "sparse_coo_tensor", "sparse"), (lk, "quantize_per_tensor", "quantization"),
    (lk, "cudnn_convolution", "vendor"), (lk, "sym_int", "compiler"),
    (lk, "view_as_complex", "complex"), (lk, "autocast_increment_nesting", "autocast"),
    (lk, "batch_norm_stats", "internal"), (lk.fft, "rfft", "complex"),
    (lk.linalg, "eig", "complex"), (lk.nn.functional, "scaled_mm", "float8"),
    (lk.ones(2), "to_sparse", "sparse"), (lk.ones(2), "q_scale", "quantization"),
    (lk.ones(2), "char", "int8"), (lk.ones(2), "untyped_storage", "Storage")])
def test_out_of_scope_names_raise_an_attribute_error_that_says_why(owner, name, category):
    assert not hasattr(owner, name)
    with pytest.raises(lk.scope.OutOfScopeError, match=category) as info:
        getattr(owner, name)
    assert isinstance(info.value, AttributeError) and name in str(info.value)
    assert "outside labkit's scope" in str(info.value)


def test_unknown_names_still_raise_a_plain_attribute_error():
    for owner in (lk, lk.fft, lk.linalg, lk.nn.functional, lk.ones(1)):
        with pytest.raises(AttributeError) as info:
            owner.no_such_thing_anywhere
        assert type(info.value) is AttributeError


def test_nothing_labkit_has_is_declared_out_of_scope():
    import sys
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import signature_conformance as sc
    shadowed = [p for p in sc._public_paths() if lk.scope.out_of_scope(p) is not None
                and sc._labkit_obj(p) is not None]
    assert not shadowed, shadowed


def test_the_harness_reports_out_of_scope_names_with_their_reason():
    import sys
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import signature_conformance as sc
    left, oos = sc.split_out_of_scope(["sparse_coo_tensor", "fft.fft", "nonexistent_thing"])
    assert left == ["nonexistent_thing"]
    assert oos["sparse_coo_tensor"].startswith("sparse tensors: ")
    assert "complex" in oos["fft.fft"]


# ---------------------------------------------------------------- randomized and fractional
def test_svd_lowrank_and_pca_lowrank_recover_a_low_rank_matrix():
    A = RNG.standard_normal((20, 4)) @ RNG.standard_normal((4, 12))
    for a in (A, A.T):
        U, S, V = lk.svd_lowrank(lk.tensor(a), q=5)
        Ut, St, Vt = torch.svd_lowrank(torch.tensor(a), q=5)
        assert U.shape == Ut.shape and S.shape == St.shape and V.shape == Vt.shape
        close((U * S) @ V.T, a, atol=1e-9)
        close(S[:4], torch.linalg.svdvals(torch.tensor(a))[:4], atol=1e-9)
        close(U.T @ U, np.eye(5), atol=1e-9)
    M = lk.tensor(RNG.standard_normal((1, 12)))
    U, S, V = lk.svd_lowrank(lk.tensor(A) + M, q=5, M=M)
    close((U * S) @ V.T, A, atol=1e-9)
    U, S, V = lk.pca_lowrank(lk.tensor(A + 3.0))
    St = torch.pca_lowrank(torch.tensor(A + 3.0))[1]
    assert S.shape == St.shape == (6,)
    close(S[:3], St[:3], atol=1e-9)
    with pytest.raises(ValueError, match="min"):
        lk.pca_lowrank(lk.tensor(A), q=50)


@pytest.mark.parametrize("shape,kernel,out,nd", [
    ((2, 3, 9, 8), (2, 3), (4, 5), 2), ((3, 7, 7), 2, (3, 4), 2),
    ((1, 2, 6, 7, 8), (2, 2, 3), (3, 4, 5), 3), ((2, 5, 6, 7), 3, (2, 3, 4), 3)])
def test_fractional_max_pool_matches_torch_given_the_samples(shape, kernel, out, nd):
    x = RNG.standard_normal(shape)
    batched = len(shape) == nd + 2
    u = RNG.uniform(0, 1, ((shape[0] if batched else 1), shape[-nd - 1], nd))
    for dt in (np.float64, np.float32):
        xl, xt = pair(x.astype(dt), True)
        name = f"fractional_max_pool{nd}d"
        ol, il = getattr(lk.nn.functional, name)(xl, kernel, out, return_indices=True,
                                                 _random_samples=lk.tensor(u.astype(dt)))
        ot, it = getattr(torch.nn.functional, name)(xt, kernel, out, return_indices=True,
                                                    _random_samples=torch.tensor(u.astype(dt)))
        close(ol, ot)
        assert (il.numpy() == it.numpy()).all()
        up = RNG.standard_normal(ot.shape).astype(dt)
        (ol * lk.tensor(up)).sum().backward()
        (ot * torch.tensor(up)).sum().backward()
        close(xl.grad, xt.grad)


def test_fractional_max_pool_by_ratio_and_its_errors():
    x = lk.randn(2, 3, 10, 10)
    y = lk.nn.functional.fractional_max_pool2d(x, 3, output_ratio=(0.5, 0.5))
    assert y.shape == torch.nn.functional.fractional_max_pool2d(torch.randn(2, 3, 10, 10), 3,
                                                                output_ratio=(0.5, 0.5)).shape
    v, i = lk.nn.functional.fractional_max_pool2d_with_indices(x, 2, (5, 5))
    close(v, np.take_along_axis(x.numpy().reshape(2, 3, -1), i.numpy().reshape(2, 3, -1),
                                -1).reshape(2, 3, 5, 5))
    with pytest.raises(ValueError, match="output_size or an output_ratio"):
        lk.nn.functional.fractional_max_pool2d(x, 2)
    with pytest.raises(RuntimeError, match="too large"):
        lk.nn.functional.fractional_max_pool2d(x, 4, (9, 9))
    with pytest.raises(RuntimeError, match="too large"):
        lk.nn.functional.fractional_max_pool3d(lk.randn(1, 1, 5, 5, 5), 3, (3, 3, 3))


def test_fractional_max_pool_modules():
    u = lk.rand(2, 3, 2)
    m = lk.nn.FractionalMaxPool2d(2, output_size=(4, 5), return_indices=True, _random_samples=u)
    mt = torch.nn.FractionalMaxPool2d(2, output_size=(4, 5), return_indices=True,
                                      _random_samples=torch.tensor(u.numpy()))
    x = RNG.standard_normal((2, 3, 8, 9)).astype(np.float32)
    close(m(lk.tensor(x))[0], mt(torch.tensor(x))[0])
    assert lk.nn.FractionalMaxPool3d(2, output_ratio=0.5)(lk.randn(1, 2, 6, 6, 6)).shape == \
        (1, 2, 3, 3, 3)
    with pytest.raises(ValueError):
        lk.nn.FractionalMaxPool2d(2)


@pytest.mark.parametrize("largest", [True, False])
def test_lobpcg_finds_extreme_eigenpairs_like_torch(largest):
    Q = np.linalg.qr(RNG.standard_normal((30, 30)))[0]
    A = (Q * np.linspace(1.0, 30.0, 30)) @ Q.T           # well separated eigenvalues
    al, at = pair(A, True)
    E, X = lk.lobpcg(al, k=2, largest=largest)
    Et, Xt = torch.lobpcg(at, k=2, largest=largest)
    close(E, Et, atol=1e-6)
    # both stop at a residual of sqrt(eps) * |A|: vectors agree to about residual / gap
    close(np.abs(X.numpy().T @ Xt.detach().numpy()), np.eye(2), atol=1e-4)
    (E * lk.tensor([1.0, 2.0])).sum().backward()
    (Et * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    close(al.grad, at.grad, atol=1e-4)
    Bm = RNG.standard_normal((30, 30))
    Bm = Bm @ Bm.T + 30 * np.eye(30)
    Li = np.linalg.inv(np.linalg.cholesky(Bm))             # generalized: eig of L^-1 A L^-T
    w = np.linalg.eigvalsh(Li @ A @ Li.T)
    close(lk.lobpcg(lk.tensor(A), 2, lk.tensor(Bm), largest=largest)[0],
          w[::-1][:2] if largest else w[:2], atol=1e-6)
    E4, X4 = lk.lobpcg(lk.tensor(A), X=lk.tensor(RNG.standard_normal((30, 4))))
    assert E4.shape == (4,) and X4.shape == (30, 4)
    with pytest.raises(ValueError, match="3 x the number"):
        lk.lobpcg(lk.tensor(A), k=11)


def test_native_norms_and_dropout_return_their_statistics():
    x = RNG.standard_normal((2, 3, 4))
    w, b = RNG.standard_normal(4), RNG.standard_normal(4)
    same("native_layer_norm", [x, w, b], lk_fn=lambda a, w, b: lk.native_layer_norm(a, [4], w, b,
                                                                                  1e-5),
         t_fn=lambda a, w, b: torch.native_layer_norm(a, [4], w, b, 1e-5))
    same("native_group_norm", [x], lk_fn=lambda a: lk.native_group_norm(a, None, None, 2, 3, 4,
                                                                       3, 1e-5),
         t_fn=lambda a: torch.native_group_norm(a, None, None, 2, 3, 4, 3, 1e-5))
    for training in (True, False):
        rl, rt = pair(np.zeros(3)), pair(np.ones(3))
        same("native_batch_norm", [x],
             lk_fn=lambda a: lk.native_batch_norm(a, None, None, rl[0], rt[0], training, 0.1,
                                                  1e-5),
             t_fn=lambda a: torch.native_batch_norm(a, None, None, rl[1], rt[1], training, 0.1,
                                                    1e-5))
        close(rl[0], rl[1])
    o, m = lk.native_dropout(lk.tensor(x), 0.5, False)
    assert m.dtype == lk.bool and bool(m.all()) and np.array_equal(o.numpy(), x)
    o, m = lk.native_dropout(lk.ones(1000), 0.5, None)
    assert m.dtype == lk.bool and 300 < int(m.sum()) < 700
    assert np.array_equal(o.numpy(), np.where(m.numpy(), 2.0, 0.0))
    t = torch.nn.FractionalMaxPool2d(2, output_size=(3, 3), _random_samples=torch.rand(1, 2, 2))
    x = RNG.standard_normal((1, 2, 6, 6)).astype(np.float32)
    close(lk.interop.from_torch(t)(lk.tensor(x)), t(torch.tensor(x)))


def test_factories_refuse_pinned_memory_and_cuda():
    with pytest.raises(NotImplementedError, match="pin_memory"):
        lk.empty_strided((2,), (1,), pin_memory=True)
    with pytest.raises(NotImplementedError, match="pin_memory"):
        lk.tensor([1.0]).new_empty_strided((2,), (1,), pin_memory=True)
    with pytest.raises(RuntimeError, match="CPU only"):
        lk.empty_permuted((2, 3), (1, 0), device="cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        lk.hamming_window(4, device="cuda")


def test_tensor_out_of_scope_names_are_listed_for_their_descriptors():
    # labkit.scope.TENSOR_NAMES: every public torch.Tensor name the table puts out of scope (each
    # gets a raising descriptor; a Tensor.__getattr__ would slow all attribute access)
    names = {n for n in dir(torch.Tensor) if not n.startswith("_")
             and lk.scope.out_of_scope("Tensor." + n) is not None}
    assert names == set(lk.scope.TENSOR_NAMES)
    assert "__getattr__" not in vars(lk.Tensor)
