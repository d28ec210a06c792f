#!/usr/bin/env python
"""Build the workshop notebooks in notebooks/ from the cell sources below (outputs stripped).

Edit the cells here, then run ``.venv/bin/python scripts/build_notebooks.py``; tests/test_notebooks.py
checks that notebooks/ matches this file and executes every notebook headless.
"""
import pathlib
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks"

M, C = "md", "code"

NOTEBOOKS = {}


def notebook(name, *cells):
    NOTEBOOKS[name] = cells


# ------------------------------------------------------------------------------------------ 00
notebook(
    "00_start_here",
    (M, """# 00 · Start here

Welcome to **labkit**, a lab for learning how neural networks work by *looking* at them.
This notebook checks that everything is in place:

1. the versions of the libraries,
2. that widgets render in this front-end (JupyterLab, Notebook 7 or VS Code),
3. the one-time warm-up that compiles labkit's kernels, so later lessons never wait."""),
    (C, """import sys, platform
import numpy, numba
import labkit as lk
print(f"Python {sys.version.split()[0]} on {platform.machine()}")
print(f"labkit {lk.__version__} · numpy {numpy.__version__} · numba {numba.__version__}")"""),
    (M, """## Warm-up

labkit's fast kernels are compiled by Numba the first time they run and cached on disk.
`lk.warmup()` does it for all of them now (a few seconds the very first time, instant after)."""),
    (C, """lk.warmup()"""),
    (M, """## Do widgets render here?

Run the next cell. You should see a small chart with a curve growing for a second.
If you see only text like `Monitor(...)`, widgets are not enabled in this front-end:
in VS Code install the *Jupyter* extension; in JupyterLab make sure `ipywidgets` is installed
in the same environment as the kernel."""),
    (C, """import math, time
mon = lk.viz.Monitor(title="widget check")
mon"""),
    (C, """for step in range(30):
    mon.log(wave=math.sin(step / 4), decay=math.exp(-step / 10))
    time.sleep(0.02)
mon.close_run() if hasattr(mon, "close_run") else None
print("logged", len(mon.history["wave"]), "points")"""),
    (M, """## Using labkit like PyTorch

labkit speaks PyTorch: most scripts run with `import labkit as torch`.
Here is the classic first autograd example:"""),
    (C, """import labkit as torch
x = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
y = (x.tanh() @ x.T).softmax(dim=-1)[0, 1] * 3
y.backward()
x.grad"""),
    (M, """All set. Next: **01 · tensors and broadcasting**."""),
)

# ------------------------------------------------------------------------------------------ 01
notebook(
    "01_tensors",
    (M, """# 01 · Tensors and broadcasting

A *tensor* is an n-dimensional array of numbers with a `shape` and a `dtype`. Everything a
network computes is tensors in, tensors out."""),
    (C, """import labkit as lk
a = lk.tensor([[1., 2., 3.], [4., 5., 6.]])
print(a.shape, a.dtype, a.ndim, a.numel())
a"""),
    (M, """## Creating tensors"""),
    (C, """lk.manual_seed(0)
print(lk.zeros(2, 3))
print(lk.arange(6).reshape(2, 3))
print(lk.linspace(0, 1, 5))
print(lk.randn(2, 2))
print(lk.eye(3, dtype=lk.int64))"""),
    (M, """## dtypes and promotion

Python numbers don't widen a tensor: `int64 tensor * 2.5` is `float32` (PyTorch's rule, not
NumPy's)."""),
    (C, """i = lk.tensor([1, 2, 3])
print(i.dtype, (i * 2).dtype, (i * 2.5).dtype, (i / 2).dtype, (i > 1).dtype)"""),
    (M, """## Broadcasting

When shapes differ, dimensions of size 1 (or missing on the left) are *stretched* to match.
`(3, 1) + (1, 4) → (3, 4)`. This is how a bias vector is added to every row of a batch."""),
    (C, """col = lk.tensor([[0.], [10.], [20.]])      # (3, 1)
row = lk.tensor([[1., 2., 3., 4.]])          # (1, 4)
col + row"""),
    (C, """batch = lk.randn(4, 3)
bias = lk.tensor([100., 200., 300.])
(batch + bias).shape"""),
    (M, """Shapes that cannot broadcast give an error that names them:"""),
    (C, """try:
    lk.ones(3, 4) + lk.ones(3, 5)
except RuntimeError as e:
    print("RuntimeError:", e)"""),
    (M, """## Indexing, views and copies

Slicing returns a **view**: it shares memory with the original. `clone()` makes a copy."""),
    (C, """x = lk.arange(12.).reshape(3, 4)
v = x[:, 1]          # a view of column 1
v[0] = -1
print(x)
print(x[x > 5])      # boolean mask: a copy
print(x[[0, 2]])     # integer list: a copy"""),
    (C, """t = x.T
print(t.shape, t.is_contiguous())
print(t.contiguous().is_contiguous())"""),
    (M, """## Reductions and matrix products"""),
    (C, """m = lk.arange(6.).reshape(2, 3)
print(m.sum(), m.sum(dim=0), m.mean(dim=1, keepdim=True))
print(m.max(dim=1))
print(m @ m.T)"""),
    (M, """## To and from NumPy

`tensor.numpy()` and `lk.from_numpy(array)` share memory, so conversion is free."""),
    (C, """import numpy as np
arr = np.ones(3, dtype=np.float32)
t = lk.from_numpy(arr)
arr[0] = 7
t"""),
    (M, """Next: **02 · autograd by hand** — where the gradients come from."""),
)

