"""``labkit.signal`` (~ ``torch.signal``): window functions in ``labkit.signal.windows``."""
from . import windows  # noqa: F401
