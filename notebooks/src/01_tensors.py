# %% [markdown]
# # 01 · Tensors and broadcasting
#
# A *tensor* is an n-dimensional array of numbers with a `shape` and a `dtype`. Everything a
# network computes is tensors in, tensors out.

# %%
import labkit as lk
a = lk.tensor([[1., 2., 3.], [4., 5., 6.]])
print(a.shape, a.dtype, a.ndim, a.numel())
a

# %% [markdown]
# ## Creating tensors

# %%
lk.manual_seed(0)
print(lk.zeros(2, 3))
print(lk.arange(6).reshape(2, 3))
print(lk.linspace(0, 1, 5))
print(lk.randn(2, 2))
print(lk.eye(3, dtype=lk.int64))

# %% [markdown]
# ## dtypes and promotion
#
# Python numbers don't widen a tensor: `int64 tensor * 2.5` is `float32` (PyTorch's rule, not
# NumPy's).

# %%
i = lk.tensor([1, 2, 3])
print(i.dtype, (i * 2).dtype, (i * 2.5).dtype, (i / 2).dtype, (i > 1).dtype)

# %% [markdown]
# ## Broadcasting
#
# When shapes differ, dimensions of size 1 (or missing on the left) are *stretched* to match.
# `(3, 1) + (1, 4) → (3, 4)`. This is how a bias vector is added to every row of a batch.

# %%
col = lk.tensor([[0.], [10.], [20.]])      # (3, 1)
row = lk.tensor([[1., 2., 3., 4.]])          # (1, 4)
col + row

# %%
batch = lk.randn(4, 3)
bias = lk.tensor([100., 200., 300.])
(batch + bias).shape

# %% [markdown]
# Shapes that cannot broadcast give an error that names them:

# %%
try:
    lk.ones(3, 4) + lk.ones(3, 5)
except RuntimeError as e:
    print("RuntimeError:", e)

# %% [markdown]
# ## Indexing, views and copies
#
# Slicing returns a **view**: it shares memory with the original. `clone()` makes a copy.

# %%
x = lk.arange(12.).reshape(3, 4)
v = x[:, 1]          # a view of column 1
v[0] = -1
print(x)
print(x[x > 5])      # boolean mask: a copy
print(x[[0, 2]])     # integer list: a copy

# %%
t = x.T
print(t.shape, t.is_contiguous())
print(t.contiguous().is_contiguous())

# %% [markdown]
# ## Reductions and matrix products

# %%
m = lk.arange(6.).reshape(2, 3)
print(m.sum(), m.sum(dim=0), m.mean(dim=1, keepdim=True))
print(m.max(dim=1))
print(m @ m.T)

# %% [markdown]
# ## To and from NumPy
#
# `tensor.numpy()` and `lk.from_numpy(array)` share memory, so conversion is free.

# %%
import numpy as np
arr = np.ones(3, dtype=np.float32)
t = lk.from_numpy(arr)
arr[0] = 7
t

# %% [markdown]
# Next: **02 · autograd by hand** — where the gradients come from.