# ------------------------------------------------------------------------------------------ 02
notebook(
    "02_autograd",
    (M, """# 02 · Autograd by hand

Every operation on tensors that require gradients is recorded in a *graph*. `backward()` walks it
from the output back to the inputs, applying the **chain rule** at each node."""),
    (C, """import labkit as lk
from labkit import exercises as ex
%load_ext labkit"""),
    (M, """## A scalar expression"""),
    (C, """a = lk.tensor(2.0, requires_grad=True)
b = lk.tensor(-3.0, requires_grad=True)
c = lk.tensor(10.0, requires_grad=True)
e = a * b
d = e + c
f = lk.tensor(-2.0, requires_grad=True)
L = d * f
L"""),
    (M, """Each result remembers the operation that made it (`grad_fn`), and its inputs
(`next_functions`):"""),
    (C, """print(L.grad_fn, L.grad_fn.next_functions)"""),
    (M, """## See the graph

Click a node to see its value, its gradient and the line of code that created it."""),
    (C, """lk.viz.graph(L, params={"a": a, "b": b, "c": c, "f": f})"""),
    (M, """## Step through forward and backward

`lk.viz.step` runs your computation once, records every op, then lets you replay it:
the forward pass op by op, then the backward pass with the gradient arriving at each node and
the local derivative rule that turns it into the gradients of the inputs."""),
    (C, """def compute():
    e = a * b
    d = e + c
    return d * f

lk.viz.step(compute, params={"a": a, "b": b, "c": c, "f": f})"""),
    (C, """L = compute()
L.backward()
print(f"dL/da = {a.grad.item()}, dL/db = {b.grad.item()}, dL/dc = {c.grad.item()}, dL/df = {f.grad.item()}")"""),
    (M, """By the chain rule: `dL/dd = f = -2`, `dL/de = dL/dd · 1 = -2`, `dL/da = dL/de · b = 6`.

## Exercise: the backward rule of multiplication

Write the gradients of `z = x * y` given the incoming gradient `grad_z` (NumPy arrays)."""),
    (C, """def mul_backward(x, y, grad_z):
    grad_x = grad_z * y      # <- try changing this and see what the check says
    grad_y = grad_z * x
    return grad_x, grad_y

ex.check("mul_backward", mul_backward)"""),
    (C, """import numpy as np

def tanh_backward(x, grad_y):
    raise NotImplementedError   # your turn: d tanh(x)/dx = 1 - tanh(x)**2

ex.check("tanh_backward", tanh_backward)"""),
    (M, """## Gradient checking

`gradcheck` compares the gradients from `backward()` with finite differences
`(f(x+ε) - f(x-ε)) / 2ε` in float64: the way to test any backward rule."""),
    (C, """x = lk.randn(3, dtype=lk.float64, requires_grad=True)
lk.autograd.gradcheck(lambda x: (x.tanh() * x).sum(), (x,))"""),
    (M, """## Gradients accumulate

`backward()` *adds* into `.grad`. Running it twice without zeroing doubles the gradient — the
classic notebook bug. With `%load_ext labkit`, re-running a cell that does this warns you."""),
    (C, """w = lk.ones(3, requires_grad=True)
for _ in range(2):
    (w * 3).sum().backward()
print(w.grad)      # 6, not 3
w.grad = None      # what optimizer.zero_grad() does"""),
    (M, """## Gradients of gradients

With `create_graph=True` the gradient is itself a tensor on a graph, so you can differentiate it
again: the curvature of `tanh`, a Hessian-vector product, a gradient penalty."""),
    (C, """x = lk.linspace(-3, 3, 7, requires_grad=True)
(dy,) = lk.autograd.grad(x.tanh().sum(), x, create_graph=True)    # 1 - tanh²
(d2y,) = lk.autograd.grad(dy.sum(), x)                            # -2 tanh (1 - tanh²)
print(dy.detach(), d2y, sep="\\n")"""),
    (M, """Next: **03 · your own op**."""),
)

