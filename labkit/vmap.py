"""``labkit.vmap`` (~ ``torch.vmap``): map a function over a dimension of its inputs.

PyTorch runs the function once on batched tensors; labkit runs it once per slice and stacks the
results, which gives the same values and gradients (slower, and easy to follow: a ``for`` loop).
"""
import functools

from .ops.shape import stack
from .random import default_generator
from .tensor import Tensor

__all__ = ["vmap"]


def _leaves(tree, dims, out):
    """Collect (tensor, dim) pairs of ``tree`` (tensors in nested tuples/lists/dicts)."""
    if isinstance(tree, Tensor):
        if dims is not None:
            out.append((tree, dims))
    elif isinstance(tree, (tuple, list)):
        ds = dims if isinstance(dims, (tuple, list)) else [dims] * len(tree)
        if len(ds) != len(tree):
            raise ValueError(f"vmap: in_dims is not compatible with the structure of the inputs: "
                             f"{len(ds)} dims for {len(tree)} values")
        for t, d in zip(tree, ds):
            _leaves(t, d, out)
    elif isinstance(tree, dict):
        for k, t in tree.items():
            _leaves(t, dims[k] if isinstance(dims, dict) else dims, out)
    return out


def _slice(tree, dims, b):
    if isinstance(tree, Tensor):
        return tree if dims is None else tree.select(dims, b)
    if isinstance(tree, (tuple, list)):
        ds = dims if isinstance(dims, (tuple, list)) else [dims] * len(tree)
        return type(tree)(_slice(t, d, b) for t, d in zip(tree, ds))
    if isinstance(tree, dict):
        return {k: _slice(t, dims[k] if isinstance(dims, dict) else dims, b)
                for k, t in tree.items()}
    return tree


def _stack(results, dims):
    first = results[0]
    if isinstance(first, Tensor):
        return stack(results, dims if dims >= 0 else dims + first.ndim + 1)
    if isinstance(first, (tuple, list)):
        ds = dims if isinstance(dims, (tuple, list)) else [dims] * len(first)
        return type(first)(_stack([r[i] for r in results], ds[i]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([r[k] for r in results], dims[k] if isinstance(dims, dict) else dims)
                for k in first}
    raise ValueError(f"vmap: the function must return tensors (or tuples/lists/dicts of them), "
                     f"got {type(first).__name__}")


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``vmap(f)(x)`` is ``stack([f(x[0]), f(x[1]), ...])``.

    ``in_dims``: the mapped dim of each positional argument (an int for all, a tuple with one
    entry per argument, ``None`` for an argument passed whole). ``out_dims``: where the mapped
    dim goes in each output.  ``randomness='same'`` gives every slice the same random numbers;
    'error' and 'different' both draw fresh numbers per slice (labkit cannot detect random ops).
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")

    @functools.wraps(func)
    def mapped(*args, **kwargs):
        if not isinstance(in_dims, (int, tuple)) and in_dims is not None:
            raise ValueError(f"vmap: expected in_dims to be int or a tuple matching the inputs, "
                             f"got {type(in_dims).__name__}")
        dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries but the function got "
                             f"{len(args)} positional arguments")
        leaves = _leaves(list(args), list(dims), [])
        if not leaves:
            raise ValueError("vmap: at least one input must be a tensor mapped over a dim "
                             "(in_dims are all None or no argument is a tensor)")
        sizes = set()
        for t, d in leaves:
            if not isinstance(d, int) or not -t.ndim <= d < max(t.ndim, 1) or t.ndim == 0:
                raise ValueError(f"vmap: in_dim={d} is out of range for a tensor of "
                                 f"{t.ndim} dimensions")
            sizes.add(t.shape[d])
        if len(sizes) != 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sorted(sizes)}")
        n = sizes.pop()
        state = default_generator.get_state() if randomness == "same" else None
        results = []
        for b in range(n):
            if state is not None:
                default_generator.set_state(state)
            results.append(func(*_slice(list(args), list(dims), b), **kwargs))
        if n == 0:
            raise ValueError("vmap: the mapped dimension has size 0")
        return _stack(results, out_dims)
    return mapped
