"""Optimizers and learning-rate schedulers (``labkit.optim`` ~ ``torch.optim``).

    optimizer = labkit.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = labkit.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100)
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step()

Each optimizer's docstring writes out its algorithm and matches PyTorch step for step. SGD, Adam(W),
RMSprop, Adagrad and Adadelta update each parameter in one fused Numba loop
(``labkit/kernels/optim_jit.py``); NAdam, RAdam, Adamax, Rprop and ASGD are plain NumPy updates.
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