# ------------------------------------------------------------------------------------------ 03
notebook(
    "03_your_own_op",
    (M, """# 03 · Your own op

An op in labkit is a forward computation plus its backward rule. Here you write one from
scratch: a fast Numba kernel for the forward pass, wrapped in an `autograd.Function` with its
gradient, checked with `gradcheck`, and seen in the graph.

Our op: **softplus**, `log(1 + exp(x))`, a smooth ReLU. Its derivative is `sigmoid(x)`."""),
    (C, """import numpy as np
import numba
import labkit as lk
from labkit import exercises as ex"""),
    (M, """## 1. The kernel

A plain loop, compiled by Numba. `cache=True` stores the compiled code on disk, so the next
session starts instantly. The two branches keep `exp` from overflowing for large `|x|`."""),
    (C, """@numba.njit(cache=True)
def softplus_kernel(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = v + np.log1p(np.exp(-v)) if v > 0 else np.log1p(np.exp(v))

x = np.linspace(-5, 5, 7).astype(np.float32)
out = np.empty_like(x)
softplus_kernel(x, out)
out"""),
    (M, """## 2. The Function: forward and backward side by side"""),
    (C, """class Softplus(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        arr = np.ascontiguousarray(x.detach().numpy()).reshape(-1)
        out = np.empty_like(arr)
        softplus_kernel(arr, out)
        return lk.from_numpy(out.reshape(x.shape))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()          # d softplus / dx = sigmoid(x)

softplus = Softplus.apply
t = lk.linspace(-3, 3, 5, requires_grad=True)
y = softplus(t)
y.sum().backward()
print(y, t.grad, sep="\\n")"""),
    (M, """## 3. Check the gradient numerically"""),
    (C, """x64 = lk.randn(6, dtype=lk.float64, requires_grad=True)
lk.autograd.gradcheck(softplus, (x64,))"""),
    (M, """## 4. See it in the graph

The node is named after your Function: `SoftplusBackward`."""),
    (C, """w = lk.randn(4, requires_grad=True)
loss = (softplus(w) * 2).mean()
lk.viz.graph(loss, params={"w": w})"""),
    (M, """## 5. Gradcheck every op in a model, on the graph

`gradcheck=True` re-runs each op of the computation in float64 and compares its backward rule
with finite differences: green agrees, amber sits on a kink (ReLU at 0, tied maxima), red is
wrong. Here a Function forgets the factor 2 of `d(x²)/dx`: only its node turns red."""),
    (C, """class BuggySquare(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return x * grad                    # bug: d(x^2)/dx is 2x

layer = lk.nn.Linear(3, 4)
xb = lk.randn(8, 3)
lk.viz.graph(lambda: BuggySquare.apply(softplus(layer(xb))).mean(), params=layer, gradcheck=True)"""),
    (M, """## Exercise: `x ** 2` as a Function

Fill in `forward` and `backward`. The check compares values and gradients and runs gradcheck."""),
    (C, """class Square(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad

ex.check("square_function", Square)"""),
    (M, """Next: **04 · the training loop**."""),
)

