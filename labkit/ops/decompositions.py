"""Matrix decompositions with their gradients: ``eigh``, ``svd`` and ``qr`` (one Function each,
forward and backward side by side, ``linalg.eigh/svd/qr`` and ``torch.svd/qr`` use them), the
inverse they need, and the Householder form of QR (``geqrf``, ``householder_product``/``orgqr``,
``ormqr``).

The backward rules, for real matrices (X^T the transpose; skew(X) = X - X^T; E_ij = d_j - d_i):

    eigh  A = Q diag(w) Q^T:  gA = Q (diag(g_w) + skew(Q^T g_Q) / (2 E)) Q^T      (d = w)
    svd   A = U diag(S) Vh:   gA = U (diag(g_S) + (skew(U^T g_U) S + S skew(Vh g_Vh^T)) / E) Vh
                              (d = S^2) plus, for a tall A, (I - U U^T) g_U S^-1 Vh and, for a
                              wide A, U S^-1 g_Vh (I - Vh^T Vh)
    qr    A = Q R (m >= n):   gA = (g_Q + Q copyltu(M)) R^-T, M = R g_R^T - g_Q^T Q
                              (copyltu(M): M's lower triangle mirrored into the upper one);
                              a wide A = Q [R1 R2] is the square rule on its first m columns

Eigen- and singular vectors are defined up to sign: a loss that depends on the sign has no
gradient, and (as in PyTorch for real inputs) nothing checks that.  Repeated eigen- or singular
values make E zero, and the vector gradients are then inf/NaN, as PyTorch's.
"""
import numpy as np

from ..autograd.function import Function
from ..kernels.lapack import cpu_driver
from .. import return_types as RT
from ..tensor import Tensor, _make
from ._registry import _with_out, register

_SvdResult, _SvdOldResult, _EighResult = RT.linalg_svd, RT.svd, RT.linalg_eigh
_QrResult, _GeqrfResult = RT.qr, RT.geqrf


def _float_matrices(name, A, square=False):
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions "
                           f"(got shape {list(A.shape)})")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices (shape {list(A.shape)})")
    if A._np.dtype.kind != "f":
        raise RuntimeError(f"{name}: Expected a floating point tensor as input. Got {A.dtype}; "
                           f"convert it with A.float()")


def _eye(xp, n, like):
    return xp.astype(xp.asarray(np.eye(n)), like.dtype)


class Inv(Function):
    raw = True
    derivative = "d(A^-1) = -A^-1 dA A^-1: the gradient is -A^-T G A^-T"
    node_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        try:
            Ai = np.linalg.inv(A)
        except np.linalg.LinAlgError as e:
            raise RuntimeError(f"linalg.inv: The input is not invertible ({e}); check for "
                               f"linearly dependent rows, or add a small multiple of the identity "
                               f"(A + 1e-6 * I)") from None
        ctx.save_for_backward(Ai)
        return Ai

    @staticmethod
    def backward(ctx, g):
        (Ai,) = ctx.saved_tensors
        return -Ai.mT @ g @ Ai.mT


