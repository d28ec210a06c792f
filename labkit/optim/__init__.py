"""Optimizers and learning-rate schedulers (``labkit.optim`` ~ ``torch.optim``).

    optimizer = labkit.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = labkit.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100)
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step()

Each optimizer's docstring writes out its algorithm; the update itself is one fused Numba loop per
parameter (``labkit/kernels/optim_jit.py``) and matches PyTorch step for step.
"""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .adadelta import Adadelta
from .nadam import NAdam
from .radam import RAdam
from .adamax import Adamax
from .rprop import Rprop
from .asgd import ASGD
from .lbfgs import LBFGS
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS",
           "NAdam", "RAdam", "Adamax", "Rprop", "ASGD",
           "lr_scheduler"]