# ------------------------------------------------------------------------------------------ 04
notebook(
    "04_training_loop",
    (M, """# 04 · The training loop

Every model is trained by the same five lines: forward, loss, zero the gradients, backward,
step. We start with the simplest model there is — a line — and watch it learn with the
**Monitor**, which draws the curves live while the cell runs."""),
    (C, """import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader, TensorDataset
from labkit import exercises as ex
lk.manual_seed(0)"""),
    (M, """## Linear regression

Data: `y = 3x + 2` plus noise. The model: `nn.Linear(1, 1)`, i.e. `y = w·x + b`."""),
    (C, """X = lk.rand(256, 1) * 4 - 2
y = 3 * X + 2 + 0.3 * lk.randn(256, 1)
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)

model = nn.Linear(1, 1)
opt = lk.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.MSELoss()
mon = lk.viz.Monitor("linear regression")
mon"""),
    (C, """for xb, yb in mon.track(loader, epochs=20):
    loss = loss_fn(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    mon.log(loss=loss.item())
print(f"w = {model.weight.item():.3f}, b = {model.bias.item():.3f}   (true: 3, 2)")"""),
    (M, """## Exercise: one SGD step by hand

`opt.step()` does `p -= lr * p.grad` for every parameter, without recording it in the graph."""),
    (C, """def sgd_step(params, lr):
    with lk.no_grad():
        for p in params:
            p -= lr * p.grad

ex.check("sgd_step", sgd_step)"""),
    (M, """## Logistic regression

Two classes, a linear decision boundary, a sigmoid for probabilities and binary
cross-entropy as the loss. We log the accuracy as well as the loss."""),
    (C, """data = lk.datasets.blobs(n_samples=400, centers=2, cluster_std=1.5, seed=1)
loader = DataLoader(data, batch_size=64, shuffle=True)
clf = nn.Linear(2, 1)
opt = lk.optim.SGD(clf.parameters(), lr=0.05)
loss_fn = nn.BCEWithLogitsLoss()
mon2 = lk.viz.Monitor("logistic regression")
mon2"""),
    (C, """for xb, yb in mon2.track(loader, epochs=15):
    logits = clf(xb).squeeze(1)
    loss = loss_fn(logits, yb.float())
    opt.zero_grad(); loss.backward(); opt.step()
    acc = ((logits > 0).long() == yb).float().mean()
    mon2.log(loss=loss.item(), acc=acc.item())
with lk.no_grad():
    full_acc = ((clf(data.X).squeeze(1) > 0).long() == data.y).float().mean().item()
print(f"accuracy on all points: {full_acc:.1%}")"""),
    (M, """Next: **05 · MLP playground** — non-linear boundaries."""),
)

# ------------------------------------------------------------------------------------------ 05
notebook(
    "05_mlp_playground",
    (M, """# 05 · MLP playground

A linear model can only draw straight boundaries. Stack linear layers with a non-linearity in
between and the network can bend space. Watch the decision boundary form, live, on the
two-spirals problem; the small squares show what each first-layer neuron responds to."""),
    (C, """import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
from labkit import exercises as ex
lk.manual_seed(0)
data = lk.datasets.spirals(n_samples=300, n_classes=2, noise=0.15, seed=0)
data"""),
    (C, """def make_mlp(act=nn.Tanh):
    return nn.Sequential(nn.Linear(2, 32), act(), nn.Linear(32, 32), act(), nn.Linear(32, 2))

model = make_mlp()
view = lk.viz.boundary(model, data.X, data.y)
view"""),
    (C, """opt = lk.optim.Adam(model.parameters(), lr=0.02)
loader = DataLoader(data, batch_size=64, shuffle=True)
for epoch in range(60):
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()
    if epoch % 5 == 0:
        view.update()
view.update()
with lk.no_grad():
    acc = (model(data.X).argmax(1) == data.y).float().mean().item()
print(f"train accuracy {acc:.1%}")"""),
    (M, """## Activations compared

Same network, same data, same seed — only the non-linearity changes."""),
    (C, """mon = lk.viz.Monitor("activation comparison", log_y=True)
mon"""),
    (C, """for name, act in [("tanh", nn.Tanh), ("relu", nn.ReLU), ("gelu", nn.GELU), ("sigmoid", nn.Sigmoid)]:
    lk.manual_seed(0)
    m = make_mlp(act)
    opt = lk.optim.Adam(m.parameters(), lr=0.02)
    mon.new_run(name)
    for epoch in range(25):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(m(xb), yb)
            opt.zero_grad(); loss.backward(); opt.step()
            mon.log(loss=loss.item())
print({k: round(v[-1], 4) for k, v in mon.history.items()} if isinstance(mon.history, dict) else "")"""),
    (M, """## Exercises: a linear layer and softmax by hand"""),
    (C, """def linear(x, W, b):
    return x @ W.T + b

ex.check("linear", linear)"""),
    (C, """def softmax(x):
    e = (x - x.max(dim=-1, keepdim=True).values).exp()
    return e / e.sum(dim=-1, keepdim=True)

ex.check("softmax", softmax)"""),
    (M, """Next: **06 · gradients** — why deep networks used to be hard to train."""),
)

