# %% [markdown]
# # 06 · Vanishing and exploding gradients
#
# In a deep stack of sigmoid layers, every layer multiplies the gradient by a derivative of at
# most 0.25, so the first layers receive almost nothing. ReLU keeps gradients alive; residual
# connections plus normalisation keep them healthy at any depth. The **gradient inspector**
# (`lk.viz.watch`) shows each layer's gradient norm live, and flags the problem layers.

# %%
import labkit as lk
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
# Next: **07 · optimizers**.
