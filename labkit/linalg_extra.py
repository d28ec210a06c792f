"""More of ``torch.linalg``, as composites of ``labkit.linalg`` and tensor ops (no backward to
write); ``labkit.linalg`` re-exports every name here."""
import builtins

import numpy as np

from .tensor import Tensor, _make

__all__ = ["matrix_power", "multi_dot", "vecdot", "cross", "diagonal", "matrix_rank", "cond",
           "solve_triangular", "inv_ex", "solve_ex", "cholesky_ex", "vander", "tensorinv",
           "tensorsolve", "matrix_exp", "lu_factor", "lu_factor_ex", "lu", "lu_solve"]


def _la():
    from . import linalg
    return linalg


def _lk():
    import labkit
    return labkit


def matrix_power(A, n):
    """``A @ A @ ... @ A`` (n times; n = 0 gives the identity, n < 0 powers of the inverse)."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, got "
                           f"shape {list(A.shape)}")
    n = int(n)
    if n == 0:
        eye = _make(np.eye(A.shape[-1], dtype=A._np.dtype))
        return (eye + A * 0).detach() if not A.requires_grad else eye.expand(A.shape) + A * 0
    base = _la().inv(A) if n < 0 else A
    result, power = None, base
    k = builtins.abs(n)
    while k:                                     # square-and-multiply
        if k & 1:
            result = power if result is None else result @ power
        k >>= 1
        if k:
            power = power @ power
    return result


def multi_dot(tensors):
    """``tensors[0] @ tensors[1] @ ...``; a 1-D first/last operand is a row/column vector."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError("multi_dot(): expected at least 2 tensors but got " + str(len(ts)))
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_vec:
        ts[0] = ts[0].unsqueeze(0)
    if last_vec:
        ts[-1] = ts[-1].unsqueeze(-1)
    out = ts[0]
    for t in ts[1:]:
        out = out @ t
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


def vecdot(x, y, *, dim=-1):
    """``sum(x * y, dim)`` (the dot product of the vectors along ``dim``)."""
    return (x * y).sum(dim)