# ------------------------------------------------------------------------------------------ 06
notebook(
    "06_gradients",
    (M, """# 06 · Vanishing and exploding gradients

In a deep stack of sigmoid layers, every layer multiplies the gradient by a derivative of at
most 0.25, so the first layers receive almost nothing. ReLU keeps gradients alive; residual
connections plus normalisation keep them healthy at any depth. The **gradient inspector**
(`lk.viz.watch`) shows each layer's gradient norm live, and flags the problem layers."""),
    (C, """import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
lk.manual_seed(0)
data = lk.datasets.moons(n_samples=512, noise=0.2, seed=0)
loader = DataLoader(data, batch_size=64, shuffle=True)

def deep(act, depth=12, width=32):
    layers = [nn.Linear(2, width), act()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), act()]
    return nn.Sequential(*layers, nn.Linear(width, 2))

class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, width)
    def forward(self, x):
        return x + self.fc(self.norm(x).relu())

def residual(depth=12, width=32):
    return nn.Sequential(nn.Linear(2, width), *[Block(width) for _ in range(depth - 2)], nn.Linear(width, 2))"""),
    (C, """def train(model, epochs=6, lr=0.05):
    opt = lk.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad(); loss.backward(); opt.step()
    return loss.item()"""),
    (M, """## A deep sigmoid network"""),
    (C, """sig = deep(nn.Sigmoid)
w_sig = lk.viz.watch(sig)
w_sig"""),
    (C, """print("final loss", train(sig))"""),
    (M, """## The same depth with ReLU"""),
    (C, """relu = deep(nn.ReLU)
w_relu = lk.viz.watch(relu)
w_relu"""),
    (C, """print("final loss", train(relu))"""),
    (M, """## Residual blocks with LayerNorm"""),
    (C, """res = residual()
w_res = lk.viz.watch(res)
w_res"""),
    (C, """print("final loss", train(res))"""),
    (M, """Compare the first layer's gradient norm in the three inspectors: orders of magnitude apart.
Next: **07 · optimizers**."""),
)

