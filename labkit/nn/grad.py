"""``labkit.nn.grad``: the gradients of a convolution with respect to its input and its weight,
as functions (``torch.nn.grad``).  Each runs the convolution forward on the given shapes and asks
autograd for the gradient, so it is exactly what ``backward`` computes (and differentiable with
``grad_output``)."""
import labkit as _lk

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _conv(nd):
    from . import functional as F
    return getattr(F, f"conv{nd}d")


def _input_grad(nd, input_size, weight, grad_output, stride, padding, dilation, groups):
    x = _lk.zeros(tuple(input_size), dtype=grad_output.dtype, requires_grad=True)
    with _lk.enable_grad():
        out = _conv(nd)(x, weight.detach(), None, stride, padding, dilation, groups)
        (g,) = _lk.autograd.grad(out, x, grad_output, create_graph=grad_output.requires_grad)
    return g


def _weight_grad(nd, input, weight_size, grad_output, stride, padding, dilation, groups):
    w = _lk.zeros(tuple(weight_size), dtype=grad_output.dtype, requires_grad=True)
    with _lk.enable_grad():
        out = _conv(nd)(input.detach(), w, None, stride, padding, dilation, groups)
        (g,) = _lk.autograd.grad(out, w, grad_output, create_graph=grad_output.requires_grad)
    return g


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv1d`` with respect to an input of shape ``input_size``."""
    return _input_grad(1, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv1d`` with respect to a weight of shape ``weight_size``."""
    return _weight_grad(1, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv2d`` with respect to an input of shape ``input_size``."""
    return _input_grad(2, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv2d`` with respect to a weight of shape ``weight_size``."""
    return _weight_grad(2, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv3d`` with respect to an input of shape ``input_size``."""
    return _input_grad(3, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradient of ``conv3d`` with respect to a weight of shape ``weight_size``."""
    return _weight_grad(3, input, weight_size, grad_output, stride, padding, dilation, groups)
