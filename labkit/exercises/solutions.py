"""Reference solutions (for instructors and for the checks; the notebooks never print them)."""
import math

import numpy as np


def _lk():
    import labkit
    return labkit


def mul_backward(x, y, grad_z):
    return grad_z * y, grad_z * x


def tanh_backward(x, grad_y):
    return grad_y * (1 - np.tanh(x) ** 2)


def softmax(x):
    e = (x - x.max(dim=-1, keepdim=True).values).exp()
    return e / e.sum(dim=-1, keepdim=True)


def linear(x, W, b):
    return x @ W.T + b


def cross_entropy(logits, targets):
    logp = logits.log_softmax(dim=-1)
    return -logp.gather(1, targets.unsqueeze(1)).mean()


def sgd_step(params, lr):
    lk = _lk()
    with lk.no_grad():
        for p in params:
            p -= lr * p.grad


def momentum_step(p, v, lr, mu):
    lk = _lk()
    with lk.no_grad():
        v = mu * v + p.grad
        p -= lr * v
    return v


def conv_output_size(size, kernel_size, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def attention(q, k, v, causal):
    lk = _lk()
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if causal:
        T = q.shape[-2]
        att = att.masked_fill(lk.triu(lk.ones(T, T, dtype=lk.bool), 1), float("-inf"))
    return att.softmax(dim=-1) @ v


def _make_square():
    lk = _lk()

    class Square(lk.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad
    return Square


class _LazySquare:
    """Created on first use so importing the solutions never imports the engine eagerly."""
    _cls = None

    def __getattr__(self, name):
        if _LazySquare._cls is None:
            _LazySquare._cls = _make_square()
        return getattr(_LazySquare._cls, name)


Square = _LazySquare()