# ------------------------------------------------------------------------------------------ 07
notebook(
    "07_optimizers",
    (M, """# 07 · Optimizers

Same model, same data, different update rules. The Monitor overlays the runs so the
differences are plain to see. Then: how to pick a learning rate, and schedules."""),
    (C, """import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
from labkit import exercises as ex
data = lk.datasets.moons(n_samples=512, noise=0.2, seed=0)
loader = DataLoader(data, batch_size=32, shuffle=True, generator=lk.Generator().manual_seed(0))

def make_model():
    lk.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))

mon = lk.viz.Monitor("optimizers on moons", log_y=True, smoothing=0.6)
mon"""),
    (C, """optimizers = {
    "SGD":          lambda p: lk.optim.SGD(p, lr=0.05),
    "SGD+momentum": lambda p: lk.optim.SGD(p, lr=0.05, momentum=0.9),
    "Adam":         lambda p: lk.optim.Adam(p, lr=0.005),
}
for name, make_opt in optimizers.items():
    model = make_model()
    opt = make_opt(model.parameters())
    mon.new_run(name)
    for xb, yb in mon.track(loader, epochs=8):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()
        mon.log(loss=loss.item())"""),
    (M, """## Exercise: momentum

Momentum keeps a running velocity `v = μ·v + g` and steps along it."""),
    (C, """def momentum_step(p, v, lr, mu):
    with lk.no_grad():
        v = mu * v + p.grad
        p -= lr * v
    return v

ex.check("momentum_step", momentum_step)"""),
    (M, """## Finding a learning rate

The LR range test raises the learning rate exponentially over a few dozen steps and records
the loss; a good learning rate sits where the loss falls fastest. The model is restored after."""),
    (C, """model = make_model()
opt = lk.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
result = lk.viz.lr_find(model, nn.functional.cross_entropy, loader, optimizer=opt,
                        start_lr=1e-4, end_lr=10, num_iter=60)
print("suggested lr:", f"{result.suggestion:.3g}" if result.suggestion else "none (the loss never fell)")"""),
    (M, """## A schedule: one-cycle

Warm up, then anneal: often the fastest way to a good model."""),
    (C, """model = make_model()
opt = lk.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sched = lk.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=8 * len(loader))
mon_s = lk.viz.Monitor("one-cycle")
mon_s"""),
    (C, """for xb, yb in mon_s.track(loader, epochs=8):
    loss = nn.functional.cross_entropy(model(xb), yb)
    opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    mon_s.log(loss=loss.item(), lr=sched.get_last_lr()[0])"""),
    (M, """Next: **08 · a CNN on handwritten digits**."""),
)

# ------------------------------------------------------------------------------------------ 08
notebook(
    "08_cnn_digits",
    (M, """# 08 · A CNN on handwritten digits

1,797 real 8×8 handwritten digits (the UCI dataset, shipped with labkit). A small
convolutional network reaches about 98% test accuracy in a few seconds."""),
    (C, """import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
from labkit import exercises as ex
import matplotlib.pyplot as plt
lk.manual_seed(0)
train, test = lk.datasets.digits(split=0.8, seed=0)
print(len(train), "train /", len(test), "test images")
fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for ax, i in zip(axes, range(8)):
    x, y = train[i]
    ax.imshow(x[0].numpy(), cmap="gray_r"); ax.set_title(int(y)); ax.axis("off")"""),
    (M, """Pixels are in [0, 1]. Standardising them with the training set's mean and standard deviation
makes training faster and more reliable (a single number each; the test set uses the same)."""),
    (C, """from labkit.utils.data import TensorDataset
X_train, y_train = train[:]
mean, std = X_train.mean(), X_train.std()
X_test, y_test = test[:]
train = TensorDataset((X_train - mean) / std, y_train)
test = TensorDataset((X_test - mean) / std, y_test)
print(f"mean {mean:.3f}, std {std:.3f}")"""),
    (C, """model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
    nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
opt = lk.optim.AdamW(model.parameters(), lr=3e-3)
loader = DataLoader(train, batch_size=64, shuffle=True)
mon = lk.viz.Monitor("digits CNN")
mon"""),
    (C, """def accuracy(ds):
    X, Y = ds[:]
    with lk.no_grad():
        return (model(X).argmax(1) == Y).float().mean().item()

for epoch in range(12):
    model.train()
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()
        mon.log(loss=loss.item())
    model.eval()
    mon.log(val_acc=accuracy(test))
print(f"test accuracy {accuracy(test):.1%}")"""),
    (M, """## What the filters see

The 16 feature maps of the first convolution for one test image."""),
    (C, """X, Y = test[:]
with lk.no_grad():
    maps = model[1](model[0](X[:1]))[0]
fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
for k, ax in enumerate(axes.flat):
    ax.imshow(maps[k].numpy(), cmap="viridis"); ax.axis("off")"""),
    (M, """## Confusion matrix and mistakes"""),
    (C, """with lk.no_grad():
    pred = model(X).argmax(1)
conf = lk.zeros(10, 10, dtype=lk.int64)
conf.index_put_((Y, pred), lk.ones(len(Y), dtype=lk.int64), accumulate=True)
print(conf)
wrong = (pred != Y).nonzero().flatten()[:8]
fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(8, 1.4), squeeze=False)
for ax, i in zip(axes[0], wrong.tolist()):
    ax.imshow(X[i, 0].numpy(), cmap="gray_r"); ax.set_title(f"{int(Y[i])}→{int(pred[i])}"); ax.axis("off")"""),
    (M, """## Exercise: the output size of a convolution"""),
    (C, """def conv_output_size(size, kernel_size, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1

ex.check("conv_output_size", conv_output_size)"""),
    (M, """Next: **09 · a tiny character transformer**."""),
)

