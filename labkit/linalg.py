"""``labkit.linalg`` (~ ``torch.linalg``): the linear algebra of a first course, on NumPy's LAPACK.

Differentiable: ``inv``, ``det``, ``slogdet``, ``solve``, ``lstsq``, ``pinv`` (full rank),
``vector_norm``, ``matrix_norm``/``norm`` (Frobenius), ``svdvals``, ``eigvalsh``, ``cholesky``.
Forward only (a clear error if a gradient is asked for): ``svd``, ``eigh``, ``qr``.
Every function takes batches of matrices ``(..., n, n)`` like PyTorch.

The backward rules (A^-T = the inverse transposed):

    inv:     dA = -A^-T G A^-T              det:  dA = G det(A) A^-T
    solve:   dB = A^-T G,  dA = -dB X^T     slogdet (logabsdet): dA = G A^-T
    svdvals: dA = U diag(G) V^T             eigvalsh: dA = Q diag(G) Q^T
    cholesky (A = L L^T): dA = L^-T Phi(L^T G) L^-1, symmetrised (Phi: lower half, diagonal / 2)
"""
from collections import namedtuple

import numpy as np

from .autograd.function import Function
from .tensor import Tensor, _make

__all__ = ["inv", "det", "slogdet", "solve", "lstsq", "pinv", "norm", "vector_norm",
           "matrix_norm", "svd", "svdvals", "eigh", "eigvalsh", "qr", "cholesky"]



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


