# %% [markdown]
# # 02 · Autograd by hand
#
# Every operation on tensors that require gradients is recorded in a *graph*. `backward()` walks it
# from the output back to the inputs, applying the **chain rule** at each node.

# %%
import numpy as np
import labkit as lk
from labkit import exercises as ex
# %load_ext labkit

# %% [markdown]
# ## A scalar expression

# %%
a = lk.tensor(2.0, requires_grad=True)
b = lk.tensor(-3.0, requires_grad=True)
c = lk.tensor(10.0, requires_grad=True)
e = a * b
d = e + c
f = lk.tensor(-2.0, requires_grad=True)
L = d * f
L

# %% [markdown]
# Each result remembers the operation that made it (`grad_fn`), and its inputs
# (`next_functions`):

# %%
print(L.grad_fn, L.grad_fn.next_functions)

# %% [markdown]
# ## See the graph
#
# Click a node to see its value, its gradient and the line of code that created it.

# %%
lk.viz.graph(L, params={"a": a, "b": b, "c": c, "f": f})

# %% [markdown]
# ## Step through forward and backward
#
# `lk.viz.step` runs your computation once, records every op, then lets you replay it:
# the forward pass op by op, then the backward pass with the gradient arriving at each node and
# the local derivative rule that turns it into the gradients of the inputs.

# %%
def compute():
    e = a * b
    d = e + c
    return d * f

lk.viz.step(compute, params={"a": a, "b": b, "c": c, "f": f})

# %%
L = compute()
L.backward()
print(f"dL/da = {a.grad.item()}, dL/db = {b.grad.item()}, dL/dc = {c.grad.item()}, dL/df = {f.grad.item()}")

# %% [markdown]
# By the chain rule: `dL/dd = f = -2`, `dL/de = dL/dd · 1 = -2`, `dL/da = dL/de · b = 6`.
#
# ## Exercise: the backward rule of multiplication
#
# Write the gradients of `z = x * y` given the incoming gradient `grad_z` (NumPy arrays): replace
# each `...` and run the cell. The check tells you what is wrong, if anything.
# Stuck? `ex.hint("mul_backward")` gives one more hint each time you run it;
# `ex.solution("mul_backward")` shows an answer (try first!).

# %% exercise="mul_backward"
def mul_backward(x, y, grad_z):
    grad_x = ...    # your turn
    grad_y = ...
    return grad_x, grad_y

ex.check("mul_backward", mul_backward)

# %% [markdown]
# ## Exercise: the backward rule of tanh
#
# `y = tanh(x)`: given `grad_y`, return `grad_x`. NumPy has `np.tanh`.

# %% exercise="tanh_backward"
def tanh_backward(x, grad_y):
    ...    # your turn

ex.check("tanh_backward", tanh_backward)

# %% [markdown]
# ## Gradient checking
#
# `gradcheck` compares the gradients from `backward()` with finite differences
# `(f(x+ε) - f(x-ε)) / 2ε` in float64: the way to test any backward rule.

# %%
x = lk.randn(3, dtype=lk.float64, requires_grad=True)
lk.autograd.gradcheck(lambda x: (x.tanh() * x).sum(), (x,))

# %% [markdown]
# ## Gradients accumulate
#
# `backward()` *adds* into `.grad`. Running it twice without zeroing doubles the gradient — the
# classic notebook bug. With `%load_ext labkit`, re-running a cell that does this warns you.

# %%
w = lk.ones(3, requires_grad=True)
for _ in range(2):
    (w * 3).sum().backward()
print(w.grad)      # 6, not 3
w.grad = None      # what optimizer.zero_grad() does

# %% [markdown]
# ## Gradients of gradients
#
# With `create_graph=True` the gradient is itself a tensor on a graph, so you can differentiate it
# again: the curvature of `tanh`, a Hessian-vector product, a gradient penalty.

# %%
x = lk.linspace(-3, 3, 7, requires_grad=True)
(dy,) = lk.autograd.grad(x.tanh().sum(), x, create_graph=True)    # 1 - tanh²
(d2y,) = lk.autograd.grad(dy.sum(), x)                            # -2 tanh (1 - tanh²)
print(dy.detach(), d2y, sep="\n")

# %% [markdown]
# Next: **03 · your own op**.
