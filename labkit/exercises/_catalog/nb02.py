"""The exercises of notebook 02_autograd."""
import numpy as np

from .. import solutions as S
from .base import Exercise, _close, _forgot_chain, _rng, _sign_flipped


def _mul_backward_cases():
    def make(seed, shape):
        def f():
            r = _rng(seed)
            return tuple(r.normal(size=shape).astype(np.float32) for _ in range(3))
        return f
    return [make(0, (3,)), make(1, (2, 3))]


def _mul_swapped(args, got, want, k):
    x, y, g = args
    if _close(got, g * (x if k == 0 else y)):
        return ("grad_x is grad_z times the *other* factor: d(x*y)/dx = y, so grad_x = grad_z * y")
    return None


def _tanh_backward_cases():
    def make(seed, shape):
        def f():
            r = _rng(seed)
            return (r.normal(size=shape).astype(np.float32), r.normal(size=shape).astype(np.float32))
        return f
    return [make(0, (4,)), make(1, (2, 3))]


def _tanh_not_squared(args, got, want, k):
    x, g = args
    if _close(got, g * (1 - np.tanh(x))):
        return "d tanh(x)/dx = 1 - tanh(x)**2: the tanh is squared"
    return None


EXERCISES = [
    Exercise("mul_backward", "02_autograd", "Backward of z = x * y by hand",
             "def mul_backward(x, y, grad_z): return grad_x, grad_y  (NumPy arrays, same shapes)",
             _mul_backward_cases(), S.mul_backward,
             hints=["the chain rule: grad_x = grad_z * (dz/dx)",
                    "for z = x * y, dz/dx = y and dz/dy = x",
                    "grad_x = grad_z * y; grad_y = grad_z * x"],
             diagnose=(_forgot_chain, _mul_swapped, _sign_flipped)),
    Exercise("tanh_backward", "02_autograd", "Backward of y = tanh(x) by hand",
             "def tanh_backward(x, grad_y): return grad_x  (NumPy arrays)",
             _tanh_backward_cases(), S.tanh_backward,
             hints=["the chain rule: grad_x = grad_y * d tanh(x)/dx",
                    "d tanh(x)/dx = 1 - tanh(x)**2; NumPy has np.tanh"],
             diagnose=(_forgot_chain, _tanh_not_squared, _sign_flipped)),
]
