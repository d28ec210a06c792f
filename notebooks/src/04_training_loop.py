# %% [markdown]
# # 04 · The training loop
#
# Every model is trained by the same five lines: forward, loss, zero the gradients, backward,
# step. We start with the simplest model there is — a line — and watch it learn with the
# **Monitor**, which draws the curves live while the cell runs.

# %%
import labkit as lk
from labkit import nn
from labkit.utils.data import DataLoader, TensorDataset
from labkit import exercises as ex
lk.manual_seed(0)

# %% [markdown]
# ## Linear regression
#
# Data: `y = 3x + 2` plus noise. The model: `nn.Linear(1, 1)`, i.e. `y = w·x + b`.

# %%
X = lk.rand(256, 1) * 4 - 2
y = 3 * X + 2 + 0.3 * lk.randn(256, 1)
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)

model = nn.Linear(1, 1)
opt = lk.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.MSELoss()
mon = lk.viz.Monitor("linear regression")
mon

# %%
for xb, yb in mon.track(loader, epochs=20):
    loss = loss_fn(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    mon.log(loss=loss.item())
print(f"w = {model.weight.item():.3f}, b = {model.bias.item():.3f}   (true: 3, 2)")

# %% [markdown]
# ## Exercise: one SGD step by hand
#
# `opt.step()` does `p -= lr * p.grad` for every parameter, without recording it in the graph.

# %% exercise="sgd_step"
def sgd_step(params, lr):
    ...    # your turn: move every parameter against its gradient, in place

ex.check("sgd_step", sgd_step)

# %% [markdown]
# ## Exercise: the mean squared error by hand
#
# `nn.MSELoss()` above averages the squared differences between predictions and targets.

# %% exercise="mse_loss"
def mse_loss(pred, target):
    ...    # your turn

ex.check("mse_loss", mse_loss)

# %% [markdown]
# ## Logistic regression
#
# Two classes, a linear decision boundary, a sigmoid for probabilities and binary
# cross-entropy as the loss. We log the accuracy as well as the loss.

# %%
data = lk.datasets.blobs(n_samples=400, centers=2, cluster_std=1.5, seed=1)
loader = DataLoader(data, batch_size=64, shuffle=True)
clf = nn.Linear(2, 1)
opt = lk.optim.SGD(clf.parameters(), lr=0.05)
loss_fn = nn.BCEWithLogitsLoss()
mon2 = lk.viz.Monitor("logistic regression")
mon2

# %%
for xb, yb in mon2.track(loader, epochs=15):
    logits = clf(xb).squeeze(1)
    loss = loss_fn(logits, yb.float())
    opt.zero_grad(); loss.backward(); opt.step()
    acc = ((logits > 0).long() == yb).float().mean()
    mon2.log(loss=loss.item(), acc=acc.item())
with lk.no_grad():
    full_acc = ((clf(data.X).squeeze(1) > 0).long() == data.y).float().mean().item()
print(f"accuracy on all points: {full_acc:.1%}")

# %% [markdown]
# Next: **05 · MLP playground** — non-linear boundaries.
