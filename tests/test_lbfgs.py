"""optim.LBFGS vs torch.optim.LBFGS step for step (PyTorch's docs: closure required, lr,
max_iter, max_eval, tolerance_grad, tolerance_change, history_size, line_search_fn=None or
'strong_wolfe'), on the Rosenbrock function and a small regression, float32 and float64."""
import numpy as np
import pytest

import labkit as lk

torch = pytest.importorskip("torch")


def rosenbrock(lib, xy):
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def run(lib, problem, dtype, steps, **kw):
    rng = np.random.default_rng(0)
    if problem == "rosenbrock":
        params = [lib.tensor(np.array([-1.5, 2.0], dtype=dtype), requires_grad=True)]

        def f():
            return rosenbrock(lib, params[0])
    else:                                      # linear regression with an L2 penalty
        X = rng.standard_normal((32, 5)).astype(dtype)
        w_true = rng.standard_normal((5, 1)).astype(dtype)
        Y = X @ w_true + 0.1 * rng.standard_normal((32, 1)).astype(dtype)
        W = lib.tensor(np.zeros((5, 1), dtype), requires_grad=True)
        b = lib.tensor(np.zeros(1, dtype), requires_grad=True)
        params = [W, b]
        Xt, Yt = lib.tensor(X), lib.tensor(Y)

        def f():
            return ((Xt @ W + b - Yt) ** 2).mean() + 0.01 * (W ** 2).sum()
    opt = lib.optim.LBFGS(params, **kw)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss
    traj, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        traj.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
    st = opt.state[params[0]]
    return np.array(traj), np.array(losses), (st["func_evals"], st["n_iter"])


# float32 on Rosenbrock (ill-conditioned) amplifies 1-ulp differences of the gradients into
# visible ones after a few steps in both libraries alike; float32 is checked on the regression
@pytest.mark.parametrize("problem,dtype", [("rosenbrock", np.float64), ("regression", np.float64),
                                           ("regression", np.float32)])
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_matches_torch_step_for_step(problem, line_search_fn, dtype):
    kw = dict(lr=1 if line_search_fn else (0.05 if problem == "rosenbrock" else 0.5),
              max_iter=6, history_size=4, line_search_fn=line_search_fn)
    a_traj, a_loss, a_cnt = run(lk, problem, dtype, 5, **kw)
    b_traj, b_loss, b_cnt = run(torch, problem, dtype, 5, **kw)
    tol = 1e-9 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(a_traj, b_traj, rtol=tol, atol=tol)
    np.testing.assert_allclose(a_loss, b_loss, rtol=tol, atol=tol)
    if dtype == np.float64:    # float32 reaches its noise floor, where tolerance_change decides
        assert a_cnt == b_cnt  # the same number of closure calls and iterations
    assert a_loss[-1] < a_loss[0]


def test_lbfgs_converges_on_rosenbrock_with_strong_wolfe_like_torch():
    a_traj, a_loss, a_cnt = run(lk, "rosenbrock", np.float64, 10, line_search_fn="strong_wolfe",
                                tolerance_change=1e-12, tolerance_grad=1e-10)
    b_traj, b_loss, b_cnt = run(torch, "rosenbrock", np.float64, 10,
                                line_search_fn="strong_wolfe", tolerance_change=1e-12,
                                tolerance_grad=1e-10)
    np.testing.assert_allclose(a_traj[-1], [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(a_traj, b_traj, rtol=1e-8, atol=1e-8)
    assert a_cnt == b_cnt


def test_lbfgs_defaults_state_and_errors():
    p = lk.zeros(3, requires_grad=True)
    opt = lk.optim.LBFGS([p])
    t = torch.optim.LBFGS([torch.zeros(3, requires_grad=True)])
    assert opt.defaults == t.defaults        # lr=1, max_iter=20, max_eval=25, ...
    with pytest.raises(TypeError, match="closure"):
        opt.step()
    with pytest.raises(ValueError, match="parameter groups"):
        lk.optim.LBFGS([{"params": [p]}, {"params": [lk.zeros(2, requires_grad=True)]}])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        lk.optim.LBFGS([p], lr=-1)
    bad = lk.optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        bad.zero_grad()
        loss = ((p - 1) ** 2).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        bad.step(closure)
    # a zero gradient: returns at once (tolerance_grad), loss of the first evaluation
    q = lk.ones(2, requires_grad=True)
    o = lk.optim.LBFGS([q])

    def flat():
        o.zero_grad()
        loss = ((q - 1) ** 2).sum()
        loss.backward()
        return loss
    assert float(o.step(flat)) == 0.0 and o.state[q]["n_iter"] == 0
    # the state survives state_dict / load_state_dict and the next step continues the same way
    opt2 = lk.optim.LBFGS([p], max_iter=3)

    def c2():
        opt2.zero_grad()
        loss = ((p - lk.tensor([1., 2., 3.])) ** 4).sum()
        loss.backward()
        return loss
    opt2.step(c2)
    sd = opt2.state_dict()
    assert {"d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss",
            "func_evals", "n_iter"} <= set(sd["state"][0])


def test_lbfgs_resumes_from_its_state_dict(tmp_path):
    def make():
        W = lk.tensor(np.zeros((5, 1), np.float64), requires_grad=True)
        X = lk.tensor(np.random.default_rng(0).standard_normal((20, 5)))
        Y = X @ lk.tensor(np.arange(5.0).reshape(5, 1))
        return W, X, Y

    def run(opt, W, X, Y, steps):
        def closure():
            opt.zero_grad()
            loss = ((X @ W - Y) ** 2).mean()
            loss.backward()
            return loss
        for _ in range(steps):
            opt.step(closure)

    W, X, Y = make()
    opt = lk.optim.LBFGS([W], max_iter=2, history_size=3)
    run(opt, W, X, Y, 4)
    W2, X2, Y2 = make()
    opt2 = lk.optim.LBFGS([W2], max_iter=2, history_size=3)
    run(opt2, W2, X2, Y2, 2)
    lk.save(opt2.state_dict(), tmp_path / "lbfgs.safetensors")
    W3 = lk.tensor(W2.detach().numpy().copy(), requires_grad=True)
    opt3 = lk.optim.LBFGS([W3], max_iter=2, history_size=3)
    opt3.load_state_dict(lk.load(tmp_path / "lbfgs.safetensors"))
    run(opt3, W3, X2, Y2, 2)
    np.testing.assert_allclose(W3.detach().numpy(), W.detach().numpy(), rtol=1e-12)
