# %% [markdown]
# # 03 · Your own op
#
# An op in labkit is a forward computation plus its backward rule. Here you write one from
# scratch: a fast Numba kernel for the forward pass, wrapped in an `autograd.Function` with its
# gradient, checked with `gradcheck`, and seen in the graph.
#
# Our op: **softplus**, `log(1 + exp(x))`, a smooth ReLU. Its derivative is `sigmoid(x)`.

# %%
import numpy as np
import numba
import labkit as lk
from labkit import exercises as ex

# %% [markdown]
# ## 1. The kernel
#
# A plain loop, compiled by Numba. `cache=True` stores the compiled code on disk, so the next
# session starts instantly. The two branches keep `exp` from overflowing for large `|x|`.

# %%
@numba.njit(cache=True)
def softplus_kernel(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = v + np.log1p(np.exp(-v)) if v > 0 else np.log1p(np.exp(v))

x = np.linspace(-5, 5, 7).astype(np.float32)
out = np.empty_like(x)
softplus_kernel(x, out)
out

# %% [markdown]
# ## 2. The Function: forward and backward side by side

# %%
class Softplus(lk.autograd.Function):
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
print(y, t.grad, sep="\n")

# %% [markdown]
# ## 3. Check the gradient numerically

# %%
x64 = lk.randn(6, dtype=lk.float64, requires_grad=True)
lk.autograd.gradcheck(softplus, (x64,))

# %% [markdown]
# ## 4. See it in the graph
#
# The node is named after your Function: `SoftplusBackward`.

# %%
w = lk.randn(4, requires_grad=True)
loss = (softplus(w) * 2).mean()
lk.viz.graph(loss, params={"w": w})

# %% [markdown]
# ## 5. Gradcheck every op in a model, on the graph
#
# `gradcheck=True` re-runs each op of the computation in float64 and compares its backward rule
# with finite differences: green agrees, amber sits on a kink (ReLU at 0, tied maxima), red is
# wrong. Here a Function forgets the factor 2 of `d(x²)/dx`: only its node turns red.

# %%
class BuggySquare(lk.autograd.Function):
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
lk.viz.graph(lambda: BuggySquare.apply(softplus(layer(xb))).mean(), params=layer, gradcheck=True)

# %% [markdown]
# ## Exercise: `x ** 2` as a Function
#
# Fill in `forward` and `backward`. The check compares values and gradients and runs gradcheck.
# `ex.hint("square_function")` gives a hint, one more per call.

# %% exercise="square_function"
class Square(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ...    # your turn: save what backward needs, return x squared

    @staticmethod
    def backward(ctx, grad):
        ...    # your turn: grad times d(x^2)/dx

ex.check("square_function", Square)

# %% [markdown]
# ## Exercise: a sigmoid that saves its *output*
#
# A backward rule may use the forward's output instead of its input: the derivative of
# `y = 1 / (1 + exp(-x))` is `y * (1 - y)`. Save `y` in `forward` and use it in `backward`.

# %% exercise="sigmoid_function"
class Sigmoid(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ...    # your turn

    @staticmethod
    def backward(ctx, grad):
        ...    # your turn

ex.check("sigmoid_function", Sigmoid)

# %% [markdown]
# Next: **04 · the training loop**.
