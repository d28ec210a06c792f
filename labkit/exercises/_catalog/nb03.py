"""The exercises of notebook 03_your_own_op."""
import numpy as np

from .. import solutions as S
from .base import (Exercise, _backward_local_only, _close, _function_call, _function_cases,
                   _function_gradcheck)


def _square_wrong_rule(args, got, want, k):
    if k == 1 and _close(got, args[0] * args[1]):
        return "d(x^2)/dx is 2x, not x"
    return None


def _sigmoid_wrong_rule(args, got, want, k):
    if k == 1:
        y = 1 / (1 + np.exp(-args[0]))
        if _close(got, args[1] * y):
            return "d sigmoid(x)/dx = y * (1 - y) with y = sigmoid(x): the (1 - y) factor is missing"
        if _close(got, args[1] * np.exp(-args[0])):
            return "d sigmoid(x)/dx = y * (1 - y) with y = sigmoid(x) (the saved output)"
    return None


EXERCISES = [
    Exercise("square_function", "03_your_own_op", "Your own op: an autograd.Function for x**2",
             "class Square(lk.autograd.Function) with forward(ctx, x) and backward(ctx, grad); "
             "checked on values, on gradients and with gradcheck",
             _function_cases(), S.Square, call=_function_call,
             hints=["forward: save x with ctx.save_for_backward(x), return x * x",
                    "backward: (x,) = ctx.saved_tensors; d(x^2)/dx = 2x",
                    "backward returns grad times the local derivative: 2 * x * grad"],
             diagnose=(_backward_local_only, _square_wrong_rule), post=_function_gradcheck),
    Exercise("sigmoid_function", "03_your_own_op", "Sigmoid as a Function that saves its output",
             "class Sigmoid(lk.autograd.Function): forward returns 1 / (1 + exp(-x)) and saves the "
             "*output*; backward uses it: grad * y * (1 - y)",
             _function_cases(), S.Sigmoid, call=_function_call,
             hints=["forward: y = 1 / (1 + (-x).exp()); ctx.save_for_backward(y); return y",
                    "the derivative of the sigmoid in terms of its output: y * (1 - y)",
                    "backward: (y,) = ctx.saved_tensors; return grad * y * (1 - y)"],
             diagnose=(_backward_local_only, _sigmoid_wrong_rule), post=_function_gradcheck),
]
