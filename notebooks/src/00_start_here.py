# %% [markdown]
# # 00 · Start here
#
# Welcome to **labkit**, a lab for learning how neural networks work by *looking* at them.
# This notebook checks that everything is in place:
#
# 1. the versions of the libraries,
# 2. that widgets render in this front-end (JupyterLab, Notebook 7 or VS Code),
# 3. the one-time warm-up that compiles labkit's kernels, so later lessons never wait.

# %%
import sys, platform
import numpy, numba
import labkit as lk
print(f"Python {sys.version.split()[0]} on {platform.machine()}")
print(f"labkit {lk.__version__} · numpy {numpy.__version__} · numba {numba.__version__}")

# %% [markdown]
# ## Warm-up
#
# labkit's fast kernels are compiled by Numba the first time they run and cached on disk.
# `lk.warmup()` does it for all of them now (a few seconds the very first time, instant after).

# %%
lk.warmup()

# %% [markdown]
# ## Do widgets render here?
#
# Run the next cell. You should see a small chart with a curve growing for a second.
# If you see only text like `Monitor(...)`, widgets are not enabled in this front-end:
# in VS Code install the *Jupyter* extension; in JupyterLab make sure `ipywidgets` is installed
# in the same environment as the kernel.

# %%
import math, time
mon = lk.viz.Monitor(title="widget check")
mon

# %%
for step in range(30):
    mon.log(wave=math.sin(step / 4), decay=math.exp(-step / 10))
    time.sleep(0.02)
mon.close_run() if hasattr(mon, "close_run") else None
print("logged", len(mon.history["wave"]), "points")

# %% [markdown]
# ## Using labkit like PyTorch
#
# labkit speaks PyTorch: most scripts run with `import labkit as torch`.
# Here is the classic first autograd example:

# %%
import labkit as torch
x = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
y = (x.tanh() @ x.T).softmax(dim=-1)[0, 1] * 3
y.backward()
x.grad

# %% [markdown]
# All set. Next: **01 · tensors and broadcasting**.
