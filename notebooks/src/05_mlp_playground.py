# %% [markdown]
# # 05 · MLP playground
#
# A linear model can only draw straight boundaries. Stack linear layers with a non-linearity in
# between and the network can bend space. Watch the decision boundary form, live, on the
# two-spirals problem; the small squares show what each first-layer neuron responds to.

# %%
import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader
from labkit import exercises as ex
lk.manual_seed(0)
data = lk.datasets.spirals(n_samples=300, n_classes=2, noise=0.15, seed=0)
data

# %%
def make_mlp(act=nn.Tanh):
    return nn.Sequential(nn.Linear(2, 32), act(), nn.Linear(32, 32), act(), nn.Linear(32, 2))

model = make_mlp()
view = lk.viz.boundary(model, data.X, data.y)
view

# %%
opt = lk.optim.Adam(model.parameters(), lr=0.02)
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
print(f"train accuracy {acc:.1%}")

# %% [markdown]
# ## Activations compared
#
# Same network, same data, same seed — only the non-linearity changes.

# %%
mon = lk.viz.Monitor("activation comparison", log_y=True)
mon

# %%
for name, act in [("tanh", nn.Tanh), ("relu", nn.ReLU), ("gelu", nn.GELU), ("sigmoid", nn.Sigmoid)]:
    lk.manual_seed(0)
    m = make_mlp(act)
    opt = lk.optim.Adam(m.parameters(), lr=0.02)
    mon.new_run(name)
    for epoch in range(25):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(m(xb), yb)
            opt.zero_grad(); loss.backward(); opt.step()
            mon.log(loss=loss.item())
print({name: round(losses[-1], 4) for name, losses in mon.history.items()})

# %% [markdown]
# ## Exercises: a linear layer and softmax by hand

# %% exercise="linear"
def linear(x, W, b):
    """x (N, in), W (out, in), b (out,) -> (N, out), as nn.Linear computes it."""
    ...    # your turn

ex.check("linear", linear)

# %% exercise="softmax"
def softmax(x):
    """x (N, C) -> each row turned into probabilities that sum to 1 (stable for large x)."""
    ...    # your turn

ex.check("softmax", softmax)

# %% [markdown]
# The loss the playground trains with: the mean over the batch of `-log softmax(logits)` at
# each row's true class.

# %% exercise="cross_entropy"
def cross_entropy(logits, targets):
    """logits (N, C), targets (N,) class indices -> a scalar tensor."""
    ...    # your turn

ex.check("cross_entropy", cross_entropy)

# %% [markdown]
# Next: **06 · gradients** — why deep networks used to be hard to train.
