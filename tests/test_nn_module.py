"""nn.Module API semantics, compared with PyTorch where PyTorch defines the answer."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import labkit as lk
from labkit import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def make(lib_nn):
    base = tnn.Module if lib_nn is tnn else nn.Module

    class M(base):
        def __init__(self):
            super().__init__()
            self.conv = lib_nn.Conv2d(1, 2, 3)
            self.bn = lib_nn.BatchNorm2d(2)
            self.blocks = lib_nn.Sequential(lib_nn.Linear(8, 4), lib_nn.ReLU(),
                                            lib_nn.Linear(4, 3))
            self.heads = lib_nn.ModuleDict({"a": lib_nn.Linear(3, 1)})
            self.register_buffer("steps", (lk if lib_nn is nn else torch).zeros(1))
            self.register_buffer("tmp", (lk if lib_nn is nn else torch).zeros(2),
                                 persistent=False)
            self.plist = lib_nn.ParameterList([lib_nn.Parameter(
                (lk if lib_nn is nn else torch).ones(2))])
    return M()


def test_names_and_order_match_torch():
    a, b = make(nn), make(tnn)
    assert list(a.state_dict()) == list(b.state_dict())
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    assert [n for n, _ in a.named_buffers()] == [n for n, _ in b.named_buffers()]
    assert [n for n, _ in a.named_modules()] == [n for n, _ in b.named_modules()]
    assert [n for n, _ in a.named_children()] == [n for n, _ in b.named_children()]
    assert len(list(a.parameters(recurse=False))) == 0
    assert "tmp" not in a.state_dict() and "steps" in a.state_dict()


def test_repr_matches_torch():
    a, b = make(nn), make(tnn)
    ra = repr(a).replace("labkit", "torch")
    rb = repr(b)
    # PyTorch prints ParameterList entries with the torch type; compare the module structure
    strip = lambda r: [ln for ln in r.splitlines() if "Parameter containing" not in ln]  # noqa
    assert strip(ra)[1:] == strip(rb)[1:]
    for mod in [nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, groups=1, bias=False),
                nn.Linear(3, 4), nn.BatchNorm1d(5), nn.LayerNorm(4), nn.Dropout(0.2),
                nn.Embedding(10, 3, padding_idx=0), nn.MaxPool2d(2), nn.LSTM(3, 4, 2),
                nn.GELU(approximate="tanh"), nn.LeakyReLU(0.2), nn.Flatten(),
                nn.GroupNorm(2, 4), nn.ConvTranspose2d(2, 3, 3, stride=2)]:
        name = type(mod).__name__
        tmod = {"Conv2d": lambda: tnn.Conv2d(3, 8, (3, 5), stride=2, padding=1, bias=False),
                "Linear": lambda: tnn.Linear(3, 4), "BatchNorm1d": lambda: tnn.BatchNorm1d(5),
                "LayerNorm": lambda: tnn.LayerNorm(4), "Dropout": lambda: tnn.Dropout(0.2),
                "Embedding": lambda: tnn.Embedding(10, 3, padding_idx=0),
                "MaxPool2d": lambda: tnn.MaxPool2d(2), "LSTM": lambda: tnn.LSTM(3, 4, 2),
                "GELU": lambda: tnn.GELU(approximate="tanh"),
                "LeakyReLU": lambda: tnn.LeakyReLU(0.2), "Flatten": lambda: tnn.Flatten(),
                "GroupNorm": lambda: tnn.GroupNorm(2, 4),
                "ConvTranspose2d": lambda: tnn.ConvTranspose2d(2, 3, 3, stride=2)}[name]()
        assert repr(mod) == repr(tmod)


def test_module_list_repr_collapses_repeats():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    tl = tnn.ModuleList([tnn.Linear(2, 2) for _ in range(3)] + [tnn.ReLU()])
    assert repr(ml) == repr(tl)


def test_parameter():
    t = lk.ones(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, lk.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    p.data[0, 0] = 5.0
    assert t[0, 0].item() == 5.0                      # shares storage
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(lk.ones(1), requires_grad=False).requires_grad
    assert type(p * 2) is lk.Tensor
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.data_ptr() != p.data_ptr()
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and r.requires_grad


def test_attribute_routing_and_errors():
    m = nn.Linear(2, 3)
    with pytest.raises(TypeError, match=r"cannot assign 'labkit.FloatTensor' as parameter "
                                        r"'weight' \(labkit.nn.Parameter or None expected\)"):
        m.weight = lk.zeros(3, 2)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        m.foo
    m.extra = nn.Parameter(lk.zeros(1))
    assert "extra" in dict(m.named_parameters())
    m.extra = None
    assert m.extra is None and "extra" not in dict(m.named_parameters())
    m.sub = nn.ReLU()
    assert "sub" in dict(m.named_children())
    with pytest.raises(TypeError, match="as child module 'sub'"):
        m.sub = 3
    del m.sub
    assert "sub" not in dict(m.named_children())
    with pytest.raises(KeyError, match="attribute 'in_features' already exists"):
        m.register_buffer("in_features", lk.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor"):
        m.register_parameter("w2", _nonleaf_param())
    m.b = nn.Buffer(lk.ones(2))
    assert "b" in dict(m.named_buffers()) and type(m.b) is lk.Tensor
    assert "weight" in dir(m)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(lk.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def _nonleaf_param():
    p = nn.Parameter(lk.ones(1))
    q = nn.Parameter.__new__(nn.Parameter, lk.ones(1))
    q.grad_fn = (p * 2).grad_fn
    return q


def test_state_dict_roundtrip_and_errors():
    a, b = make(nn), make(nn)
    sd = a.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    assert sd["conv.weight"].data_ptr() == a.conv.weight.data_ptr()     # shares storage
    res = b.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    np.testing.assert_array_equal(b.conv.weight.detach().numpy(), a.conv.weight.detach().numpy())
    # torch state dict loads into labkit by key (values converted)
    t = make(tnn)
    b.load_state_dict({k: lk.tensor(v.numpy()) for k, v in t.state_dict().items()})
    np.testing.assert_array_equal(b.blocks[0].weight.detach().numpy(),
                                  t.blocks[0].weight.detach().numpy())

    bad = dict(sd)
    bad["blocks.0.weight"] = lk.zeros(5, 8)
    with pytest.raises(RuntimeError) as ei:
        b.load_state_dict(bad)
    msg = str(ei.value)
    assert msg.startswith("Error(s) in loading state_dict for M:")
    assert ("size mismatch for blocks.0.weight: copying a param with shape "
            "labkit.Size([5, 8]) from checkpoint, the shape in current model is "
            "labkit.Size([4, 8]).") in msg
    partial = dict(sd)
    del partial["bn.running_mean"]
    partial["extra.w"] = lk.zeros(1)
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "bn.running_mean"'
                                           '.*\n.*Unexpected key\\(s\\) in state_dict: '
                                           '"extra.w"'):
        b.load_state_dict(partial)
    res = b.load_state_dict(partial, strict=False)
    assert res.missing_keys == ["bn.running_mean"] and res.unexpected_keys == ["extra.w"]
    # torch agrees on which keys are missing/unexpected
    tr = make(tnn).load_state_dict({k: torch.tensor(v.numpy()) for k, v in partial.items()},
                                   strict=False)
    assert tr.missing_keys == res.missing_keys and tr.unexpected_keys == res.unexpected_keys


def test_train_eval_requires_grad_zero_grad_apply():
    m = make(nn)
    assert m.training and m.bn.training
    m.eval()
    assert not m.training and not m.bn.training and not m.blocks[1].training
    m.train()
    assert m.blocks[0].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train("yes")
    m.conv.requires_grad_(False)
    assert not m.conv.weight.requires_grad and m.bn.weight.requires_grad
    x = lk.randn(2, 8)
    m.blocks(x).sum().backward()
    assert m.blocks[0].weight.grad is not None and m.conv.weight.grad is None
    m.zero_grad(set_to_none=False)
    assert m.blocks[0].weight.grad is not None and m.blocks[0].weight.grad.abs().sum().item() == 0
    m.zero_grad()
    assert m.blocks[0].weight.grad is None
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "M" and seen[0] == "Conv2d"


def test_to_double_float():
    m = make(nn)
    m.double()
    assert m.conv.weight.dtype == lk.float64 and m.bn.running_mean.dtype == lk.float64
    assert m.bn.num_batches_tracked.dtype == lk.int64
    assert isinstance(m.conv.weight, nn.Parameter)
    out = m.blocks(lk.randn(2, 8, dtype=lk.float64))
    assert out.dtype == lk.float64
    m.to(lk.float32)
    assert m.conv.weight.dtype == lk.float32
    assert m.to("cpu") is m
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre"))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post"))
    x = lk.randn(3, 2)
    m(x)
    assert calls == ["pre", "post"]
    h1.remove()
    h2.remove()
    m(x)
    assert calls == ["pre", "post"]
    # hooks may replace args / output
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h = m.register_forward_hook(lambda mod, args, out: out + 1)
    np.testing.assert_allclose(m(x).detach().numpy(), (m.bias.detach().numpy() + 1)[None]
                               .repeat(3, 0), rtol=1e-6)
    h.remove()
    with m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(kwargs),
                                 with_kwargs=True):
        m(x)
    assert calls[-1] == {}


def test_global_forward_hook():
    from labkit.nn.modules.module import register_module_forward_hook
    names = []
    h = register_module_forward_hook(lambda mod, a, o: names.append(type(mod).__name__))
    try:
        nn.Sequential(nn.Linear(2, 2), nn.ReLU())(lk.randn(1, 2))
    finally:
        h.remove()
    assert names == ["Linear", "ReLU", "Sequential"]
    nn.ReLU()(lk.randn(2))
    assert len(names) == 3


def _backward_hook_record(lib, lib_nn, x_requires_grad):
    lin = lib_nn.Linear(3, 2)
    with (lk.no_grad() if lib is lk else torch.no_grad()):
        lin.weight.copy_(lib.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3)))
        lin.bias.fill_(0.5)
    rec = {}

    def hook(mod, gin, gout):
        rec["gin"] = [None if g is None else g.numpy().copy() for g in gin]
        rec["gout"] = [g.numpy().copy() for g in gout]

    def pre(mod, gout):
        rec["pre"] = [g.numpy().copy() for g in gout]
    lin.register_full_backward_hook(hook)
    lin.register_full_backward_pre_hook(pre)
    x = lib.tensor(np.array([[1.0, -1.0, 2.0]], dtype=np.float32), requires_grad=x_requires_grad)
    y = lin(x)
    (y * lib.tensor([[1.0, 3.0]])).sum().backward()
    return rec, lin.weight.grad.numpy()


@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_full_backward_hook_matches_torch(x_requires_grad):
    a, wa = _backward_hook_record(lk, nn, x_requires_grad)
    b, wb = _backward_hook_record(torch, tnn, x_requires_grad)
    assert len(a["gin"]) == len(b["gin"])
    for ga, gb in zip(a["gin"], b["gin"]):
        assert (ga is None) == (gb is None)
        if ga is not None:
            np.testing.assert_allclose(ga, gb)
    np.testing.assert_allclose(a["gout"][0], b["gout"][0])
    np.testing.assert_allclose(a["pre"][0], b["pre"][0])
    np.testing.assert_allclose(wa, wb)


def test_backward_hook_can_replace_grad_input_and_be_removed():
    lin = nn.Linear(2, 2)
    x = lk.randn(1, 2, requires_grad=True)
    h = lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    lin(x).sum().backward()
    assert x.grad.abs().sum().item() == 0
    h.remove()
    x.grad = None
    lin(x).sum().backward()
    assert x.grad.abs().sum().item() > 0


def test_sequential_api():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear)
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is s[1]
    s.append(nn.Sigmoid())
    assert len(s) == 4 and list(s._modules) == ["0", "1", "2", "3"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and isinstance(s[1], nn.Linear)
    s.insert(1, nn.Tanh())
    assert isinstance(s[1], nn.Tanh)
    assert [type(m).__name__ for m in s] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    with pytest.raises(IndexError, match="out of range"):
        s[10]
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(od.state_dict()) == ["fc.weight", "fc.bias"] and od.fc is od[0]
    out = s(lk.randn(4, 2))
    assert out.shape == (4, 1)


def test_module_list_dict_parameter_containers():
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml += [nn.Sigmoid()]
    assert len(ml) == 4 and isinstance(ml[-1], nn.Sigmoid)
    assert len(list(ml.parameters())) == 2
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    with pytest.raises(NotImplementedError):
        ml(lk.zeros(1))
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    assert md.pop("b") is not None and len(md) == 1
    pl = nn.ParameterList([lk.ones(2), nn.Parameter(lk.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(lk.ones(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"]
    pd = nn.ParameterDict({"w": lk.ones(2)})
    pd["b"] = nn.Parameter(lk.zeros(1))
    assert list(pd.keys()) == ["w", "b"] and isinstance(pd["w"], nn.Parameter)
    assert [n for n, _ in pd.named_parameters()] == ["w", "b"]
    holder = nn.Module()
    holder.pd = pd
    assert "pd.w" in holder.state_dict()


def test_shared_parameters_are_deduplicated():
    lin = nn.Linear(2, 2)
    s = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(s.parameters())) == 2
    assert len(list(s.named_modules())) == 3
    assert list(s.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_deepcopy_and_get_submodule():
    m = make(nn)
    c = copy.deepcopy(m)
    assert c.conv.weight.data_ptr() != m.conv.weight.data_ptr()
    np.testing.assert_array_equal(c.conv.weight.detach().numpy(), m.conv.weight.detach().numpy())
    assert m.get_submodule("blocks.0") is m.blocks[0]
    assert m.get_parameter("blocks.2.bias") is m.blocks[2].bias
    with pytest.raises(AttributeError):
        m.get_submodule("blocks.nope")


def test_missing_forward():
    class NoFwd(nn.Module):
        pass
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        NoFwd()(1)


def test_default_init_statistics_match_torch():
    lin = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w = lin.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.02 * bound
    conv = nn.Conv2d(16, 32, 3)
    b = 1 / np.sqrt(16 * 9)
    assert np.abs(conv.weight.detach().numpy()).max() <= b
    assert abs(conv.weight.detach().numpy().std() - b / np.sqrt(3)) < 0.05 * b
    emb = nn.Embedding(1000, 50)
    assert abs(emb.weight.detach().numpy().std() - 1.0) < 0.02


def test_every_layer_repr_and_parameter_count_match_torch():
    def build(M):
        n = M.nn
        return [n.Linear(3, 4), n.Conv2d(3, 8, 3, stride=2, padding=1), n.Conv1d(2, 4, 5),
                n.ConvTranspose2d(4, 2, 2, stride=2), n.MaxPool2d(2), n.AvgPool2d(3, stride=1),
                n.AdaptiveAvgPool2d(1), n.BatchNorm2d(8), n.BatchNorm1d(4), n.LayerNorm(5),
                n.GroupNorm(2, 4), n.Dropout(0.3), n.Dropout2d(), n.Embedding(10, 4, padding_idx=0),
                n.ReLU(), n.LeakyReLU(0.2), n.GELU(), n.Softmax(dim=-1), n.Flatten(),
                n.Unflatten(1, (2, 3)), n.LSTM(4, 8, num_layers=2, batch_first=True), n.GRU(4, 8),
                n.RNN(4, 8), n.MultiheadAttention(8, 2),
                n.TransformerEncoderLayer(8, 2, dim_feedforward=16), n.Identity(),
                n.Bilinear(2, 3, 4), n.Tanh(), n.Sigmoid(), n.CrossEntropyLoss(label_smoothing=0.1),
                n.MSELoss(), n.BCEWithLogitsLoss(), n.Hardtanh(), n.ELU(), n.SiLU(), n.Mish(),
                n.Softplus(), n.LogSoftmax(dim=1), n.InstanceNorm2d(3),
                n.InstanceNorm2d(3, affine=True)]
    for a, b in zip(build(lk), build(torch)):
        assert repr(a) == repr(b)
        assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in b.parameters())
