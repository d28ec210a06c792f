"""labkit.linalg vs torch.linalg: values and gradients (float64), errors, forward-only functions."""
import numpy as np
import pytest

import labkit as lk

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
A = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)          # batched, well conditioned
B = rng.standard_normal((2, 3, 2))
b = rng.standard_normal((2, 3))
SPD = A @ np.swapaxes(A, -1, -2)
TALL = rng.standard_normal((5, 3))

CASES = {
    "inv": (lambda M, a: M.linalg.inv(a), [A]),
    "inverse": (lambda M, a: M.inverse(a), [A]),
    "det": (lambda M, a: M.linalg.det(a), [A]),
    "det_top": (lambda M, a: M.det(a[0]), [A]),
    "slogdet": (lambda M, a: M.linalg.slogdet(a).logabsdet, [A]),
    "logdet": (lambda M, a: M.logdet(a), [A]),
    "solve": (lambda M, a, c: M.linalg.solve(a, c), [A, B]),
    "solve_vector": (lambda M, a, c: M.linalg.solve(a, c), [A, b]),
    "solve_right": (lambda M, a, c: M.linalg.solve(a, c, left=False), [A, np.swapaxes(B, -1, -2)]),
    "cholesky": (lambda M, s: M.linalg.cholesky(s), [SPD]),
    "cholesky_upper": (lambda M, s: M.linalg.cholesky(s, upper=True), [SPD]),
    "svdvals": (lambda M, a: M.linalg.svdvals(a), [A]),
    "eigvalsh": (lambda M, s: M.linalg.eigvalsh(s), [SPD]),
    "pinv": (lambda M, a: M.linalg.pinv(a), [TALL]),
    "lstsq": (lambda M, a, c: M.linalg.lstsq(a, c).solution, [TALL, rng.standard_normal((5, 2))]),
    "vector_norm_3": (lambda M, a: M.linalg.vector_norm(a, 3, dim=1), [A]),
    "vector_norm_inf": (lambda M, a: M.linalg.vector_norm(a, float("inf")), [A]),
    "vector_norm_0": (lambda M, a: M.linalg.vector_norm(a, 0, dim=(1, 2)), [A]),
    "matrix_norm_fro": (lambda M, a: M.linalg.matrix_norm(a), [A]),
    "matrix_norm_1": (lambda M, a: M.linalg.matrix_norm(a, 1), [A]),
    "matrix_norm_inf": (lambda M, a: M.linalg.matrix_norm(a, float("inf"), keepdim=True), [A]),
    "matrix_norm_nuc": (lambda M, a: M.linalg.matrix_norm(a, "nuc"), [A]),
    "matrix_norm_2": (lambda M, a: M.linalg.matrix_norm(a, 2), [A]),
    "norm": (lambda M, a: M.linalg.norm(a), [A]),
    "norm_matrix": (lambda M, a: M.linalg.norm(a[0], "fro"), [A]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_torch(name):
    fn, arrays = CASES[name]
    res = []
    for M in (lk, torch):
        ts = [M.tensor(a, requires_grad=True) for a in arrays]
        y = fn(M, *ts)
        w = M.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)))
        (y * w).sum().backward()
        res.append([y.detach().numpy()] + [np.zeros(t.shape) if t.grad is None else   # (torch:
                                           t.grad.numpy() for t in ts])               # ord=0)
    for ours, theirs in zip(*res):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["inv", "det", "solve", "cholesky", "svdvals", "eigvalsh"])
def test_gradcheck(name):
    fn, arrays = CASES[name]
    ts = tuple(lk.tensor(a[0] if a.ndim == 3 else a, requires_grad=True) for a in arrays)
    if name in ("cholesky", "eigvalsh"):         # symmetric perturbations only
        assert lk.autograd.gradcheck(lambda s: fn(lk, (s + s.mT) / 2), ts)
    else:
        assert lk.autograd.gradcheck(lambda *a: fn(lk, *a), ts)


def test_decompositions_and_errors():
    a = lk.tensor(A[0])
    U, S, Vh = lk.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(((U * S) @ Vh).numpy(), A[0], atol=1e-12)
    w, Q = lk.linalg.eigh(lk.tensor(SPD[0]))
    np.testing.assert_allclose((Q @ lk.diag(w) @ Q.T).numpy(), SPD[0], atol=1e-10)
    q, r = lk.linalg.qr(a)
    np.testing.assert_allclose((q @ r).numpy(), A[0], atol=1e-12)
    assert lk.linalg.svd(lk.tensor(A[0], requires_grad=True)).S.grad_fn.name() == \
        "LinalgSvdBackward0"            # differentiable (tests/test_conformance_fixes.py)
    with lk.no_grad():
        assert lk.linalg.svd(lk.tensor(A[0], requires_grad=True)).S.grad_fn is None
    with pytest.raises(RuntimeError, match="not invertible.*identity"):
        lk.linalg.inv(lk.zeros(2, 2))
    with pytest.raises(RuntimeError, match="square matrices.*shape \\[2, 3\\]"):
        lk.linalg.det(lk.ones(2, 3))
    with pytest.raises(RuntimeError, match="floating point"):
        lk.linalg.inv(lk.eye(2).long())
    r = lk.linalg.lstsq(lk.tensor(TALL), lk.tensor(TALL[:, :2]))
    t = torch.linalg.lstsq(torch.tensor(TALL), torch.tensor(TALL[:, :2]))
    assert r.rank.item() == t.rank.item() and r.residuals.numel() == t.residuals.numel() == 0
    rd = lk.linalg.lstsq(lk.tensor(TALL), lk.tensor(TALL[:, :2]), driver="gelsd")
    td = torch.linalg.lstsq(torch.tensor(TALL), torch.tensor(TALL[:, :2]), driver="gelsd")
    np.testing.assert_allclose(rd.singular_values.numpy(), td.singular_values.numpy())
    assert lk.linalg.inv(lk.tensor(A, requires_grad=True)).grad_fn.name() == "LinalgInvExBackward0"
