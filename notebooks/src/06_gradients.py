# %% [markdown]
# # 06 · Vanishing and exploding gradients
#
# In a deep stack of sigmoid layers, every layer multiplies the gradient by a derivative of at
# most 0.25, so the first layers receive almost nothing. ReLU keeps gradients alive; residual
# connections plus normalisation keep them healthy at any depth. The **gradient inspector**
# (`lk.viz.watch`) shows each layer's gradient norm live, and flags the problem layers.

# %%
import math
import labkit as lk
from labkit import nn
from labkit import exercises as ex
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
    return nn.Sequential(nn.Linear(2, width), *[Block(width) for _ in range(depth - 2)], nn.Linear(width, 2))

# %%
def train(model, epochs=6, lr=0.05):
    opt = lk.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad(); loss.backward(); opt.step()
    return loss.item()

# %% [markdown]
# ## A deep sigmoid network

# %%
sig = deep(nn.Sigmoid)
w_sig = lk.viz.watch(sig)
w_sig

# %%
print("final loss", train(sig))

# %% [markdown]
# ## The same depth with ReLU

# %%
relu = deep(nn.ReLU)
w_relu = lk.viz.watch(relu)
w_relu

# %%
print("final loss", train(relu))

# %% [markdown]
# ## Residual blocks with LayerNorm

# %%
res = residual()
w_res = lk.viz.watch(res)
w_res

# %%
print("final loss", train(res))

# %% [markdown]
# Compare the first layer's gradient norm in the three inspectors: orders of magnitude apart.
#
# ## Exercise: the total gradient norm
#
# One number says how big a step the gradients ask for: the L2 norm of *all* gradients taken
# together, as if they were one long vector. Return it as a Python float.

# %% exercise="grad_norm"
def grad_norm(params):
    ...    # your turn

ex.check("grad_norm", grad_norm)

# %% [markdown]
# ## Exercise: gradient clipping
#
# When that norm explodes, training jumps far off. `nn.utils.clip_grad_norm_` rescales all the
# gradients together so their total norm is at most `max_norm` (the direction stays the same), and
# returns the norm from before. Write it.

# %% exercise="clip_grad_norm"
def clip_grad_norm(params, max_norm):
    ...    # your turn

ex.check("clip_grad_norm", clip_grad_norm)

# %% [markdown]
# Next: **07 · optimizers**.
