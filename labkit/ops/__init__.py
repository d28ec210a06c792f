"""All tensor ops.  Importing this package registers them on Tensor and in ``labkit``."""
from . import elementwise, reduction, shape, indexing, linalg  # noqa: F401  (registration)
from . import extra, special  # noqa: F401  (found by the OpInfo conformance suite)
from . import inplace
from ._registry import FUNCTIONS

inplace._install()