class Inv(Function):
    raw = True
    derivative = "d(A^-1) = -A^-1 dA A^-1: the gradient is -A^-T G A^-T"
    node_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        Ai = _lapack("inv", np.linalg.inv, A)
        ctx.save_for_backward(Ai)
        return Ai

    @staticmethod
    def backward(ctx, g):
        (Ai,) = ctx.saved_tensors
        return -Ai.mT @ g @ Ai.mT


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
        sign = np.asarray(sign.astype(A.dtype))
        ctx.mark_non_differentiable(sign)
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


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse from the SVD: singular values at or below
    ``max(atol, rtol * largest)`` count as zero (default ``rtol = eps * max(m, n)``), so a
    rank-deficient ``A`` gets the minimum-norm answer.  ``hermitian=True`` reads only the lower
    triangle.  Differentiable where the rank does not change (the classical formula
    ``dA+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+``)."""
    a = A._np
    if hermitian:
        a = np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)
    m, n = a.shape[-2:]
    if a.size == 0:
        P = np.zeros(a.shape[:-2] + (n, m), a.dtype)
    else:
        u, sv, vt = np.linalg.svd(a, full_matrices=False)
        smax = sv.max(-1, keepdims=True)
        if rtol is None:
            rtol = 0.0 if (atol is not None and atol > 0) else np.finfo(a.dtype).eps * max(m, n)
        cutoff = np.maximum(0.0 if atol is None else _np_value(atol), _np_value(rtol) * smax)
        full_rank = bool(np.all(sv > cutoff))
        if full_rank and atol is None and not hermitian and A.requires_grad:
            # full rank: the closed form through solve, differentiable to every order
            return solve(A.mT @ A, A.mT) if m >= n else (solve(A @ A.mT, A)).mT
        with np.errstate(divide="ignore"):
            sinv = np.where(sv > cutoff, 1.0 / sv, 0.0).astype(a.dtype)
        P = np.matmul(np.swapaxes(vt, -1, -2) * sinv[..., None, :], np.swapaxes(u, -1, -2))
    P = _make(P.astype(a.dtype, copy=False))
    if not (A.requires_grad and _grad_enabled()):
        return P
    dA = A - A.detach()                          # zero, but carries the gradient
    Pt = P.mT
    I_m = _make(np.eye(m, dtype=a.dtype))
    I_n = _make(np.eye(n, dtype=a.dtype))
    return (P - P @ dA @ P + P @ Pt @ dA.mT @ (I_m - A.detach() @ P)
            + (I_n - P @ A.detach()) @ dA.mT @ Pt @ P)


def _np_value(v):
    return v._np[..., None] if isinstance(v, Tensor) else v


def _grad_enabled():
    from .autograd import is_grad_enabled
    return is_grad_enabled()


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
    return (a ** ord).sum(d, keepdim=keepdim) ** (1.0 / ord)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Frobenius (``'fro'``), nuclear (``'nuc'``), 1/inf (max column/row sum) or 2 (largest
    singular value) norm of matrices."""
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


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``vector_norm`` for vectors (or with an int ``dim``), ``matrix_norm`` for matrices."""
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if (dim is None and A.ndim == 2) or (isinstance(dim, (tuple, list)) and len(dim) == 2):
        return matrix_norm(A, ord, tuple(dim) if dim is not None else (-2, -1), keepdim,
                           dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


class _Eigh(Function):
    """Eigenvalues and eigenvectors of symmetric matrices, both differentiable: the rules of
    ``eigvalsh`` and ``svdvals`` use it, so that their gradients can be differentiated again."""
    raw = True
    derivative = ("dA = Q (diag(G_w) + F * (Q^T G_Q)) Q^T with F_ij = 1 / (w_j - w_i): the "
                  "eigenvector part needs distinct eigenvalues")
    node_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, A, UPLO):
        w, Q = np.linalg.eigh(A, UPLO=UPLO)
        w, Q = w.astype(A.dtype), Q.astype(A.dtype)
        ctx.save_for_backward(w, Q)
        ctx.set_materialize_grads(False)
        return w, Q

    @staticmethod
    def backward(ctx, gw, gQ):
        w, Q = ctx.saved_tensors
        xp = ctx.xp
        n = Q.shape[-1]
        eye = np.eye(n, dtype=bool)
        inner = 0
        if gw is not None:
            inner = gw[..., None] * xp.astype(xp.asarray(eye), Q.dtype)
        if gQ is not None:
            gap = w[..., None, :] - w[..., :, None]
            F = xp.where(eye, 0.0, 1 / xp.where(eye, 1.0, gap))
            inner = inner + F * (Q.mT @ gQ)
        return Q @ inner @ Q.mT, None


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
        """The singular vectors from the eigenvectors of A^T A (or A A^T), which ``_Eigh`` can
        differentiate: any order of derivative (distinct, non-zero singular values)."""
        A, S = ctx.saved_tensors[:2]
        xp = ctx.xp
        m, n = A.shape[-2:]
        if m >= n:
            V = xp.flip(_Eigh.call(ctx, A.mT @ A, "L")[1], -1)       # descending, as S
            U = (A @ V) / S[..., None, :]
        else:
            U = xp.flip(_Eigh.call(ctx, A @ A.mT, "L")[1], -1)
            V = (A.mT @ U) / S[..., None, :]
        return (U * g[..., None, :]) @ V.mT

    @staticmethod
    def fused_backward(ctx, g):
        U, Vh = ctx.saved_tensors[2:]
        return (U * g[..., None, :]) @ Vh


def svdvals(A):
    """Singular values, largest first (differentiable; distinct values assumed)."""
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
        """With the eigenvectors from ``_Eigh`` (differentiable): any order of derivative."""
        A = ctx.saved_tensors[0]
        Q = _Eigh.call(ctx, A, ctx.UPLO)[1]
        return (Q * g[..., None, :]) @ Q.mT, None

    @staticmethod
    def fused_backward(ctx, g):
        Q = ctx.saved_tensors[1]
        return (Q * g[..., None, :]) @ Q.mT, None


def eigvalsh(A, UPLO="L"):
    """Eigenvalues of symmetric matrices, ascending (differentiable; the ``UPLO`` half is read,
    and the gradient is the symmetric ``Q diag(G) Q^T``, as in PyTorch)."""
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


def cholesky(A, *, upper=False):
    """``L`` with ``A = L L^T`` for symmetric positive-definite ``A`` (differentiable)."""
    _square("cholesky", A)
    L = Cholesky.apply(A)
    return L.mT if upper else L


def _forward_only(name, A):
    if A.requires_grad:
        from .autograd.grad_mode import is_grad_enabled
        if is_grad_enabled():
            raise NotImplementedError(
                f"linalg.{name} has no backward in labkit: call it under labkit.no_grad() (or on "
                f"A.detach()), or use the differentiable svdvals / eigvalsh / cholesky / solve")
    return A._np


_SvdResult = namedtuple("svd", ["U", "S", "Vh"])
_EighResult = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
_QrResult = namedtuple("qr", ["Q", "R"])


def svd(A, full_matrices=True):
    """``U, S, Vh`` with ``A = U diag(S) Vh`` (forward only; see ``svdvals``)."""
    U, S, Vh = np.linalg.svd(_forward_only("svd", A), full_matrices=full_matrices)
    dt = A._np.dtype
    return _SvdResult(_make(U.astype(dt)), _make(S.astype(dt)), _make(Vh.astype(dt)))


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices (forward only)."""
    _square("eigh", A)
    w, Q = np.linalg.eigh(_forward_only("eigh", A), UPLO=UPLO)
    dt = A._np.dtype
    return _EighResult(_make(w.astype(dt)), _make(Q.astype(dt)))


def qr(A, mode="reduced"):
    """``Q, R`` with ``A = Q R`` (forward only)."""
    Q, R = np.linalg.qr(_forward_only("qr", A), mode=mode)
    dt = A._np.dtype
    return _QrResult(_make(Q.astype(dt)), _make(R.astype(dt)))


from .linalg_extra import *  # noqa: E402,F401,F403  (more of torch.linalg, as composites)
from .linalg_extra import __all__ as _extra_all  # noqa: E402
__all__ = __all__ + _extra_all
