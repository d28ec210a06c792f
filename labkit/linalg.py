"""``labkit.linalg`` (~ ``torch.linalg``): the linear algebra of a first course, on NumPy's LAPACK.

Differentiable: ``inv``, ``det``, ``slogdet``, ``solve``, ``lstsq``, ``pinv``,
``vector_norm``, ``matrix_norm``/``norm`` (Frobenius), ``svdvals``, ``eigvalsh``, ``cholesky``,
and the decompositions ``svd``, ``eigh``, ``qr``, ``householder_product`` (their rules live in
labkit/ops/decompositions.py).
Every function takes batches of matrices ``(..., n, n)`` like PyTorch.

The backward rules (A^-T = the inverse transposed):

    inv:     dA = -A^-T G A^-T              det:  dA = G det(A) A^-T
    solve:   dB = A^-T G,  dA = -dB X^T     slogdet (logabsdet): dA = G A^-T
    svdvals: dA = U diag(G) V^T             eigvalsh: dA = Q diag(G) Q^T
    cholesky (A = L L^T): dA = L^-T Phi(L^T G) L^-1, symmetrised (Phi: lower half, diagonal / 2)
"""
import builtins as _builtins
from collections import namedtuple

import numpy as np

from .autograd.function import Function
from .ops.decompositions import (Eigh, Inv, Svd, householder_product, ldl_factor,
                                 ldl_factor_ex, ldl_solve, linalg_eigh as eigh, linalg_qr as qr,
                                 linalg_svd as svd)
from .ops.linalg import cross as _cross
from .ops.shape import broadcast_tensors as _broadcast_tensors, cat as _cat, stack as _stack
from .kernels.lapack import cholesky_info as _cholesky_info, cpu_driver as _cpu_driver, \
    cpu_pivot as _no_pivot_off_cuda, getrf as _getrf, lu_info as _lu_info, \
    perm_from_pivots as _perm_from_pivots
from .ops._registry import with_out as _with_out
from .tensor import Tensor, _make
from .ops._registry import FUNCTIONS as _FUNCTIONS
from . import scope as _scope

__all__ = ["inv", "det", "slogdet", "solve", "lstsq", "pinv", "norm", "vector_norm",
           "matrix_norm", "svd", "svdvals", "eigh", "eigvalsh", "qr", "cholesky",
           "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve"]



def _square(name, A):
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.{name}: expected a Tensor, got {type(A).__name__}")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.ndim >= 2 else '?'} by {A.shape[-1] if A.ndim else '?'}"
                           f" matrices (shape {list(A.shape)})")
    if A._np.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: Expected a floating point tensor as input. Got "
                           f"{A.dtype}; convert it with A.float()")


def _lapack(name, fn, *args):
    try:
        return fn(*args)
    except np.linalg.LinAlgError as e:
        raise RuntimeError(f"linalg.{name}: The input is not invertible / not positive-definite "
                           f"({e}); check for linearly dependent rows, or add a small multiple of "
                           f"the identity (A + 1e-6 * I)") from None


def inv(A):
    """The inverse of square matrices ``A`` (batches too)."""
    _square("inv", A)
    return Inv.apply(A)


class Det(Function):
    raw = True
    derivative = "d det(A)/dA = det(A) A^-T"
    node_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, A):
        d = np.asarray(np.linalg.det(A).astype(A.dtype))
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        return (g * d)[..., None, None] * Inv.call(ctx, A).mT


def det(A):
    """The determinant of square matrices ``A``."""
    _square("det", A)
    return Det.apply(A)


class Slogdet(Function):
    raw = True
    derivative = "d log|det A|/dA = A^-T (the sign has no gradient)"
    node_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, A):
        sign, logabs = np.linalg.slogdet(A)
        ctx.save_for_backward(A)
        ctx.set_materialize_grads(False)
        sign = np.asarray(sign.astype(A.dtype))   # on the graph as in PyTorch; its gradient is 0
        return sign, np.asarray(logabs.astype(A.dtype))

    @staticmethod
    def backward(ctx, g_sign, g_logabs):
        (A,) = ctx.saved_tensors
        if g_logabs is None:
            return None
        return g_logabs[..., None, None] * Inv.call(ctx, A).mT


_SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])


def slogdet(A):
    """``(sign, log|det A|)``, stable where ``det`` would under- or overflow."""
    _square("slogdet", A)
    return _SlogdetResult(*Slogdet.apply(A))


