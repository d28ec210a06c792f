"""Utilities (``labkit.utils`` ~ ``torch.utils``): ``labkit.utils.data`` holds datasets and loaders,
``labkit.utils.hooks`` the removable hook handle every layer returns."""
import importlib

__all__ = ["data", "hooks"]


def __getattr__(name):
    # lazy: ``labkit.utils.hooks`` is imported by the lowest layers, ``data`` sits above them
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
