# %% [markdown]
# # 00 · Start here
#
# Welcome to **labkit**, a lab for learning how neural networks work by *looking* at them.
# Run this notebook first (menu **Run → Run All Cells**). It checks that everything is in place:
#
# 1. the versions of Python and the libraries,
# 2. the kernel cache, and the one-time warm-up that compiles labkit's kernels, so later lessons
#    never wait,
# 3. that widgets really render in this front-end (JupyterLab, Notebook 7 or VS Code): a small
#    widget tells the kernel that your browser drew it, and the answer appears in it.
#
# The same checklist runs in a terminal with `python -m labkit doctor`.

# %%
import math
import time
import labkit as lk
from labkit import doctor

doctor.run()

# %% [markdown]
# Every line above should start with ✔; a ✘ comes with the fix. The last line is the widget
# check: it reads **✔ widgets render here** once the notebook has finished running (the kernel
# answers the widget between cells). If instead you see a paragraph of text starting with
# ✘ widgets do not render here, follow the fix it gives.
#
# ## A live chart
#
# Widgets update while a cell runs: the next cell draws two curves, point by point.

# %%
mon = lk.viz.Monitor(title="a live chart")
mon

# %%
for step in range(30):
    mon.log(wave=math.sin(step / 4), decay=math.exp(-step / 10))
    time.sleep(0.02)
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
# ## Your progress
#
# Every notebook from 02 on has exercises. `ex.progress()` lists them all: done, tried or not yet
# (kept in `~/.labkit/progress.json`, so it survives restarting the kernel).

# %%
from labkit import exercises as ex
ex.progress()

# %% [markdown]
# All set. Next: **01 · tensors and broadcasting**.