def logdet(A):
    """``log(det A)``: NaN where the determinant is negative (``labkit.logdet``, as torch)."""
    sign, logabs = slogdet(A)
    return logabs.where(sign >= 0, float("nan"))


class Solve(Function):
    raw = True
    derivative = "X = A^-1 B: dB = A^-T G, dA = -dB X^T"
    node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B, vec):
        Bm = B[..., None] if vec else B
        X = _lapack("solve", np.linalg.solve, A, Bm)
        X = X[..., 0] if vec else X
        ctx.save_for_backward(A, X)
        ctx.vec = vec
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        xp = ctx.xp
        gm = xp.expand_dims(g, -1) if ctx.vec else g
        Xm = xp.expand_dims(X, -1) if ctx.vec else X
        gB = Solve.call(ctx, A.mT, gm, False)
        gA = -gB @ Xm.mT
        return gA, (xp.squeeze(gB, -1) if ctx.vec else gB), None


def solve(A, B, *, left=True):
    """``X`` with ``A @ X = B`` (``B`` a vector or matrices; batches broadcast)."""
    _square("solve", A)
    if not left:
        return solve(A.mT, B.mT).mT
    vec = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if B.shape[-2 if not vec else -1] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {list(B.shape)})")
    if B._np.dtype != A._np.dtype:
        B = B.to(A.dtype)
    return Solve.apply(A, B, vec)


_LstsqResult = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


def lstsq(A, B, rcond=None, *, driver=None):
    """Least squares ``min ||A X - B||`` (the minimum-norm ``X`` when ``A`` is rank-deficient):
    ``pinv(A) @ B``, differentiable; ``residuals`` when m > n."""
    if A.ndim < 2:
        raise RuntimeError(f"linalg.lstsq: input must have at least 2 dimensions, got "
                           f"{list(A.shape)}")
    m, n = A.shape[-2:]
    vec = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vec else B
    rc = None if rcond is None else rcond
    X = pinv(A, rtol=rc) @ Bm                    # the minimum-norm solution, any rank
    driver = driver or "gelsy"                   # which extras are filled follows PyTorch's CPU
    empty = _make(np.zeros(0, A._np.dtype))
    res = ((A @ X - Bm) ** 2).sum(-2) if m > n and driver in ("gels", "gelsd", "gelss") \
        else X.reshape(-1)[:0]                   # empty (on the graph, as in PyTorch)
    rank = _make(np.asarray(np.linalg.matrix_rank(A._np), dtype=np.int64)) if driver != "gels" \
        else _make(np.zeros(0, np.int64))
    sv = _make(np.linalg.svd(A._np, compute_uv=False).astype(A._np.dtype)) \
        if driver in ("gelsd", "gelss") else empty
    return _LstsqResult(X.squeeze(-1) if vec else X, res, rank, sv)


def _pinv_array(a, atol, rtol, hermitian):
    if hermitian:
        a = np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)
    m, n = a.shape[-2:]
    if a.size == 0:
        return np.zeros(a.shape[:-2] + (n, m), a.dtype)
    if rtol is None:
        rtol = 0.0 if (atol is not None and np.any(np.asarray(_np_value(atol)) > 0)) else \
            np.finfo(a.dtype).eps * max(m, n)
    u, sv, vt = np.linalg.svd(a, full_matrices=False)
    cutoff = np.maximum(0.0 if atol is None else _np_value(atol),
                        _np_value(rtol) * sv.max(-1, keepdims=True))
    with np.errstate(divide="ignore"):
        sinv = np.where(sv > cutoff, 1.0 / sv, 0.0).astype(a.dtype)
    P = np.matmul(np.swapaxes(vt, -1, -2) * sinv[..., None, :], np.swapaxes(u, -1, -2))
    return P.astype(a.dtype, copy=False)


class Pinv(Function):
    raw = True
    derivative = ("dA+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+ (where "
                  "the rank does not change)")
    node_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        P = _pinv_array(A, atol, rtol, hermitian)
        ctx.save_for_backward(A, P)
        return P

    @staticmethod
    def backward(ctx, g):
        """PyTorch's arrangement (the smaller products first); the saved A+ is this op's output,
        so the second derivative goes through this rule again."""
        A, P = ctx.saved_tensors
        m, n = A.shape[-2:]
        Pt, gt = P.mT, g.mT
        if m <= n:
            K = gt @ P
            KPt = K @ Pt
            gA = -(P @ K).mT + KPt - (A @ P) @ KPt + (Pt @ P) @ (gt - K @ A)
        else:
            K = P @ gt
            PtK = Pt @ K
            gA = -(K @ P).mT + (gt - A @ K) @ P @ Pt + PtK - PtK @ P @ A
        return gA, None, None, None


