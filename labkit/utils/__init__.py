"""Utilities (``labkit.utils`` ~ ``torch.utils``): ``labkit.utils.data`` holds datasets and loaders."""
from . import data

__all__ = ["data"]