def cross(input, other, *, dim=-1):
    a, b = _lk().broadcast_tensors(input, other)
    return _lk().cross(a, b, dim=dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


def _svals(A, hermitian):
    a = A._np
    if hermitian:
        return np.abs(np.linalg.eigvalsh(a))
    return np.linalg.svd(a, compute_uv=False) if a.size else np.zeros(a.shape[:-1][:-1] + (0,))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The number of singular values above ``max(atol, rtol * largest)``."""
    m, n = A.shape[-2:]
    s = _svals(A, hermitian)
    if tol is not None:
        atol, rtol = tol, 0.0
    atol_v = 0.0 if atol is None else (atol._np[..., None] if isinstance(atol, Tensor) else atol)
    if rtol is None:
        rtol_v = 0.0 if (atol is not None and np.any(np.asarray(atol_v) > 0)) else \
            np.finfo(A._np.dtype).eps * builtins.max(m, n)
    else:
        rtol_v = rtol._np[..., None] if isinstance(rtol, Tensor) else rtol
    smax = s.max(-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    tol_ = np.maximum(atol_v, rtol_v * smax)
    return _make((s > tol_).sum(-1).astype(np.int64))


def cond(A, p=None):
    """The condition number ``norm(A, p) * norm(inv(A), p)`` (2-norm: largest over smallest
    singular value)."""
    la = _la()
    if p is None or p == 2 or p == -2:
        s = la.svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    return la.matrix_norm(A, p) * la.matrix_norm(la.inv(A), p)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """``X`` with ``A X = B`` (``X A = B`` when ``left=False``) reading only A's triangle."""
    T = A.triu() if upper else A.tril()
    if unitriangular:
        n = A.shape[-1]
        eye = _make(np.eye(n, dtype=A._np.dtype))
        T = T * (1 - eye) + eye
    return _la().solve(T, B, left=left)


def _info(A):
    return _make(np.zeros(A.shape[:-2], np.int32))


def inv_ex(A, *, check_errors=False):
    from collections import namedtuple
    return namedtuple("inv_ex", ["inverse", "info"])(_la().inv(A), _info(A))


def solve_ex(A, B, *, left=True, check_errors=False):
    from collections import namedtuple
    return namedtuple("solve_ex", ["result", "info"])(_la().solve(A, B, left=left), _info(A))


def cholesky_ex(A, *, upper=False, check_errors=False):
    from collections import namedtuple
    return namedtuple("cholesky_ex", ["L", "info"])(_la().cholesky(A, upper=upper), _info(A))


def vander(x, N=None):
    """Columns ``x^0, x^1, ..., x^(N-1)`` (N defaults to the length of x)."""
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[-1] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if n == 0:
        return x.unsqueeze(-1)[..., :0]
    cols = [x * 0 + 1] + [x] * (n - 1)
    powers = _lk().stack(cols, -1)
    return powers.cumprod(-1)


def tensorinv(A, ind=2):
    """The inverse of ``A`` seen as a linear map from its first ``ind`` dims to the rest."""
    out_shape, in_shape = tuple(A.shape[ind:]), tuple(A.shape[:ind])
    rows = int(np.prod(in_shape))
    M = A.reshape(rows, -1)
    return _la().inv(M).reshape(out_shape + in_shape)


def tensorsolve(A, B, dims=None):
    """``X`` with ``tensordot(A, X, X.ndim) = B``."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(*(rest + dims))
    x_shape = tuple(A.shape[B.ndim:])
    M = A.reshape(int(np.prod(B.shape)), int(np.prod(x_shape)))
    return _la().solve(M, B.reshape(-1)).reshape(x_shape)


def matrix_exp(A):
    """``exp(A)`` by scaling and squaring a Taylor series (differentiable through matmul)."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_exp: Expected a square matrix, got {list(A.shape)}")
    if A._np.dtype == np.float32:                # squaring amplifies rounding: work in float64
        return matrix_exp(A.double()).float()
    norm = float(np.max(np.abs(A._np).sum(-1))) if A._np.size else 0.0
    s = builtins.max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0.5 else 0
    X = A / (2.0 ** s) if s else A
    eye = _make(np.eye(A.shape[-1], dtype=A._np.dtype))
    term, result = eye + X * 0, eye + X * 0
    for k in range(1, 19):
        term = term @ X / k
        result = result + term
    for _ in range(s):
        result = result @ result
    return result


# ------------------------------------------------------------------------------------- LU
def _getrf(a):
    """LAPACK-style LU with partial pivoting of one (m, n) matrix: (LU, 1-based pivots)."""
    a = a.astype(np.float64, copy=True)
    m, n = a.shape
    k_max = builtins.min(m, n)
    piv = np.zeros(k_max, np.int32)
    for k in range(k_max):
        p = k + int(np.argmax(np.abs(a[k:, k]))) if m > k else k
        piv[k] = p + 1
        if p != k:
            a[[k, p]] = a[[p, k]]
        if a[k, k] != 0:
            a[k + 1:, k] /= a[k, k]
            a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return a, piv


def _perm_from_pivots(piv, m):
    """The row permutation P (as an index array) with A = P L U."""
    perm = np.arange(m)
    for k, p in enumerate(piv):
        p = int(p) - 1
        perm[[k, p]] = perm[[p, k]]
    return perm


def _lu_parts(A):
    """(LU array, pivots, P, L, U arrays) for batches of matrices."""
    a = A._np
    m, n = a.shape[-2:]
    k = builtins.min(m, n)
    batch = a.shape[:-2]
    LU = np.zeros(a.shape, np.float64)
    piv = np.zeros(batch + (k,), np.int32)
    P = np.zeros(batch + (m, m), np.float64)
    for idx in np.ndindex(*batch):
        LU[idx], piv[idx] = _getrf(a[idx])
        perm = _perm_from_pivots(piv[idx], m)
        P[idx][perm, np.arange(m)] = 1.0
    L = np.tril(LU[..., :, :k], -1) + np.eye(m, k)
    U = np.triu(LU[..., :k, :])
    dt = a.dtype
    return LU.astype(dt), piv, P.astype(dt), L.astype(dt), U.astype(dt)


