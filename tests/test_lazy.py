"""The lazy-module protocol (PyTorch's docs: torch.nn.modules.lazy.LazyModuleMixin,
UninitializedParameter, LazyLinear/LazyConv1d/LazyConv2d/LazyBatchNorm1d/2d), checked against
torch: shapes inferred on the first forward, the class switch, optimizers built before it,
state_dict / load_state_dict, and the errors."""
import copy

import numpy as np
import pytest

import labkit as lk
from labkit import nn

torch = pytest.importorskip("torch")


def test_lazy_linear_materializes_on_first_forward_and_becomes_linear():
    m = nn.LazyLinear(3)
    t = torch.nn.LazyLinear(3)
    assert repr(m) == repr(t) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert m.has_uninitialized_params() and isinstance(m.weight, nn.UninitializedParameter)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert repr(m.weight) == repr(t.weight) == "<UninitializedParameter>"
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        m.weight.shape
    with pytest.raises(ValueError, match="uninitialized parameter"):
        m.weight + 1
    w_obj = m.weight
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    y = m(lk.tensor(x))
    t(torch.tensor(x))
    assert type(m) is nn.Linear and type(t) is torch.nn.Linear
    assert repr(m) == repr(t) == "Linear(in_features=5, out_features=3, bias=True)"
    assert m.weight is w_obj and type(m.weight) is nn.Parameter     # materialized in place
    assert tuple(y.shape) == (4, 3) and not hasattr(m, "has_uninitialized_params")
    bound = 1 / np.sqrt(5)                                            # Linear's default init
    assert np.abs(m.weight.detach().numpy()).max() <= bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    m.load_state_dict({k: lk.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    np.testing.assert_allclose(m(lk.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_optimizer_built_before_first_forward_updates_materialized_params():
    for lib, nnm in ((lk, nn), (torch, torch.nn)):
        m = nnm.LazyLinear(2)
        opt = lib.optim.SGD(m.parameters(), lr=0.5)
        x = lib.ones(3, 4)
        m(x)
        with lib.no_grad():
            m.weight.fill_(0.25)
            m.bias.fill_(0.0)
        m(x).sum().backward()
        opt.step()
        # d(sum)/dW = 3 (rows) * x (ones) -> W = 0.25 - 0.5 * 3
        np.testing.assert_allclose(m.weight.detach().numpy(), np.full((2, 4), -1.25))
        np.testing.assert_allclose(m.bias.detach().numpy(), np.full(2, -1.5))


def test_state_dict_and_load_state_dict_follow_torch():
    m = nn.LazyLinear(3, bias=False)
    sd = m.state_dict()
    assert list(sd) == ["weight"] and isinstance(sd["weight"], nn.UninitializedParameter)
    # a lazy module loads a real checkpoint: materialized with its shapes
    t = torch.nn.Linear(6, 3, bias=False)
    m.load_state_dict({"weight": lk.tensor(t.weight.detach().numpy())})
    assert tuple(m.weight.shape) == (3, 6) and not m.has_uninitialized_params()
    np.testing.assert_array_equal(m.weight.detach().numpy(), t.weight.detach().numpy())
    # lazy into lazy: stays lazy; lazy into a built layer: PyTorch's RuntimeError
    m2 = nn.LazyLinear(3)
    m2.load_state_dict(nn.LazyLinear(3).state_dict())
    assert m2.has_uninitialized_params()
    with pytest.raises(RuntimeError, match="Can't access the shape"):
        nn.Linear(2, 3).load_state_dict(nn.LazyLinear(3).state_dict())
    # copy.deepcopy and .double() before the first forward
    m3 = copy.deepcopy(nn.LazyLinear(2)).double()
    assert isinstance(m3.weight, nn.UninitializedParameter) and m3.weight.dtype == lk.float64
    m3(lk.ones(1, 3, dtype=lk.float64))
    assert m3.weight.dtype == lk.float64 and tuple(m3.weight.shape) == (2, 3)


@pytest.mark.parametrize("name,shape,kw", [
    ("LazyConv1d", (2, 3, 9), dict(out_channels=4, kernel_size=3, padding=1)),
    ("LazyConv2d", (2, 4, 7, 7), dict(out_channels=6, kernel_size=3, stride=2, groups=2)),
    ("LazyConv2d", (4, 7, 7), dict(out_channels=2, kernel_size=3)),     # unbatched
    ("LazyBatchNorm1d", (5, 3), {}),
    ("LazyBatchNorm2d", (2, 3, 4, 4), dict(momentum=0.2)),
])
def test_lazy_conv_and_batchnorm_match_torch(name, shape, kw):
    m, t = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(m) == repr(t)
    assert list(m.state_dict()) == list(t.state_dict())
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    t(torch.tensor(x))
    m(lk.tensor(x))
    assert repr(m) == repr(t) and type(m).__name__ == type(t).__name__
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t.state_dict().items()}
    m.load_state_dict({k: lk.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    np.testing.assert_allclose(m(lk.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_lazy_layers_inside_a_model():
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    assert any(getattr(mod, "has_uninitialized_params", lambda: False)()
               for mod in model.modules())
    out = model(lk.randn(2, 1, 6, 6))
    assert tuple(out.shape) == (2, 2)
    assert [type(mod).__name__ for mod in model] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert model[3].in_features == 4 * 4 * 4
    assert sum(p.numel() for p in model.parameters()) == 4 * 9 + 4 + 64 * 2 + 2
