"""All tensor ops.  Importing this package registers them on Tensor and in ``labkit``."""
from . import elementwise, elementwise_math, logic, operators  # noqa: F401
from . import reduction, shape, indexing, linalg, histogram  # noqa: F401
from . import extra, extra_index, extra_linalg, extra_reduction, extra_shape  # noqa: F401
from . import special, decompositions  # noqa: F401  (the extra* and special: found by the OpInfo conformance suite)
from . import inplace
from . import array_api  # noqa: F401  (Tensor.__array_namespace__)
from ._registry import FUNCTIONS

inplace._install()