class Eigh(Function):
    raw = True
    derivative = ("gA = Q (diag(g_w) + skew(Q^T g_Q) / (2 E)) Q^T, E_ij = w_j - w_i: the "
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
        eye = _eye(xp, n, Q)
        inner = 0
        if gQ is not None:
            X = Q.mT @ gQ
            E = w[..., None, :] - w[..., :, None]
            inner = 0.5 * (X - X.mT) / xp.where(np.eye(n, dtype=bool), 1.0, E)
        if gw is not None:
            inner = inner + gw[..., None] * eye
        return Q @ inner @ Q.mT, None


class Svd(Function):
    raw = True
    derivative = ("gA = U (diag(g_S) + (skew(U^T g_U) S + S skew(Vh g_Vh^T)) / E) Vh, "
                  "E_ij = S_j^2 - S_i^2 (+ the parts outside U's / Vh's span for a tall / wide A)")
    node_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, A, full_matrices):
        m, n = A.shape[-2:]
        k = min(m, n)
        if A.size == 0:          # LAPACK has nothing to do: identities where they are square
            b = A.shape[:-2]
            mu, nv = (m, n) if full_matrices else (k, k)
            U = np.broadcast_to(np.eye(m, mu, dtype=A.dtype), b + (m, mu)).copy()
            Vh = np.broadcast_to(np.eye(nv, n, dtype=A.dtype), b + (nv, n)).copy()
            S = np.zeros(b + (k,), A.dtype)
        else:
            U, S, Vh = np.linalg.svd(A, full_matrices=full_matrices)
            U, S, Vh = U.astype(A.dtype), S.astype(A.dtype), Vh.astype(A.dtype)
        ctx.save_for_backward(U, S, Vh)
        ctx.full = full_matrices
        ctx.set_materialize_grads(False)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        xp = ctx.xp
        m, n = U.shape[-2], Vh.shape[-1]
        k = min(m, n)
        if ctx.full:             # only the first k columns of U (rows of Vh) are A's
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = None if gU is None else gU[..., :, :k]
            gVh = None if gVh is None else gVh[..., :k, :]
        if gU is None and gVh is None:
            return (None if gS is None else (U * gS[..., None, :]) @ Vh), None
        S2 = S * S
        E = xp.where(np.eye(k, dtype=bool), 1.0, S2[..., None, :] - S2[..., :, None])
        inner = 0
        if gU is not None:
            X = U.mT @ gU
            inner = (X - X.mT) * S[..., None, :]
        if gVh is not None:
            Y = Vh @ gVh.mT
            inner = inner + S[..., :, None] * (Y - Y.mT)
        inner = inner / E
        if gS is not None:
            inner = inner + gS[..., None] * _eye(xp, k, S)
        if m > n and gU is not None:             # the part of g_U outside U's columns
            gUS = gU / S[..., None, :]
            return (U @ inner + gUS - U @ (U.mT @ gUS)) @ Vh, None
        if m < n and gVh is not None:            # the part of g_Vh outside Vh's rows
            SgVh = gVh / S[..., :, None]
            return U @ (inner @ Vh + SgVh - (SgVh @ Vh.mT) @ Vh), None
        return U @ inner @ Vh, None


def _qr_square_backward(ctx, Q, R, gQ, gR):
    """gA for A = Q R with R square (n x n): (g_Q + Q copyltu(M)) R^-T, M = R g_R^T - g_Q^T Q."""
    xp = ctx.xp
    M = 0
    if gR is not None:
        M = R @ gR.mT
    if gQ is not None:
        M = M - gQ.mT @ Q
    B = Q @ (xp.tril(M) + xp.tril(M, -1).mT)          # copyltu: the lower triangle, mirrored
    if gQ is not None:
        B = B + gQ
    return B @ Inv.call(ctx, R).mT


class Qr(Function):
    raw = True
    derivative = ("gA = (g_Q + Q copyltu(R g_R^T - g_Q^T Q)) R^-T (copyltu: the lower triangle "
                  "mirrored); a wide A: that on its first m columns, Q g_R2 on the rest")
    node_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, A, mode):
        m, n = A.shape[-2:]
        if A.size == 0:
            b = A.shape[:-2]
            qc = m if mode == "complete" else min(m, n)
            Q = np.broadcast_to(np.eye(m, qc, dtype=A.dtype), b + (m, qc)).copy()
            R = np.zeros(b + (qc if mode != "r" else min(m, n), n), A.dtype)
        else:
            Q, R = np.linalg.qr(A, mode="complete" if mode == "complete" else "reduced")
        if mode == "r":
            Q = np.zeros((0,), A.dtype)
        ctx.save_for_backward(Q, R)
        ctx.mode = mode
        ctx.set_materialize_grads(False)
        return Q.astype(A.dtype, copy=False), R.astype(A.dtype, copy=False)

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R = ctx.saved_tensors
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                               "going to differentiate through linalg.qr.")
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        if gQ is None and gR is None:
            return None, None
        if m >= n:
            return _qr_square_backward(ctx, Q, R, gQ, gR), None
        # A = Q [R1 R2]: R2 = Q^T Y with Y = A[:, m:], so g_Y = Q g_R2 and Q also gets Y g_R2^T
        R1, R2 = R[..., :, :m], R[..., :, m:]
        gR1 = None if gR is None else gR[..., :, :m]
        gY = None
        if gR is not None:
            gR2 = gR[..., :, m:]
            gY = Q @ gR2
            extra = (Q @ R2) @ gR2.mT
            gQ = extra if gQ is None else gQ + extra
        gX = _qr_square_backward(ctx, Q, R1, gQ, gR1)
        if gY is None:
            gY = ctx.xp.zeros(tuple(R2.shape[:-2]) + (m, n - m), dtype=gX.dtype)
        return ctx.xp.concatenate([gX, gY], axis=-1), None


