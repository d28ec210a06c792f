"""PyTorch's own teaching scripts run on labkit with only the import changed.

Each script below is the code of a PyTorch tutorial ("Learning PyTorch with Examples", "Automatic
differentiation with torch.autograd"), written against a module called ``torch``.  It runs once
with ``torch`` = labkit and once with the real PyTorch; the printed lines must agree (numbers to
float32 tolerance, names exactly).  Deterministic inputs replace the tutorials' random ones.
"""
import math
import re

import numpy as np
import pytest

import labkit

torch_real = pytest.importorskip("torch")


def polynomial_manual_grads(torch):
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float)
    y = torch.sin(x)
    a = torch.tensor(0.1, requires_grad=True)
    b = torch.tensor(0.2, requires_grad=True)
    c = torch.tensor(-0.1, requires_grad=True)
    d = torch.tensor(0.05, requires_grad=True)
    out = []
    for t in range(2000):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        if t % 500 == 99:
            out.append(f"{t} {loss.item():.4g}")
        loss.backward()
        with torch.no_grad():
            a -= 1e-6 * a.grad
            b -= 1e-6 * b.grad
            c -= 1e-6 * c.grad
            d -= 1e-6 * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    out.append(f"y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
    return out


def polynomial_nn_rmsprop(torch):
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -0.2, 0.05]]))
        model[0].bias.fill_(0.1)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    out = [type(loss_fn(model(xx), y).grad_fn).__name__]
    for t in range(500):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_layer = model[0]
    out.append(f"Result: y = {linear_layer.bias.item():.3f} + {linear_layer.weight[:, 0].item():.3f} x "
               f"+ {linear_layer.weight[:, 1].item():.3f} x^2 + {linear_layer.weight[:, 2].item():.3f} x^3")
    return out


def legendre_custom_function(torch):
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    a = torch.full((), 0.0, requires_grad=True)
    b = torch.full((), -1.0, requires_grad=True)
    c = torch.full((), 0.0, requires_grad=True)
    d = torch.full((), 0.3, requires_grad=True)
    P3 = LegendrePolynomial3.apply
    for t in range(2000):
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for v in (a, b, c, d):
                v -= 5e-6 * v.grad
                v.grad = None
    return [f"{loss.item():.4g}",
            f"y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)"]


def dynamic_net(torch):
    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(0.1))
            self.b = torch.nn.Parameter(torch.tensor(0.2))
            self.c = torch.nn.Parameter(torch.tensor(-0.1))
            self.d = torch.nn.Parameter(torch.tensor(0.05))
            self.e = torch.nn.Parameter(torch.tensor(0.01))

        def forward(self, x, t):
            y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
            for exp in range(4, 4 + t % 3):          # the tutorial draws 4, 5 or 6 at random
                y = y + self.e * x ** exp
            return y

    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    model = DynamicNet()
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    for t in range(300):
        loss = criterion(model(x, t), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [f"{loss.item():.4g}", " ".join(f"{p.item():.4f}" for p in model.parameters())]


def autograd_tutorial(torch):
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.tensor(np.linspace(-1, 1, 15).reshape(5, 3), dtype=torch.float32, requires_grad=True)
    b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    out = [f"Gradient function for z = {type(z.grad_fn).__name__}",
           f"Gradient function for loss = {type(loss.grad_fn).__name__}"]
    loss.backward()
    out += [str(w.grad.numpy().round(4).tolist()), str(b.grad.numpy().round(4).tolist())]
    z = torch.matmul(x, w) + b
    out.append(str(z.requires_grad))
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    out.append(str(z.requires_grad))
    out.append(str(z.detach().requires_grad))
    inp = torch.eye(4, 5, requires_grad=True)
    o = (inp + 1).pow(2).t()
    o.backward(torch.ones_like(o), retain_graph=True)
    out.append(str(inp.grad.numpy().tolist()))
    o.backward(torch.ones_like(o), retain_graph=True)
    out.append(str(inp.grad.numpy().tolist()))
    inp.grad.zero_()
    o.backward(torch.ones_like(o), retain_graph=True)
    out.append(str(inp.grad.numpy().tolist()))
    return out


SCRIPTS = [polynomial_manual_grads, polynomial_nn_rmsprop, legendre_custom_function, dynamic_net,
           autograd_tutorial]
_NUM = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.__name__ for s in SCRIPTS])
def test_tutorial_runs_the_same_on_labkit_and_pytorch(script):
    ours, theirs = script(labkit), script(torch_real)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert _NUM.sub("#", a) == _NUM.sub("#", b), (a, b)          # same words and names
        na, nb = [float(v) for v in _NUM.findall(a)], [float(v) for v in _NUM.findall(b)]
        assert np.all(np.isfinite(na)), a
        np.testing.assert_allclose(na, nb, rtol=2e-3, atol=2e-3, err_msg=f"{a!r} vs {b!r}")
