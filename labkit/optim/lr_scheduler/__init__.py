"""Learning-rate schedulers (``labkit.optim.lr_scheduler`` ~ ``torch.optim.lr_scheduler``).

A scheduler rewrites ``group['lr']`` of its optimizer's param groups each time ``step()`` is called,
usually once per epoch (OneCycleLR: once per batch)::

    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad(); loss_fn(model(x), y).backward()
            optimizer.step()
        scheduler.step()               # after optimizer.step(), as in PyTorch >= 1.1

``last_epoch`` counts the scheduler's steps: the constructor performs step 0 (so ``last_epoch``
is 0 right after construction and the lr is the schedule's first value). The learning rates come
out exactly as PyTorch's: the same "chainable" formulas (each new lr computed from the current
one) are used, in the same floating-point order.
"""
from .base import (EPOCH_DEPRECATION_WARNING, LRScheduler, _enable_get_lr_call, _format_param,
                   _initial_mode, _LRScheduler, _lrs, _warn_get_lr_called_within_step, inf)
from .schedules import (ConstantLR, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR,
                        MultiplicativeLR, MultiStepLR, PolynomialLR, StepLR)
from .plateau import ReduceLROnPlateau
from .chained import ChainedScheduler, SequentialLR
from .cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "SequentialLR", "PolynomialLR", "CosineAnnealingLR",
           "ChainedScheduler", "ReduceLROnPlateau", "CosineAnnealingWarmRestarts", "OneCycleLR",
           "CyclicLR"]

# the classes keep the module path they are documented (and pickled) under, as in PyTorch
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