# ---------------------------------------------------------------------------- the public API
def linalg_svd(A, full_matrices=True, *, driver=None):
    """``U, S, Vh`` with ``A = U diag(S) Vh``, singular values descending (differentiable)."""
    cpu_driver(driver)                           # driver= is CUDA-only: refused, as by torch
    _float_matrices("linalg.svd", A)
    return _SvdResult(*Svd.apply(A, bool(full_matrices)))


def linalg_eigh(input, UPLO="L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices; only the
    ``UPLO`` triangle is read (differentiable)."""
    A = input                                     # PyTorch's binding names it input
    _float_matrices("linalg.eigh", A, square=True)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _EighResult(*Eigh.apply(A, UPLO))


def linalg_qr(A, mode="reduced"):
    """``Q, R`` with ``A = Q R``, ``Q`` orthonormal columns and ``R`` upper triangular;
    ``mode``: 'reduced' (k = min(m, n) columns), 'complete' (Q square) or 'r' (R only)."""
    _float_matrices("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    return _QrResult(*Qr.apply(A, mode))


@register("svd")
def svd(input, some=True, compute_uv=True):
    """``torch.svd``: ``U, S, V`` (V, not Vh) with ``input = U diag(S) V^T``; ``some=False``
    gives square U and V; ``compute_uv=False`` returns zero U and V (as PyTorch)."""
    if not compute_uv:
        S = linalg_svd(input, full_matrices=False).S
        m, n = input.shape[-2:]
        b, dt = tuple(input.shape[:-2]), input._np.dtype
        return _SvdOldResult(_make(np.zeros(b + (m, m), dt)), S, _make(np.zeros(b + (n, n), dt)))
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return _SvdOldResult(U, S, Vh.mT)


@register("qr")
def qr(input, some=True):
    """``torch.qr``: ``Q, R``; ``some=False`` is ``mode='complete'``."""
    return linalg_qr(input, "reduced" if some else "complete")


# ------------------------------------------------------- the Householder form (LAPACK geqrf)
@register("geqrf")
def geqrf(input):
    """LAPACK's ``geqrf``: R on and above the diagonal of ``a``, the Householder vectors below
    it (their leading 1 implied), and their scales ``tau`` (no gradient, as in PyTorch)."""
    _float_matrices("geqrf", input)
    A = input._np
    m, n = A.shape[-2:]
    k = min(m, n)
    if A.size == 0:
        return _GeqrfResult(_make(A.copy()), _make(np.zeros(A.shape[:-2] + (k,), A.dtype)))
    h, tau = np.linalg.qr(A, mode="raw")                 # h is the transposed (Fortran) a
    return _GeqrfResult(_make(np.ascontiguousarray(np.swapaxes(h, -1, -2)).astype(A.dtype)),
                        _make(tau.astype(A.dtype)))


def _reflectors(A, tau):
    """The Householder vectors v_i (unit first entry, zeros above) as columns of V (m x k)."""
    m = A.shape[-2]
    k = tau.shape[-1]
    below = np.tril(np.ones((m, k), dtype=bool), -1)
    eye = _make(np.eye(m, k, dtype=A._np.dtype))
    return A[..., :, :k] * _make(below.astype(A._np.dtype)) + eye


def _check_householder(name, A, tau):
    _float_matrices(name, A)
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to "
                           f"input.shape[-1] (got shape {list(A.shape)})")
    if tau.shape[-1] > A.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to "
                           f"tau.shape[-1] (got {A.shape[-1]} and {tau.shape[-1]})")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau {list(tau.shape[:-1])} to "
                           f"be equal to those of input {list(A.shape[:-2])}")


def householder_product(A, tau):
    """The first n columns of H_1 H_2 ... H_k, H_i = I - tau_i v_i v_i^T (v_i: column i of A
    below the diagonal, with a 1 on it): ``Q`` from ``geqrf``'s output.  A composite of
    differentiable ops, so it has PyTorch's gradient."""
    _check_householder("linalg.householder_product", A, tau)
    m, n = A.shape[-2:]
    V = _reflectors(A, tau)
    Q = _make(np.broadcast_to(np.eye(m, n, dtype=A._np.dtype), tuple(A.shape)).copy())
    for i in reversed(range(tau.shape[-1])):             # H_i (H_{i+1} ... H_k E)
        v = V[..., :, i:i + 1]
        Q = Q - (tau[..., i, None, None] * v) @ (v.mT @ Q)
    if tau.shape[-1] == 0:                               # no reflector: on the graph all the same
        Q = Q + 0 * A + 0 * tau.sum(-1)[..., None, None]
    return Q


@register("orgqr")
def orgqr(input, input2):
    """``torch.orgqr``: ``linalg.householder_product(input, tau)`` (PyTorch's binding names tau
    input2)."""
    return householder_product(input, input2)


@register("ormqr")
def ormqr(input, input2, input3, left=True, transpose=False):
    """``Q @ other`` (``other @ Q`` when ``left=False``; ``Q^T`` when ``transpose=True``) with
    the Q of ``geqrf``'s ``(input, tau)`` kept in Householder form (PyTorch's binding names tau
    and other input2 and input3)."""
    A, tau, C = input, input2, input3
    _float_matrices("ormqr", A)
    m = A.shape[-2]
    if C.shape[-2 if left else -1] != m:
        raise RuntimeError(f"ormqr: other.shape[{-2 if left else -1}] must be equal to "
                           f"input.shape[-2] (got shapes {list(C.shape)} and {list(A.shape)})")
    V = _reflectors(A, tau)
    k = tau.shape[-1]
    # Q = H_1 ... H_k.  Q C applies H_k first; Q^T C applies H_1 first; C Q applies H_1 first.
    order = range(k) if (left == transpose) else reversed(range(k))
    out = C
    for i in order:
        v = V[..., :, i:i + 1]
        t = tau[..., i, None, None]
        out = out - (t * v) @ (v.mT @ out) if left else out - (out @ v) @ (t * v.mT)
    return out


# ---------------------------------------------- LDL^T with Bunch-Kaufman pivoting (LAPACK sytrf)
_LdlResult, _LdlExResult = RT.linalg_ldl_factor, RT.linalg_ldl_factor_ex
_BK_ALPHA = (1 + 17 ** 0.5) / 8          # Bunch-Kaufman's threshold: the growth stays bounded


def _sytf2_lower(a):
    """LAPACK's unblocked ``sytf2`` on the lower triangle of one symmetric matrix, in place:
    L (unit, below the diagonal) and the 1x1 / 2x2 blocks of D; 1-based pivots (a 2x2 block
    at k, k+1 stores -p twice, p the row swapped with k+1); info = the first zero pivot."""
    n = a.shape[0]
    piv = np.zeros(n, np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = abs(a[k, k])
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k])))
            colmax = abs(a[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            info = info or k + 1
            kp = k
        else:
            if absakk >= _BK_ALPHA * colmax:
                kp = k
            else:
                rowmax = np.max(np.abs(a[imax, k:imax]))
                if imax < n - 1:
                    rowmax = max(rowmax, np.max(np.abs(a[imax + 1:, imax])))
                if absakk >= _BK_ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _BK_ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:                 # swap rows and columns kk and kp of the trailing part
                if kp < n - 1:
                    a[kp + 1:, kk], a[kp + 1:, kp] = a[kp + 1:, kp].copy(), a[kp + 1:, kk].copy()
                seg = a[kk + 1:kp, kk].copy()
                a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
                a[kp, kk + 1:kp] = seg
                a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    x = a[k + 1:, k].copy()
                    d11 = 1.0 / a[k, k]              # LAPACK's order of rounding (syr, scal)
                    a[k + 1:, k + 1:] += np.tril(np.outer(x, -d11 * x))
                    a[k + 1:, k] = x * d11
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11 = a[k + 1, k + 1] / d21
                d22 = a[k, k] / d21
                t = 1.0 / (d11 * d22 - 1.0)
                d21 = t / d21
                for j in range(k + 2, n):
                    wk = d21 * (d11 * a[j, k] - a[j, k + 1])
                    wkp1 = d21 * (d22 * a[j, k + 1] - a[j, k])
                    a[j:, j] -= a[j:, k] * wk + a[j:, k + 1] * wkp1
                    a[j, k], a[j, k + 1] = wk, wkp1
        if kstep == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += kstep
    return np.tril(a), piv, info


def _ldl_factor(A):
    _float_matrices("linalg.ldl_factor", A, square=True)
    arr = A._np
    b, n = arr.shape[:-2], arr.shape[-1]
    LD = np.zeros_like(arr)
    piv = np.zeros(b + (n,), np.int32)
    info = np.zeros(b, np.int32)
    for i in np.ndindex(*b):
        LD[i], piv[i], info[i] = _sytf2_lower(arr[i].astype(np.float64).copy())
    return _make(LD), _make(piv), _make(info)


def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """``A = P L D L^T P^T`` of a symmetric matrix (only its lower triangle is read): L and D
    packed in ``LD``, LAPACK's ``pivots``, ``info`` > 0 where D is singular (no gradient)."""
    LD, piv, info = _ldl_factor(A)
    if check_errors and info._np.any():
        raise RuntimeError(f"torch.linalg.ldl_factor_ex: The factorization could not be "
                           f"completed because the input is not invertible (info = "
                           f"{int(info._np.max())})")
    return _LdlExResult(LD, piv, info)


def ldl_factor(A, *, hermitian=False):
    """``ldl_factor_ex`` without ``info`` (PyTorch does not raise for a singular D either)."""
    LD, piv, _ = _ldl_factor(A)
    return _LdlResult(LD, piv)


def _sytrs_lower(a, piv, b):
    """LAPACK's ``sytrs``: solve (P L D L^T P^T) X = B in place from ``sytf2``'s output."""
    n = a.shape[0]
    k = 0
    while k < n:                                         # L D Y = P^T B
        p = abs(int(piv[k])) - 1
        if piv[k] > 0:
            b[[k, p]] = b[[p, k]]
            b[k + 1:] -= np.outer(a[k + 1:, k], b[k])
            b[k] /= a[k, k]
            k += 1
        else:
            b[[k + 1, p]] = b[[p, k + 1]]
            b[k + 2:] -= np.outer(a[k + 2:, k], b[k]) + np.outer(a[k + 2:, k + 1], b[k + 1])
            akm1k = a[k + 1, k]
            akm1, ak = a[k, k] / akm1k, a[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:                                        # L^T P^T X = Y
        p = abs(int(piv[k])) - 1
        b[k] -= a[k + 1:, k] @ b[k + 1:]
        if piv[k] > 0:
            b[[k, p]] = b[[p, k]]
            k -= 1
        else:
            b[k - 1] -= a[k + 1:, k - 1] @ b[k + 1:]
            b[[k, p]] = b[[p, k]]
            k -= 2
    return b


def ldl_solve(LD, pivots, B, *, hermitian=False):
    """``X`` with ``A X = B`` from ``ldl_factor(A)``'s ``LD`` and ``pivots`` (batches
    broadcast; no gradient)."""
    _float_matrices("linalg.ldl_solve", LD, square=True)
    if B.ndim < 2 or B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(f"torch.linalg.ldl_solve: Incompatible shapes of A and B for the "
                           f"equation AX = B ({LD.shape[-2]}x{LD.shape[-1]} and "
                           f"{list(B.shape)})")
    b = np.broadcast_shapes(tuple(LD.shape[:-2]), tuple(pivots.shape[:-1]), tuple(B.shape[:-2]))
    a = np.broadcast_to(LD._np, b + tuple(LD.shape[-2:]))
    p = np.broadcast_to(pivots._np, b + tuple(pivots.shape[-1:]))
    X = np.broadcast_to(B._np, b + tuple(B.shape[-2:])).astype(np.result_type(LD._np, B._np))
    X = X.copy()
    for i in np.ndindex(*b):
        X[i] = _sytrs_lower(a[i], p[i], X[i])
    return _make(X)


# PyTorch's out= on the torch.linalg functions defined here
linalg_svd = _with_out(linalg_svd, "linalg.svd")
linalg_eigh = _with_out(linalg_eigh, "linalg.eigh")
linalg_qr = _with_out(linalg_qr, "linalg.qr")
householder_product = _with_out(householder_product, "linalg.householder_product")
ldl_factor = _with_out(ldl_factor, "linalg.ldl_factor")
ldl_factor_ex = _with_out(ldl_factor_ex, "linalg.ldl_factor_ex")
ldl_solve = _with_out(ldl_solve, "linalg.ldl_solve")
