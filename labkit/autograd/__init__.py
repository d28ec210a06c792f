"""Reverse-mode automatic differentiation (``labkit.autograd`` ~ ``torch.autograd``)."""
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .api import backward, grad
from .engine import run_backward, unbroadcast  # noqa: F401
from .function import Function, Node, once_differentiable
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .gradcheck import gradcheck, gradgradcheck
from . import functional  # noqa: F401  (torch.autograd.functional's place)

__all__ = ["backward", "grad", "Function", "Node", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "gradcheck", "detect_anomaly",
           "set_detect_anomaly", "once_differentiable", "unbroadcast"]
