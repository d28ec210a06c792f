"""Exercise checks: a correct answer passes; each common wrong answer gets a message naming the problem."""
import math

import numpy as np
import pytest

import labkit as lk
from labkit import exercises as ex
from labkit.exercises import solutions as S


@pytest.mark.parametrize("name", list(ex.list()))
def test_reference_solution_passes(name):
    ref = {"square_function": S._make_square()}.get(name) or getattr(S, name)
    r = ex.check(name, ref, verbose=False)
    assert r.passed, str(r)
    assert "correct" in str(r) and "data-passed='true'" in r._repr_html_()


def _fails(name, fn, *needles):
    r = ex.check(name, fn, verbose=False)
    assert not r.passed
    text = str(r).lower()
    for n in needles:
        assert n.lower() in text, text
    return r


def test_softmax_mistakes_are_explained():
    _fails("softmax", lambda x: x.exp() / x.exp().sum(dim=-1, keepdim=True), "subtract", "max")
    _fails("softmax", lambda x: (x - x.max()).exp() / (x - x.max()).exp().sum(dim=0, keepdim=True),
           "row")
    _fails("softmax", lambda x: (x - x.max(dim=-1, keepdim=True).values).exp(), "sums to 1")
    r = _fails("softmax", lambda x: None, "return")
    assert "expected" not in str(r)


def test_backward_mistakes_are_explained():
    _fails("mul_backward", lambda x, y, g: (y, x), "chain rule")
    _fails("mul_backward", lambda x, y, g: (-g * y, -g * x), "sign")
    r = _fails("tanh_backward", lambda x, g: g * (1 - np.tanh(x)), "expected", "got", "index")
    assert "wrong" in str(r)


def test_linear_and_cross_entropy_mistakes():
    _fails("linear", lambda x, W, b: x @ W.T, "bias")
    _fails("linear", lambda x, W, b: (W @ x.T).T.T, "transposed")
    _fails("cross_entropy", lambda lg, t: -lg.log_softmax(-1).gather(1, t.unsqueeze(1)).sum(), "mean")


def test_square_function_checks_backward_and_gradcheck():
    class NoChain(lk.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x
    _fails("square_function", NoChain, "grad_output")


def test_optimizer_step_mistakes():
    def no_grad_missing(params, lr):
        for p in params:
            p -= lr * p.grad
    _fails("sgd_step", no_grad_missing, "no_grad")

    def ascent(params, lr):
        with lk.no_grad():
            for p in params:
                p += lr * p.grad
    _fails("sgd_step", ascent, "uphill")

    def no_lr(params, lr):
        with lk.no_grad():
            for p in params:
                p -= p.grad
    _fails("sgd_step", no_lr, "learning rate")

    def forgot_return(p, v, lr, mu):
        with lk.no_grad():
            v = mu * v + p.grad
            p -= lr * v
    _fails("momentum_step", forgot_return, "return")


def test_conv_and_attention_mistakes():
    _fails("conv_output_size", lambda n, k, s, p, d: n - k + 1, "padding")
    _fails("attention", lambda q, k, v, c: S.attention(q, k, v, False), "causal")
    _fails("attention", lambda q, k, v, c: (q @ k.transpose(-2, -1)).softmax(-1) @ v, "sqrt")


def test_not_implemented_and_exceptions_are_friendly():
    def todo(x):
        raise NotImplementedError
    _fails("softmax", todo, "not implemented yet")

    def boom(x):
        return x @ lk.ones(7, 7)
    r = _fails("softmax", boom, "raised RuntimeError")
    assert "x @ lk.ones(7, 7)" in str(r)


def test_describe_and_list():
    assert "softmax" in ex.list() and "sum to 1" in ex.describe("softmax") or "sums to 1" in ex.describe("softmax")
    with pytest.raises(KeyError, match="available"):
        ex.describe("nope")
