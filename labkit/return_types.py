"""Named tuples returned by ops with several results (``torch.return_types``):
``values, indices = x.max(dim=1)`` or ``x.max(dim=1).indices``."""
from collections import namedtuple

__all__ = ["max", "min", "sort", "topk", "kthvalue", "median", "aminmax", "histogram",
           "histogramdd", "linalg_svd", "svd", "linalg_eigh", "qr", "geqrf", "linalg_ldl_factor",
           "linalg_ldl_factor_ex"]


def _make(name, fields):
    base = namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"labkit.return_types.{name}(\n{body})"
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                "__module__": "labkit.return_types"})


max = _make("max", ["values", "indices"])              # noqa: A001 (torch's names)
min = _make("min", ["values", "indices"])              # noqa: A001
sort = _make("sort", ["values", "indices"])
topk = _make("topk", ["values", "indices"])
kthvalue = _make("kthvalue", ["values", "indices"])
median = _make("median", ["values", "indices"])
aminmax = _make("aminmax", ["min", "max"])
histogram = _make("histogram", ["hist", "bin_edges"])
histogramdd = _make("histogramdd", ["hist", "bin_edges"])
linalg_svd = _make("linalg_svd", ["U", "S", "Vh"])
svd = _make("svd", ["U", "S", "V"])
linalg_eigh = _make("linalg_eigh", ["eigenvalues", "eigenvectors"])
qr = _make("qr", ["Q", "R"])
geqrf = _make("geqrf", ["a", "tau"])
linalg_ldl_factor = _make("linalg_ldl_factor", ["LD", "pivots"])
linalg_ldl_factor_ex = _make("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
