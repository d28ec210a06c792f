# %% [markdown]
# # 08 · A CNN on handwritten digits
#
# 1,797 real 8×8 handwritten digits (the UCI dataset, shipped with labkit). A small
# convolutional network reaches about 98% test accuracy in a few seconds.

# %%
import numpy as np
import labkit as lk
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
    ax.imshow(x[0].numpy(), cmap="gray_r"); ax.set_title(int(y)); ax.axis("off")

# %% [markdown]
# Pixels are in [0, 1]. Standardising them with the training set's mean and standard deviation
# makes training faster and more reliable (a single number each; the test set uses the same).

# %%
from labkit.utils.data import TensorDataset
X_train, y_train = train[:]
mean, std = X_train.mean(), X_train.std()
X_test, y_test = test[:]
train = TensorDataset((X_train - mean) / std, y_train)
test = TensorDataset((X_test - mean) / std, y_test)
print(f"mean {mean:.3f}, std {std:.3f}")

# %%
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
    nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
opt = lk.optim.AdamW(model.parameters(), lr=3e-3)
loader = DataLoader(train, batch_size=64, shuffle=True)
mon = lk.viz.Monitor("digits CNN")
mon

# %%
def accuracy(ds):
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
print(f"test accuracy {accuracy(test):.1%}")

# %% [markdown]
# ## What the filters see
#
# The 16 feature maps of the first convolution for one test image.

# %%
X, Y = test[:]
with lk.no_grad():
    maps = model[1](model[0](X[:1]))[0]
fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
for k, ax in enumerate(axes.flat):
    ax.imshow(maps[k].numpy(), cmap="viridis"); ax.axis("off")

# %% [markdown]
# ## Confusion matrix and mistakes

# %%
with lk.no_grad():
    pred = model(X).argmax(1)
conf = lk.zeros(10, 10, dtype=lk.int64)
conf.index_put_((Y, pred), lk.ones(len(Y), dtype=lk.int64), accumulate=True)
print(conf)
wrong = (pred != Y).nonzero().flatten()[:8]
fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(8, 1.4), squeeze=False)
for ax, i in zip(axes[0], wrong.tolist()):
    ax.imshow(X[i, 0].numpy(), cmap="gray_r"); ax.set_title(f"{int(Y[i])}→{int(pred[i])}"); ax.axis("off")

# %% [markdown]
# ## Exercise: the output size of a convolution

# %% exercise="conv_output_size"
def conv_output_size(size, kernel_size, stride, padding, dilation):
    ...    # your turn

ex.check("conv_output_size", conv_output_size)

# %% [markdown]
# ## Exercise: a convolution by hand
#
# One channel, one kernel, no padding, stride 1: slide the kernel over the image and sum the
# products at each position (NumPy arrays in and out).

# %% exercise="correlate2d"
def correlate2d(x, w):
    ...    # your turn

ex.check("correlate2d", correlate2d)

# %% [markdown]
# Next: **09 · a tiny character transformer**.