# ------------------------------------------------------------------------------------------ 09
notebook(
    "09_char_transformer",
    (M, """# 09 · A tiny character transformer

A language model predicts the next character from the ones before. Ours reads Python's own
documentation (assembled from the standard library, offline), uses one transformer layer
with causal self-attention, and learns enough in under a minute to produce word-like text."""),
    (C, """import math
import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
from labkit import exercises as ex
import matplotlib.pyplot as plt
lk.manual_seed(0)
text = lk.datasets.text_corpus(max_chars=60_000)
ds = lk.datasets.CharDataset(text, block_size=32)
print(len(text), "characters,", ds.vocab_size, "distinct")"""),
    (C, """class TinyGPT(nn.Module):
    def __init__(self, vocab, d=64, heads=2, block=32):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0,
                                                batch_first=True, norm_first=True)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(block)
                             if hasattr(nn, "Transformer") else
                             lk.triu(lk.full((block, block), float("-inf")), 1))

    def forward(self, idx):
        T = idx.shape[1]
        h = self.tok(idx) + self.pos(lk.arange(T))
        h = self.layer(h, src_mask=self.mask[:T, :T], is_causal=True)
        return self.head(h)

model = TinyGPT(ds.vocab_size)
opt = lk.optim.AdamW(model.parameters(), lr=3e-3)
loader = DataLoader(ds, batch_size=32, shuffle=True)
mon = lk.viz.Monitor("char transformer")
mon"""),
    (C, """steps = 300
for step, (xb, yb) in enumerate(mon.track(loader, epochs=1, total=steps)):
    logits = model(xb)
    loss = nn.functional.cross_entropy(logits.reshape(-1, ds.vocab_size), yb.reshape(-1))
    opt.zero_grad(); loss.backward(); opt.step()
    mon.log(loss=loss.item())
    if step + 1 == steps:
        break
print(f"loss {mon.history['loss'][0]:.2f} -> {mon.history['loss'][-1]:.2f}  (uniform guessing: {math.log(ds.vocab_size):.2f})")"""),
    (M, """## Sampling"""),
    (C, """@lk.no_grad()
def sample(prompt, n=200, temperature=0.8):
    model.eval()
    idx = ds.encode(prompt).reshape(1, -1) if hasattr(ds.encode(prompt), "reshape") else lk.tensor([ds.encode(prompt)])
    for _ in range(n):
        logits = model(idx[:, -32:])[:, -1] / temperature
        nxt = lk.multinomial(logits.softmax(-1), 1)
        idx = lk.cat([idx, nxt], dim=1)
    model.train()
    return ds.decode(idx[0])

print(sample("Return the "))"""),
    (M, """## Attention maps

Which earlier characters does each position look at? Row = query position, column = key;
the upper triangle is empty because of the causal mask."""),
    (C, """x, _ = ds[1000]
with lk.no_grad():
    h = model.layer.norm1(model.tok(x[None]) + model.pos(lk.arange(32)))
    _, att = model.layer.self_attn(h, h, h, attn_mask=model.mask, need_weights=True,
                                   average_attn_weights=False)
chars = list(ds.decode(x))
fig, axes = plt.subplots(1, att.shape[1], figsize=(9, 4.5))
for hd, ax in enumerate(axes):
    ax.imshow(att[0, hd].numpy(), cmap="Blues")
    ax.set_xticks(range(32)); ax.set_xticklabels(chars, fontsize=6)
    ax.set_yticks(range(32)); ax.set_yticklabels(chars, fontsize=6)
    ax.set_title(f"head {hd}")"""),
    (M, """## Exercise: scaled dot-product attention"""),
    (C, """def attention(q, k, v, causal):
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if causal:
        T = q.shape[-2]
        att = att.masked_fill(lk.triu(lk.ones(T, T, dtype=lk.bool), 1), float("-inf"))
    return att.softmax(dim=-1) @ v

ex.check("attention", attention)"""),
    (M, """Next: **10 · from labkit to PyTorch**."""),
)