def pinv(input, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse from the SVD: singular values at or below
    ``max(atol, rtol * largest)`` count as zero (default ``rtol = eps * max(m, n)``), so a
    rank-deficient ``A`` gets the minimum-norm answer.  ``hermitian=True`` reads only the lower
    triangle.  Differentiable where the rank does not change (any order of derivative)."""
    A = input                                     # PyTorch's binding names it input
    atol = atol._np[..., None] if isinstance(atol, Tensor) else atol
    rtol = rtol._np[..., None] if isinstance(rtol, Tensor) else rtol
    return Pinv.apply(A, atol, rtol, hermitian)


def _np_value(v):
    return v._np[..., None] if isinstance(v, Tensor) else v  # (tensors: one per matrix)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """``(sum |x|^ord)^(1/ord)`` over ``dim`` (all elements by default); ``inf``: max |x|."""
    if dtype is not None:
        x = x.to(dtype)
    if ord == 2:
        return x.norm(2, dim=dim, keepdim=keepdim)
    a = x.abs()
    d = tuple(range(x.ndim)) if dim is None else dim
    if ord == float("inf"):
        return a.amax(d, keepdim=keepdim)
    if ord == -float("inf"):
        return a.amin(d, keepdim=keepdim)
    if ord == 0:                                 # a count: zero gradient, as in PyTorch
        return (a != 0).to(x.dtype).sum(d, keepdim=keepdim) + (a * 0).sum(d, keepdim=keepdim)
    return x.norm(ord, dim=d, keepdim=keepdim)


def matrix_norm(input, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Frobenius (``'fro'``), nuclear (``'nuc'``), 1/inf (max column/row sum) or 2 (largest
    singular value) norm of matrices."""
    A = input                                     # PyTorch's binding names it input
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim)
    d0, d1 = dim
    if ord in (1, -1, float("inf"), -float("inf")):
        if A._np.size == 0 and ord > 0:          # an empty max of sums: 0, as PyTorch
            out = A.abs().sum((d0, d1), keepdim=True)
            return out if keepdim else out.squeeze((d0, d1))
        sums = A.abs().sum(d0 if ord in (1, -1) else d1, keepdim=True)
        red = sums.amax if ord > 0 else sums.amin
        out = red(d1 if ord in (1, -1) else d0, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    if ord in ("nuc", 2) and A._np.size == 0:    # no singular values: 0, as PyTorch
        out = A.abs().sum((d0, d1), keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            for d in sorted(k % A.ndim for k in (d0, d1)):
                out = out.unsqueeze(d)
        return out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(input, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``vector_norm`` for vectors (or with an int ``dim``), ``matrix_norm`` for matrices."""
    A = input                                     # PyTorch's binding names it input
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if (dim is None and A.ndim == 2) or (isinstance(dim, (tuple, list)) and len(dim) == 2):
        return matrix_norm(A, ord, tuple(dim) if dim is not None else (-2, -1), keepdim,
                           dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


class SvdVals(Function):
    raw = True
    derivative = "d s_k/dA = u_k v_k^T (distinct singular values)"
    node_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, A):
        U, S, Vh = np.linalg.svd(A, full_matrices=False)
        S = S.astype(A.dtype)
        ctx.save_for_backward(A, S, U, Vh)
        return S

    @staticmethod
    def backward(ctx, g):
        """U diag(g) Vh, with U and Vh from ``Svd`` (differentiable): any order of derivative
        (distinct, non-zero singular values beyond the first)."""
        U, _, Vh = Svd.call(ctx, ctx.saved_tensors[0], False)
        return (U * g[..., None, :]) @ Vh

    @staticmethod
    def fused_backward(ctx, g):
        U, Vh = ctx.saved_tensors[2:]
        return (U * g[..., None, :]) @ Vh


def svdvals(A, *, driver=None):
    """Singular values, largest first (differentiable; distinct values assumed)."""
    _cpu_driver(driver)
    return SvdVals.apply(A)


class EigvalsH(Function):
    raw = True
    derivative = "d lambda_k/dA = q_k q_k^T (symmetric: Q diag(G) Q^T)"
    node_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, A, UPLO):
        w, Q = np.linalg.eigh(A, UPLO=UPLO)
        ctx.save_for_backward(A, Q)
        ctx.UPLO = UPLO
        return w.astype(A.dtype)

    @staticmethod
    def backward(ctx, g):
        """With the eigenvectors from ``Eigh`` (differentiable): any order of derivative."""
        A = ctx.saved_tensors[0]
        Q = Eigh.call(ctx, A, ctx.UPLO)[1]
        return (Q * g[..., None, :]) @ Q.mT, None

    @staticmethod
    def fused_backward(ctx, g):
        Q = ctx.saved_tensors[1]
        return (Q * g[..., None, :]) @ Q.mT, None


def eigvalsh(input, UPLO="L"):
    """Eigenvalues of symmetric matrices, ascending (differentiable; the ``UPLO`` half is read,
    and the gradient is the symmetric ``Q diag(G) Q^T``, as in PyTorch)."""
    A = input                                     # PyTorch's binding names it input
    _square("eigvalsh", A)
    return EigvalsH.apply(A, UPLO)


class Cholesky(Function):
    raw = True
    derivative = "dA = L^-T Phi(L^T G) L^-1, symmetrised (Phi: lower triangle, half diagonal)"
    node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A):
        L = _lapack("cholesky", np.linalg.cholesky, A)
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, g):
        (L,) = ctx.saved_tensors
        xp = ctx.xp
        n = L.shape[-1]
        phi = xp.tril(L.mT @ g) * xp.astype(xp.asarray(1 - 0.5 * np.eye(n)), g.dtype)
        Linv = Inv.call(ctx, L)
        gA = Linv.mT @ phi @ Linv
        return 0.5 * (gA + gA.mT)


def cholesky(input, *, upper=False):
    """``L`` with ``A = L L^T`` for symmetric positive-definite ``A`` (differentiable)."""
    A = input                                     # PyTorch's binding names it input
    _square("cholesky", A)
    L = Cholesky.apply(A)
    return L.mT if upper else L



# ----------------------------------------------- more of torch.linalg, as composites
__all__ += ["matrix_power", "multi_dot", "vecdot", "cross", "diagonal", "matrix_rank", "cond",
           "solve_triangular", "inv_ex", "solve_ex", "cholesky_ex", "vander", "tensorinv",
           "tensorsolve", "matrix_exp", "lu_factor", "lu_factor_ex", "lu", "lu_solve"]


def matrix_power(input, n):
    """``A @ A @ ... @ A`` (n times; n = 0 gives the identity, n < 0 powers of the inverse)."""
    A = input                                     # PyTorch's binding names it input
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, got "
                           f"shape {list(A.shape)}")
    n = int(n)
    if n == 0:
        eye = _make(np.eye(A.shape[-1], dtype=A._np.dtype))
        return (eye + A * 0).detach() if not A.requires_grad else eye.expand(A.shape) + A * 0
    base = inv(A) if n < 0 else A
    result, power = None, base
    k = _builtins.abs(n)
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
    a, b = _broadcast_tensors(input, other)
    return _cross(a, b, dim=dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return A.diagonal(offset, dim1, dim2)


def _svals(A, hermitian):
    a = A._np
    if hermitian:
        return np.abs(np.linalg.eigvalsh(a))
    return np.linalg.svd(a, compute_uv=False) if a.size else np.zeros(a.shape[:-1][:-1] + (0,))


def matrix_rank(input, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The number of singular values above ``max(atol, rtol * largest)``."""
    A = input                                     # PyTorch's binding names it input
    m, n = A.shape[-2:]
    s = _svals(A, hermitian)
    if tol is not None:
        atol, rtol = tol, 0.0
    atol_v = 0.0 if atol is None else (atol._np[..., None] if isinstance(atol, Tensor) else atol)
    if rtol is None:
        rtol_v = 0.0 if (atol is not None and np.any(np.asarray(atol_v) > 0)) else \
            np.finfo(A._np.dtype).eps * _builtins.max(m, n)
    else:
        rtol_v = rtol._np[..., None] if isinstance(rtol, Tensor) else rtol
    smax = s.max(-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    tol_ = np.maximum(atol_v, rtol_v * smax)
    return _make((s > tol_).sum(-1).astype(np.int64))


def cond(input, p=None):
    """The condition number ``norm(A, p) * norm(inv(A), p)`` (2-norm: largest over smallest
    singular value)."""
    A = input                                     # PyTorch's binding names it input
    if p is None or p == 2 or p == -2:
        s = svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """``X`` with ``A X = B`` (``X A = B`` when ``left=False``) reading only A's triangle."""
    T = A.triu() if upper else A.tril()
    if unitriangular:
        n = A.shape[-1]
        eye = _make(np.eye(n, dtype=A._np.dtype))
        T = T * (1 - eye) + eye
    return solve(T, B, left=left)


def _info(A):
    return _make(np.zeros(A.shape[:-2], np.int32))


def _ex(name, fn, info_of, A, check_errors, *args, **kwargs):
    """``(result, info)`` as PyTorch's ``*_ex``: a matrix the factorisation fails on gets
    ``info > 0`` (and NaN in the result, which PyTorch leaves unspecified); ``check_errors=True``
    raises instead."""
    try:
        return fn(A, *args, **kwargs), _info(A)
    except RuntimeError:
        if check_errors:
            raise
    info = info_of(A._np)
    bad = info > 0
    eye = _make(np.eye(A.shape[-1], dtype=A._np.dtype))
    res = fn(A.where(_make(~bad[..., None, None]), eye), *args, **kwargs)
    mask = _make(bad.reshape(bad.shape + (1,) * (res.ndim - bad.ndim)))
    return res.masked_fill(mask, float("nan")), _make(info)


def inv_ex(A, *, check_errors=False):
    return namedtuple("inv_ex", ["inverse", "info"])(*_ex("inv_ex", inv, _lu_info, A,
                                                            check_errors))


def solve_ex(A, B, *, left=True, check_errors=False):
    return namedtuple("solve_ex", ["result", "info"])(*_ex("solve_ex", solve, _lu_info, A,
                                                            check_errors, B, left=left))


def cholesky_ex(input, *, upper=False, check_errors=False):
    A = input                                     # PyTorch's binding names it input
    return namedtuple("cholesky_ex", ["L", "info"])(*_ex("cholesky_ex", cholesky,
                                                          _cholesky_info, A, check_errors,
                                                          upper=upper))


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
    powers = _stack(cols, -1)
    return powers.cumprod(-1)


def tensorinv(input, ind=2):
    """The inverse of ``A`` seen as a linear map from its first ``ind`` dims to the rest."""
    A = input                                     # PyTorch's binding names it input
    out_shape, in_shape = tuple(A.shape[ind:]), tuple(A.shape[:ind])
    rows = int(np.prod(in_shape))
    M = A.reshape(rows, -1)
    return inv(M).reshape(out_shape + in_shape)


def tensorsolve(A, B, dims=None):
    """``X`` with ``tensordot(A, X, X.ndim) = B``."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(*(rest + dims))
    x_shape = tuple(A.shape[B.ndim:])
    M = A.reshape(int(np.prod(B.shape)), int(np.prod(x_shape)))
    return solve(M, B.reshape(-1)).reshape(x_shape)


def matrix_exp(input):
    """``exp(A)`` by scaling and squaring a Taylor series (differentiable through matmul)."""
    A = input                                     # PyTorch's binding names it input
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_exp: Expected a square matrix, got {list(A.shape)}")
    if A._np.dtype == np.float32:                # squaring amplifies rounding: work in float64
        return matrix_exp(A.double()).float()
    norm = float(np.max(np.abs(A._np).sum(-1))) if A._np.size else 0.0
    s = _builtins.max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0.5 else 0
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
def _lu_parts(A):
    """(LU array, pivots, P, L, U arrays) for batches of matrices."""
    a = A._np
    m, n = a.shape[-2:]
    k = _builtins.min(m, n)
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


class LUFactors(Function):
    """``L, U`` of ``A = P L U`` (P from partial pivoting, a constant)."""
    raw = True
    derivative = ("square A: gA = P L^-T (tril(L^T g_L, -1) + triu(g_U U^T)) U^-T; a wide A's "
                  "extra columns U2 = L^-1 P^T A2 and a tall A's extra rows L2 = (P^T A)2 U^-1 "
                  "add their parts")
    node_name = "LinalgLuBackward0"

    @staticmethod
    def forward(ctx, A, parts):
        P, L, U = parts                          # _lu_parts(A), computed once by the caller
        ctx.P = P
        ctx.save_for_backward(L, U)
        ctx.set_materialize_grads(False)
        return L, U

    @staticmethod
    def backward(ctx, gL, gU):
        L, U = ctx.saved_tensors
        xp = ctx.xp
        m, n = L.shape[-2], U.shape[-1]
        k = _builtins.min(m, n)
        gL = xp.zeros(tuple(L.shape), dtype=L.dtype) if gL is None else gL
        gU = xp.zeros(tuple(U.shape), dtype=U.dtype) if gU is None else gU
        L1, U1 = L[..., :k, :k], U[..., :k, :k]
        phi_L = L1.mT @ gL[..., :k, :]
        phi_U = gU[..., :, :k] @ U1.mT
        if n > m:                                # U2 = L^-1 P^T A2
            U2, gU2 = U[..., :, k:], gU[..., :, k:]
            phi_L = phi_L - gU2 @ U2.mT
        if m > n:                                # L2 = (P^T A)2 U^-1
            L2, gL2 = L[..., k:, :], gL[..., k:, :]
            phi_U = phi_U - L2.mT @ gL2
        L1inv_T, U1inv_T = Inv.call(ctx, L1).mT, Inv.call(ctx, U1).mT
        g1 = L1inv_T @ (xp.tril(phi_L, -1) + xp.triu(phi_U)) @ U1inv_T
        if n > m:
            g1 = xp.concatenate([g1, L1inv_T @ gU2], axis=-1)
        if m > n:
            g1 = xp.concatenate([g1, gL2 @ U1inv_T], axis=-2)
        return xp.asarray(ctx.P) @ g1, None


def lu_factor(A, *, pivot=True):
    """``(LU, pivots)``: L (unit diagonal, below) and U (on and above) in one matrix, and the
    1-based row swaps (LAPACK's getrf)."""
    _no_pivot_off_cuda(pivot)
    LU, piv, P, L, U = _lu_parts(A)
    Lg, Ug = LUFactors.apply(A, (P, L, U))
    m, n = A.shape[-2:]
    if A.requires_grad:                          # pack L (strictly below) and U (on/above)
        k = _builtins.min(m, n)
        Lfull = Lg - _make(np.eye(m, k, dtype=L.dtype))
        if n > m:
            Lfull = _cat([Lfull, _make(np.zeros(L.shape[:-1] + (n - k,), L.dtype))], -1)
        Ufull = Ug if m <= n else _cat(
            [Ug, _make(np.zeros(U.shape[:-2] + (m - k, n), U.dtype))], -2)
        LUg = Lfull + Ufull
    else:
        LUg = _make(LU)
    return namedtuple("lu_factor", ["LU", "pivots"])(LUg, _make(piv))


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    LU, piv = lu_factor(A, pivot=pivot)
    info = _lu_info(A._np)                       # a zero pivot: U is singular (still returned)
    if check_errors and info.any():
        raise RuntimeError(f"torch.linalg.lu_factor_ex: U[{info.max()},{info.max()}] is zero "
                           f"and using it on lu_solve would result in a division by zero")
    return namedtuple("lu_factor_ex", ["LU", "pivots", "info"])(LU, piv, _make(info))


def lu(A, *, pivot=True):
    """``(P, L, U)`` with ``A = P @ L @ U``."""
    _no_pivot_off_cuda(pivot)
    _, _, P, L, U = _lu_parts(A)
    Lg, Ug = LUFactors.apply(A, (P, L, U))
    return namedtuple("lu", ["P", "L", "U"])(_make(P), Lg, Ug)


def _lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """``(P, L, U)`` from ``lu_factor``'s packed result (differentiable in LU_data)."""
    m, n = LU_data.shape[-2:]
    k = _builtins.min(m, n)
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
    P, L, U = _lu_unpack(LU, pivots)
    A = P @ L @ U
    if adjoint:
        A = A.mT
    return solve(A, B, left=left)


def matmul(input, other, *, out=None):
    """``labkit.linalg.matmul`` is ``labkit.matmul``."""
    return input.matmul(other) if out is None else _FUNCTIONS["matmul"](input, other, out=out)


__all__ += ["matmul"]


def __getattr__(name):
    # eig, eigvals: complex results; labkit.scope says so (still an AttributeError)
    raise _scope.error("labkit.linalg", "linalg." + name)


def _add_out():
    """``out=`` where PyTorch gives one (not vander, diagonal, matrix_exp), through the registry's
    one mechanism (``labkit.ops._registry.with_out``)."""
    g = globals()                 # (svd, eigh, qr, householder_product, ldl_*: in decompositions)
    for name in ("cholesky", "cholesky_ex", "cond", "cross", "det", "eigvalsh", "inv", "inv_ex",
                 "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matrix_norm",
                 "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "slogdet", "solve",
                 "solve_ex", "solve_triangular", "svdvals", "tensorinv", "tensorsolve", "vecdot",
                 "vector_norm"):
        g[name] = _with_out(g[name], "linalg." + name)


_add_out()