def _lu_graph(A, P, L, U):
    """L and U as functions of A (exact first derivatives where A's leading k x k block is
    invertible).  Square part S = L1 U1: with X = L1^-1 dS U1^-1, dL1 = L1 tril(X, -1) and
    dU1 = triu(X) U1; a wide A's extra columns are ``U2 = L1^-1 (P^T A)_2``, a tall A's extra
    rows ``L2 = (P^T A)_2 U1^-1``."""
    if not A.requires_grad:
        return _make(L), _make(U)
    m, n = A.shape[-2:]
    k = builtins.min(m, n)
    PtA = _make(np.swapaxes(P, -1, -2)) @ A
    S = PtA[..., :k, :k]
    L1, U1 = L[..., :k, :k], U[..., :k, :k]
    dS = S - S.detach()
    X = _make(np.linalg.inv(L1)) @ dS @ _make(np.linalg.inv(U1))
    L1g = _make(L1) + _make(L1) @ X.tril(-1)
    U1g = _make(U1) + X.triu() @ _make(U1)
    if n > m:
        U2 = solve_triangular(L1g, PtA[..., :, k:], upper=False, unitriangular=True)
        return L1g, _lk().cat([U1g, U2], -1)
    if m > n:
        L2 = solve_triangular(U1g, PtA[..., k:, :], upper=True, left=False)
        return _lk().cat([L1g, L2], -2), U1g
    return L1g, U1g


def lu_factor(A, *, pivot=True):
    """``(LU, pivots)``: L (unit diagonal, below) and U (on and above) in one matrix, and the
    1-based row swaps (LAPACK's getrf)."""
    from collections import namedtuple
    LU, piv, P, L, U = _lu_parts(A)
    Lg, Ug = _lu_graph(A, P, L, U)
    m, n = A.shape[-2:]
    if A.requires_grad:                          # pack L (strictly below) and U (on/above)
        k = builtins.min(m, n)
        Lfull = Lg - _make(np.eye(m, k, dtype=L.dtype))
        if n > m:
            Lfull = _lk().cat([Lfull, _make(np.zeros(L.shape[:-1] + (n - k,), L.dtype))], -1)
        Ufull = Ug if m <= n else _lk().cat(
            [Ug, _make(np.zeros(U.shape[:-2] + (m - k, n), U.dtype))], -2)
        LUg = Lfull + Ufull
    else:
        LUg = _make(LU)
    return namedtuple("lu_factor", ["LU", "pivots"])(LUg, _make(piv))


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    from collections import namedtuple
    LU, piv = lu_factor(A, pivot=pivot)
    return namedtuple("lu_factor_ex", ["LU", "pivots", "info"])(LU, piv, _info(A))


def lu(A, *, pivot=True):
    """``(P, L, U)`` with ``A = P @ L @ U``."""
    from collections import namedtuple
    _, _, P, L, U = _lu_parts(A)
    Lg, Ug = _lu_graph(A, P, L, U)
    return namedtuple("lu", ["P", "L", "U"])(_make(P), Lg, Ug)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """``(P, L, U)`` from ``lu_factor``'s packed result (differentiable in LU_data)."""
    from collections import namedtuple
    m, n = LU_data.shape[-2:]
    k = builtins.min(m, n)
    piv = LU_pivots._np
    P = np.zeros(piv.shape[:-1] + (m, m), LU_data._np.dtype)
    for idx in np.ndindex(*piv.shape[:-1]):
        P[idx][_perm_from_pivots(piv[idx], m), np.arange(m)] = 1.0
    eye = _make(np.eye(m, k, dtype=LU_data._np.dtype))
    L = LU_data[..., :, :k].tril(-1) + eye
    U = LU_data[..., :k, :].triu()
    return namedtuple("lu_unpack", ["P", "L", "U"])(_make(P), L, U)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """``X`` with ``A X = B`` (``X A = B`` when not left; ``A^H`` when adjoint) from A's LU."""
    P, L, U = lu_unpack(LU, pivots)
    A = P @ L @ U
    if adjoint:
        A = A.mT
    return _la().solve(A, B, left=left)
