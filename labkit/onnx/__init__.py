"""``labkit.onnx.export``: save a labkit model as an ONNX file, through PyTorch.

labkit has no ONNX writer of its own.  ``export`` converts the model with
:func:`labkit.interop.to_torch` (same architecture and weights; your own ``nn.Module``
subclasses too, rebuilt from their source), converts the example inputs to torch tensors and
calls ``torch.onnx.export`` with every other argument unchanged, so PyTorch's documentation of
``torch.onnx.export`` applies.  It needs PyTorch and the ONNX packages PyTorch's exporter uses::

    pip install torch onnx onnxscript

    labkit.onnx.export(model, (x,), "model.onnx", input_names=["x"], output_names=["y"])

Without them it raises an ImportError that names what to install.
"""
import importlib.util

__all__ = ["export", "is_in_onnx_export"]

_NEEDED = ("onnx", "onnxscript")


def _missing():
    return [m for m in _NEEDED if importlib.util.find_spec(m) is None]


def _to_torch_args(obj, torch):
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        return torch.from_numpy(obj.detach().numpy().copy())
    if isinstance(obj, tuple):
        return tuple(_to_torch_args(o, torch) for o in obj)
    if isinstance(obj, list):
        return [_to_torch_args(o, torch) for o in obj]
    if isinstance(obj, dict):
        return {k: _to_torch_args(v, torch) for k, v in obj.items()}
    return obj


def export(model, args=(), f=None, *, kwargs=None, **options):
    """Export ``model`` (a labkit ``nn.Module``) to ONNX via ``torch.onnx.export``.

    Args:
        model (nn.Module): the labkit model (converted with ``labkit.interop.to_torch``)
        args (tuple or Tensor): example inputs (labkit tensors are converted)
        f (str or path, optional): the file to write
        kwargs (dict, optional): example keyword inputs
        **options: passed on to ``torch.onnx.export`` (``input_names``, ``output_names``,
            ``dynamic_axes``, ``opset_version``, ``dynamo``, ...)

    Returns:
        what ``torch.onnx.export`` returns (an ``ONNXProgram`` with the default exporter).

    Raises:
        ImportError: PyTorch or the ONNX packages (``onnx``, ``onnxscript``) are not installed.
    """
    try:
        import torch
    except ImportError:
        raise ImportError("labkit.onnx.export needs PyTorch and the ONNX packages (labkit "
                          "exports through PyTorch's exporter): pip install torch onnx "
                          "onnxscript") from None
    missing = _missing()
    if missing:
        raise ImportError(f"labkit.onnx.export needs the ONNX package{'s' * (len(missing) > 1)}"
                          f" {' and '.join(missing)} (PyTorch's exporter uses them): pip "
                          f"install {' '.join(missing)}")
    from ..interop import to_torch
    from ..nn import Module
    if not isinstance(model, Module):
        raise TypeError(f"labkit.onnx.export expects a labkit nn.Module, got "
                        f"{type(model).__name__}")
    tmodel = to_torch(model)
    targs = _to_torch_args(args if isinstance(args, tuple) else (args,), torch)
    tkwargs = None if kwargs is None else _to_torch_args(kwargs, torch)
    return torch.onnx.export(tmodel, targs, f, kwargs=tkwargs, **options)


def is_in_onnx_export():
    """False: labkit itself never runs inside an ONNX export."""
    return False
