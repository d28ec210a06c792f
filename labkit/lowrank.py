"""Low-rank linear algebra by random projection and iteration (``torch.svd_lowrank``,
``torch.pca_lowrank``, ``torch.lobpcg``): a few singular or eigen pairs of a big matrix without
a full decomposition.  Both draw from labkit's random generator.
"""
import builtins

import numpy as np

from . import linalg as LA
from .creation import randn
from .tensor import _make

__all__ = ["svd_lowrank", "pca_lowrank", "lobpcg"]


def _range_finder(A, q, niter, M):
    """An orthonormal basis Q (m, q) of A's dominant column space (Halko et al. 2009, alg. 4.4:
    multiply by a Gaussian matrix, then ``niter`` power iterations, re-orthonormalising each
    time so small singular values do not vanish in rounding)."""
    def times(X, Y):
        return X @ Y if M is None else X @ Y - M @ Y

    def times_t(X, Y):
        return X.mT @ Y if M is None else X.mT @ Y - M.mT @ Y
    R = randn(A.shape[-1], q, dtype=A.dtype)
    Q = LA.qr(times(A, R)).Q
    for _ in builtins.range(niter):
        Q = LA.qr(times_t(A, Q)).Q
        Q = LA.qr(times(A, Q)).Q
    return Q


def svd_lowrank(A, q=6, niter=2, M=None):
    """``(U, S, V)`` with ``A - M ~= U diag(S) V^T`` of rank ``q``, by a randomized range finder
    (exact when the rank of ``A - M`` is at most ``q``).  Random: draws from labkit's generator."""
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    wide = m < n
    if wide:                                        # work with the tall transpose
        A = A.mT
        M = None if M is None else M.mT
    Q = _range_finder(A, q, niter, M)
    B = Q.mT @ A if M is None else Q.mT @ A - Q.mT @ M
    U, S, Vh = LA.svd(B, full_matrices=False)
    U, V = Q @ U, Vh.mT
    return (V, S, U) if wide else (U, S, V)


def pca_lowrank(A, q=None, center=True, niter=2):
    """``(U, S, V)`` of the rank-``q`` SVD of ``A`` minus its column means (``center``): the
    principal directions are V's columns; ``q`` defaults to ``min(6, m, n)``."""
    m, n = A.shape[-2:]
    q = builtins.min(6, m, n) if q is None else q
    if not 0 <= q <= builtins.min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than "
                         f"min(m, n)={builtins.min(m, n)}")
    if niter < 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter)
    return svd_lowrank(A - A.mean(-2, keepdim=True), q, niter)


def _b_orthonormal(V, B):
    """Columns spanning V's range, orthonormal in the B inner product (near-dependent directions
    dropped: the search space [X, W, P] loses rank as the iteration converges)."""
    G = V.T @ (V if B is None else B @ V)
    w, Q = np.linalg.eigh((G + G.T) / 2)
    keep = w > max(w.max(), 0.0) * 1e-10
    return V @ (Q[:, keep] / np.sqrt(w[keep]))


def _rayleigh_ritz(S, A, n):
    """The n smallest Ritz pairs of A on the (B-orthonormal) basis S."""
    w, C = np.linalg.eigh((S.T @ A @ S + (S.T @ A @ S).T) / 2)
    return w[:n], S @ C[:, :n]


def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None,
           method=None, tracker=None, ortho_iparams=None, ortho_fparams=None,
           ortho_bparams=None):
    """``(E, X)``: the ``k`` largest (``largest=False``: smallest) eigenpairs of the symmetric
    (generalized, with ``B``) problem ``A x = E B x``, by LOBPCG (Knyazev 2001): minimise the
    Rayleigh quotient over the span of the current vectors, their (preconditioned by ``iK``)
    residuals and the previous step.

    The gradient reaches ``E`` (``dE_i = x_i^T dA x_i``, exact at convergence); ``X`` is
    returned without a graph.  ``method``, ``tracker`` and the ``ortho_*`` tuning knobs of
    PyTorch's implementation are accepted and not needed here.
    """
    if A.ndim != 2:
        raise NotImplementedError("labkit's lobpcg takes one matrix (no batch dims)")
    m = A.shape[-1]
    if A.shape[-2] != m:
        raise ValueError(f"A must be square, got {list(A.shape)}")
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if X is None else X.shape[-1]) if n is None else n
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) "
                         f"is smaller than 3 x the number of requested eigenpairs (={n})")
    if n < k:
        raise ValueError(f"lobpcg: n (={n}) must be at least k (={k})")
    largest = True if largest is None else largest
    niter = 1000 if niter is None else niter
    dt = A._np.dtype if A._np.dtype.kind == "f" else np.float64
    tol = float(np.finfo(dt).eps) ** 0.5 if tol is None else tol
    sign = -1.0 if largest else 1.0
    a = sign * np.asarray(A.detach()._np, np.float64)
    b = None if B is None else np.asarray(B.detach()._np, np.float64)
    ik = None if iK is None else np.asarray(iK.detach()._np, np.float64)
    x0 = randn(m, n, dtype=A.dtype)._np if X is None else X.detach()._np
    x = _b_orthonormal(np.asarray(x0, np.float64), b)
    lam, x = _rayleigh_ritz(x, a, n)
    p = None
    anorm = np.linalg.norm(a, 2)
    for _ in builtins.range(niter):
        bx = x if b is None else b @ x
        r = a @ x - bx * lam
        if np.all(np.linalg.norm(r[:, :k], axis=0) <= tol * (anorm + np.abs(lam[:k]))):
            break
        w = r if ik is None else ik @ r
        s = _b_orthonormal(np.hstack([x, w] + ([] if p is None else [p])), b)
        lam_new, x_new = _rayleigh_ritz(s, a, n)
        p = x_new - x @ (x.T @ (x_new if b is None else b @ x_new))
        lam, x = lam_new, x_new
    vecs = _make(np.ascontiguousarray(x[:, :k].astype(A._np.dtype)))
    quad = (vecs * (A @ vecs)).sum(0)              # x^T A x: E, with its gradient to A
    if B is not None:
        quad = quad / (vecs * (B @ vecs)).sum(0)
    return quad, vecs
