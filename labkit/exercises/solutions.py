"""Reference solutions: the one home of each exercise's answer.

The checks compare a learner's code with these, and ``ex.solution(name)`` shows one of them (for the
teacher, or after trying).  Each is written as a learner would write it in the notebook cell, with
the same name, so it can be pasted over the exercise.
"""
import math

import numpy as np

import labkit as lk


# -------------------------------------------------------------- 02 · autograd by hand
def mul_backward(x, y, grad_z):
    grad_x = grad_z * y
    grad_y = grad_z * x
    return grad_x, grad_y


def tanh_backward(x, grad_y):
    return grad_y * (1 - np.tanh(x) ** 2)


# -------------------------------------------------------------- 03 · your own op
class Square(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class Sigmoid(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + (-x).exp())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y * (1 - y)


# -------------------------------------------------------------- 04 · the training loop
def sgd_step(params, lr):
    with lk.no_grad():
        for p in params:
            p -= lr * p.grad


def mse_loss(pred, target):
    return ((pred - target) ** 2).mean()


# -------------------------------------------------------------- 05 · MLP playground
def linear(x, W, b):
    return x @ W.T + b


def softmax(x):
    e = (x - x.max(dim=-1, keepdim=True).values).exp()
    return e / e.sum(dim=-1, keepdim=True)


def cross_entropy(logits, targets):
    logp = logits.log_softmax(dim=-1)
    return -logp.gather(1, targets.unsqueeze(1)).mean()


# -------------------------------------------------------------- 06 · gradients
def grad_norm(params):
    total = 0.0
    for p in params:
        total += (p.grad ** 2).sum().item()
    return math.sqrt(total)


def clip_grad_norm(params, max_norm):
    total = math.sqrt(sum((p.grad ** 2).sum().item() for p in params))
    if total > max_norm:
        scale = max_norm / total
        with lk.no_grad():
            for p in params:
                p.grad *= scale
    return total


# -------------------------------------------------------------- 07 · optimizers
def momentum_step(p, v, lr, mu):
    with lk.no_grad():
        v = mu * v + p.grad
        p -= lr * v
    return v


def adam_step(p, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    with lk.no_grad():
        m = beta1 * m + (1 - beta1) * p.grad
        v = beta2 * v + (1 - beta2) * p.grad ** 2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p -= lr * m_hat / (v_hat.sqrt() + eps)
    return m, v


# -------------------------------------------------------------- 08 · a CNN on digits
def conv_output_size(size, kernel_size, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def correlate2d(x, w):
    kh, kw = w.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i:i + kh, j:j + kw] * w).sum()
    return out


# -------------------------------------------------------------- 09 · a character transformer
def attention(q, k, v, causal):
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if causal:
        T = q.shape[-2]
        att = att.masked_fill(lk.triu(lk.ones(T, T, dtype=lk.bool), 1), float("-inf"))
    return att.softmax(dim=-1) @ v


def causal_mask(T):
    return lk.triu(lk.full((T, T), float("-inf")), diagonal=1)


# -------------------------------------------------------------- 10 · to PyTorch
def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def accuracy(logits, y):
    return (logits.argmax(dim=1) == y).float().mean().item()


# -------------------------------------------------------------- 11 · debugging a training run
def log_softmax(x):
    return x - x.logsumexp(dim=-1, keepdim=True)


def relu_init_std(fan_in):
    return math.sqrt(2 / fan_in)


def dead_fraction(acts):
    return (acts == 0).all(dim=0).float().mean().item()


class Cube(lk.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad


def flatten_batch(x):
    return x.flatten(1)


def train_step(model, opt, X, y):
    loss = lk.nn.functional.cross_entropy(model(X), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def steepest_lr(lrs, losses):
    slope = np.gradient(losses, np.log10(lrs))
    return lrs[np.argmin(slope)]