# ------------------------------------------------------------------------------------------ 10
notebook(
    "10_to_pytorch",
    (M, """# 10 · From labkit to PyTorch

Everything you wrote in this workshop is PyTorch code: labkit follows PyTorch's names,
signatures and module paths. Change one import and it runs on PyTorch — on GPUs and across
many machines. This notebook shows the same training code on both, moves a trained model across
with its weights, and shows how a model that outgrows one machine continues with PyTorch's
distributed stack."""),
    (C, """import importlib.util
HAVE_TORCH = importlib.util.find_spec("torch") is not None
print("PyTorch installed:", HAVE_TORCH)"""),
    (M, """## The same code, two libraries"""),
    (C, """def train_moons(torch, steps=200):
    nn = torch.nn
    torch.manual_seed(0)
    X = torch.randn(256, 2)
    y = (X[:, 0] * X[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(X), y)
        opt.zero_grad(); loss.backward(); opt.step()
    return model, loss.item()

import labkit
lk_model, lk_loss = train_moons(labkit)
print("labkit  final loss:", round(lk_loss, 4))
if HAVE_TORCH:
    import torch
    t_model, t_loss = train_moons(torch)
    print("PyTorch final loss:", round(t_loss, 4))"""),
    (M, """## Moving a model across

`labkit.interop.to_torch` builds the equivalent `torch.nn` module with the same weights;
`from_torch` goes back. Outputs agree to float32 precision."""),
    (C, """if HAVE_TORCH:
    from labkit.interop import to_torch, from_torch
    tm = to_torch(lk_model)
    X = labkit.randn(5, 2)
    print(tm)
    diff = (tm(torch.from_numpy(X.numpy())).detach().numpy() - lk_model(X).detach().numpy())
    print("max difference:", abs(diff).max())
    back = from_torch(tm)
    print("round trip equal:", bool((back(X) == lk_model(X)).all()))"""),
    (M, """## Beyond one machine: DistributedDataParallel

Data parallelism runs one copy of the model per process; each sees a different shard of every
batch, and gradients are averaged across processes after `backward()`, so all copies stay
identical. On CPUs the `gloo` backend does the communication. The script below trains an
exported labkit model in **2 processes** on this machine; on a cluster the same script runs
with `torchrun --nnodes=... --nproc-per-node=...`."""),
    (C, """script = r'''
import os, sys, torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
import labkit
from labkit.interop import to_torch

def main(rank, world, port):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    labkit.manual_seed(0)   # same initial weights on every rank
    model = to_torch(labkit.nn.Sequential(labkit.nn.Linear(2, 16), labkit.nn.ReLU(), labkit.nn.Linear(16, 2)))
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(rank)          # each rank: its own data shard
    for step in range(5):
        X = torch.randn(64, 2, generator=g); y = (X[:, 0] > 0).long()
        loss = torch.nn.functional.cross_entropy(ddp(X), y)
        opt.zero_grad(); loss.backward(); opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    if rank == 0:
        print("replicas identical:", all(torch.equal(gathered[0], t) for t in gathered[1:]))
    dist.destroy_process_group()

if __name__ == "__main__":
    import torch.multiprocessing as mp, socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    mp.spawn(main, args=(2, port), nprocs=2)
'''
import pathlib, subprocess, sys, tempfile
if HAVE_TORCH:
    path = pathlib.Path(tempfile.mkdtemp()) / "ddp_demo.py"
    path.write_text(script)
    r = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    print(r.stdout or r.stderr[-2000:])"""),
    (M, """That's the path: from a tensor, through autograd, layers and optimizers, to transformers —
and on to PyTorch when your models grow. Happy hacking!"""),
)


def build(out_dir=OUT):
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        for i, (kind, src) in enumerate(cells):
            cell = new_markdown_cell(src) if kind == M else new_code_cell(src)
            cell["id"] = f"{name[:2]}-{i:02d}"
            nb.cells.append(cell)
        path = out_dir / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(p)
