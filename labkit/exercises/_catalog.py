"""The exercises: what to implement, the inputs they are checked on, hints, and mistake diagnosers.

Each exercise runs the learner's code on a few cases and compares with the reference in
``solutions.py`` (the one home of every answer).  ``diagnose`` functions recognise common mistakes
from the wrong output and turn them into a hint for that mistake; ``hints`` are the progressive
hints of ``ex.hint(name)``.
"""
import math

import numpy as np

from . import solutions as S


def _lk():
    import labkit
    return labkit


class Exercise:
    def __init__(self, name, notebook, title, text, cases, reference, *, hints, call=None,
                 diagnose=(), atol=1e-4, exception_hints=None, post=None):
        self.name, self.notebook, self.title, self.text = name, notebook, title, text
        self.cases, self.reference = cases, reference
        self.hints = tuple(hints)
        self.call = call or (lambda fn, args: fn(*args))
        self.diagnose = diagnose
        self.atol = atol
        self.exception_hints = exception_hints or {}
        self.post = post            # extra check after all cases pass (e.g. gradcheck, a type)

    def hint_for_exception(self, e):
        for etype, hint in self.exception_hints.items():
            if isinstance(e, etype):
                return hint
        if isinstance(e, RuntimeError) and "must match the size" in str(e):
            return "two operands have incompatible shapes: print the shapes of your intermediates"
        return None

    def run(self, fn):
        """A CheckResult, or raises what the learner's code raised (``check`` explains it)."""
        from . import CheckResult, compare, _contains_ellipsis
        for i, make in enumerate(self.cases):
            args = make()
            got = self.call(fn, args)
            if _contains_ellipsis(got):
                return CheckResult(self.name, "blank", "not attempted yet: replace the `...` "
                                   "with your code")
            want = self.call(self.reference, make())
            outs_g = got if isinstance(got, tuple) else (got,)
            outs_w = want if isinstance(want, tuple) else (want,)
            if len(outs_g) != len(outs_w):
                return CheckResult(self.name, "wrong", f"expected {len(outs_w)} return values, "
                                   f"got {len(outs_g)}")
            for k, (g, w) in enumerate(zip(outs_g, outs_w)):
                what = "result" if len(outs_w) == 1 else f"return value {k}"
                msg = compare(self.name, g, w, atol=self.atol, what=what)
                if msg and g is None:
                    return CheckResult(self.name, "wrong", f"case {i + 1} of {len(self.cases)}: "
                                       f"{msg}", "without a `return` statement a Python function "
                                       "returns None: end it with `return <your result>`")
                if msg:
                    hint = None
                    for d in (self.diagnose if g is not None else ()):
                        try:
                            hint = d(args, g, w, k)
                        except Exception:       # a diagnoser must never hide the real message
                            hint = None
                        if hint:
                            break
                    case = f"case {i + 1} of {len(self.cases)}"
                    return CheckResult(self.name, "wrong", f"{case}: {msg}", hint)
        if self.post is not None:
            msg = self.post(fn)
            if msg:
                return CheckResult(self.name, "wrong", msg[0], msg[1])
        return CheckResult(self.name, "correct", f"all {len(self.cases)} cases match the reference.")


def _np(x):
    from ..tensor import Tensor
    return x.detach()._np if isinstance(x, Tensor) else np.asarray(x)


def _rng(seed):
    return np.random.default_rng(seed)


def _t(a, rg=False):
    lk = _lk()
    return lk.tensor(np.asarray(a, dtype=np.float32), requires_grad=rg)


def _close(a, b, atol=1e-4):
    a, b = _np(a), _np(b)
    return a.shape == b.shape and np.allclose(a, b, atol=atol, rtol=1e-4)


# ------------------------------------------------------------------ shared diagnosers
def _sign_flipped(args, got, want, k):
    g, w = _np(got), _np(want)
    if g.shape == w.shape and np.allclose(g, -w, atol=1e-4) and np.abs(w).max() > 0:
        return "your result is exactly minus the expected one: check the sign"
    return None


def _forgot_chain(args, got, want, k):
    # the local derivative without multiplying by the incoming gradient
    grad = _np(args[-1])
    g, w = _np(got), _np(want)
    if g.shape == w.shape and np.all(grad != 0) and np.allclose(g * grad, w, atol=1e-4):
        return "you returned the local derivative only: multiply it by the incoming gradient (chain rule)"
    return None


def _function_call(fn_cls, args):
    """Apply an autograd.Function class to x, backpropagate grad: (output, x.grad)."""
    lk = _lk()
    x = lk.tensor(args[0], requires_grad=True)
    y = fn_cls.apply(x)
    if y is None:
        return None, None
    if y is Ellipsis:
        return y
    y.backward(lk.tensor(args[1]))
    return y.detach(), x.grad


def _function_cases():
    def g(seed):
        def f():
            r = _rng(seed)
            return (r.normal(size=(5,)).astype(np.float32), r.normal(size=(5,)).astype(np.float32))
        return f
    return [g(0), g(1)]


def _function_gradcheck(fn_cls):
    lk = _lk()
    x = lk.randn(4, dtype=lk.float64, requires_grad=True)
    ok = lk.autograd.gradcheck(fn_cls.apply, (x,), raise_exception=False)
    return None if ok else ("gradcheck failed: your backward does not match numerical "
                            "differences (float64)", None)


def _backward_local_only(args, got, want, k):
    if k == 1:
        g, w, grad = _np(got), _np(want), args[1]
        if g.shape == w.shape and np.allclose(g * grad, w, atol=1e-4):
            return "your backward returns the local derivative only: multiply it by grad_output"
    return None


# ------------------------------------------------------------------ 02
def _mul_backward_cases():
    def make(seed, shape):
        def f():
            r = _rng(seed)
            return tuple(r.normal(size=shape).astype(np.float32) for _ in range(3))
        return f
    return [make(0, (3,)), make(1, (2, 3))]


def _mul_swapped(args, got, want, k):
    x, y, g = args
    if _close(got, g * (x if k == 0 else y)):
        return ("grad_x is grad_z times the *other* factor: d(x*y)/dx = y, so grad_x = grad_z * y")
    return None


def _tanh_backward_cases():
    def make(seed, shape):
        def f():
            r = _rng(seed)
            return (r.normal(size=shape).astype(np.float32), r.normal(size=shape).astype(np.float32))
        return f
    return [make(0, (4,)), make(1, (2, 3))]


def _tanh_not_squared(args, got, want, k):
    x, g = args
    if _close(got, g * (1 - np.tanh(x))):
        return "d tanh(x)/dx = 1 - tanh(x)**2: the tanh is squared"
    return None


# ------------------------------------------------------------------ 03
def _square_wrong_rule(args, got, want, k):
    if k == 1 and _close(got, args[0] * args[1]):
        return "d(x^2)/dx is 2x, not x"
    return None


def _sigmoid_wrong_rule(args, got, want, k):
    if k == 1:
        y = 1 / (1 + np.exp(-args[0]))
        if _close(got, args[1] * y):
            return "d sigmoid(x)/dx = y * (1 - y) with y = sigmoid(x): the (1 - y) factor is missing"
        if _close(got, args[1] * np.exp(-args[0])):
            return "d sigmoid(x)/dx = y * (1 - y) with y = sigmoid(x) (the saved output)"
    return None


# ------------------------------------------------------------------ 04
def _sgd_call(fn, args):
    lk = _lk()
    params = [lk.tensor(a.copy(), requires_grad=True) for a in args[0]]
    for p, g in zip(params, args[1]):
        p.grad = lk.tensor(g.copy())
    fn(params, args[2])
    return tuple(p.detach() for p in params)


def _sgd_cases():
    def f(seed):
        def g():
            r = _rng(seed)
            ps = [r.normal(size=(3, 2)).astype(np.float32), r.normal(size=(2,)).astype(np.float32)]
            gs = [r.normal(size=p.shape).astype(np.float32) for p in ps]
            return (ps, gs, 0.1)
        return g
    return [f(0), f(1)]


def _sgd_direction(args, got, want, k):
    p0, g, lr = _np(args[0][k]), _np(args[1][k]), args[2]
    moved = _np(got) - p0
    if np.allclose(moved, lr * g, atol=1e-5):
        return "the parameters moved *along* the gradient (uphill): subtract lr * grad"
    if np.allclose(moved, 0, atol=1e-7):
        return "the parameters did not change: update them in place (p -= ...), not a new variable"
    if np.allclose(moved, -g, atol=1e-5):
        return "you forgot to multiply the gradient by the learning rate"
    return None


def _mse_cases():
    def f(seed, n):
        def g():
            r = _rng(seed)
            return (_t(r.normal(size=(n, 1))), _t(r.normal(size=(n, 1))))
        return g
    return [f(2, 8), f(3, 5)]


def _mse_diag(args, got, want, k):
    pred, target = _np(args[0]), _np(args[1])
    d = pred - target
    g = float(_np(got).reshape(-1)[0]) if _np(got).size == 1 else None
    if g is None:
        return "the loss is one number: average over all elements with .mean()"
    if abs(g - (d ** 2).sum()) < 1e-4:
        return "you returned the sum of squared errors: MSE is their *mean*"
    if abs(g - np.abs(d).mean()) < 1e-4:
        return "that is the mean *absolute* error: square the differences instead"
    if abs(g - d.mean()) < 1e-4:
        return "square the differences before averaging: positive and negative errors cancel out"
    return None


# ------------------------------------------------------------------ 05
def _softmax_cases():
    return [lambda: (_t(_rng(0).normal(size=(3, 4))),),
            lambda: (_t(_rng(1).normal(size=(2, 5)) * 50 + 100),),      # overflow unless max-subtracted
            lambda: (_t([[1.0, 1.0, 1.0]]),)]


def _softmax_wrong_dim(args, got, want, k):
    g = _np(got)
    if g.ndim == 2 and np.allclose(g.sum(0), 1, atol=1e-4) and not np.allclose(g.sum(1), 1, atol=1e-4):
        return "your columns sum to 1, but each *row* should: normalise along dim=-1 (keepdim=True)"
    return None


def _softmax_overflow(args, got, want, k):
    if np.isnan(_np(got)).any() or np.isinf(_np(got)).any():
        return ("exp overflowed to inf for large inputs: subtract each row's max "
                "(x - x.max(dim=-1, keepdim=True).values) before exp; softmax does not change")
    return None


def _not_normalised(args, got, want, k):
    g = _np(got)
    if g.ndim >= 1 and not np.allclose(g.sum(-1), 1, atol=1e-3):
        return "each row of a softmax sums to 1: divide exp(x) by its sum over the last dim"
    return None


def _linear_cases():
    def make(seed, n, i, o):
        def f():
            r = _rng(seed)
            return (_t(r.normal(size=(n, i))), _t(r.normal(size=(o, i))), _t(r.normal(size=(o,))))
        return f
    return [make(0, 4, 3, 2), make(1, 5, 6, 3)]


def _transposed(args, got, want, k):
    g, w = _np(got), _np(want)
    if g.ndim == 2 and g.shape == w.T.shape and g.shape != w.shape:
        return "the result looks transposed: check which side of @ each operand goes and whether W needs .T"
    return None


def _missing_bias(args, got, want, k):
    b = _np(args[2]) if len(args) > 2 else None
    g, w = _np(got), _np(want)
    if b is not None and g.shape == w.shape and np.allclose(g + b, w, atol=1e-4):
        return "close! you forgot to add the bias b"
    return None


def _ce_cases():
    def make(seed, n, c):
        def f():
            r = _rng(seed)
            lk = _lk()
            return (_t(r.normal(size=(n, c)) * 3), lk.tensor(r.integers(0, c, size=n)))
        return f
    return [make(0, 4, 3), make(1, 8, 10)]


def _ce_not_mean(args, got, want, k):
    g, w = float(_np(got).reshape(-1)[0]), float(_np(want).reshape(-1)[0])
    n = _np(args[0]).shape[0]
    if abs(g - w * n) < 1e-3 * max(1, abs(w * n)):
        return "you returned the sum over the batch: cross-entropy's default reduction is the mean"
    if abs(g + w) < 1e-4 * max(1, abs(w)):
        return "the sign is flipped: the loss is the *negative* log-probability of the right class"
    return None


# ------------------------------------------------------------------ 06
def _grad_params(args):
    lk = _lk()
    params = [lk.tensor(a.copy(), requires_grad=True) for a in args[0]]
    for p, g in zip(params, args[1]):
        p.grad = lk.tensor(g.copy())
    return params


def _grad_cases(scale):
    def f(seed):
        def g():
            r = _rng(seed)
            ps = [r.normal(size=(4, 3)).astype(np.float32), r.normal(size=(3,)).astype(np.float32)]
            gs = [(r.normal(size=p.shape) * scale).astype(np.float32) for p in ps]
            return (ps, gs)
        return g
    return [f(0), f(1)]


def _grad_norm_call(fn, args):
    return fn(_grad_params(args))


def _grad_norm_diag(args, got, want, k):
    gs = args[1]
    g = float(_np(got))
    if abs(g - sum(np.sqrt((x.astype(np.float64) ** 2).sum()) for x in gs)) < 1e-3:
        return ("you added the norms of the tensors: the total norm is the square root of the sum "
                "of *squares* of all entries (as if all gradients were one long vector)")
    if abs(g - sum((x.astype(np.float64) ** 2).sum() for x in gs)) < 1e-3:
        return "that is the squared norm: take the square root (math.sqrt) at the end"
    return None


def _clip_call(fn, args):
    params = _grad_params(args)
    total = fn(params, 1.0)
    return (total, *[p.grad for p in params])


def _clip_cases():
    big = _grad_cases(2.0)           # total norm above max_norm=1: clipped
    small = _grad_cases(0.05)        # below: left alone
    return [big[0], small[1], big[1]]


def _clip_diag(args, got, want, k):
    if k == 0:
        return "return the total norm from *before* clipping (what clip_grad_norm_ returns)"
    gs = args[1]
    total = math.sqrt(sum((x.astype(np.float64) ** 2).sum() for x in gs))
    g = _np(got)
    x = gs[k - 1].astype(np.float64)
    if total <= 1.0 and not np.allclose(g, x, atol=1e-5):
        return "the total norm is already below max_norm here: leave the gradients unchanged"
    if np.allclose(g, x / np.sqrt((x ** 2).sum()), atol=1e-5):
        return ("each gradient was scaled by its own norm: scale *all* of them by the same factor "
                "max_norm / total_norm, so the update keeps its direction")
    if np.allclose(g, x, atol=1e-5):
        return "the gradients did not change: scale them in place (p.grad *= scale)"
    return None


# ------------------------------------------------------------------ 07
def _momentum_call(fn, args):
    lk = _lk()
    p = lk.tensor(args[0].copy(), requires_grad=True)
    v = lk.zeros_like(p)
    outs = []
    for g in args[1]:
        p.grad = lk.tensor(g)
        v = fn(p, v, 0.1, 0.9)
        if v is None or v is Ellipsis:
            return v
        outs.append(p.detach().clone())
    return (lk.stack(outs),)


def _steps_cases():
    def g():
        r = _rng(0)
        return (r.normal(size=(4,)).astype(np.float32),
                [r.normal(size=(4,)).astype(np.float32) for _ in range(3)])
    return [g]


def _momentum_diag(args, got, want, k):
    p, v = args[0].astype(np.float64), np.zeros_like(args[0], dtype=np.float64)
    ascent, no_lr = [], []
    pa, pn = p.copy(), p.copy()
    for g in args[1]:
        v = 0.9 * v + g
        pa = pa + 0.1 * v
        pn = pn - v
        ascent.append(pa.copy())
        no_lr.append(pn.copy())
    if _close(got, np.stack(ascent)):
        return "the parameters moved uphill: check the sign, p -= lr * v"
    if _close(got, np.stack(no_lr)):
        return "you forgot to multiply the velocity by the learning rate"
    return None


def _adam_call(fn, args):
    lk = _lk()
    p = lk.tensor(args[0].copy(), requires_grad=True)
    m, v = lk.zeros_like(p), lk.zeros_like(p)
    outs = []
    for t, g in enumerate(args[1], start=1):
        p.grad = lk.tensor(g)
        r = fn(p, m, v, t, 0.1)
        if r is None or r is Ellipsis:
            return r
        m, v = r
        outs.append(p.detach().clone())
    return (lk.stack(outs),)


def _adam_diag(args, got, want, k):
    p = args[0].astype(np.float64).copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    nobias, nosqrt = [], []
    p2 = p.copy()
    for t, g in enumerate(args[1], start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        p = p - 0.1 * m / (np.sqrt(v) + 1e-8)
        nobias.append(p.copy())
        p2 = p2 - 0.1 * (m / (1 - 0.9 ** t)) / ((v / (1 - 0.999 ** t)) + 1e-8)
        nosqrt.append(p2.copy())
    if _close(got, np.stack(nobias)):
        return ("no bias correction: m and v start at 0, so divide them by (1 - beta1**t) and "
                "(1 - beta2**t) before the step")
    if _close(got, np.stack(nosqrt)):
        return "divide by the square root of v_hat (plus eps), not by v_hat itself"
    return None


# ------------------------------------------------------------------ 08
def _conv_cases():
    return [lambda: (28, 3, 1, 0, 1), lambda: (32, 3, 1, 1, 1), lambda: (32, 5, 2, 2, 1),
            lambda: (15, 3, 2, 0, 1), lambda: (64, 3, 1, 2, 2)]


def _conv_size_hint(args, got, want, k):
    size, ks, stride, pad, dil = args
    if got == size - ks + 1:
        return ("that ignores padding, stride and dilation: out = (size + 2*padding - "
                "dilation*(kernel_size - 1) - 1) // stride + 1")
    return ("out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1; "
            "check padding and stride are used and that you round down")


def _correlate_cases():
    def f(seed, h, w, kh, kw):
        def g():
            r = _rng(seed)
            return (r.normal(size=(h, w)), r.normal(size=(kh, kw)))
        return g
    return [f(0, 5, 5, 3, 3), f(1, 6, 8, 2, 3)]


def _correlate_diag(args, got, want, k):
    x, w = args
    g = _np(got)
    if g.shape == want.shape and np.allclose(g, S.correlate2d(x, w[::-1, ::-1]), atol=1e-6):
        return ("you flipped the kernel (a textbook convolution): conv2d in PyTorch and labkit is a "
                "cross-correlation, out[i, j] = sum(x[i:i+kh, j:j+kw] * w)")
    if g.shape != want.shape:
        return (f"for a {x.shape} input and a {w.shape} kernel (no padding, stride 1) the output "
                f"is (H - kh + 1, W - kw + 1) = {want.shape}")
    return None


# ------------------------------------------------------------------ 09
def _attn_cases():
    def f(seed, causal):
        def g():
            r = _rng(seed)
            return (_t(r.normal(size=(2, 4, 8))), _t(r.normal(size=(2, 4, 8))),
                    _t(r.normal(size=(2, 4, 8))), causal)
        return g
    return [f(0, False), f(1, True)]


def _attn_diag(args, got, want, k):
    q, kk, v, causal = args
    lk = _lk()
    g = _np(got)
    if causal and np.allclose(g, _np(S.attention(q, kk, v, False)), atol=1e-4):
        return ("with causal=True each position may only attend to itself and earlier ones: mask "
                "the upper triangle with -inf before softmax")
    d = q.shape[-1]
    att = (q @ kk.transpose(-2, -1))
    if causal:
        att = att.masked_fill(lk.triu(lk.ones(att.shape[-2:], dtype=lk.bool), 1), float("-inf"))
    if np.allclose(g, _np(att.softmax(-1) @ v), atol=1e-4):
        return f"scale the scores by 1/sqrt(d) = 1/sqrt({d}) before the softmax"
    return None


def _mask_diag(args, got, want, k):
    T = args[0]
    g = _np(got)
    upper = np.triu(np.ones((T, T), bool), 1)
    if g.shape == (T, T) and np.isinf(np.diag(g)).all():
        return ("a position may attend to itself: mask only *strictly* above the diagonal "
                "(triu with diagonal=1)")
    if g.shape == (T, T) and np.isinf(g[upper.T]).all() and not np.isinf(g[upper]).any():
        return "you masked the past: the future (keys after the query, above the diagonal) gets -inf"
    return None


# ------------------------------------------------------------------ 10
def _models():
    lk = _lk()
    nn = lk.nn
    return [lambda: (nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2)),),
            lambda: (nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(4 * 6 * 6, 10)),)]


def _count_diag(args, got, want, k):
    model = args[0]
    g = int(_np(got))
    if g == len(list(model.parameters())):
        return ("that is the number of parameter *tensors*: count the numbers in each one "
                "(p.numel()) and add them up")
    if g == sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight")):
        return "the biases are parameters too: sum p.numel() over all of model.parameters()"
    return None


def _accuracy_cases():
    def f(seed, n, c):
        def g():
            r = _rng(seed)
            lk = _lk()
            return (_t(r.normal(size=(n, c))), lk.tensor(r.integers(0, c, size=n)))
        return g
    return [f(1, 7, 7), f(0, 10, 3)]


def _accuracy_diag(args, got, want, k):
    logits, y = _np(args[0]), _np(args[1])
    g = float(_np(got))
    if logits.shape[0] == logits.shape[1] and abs(g - (logits.argmax(0) == y).mean()) < 1e-6:
        return "argmax over the classes, dim=1 (dim=0 runs over the batch)"
    if abs(g - (logits.argmax(1) == y).sum()) < 1e-6:
        return "that is the number of correct predictions: take the mean for a fraction"
    return None


def _accuracy_post(fn):
    logits, y = _accuracy_cases()[0]()
    r = fn(logits, y)
    if not isinstance(r, float):
        return (f"your function returned a {type(r).__name__}, not a Python float",
                "turn a one-element tensor into a number with .item()")
    return None


# ------------------------------------------------------------------ 11
def _log_softmax_cases():
    return [lambda: (_t(_rng(0).normal(size=(3, 5))),),
            lambda: (_t(_rng(1).normal(size=(2, 4)) * 40 + [[0, 0, 0, 200]]),)]  # far-apart logits


def _log_softmax_diag(args, got, want, k):
    g = _np(got)
    if np.isinf(g).any() or np.isnan(g).any():
        return ("softmax rounded a tiny probability to 0 and log(0) = -inf: compute it in one "
                "step, x - x.logsumexp(dim=-1, keepdim=True), which never leaves log space")
    return None


def _init_cases():
    return [lambda: (64,), lambda: (784,), lambda: (3,)]


def _init_diag(args, got, want, k):
    n, g = args[0], float(_np(got))
    if abs(g - math.sqrt(1 / n)) < 1e-6:
        return ("1/sqrt(fan_in) keeps the variance for linear or tanh layers, but a ReLU zeroes "
                "half its inputs: use sqrt(2 / fan_in) (He / Kaiming)")
    if abs(g - 2 / n) < 1e-6:
        return "2 / fan_in is the variance: the standard deviation is its square root"
    return None


def _dead_cases():
    def f(seed, dead):
        def g():
            r = _rng(seed)
            a = np.maximum(r.normal(size=(16, 8)), 0).astype(np.float32)
            a[:, :dead] = 0
            return (_t(a),)
        return g
    return [f(0, 3), f(1, 6)]


def _dead_diag(args, got, want, k):
    a = _np(args[0])
    if abs(float(_np(got)) - float((a == 0).mean())) < 1e-6:
        return ("that is the share of zero *values*: a unit (column) is dead when it is zero for "
                "every example in the batch, (acts == 0).all(dim=0)")
    return None


def _cube_wrong_rule(args, got, want, k):
    if k == 1:
        x, grad = args
        if _close(got, 3 * x * grad) or _close(got, 2 * x * grad):
            return "d(x^3)/dx = 3 x^2"
    return None


def _flatten_cases():
    lk = _lk()
    return [lambda: (lk.arange(2 * 3 * 4 * 4.).reshape(2, 3, 4, 4),),
            lambda: (lk.arange(5 * 1 * 2 * 3.).reshape(5, 1, 2, 3),)]


def _flatten_diag(args, got, want, k):
    x, g = args[0], _np(got)
    if g.ndim == 1:
        return ("keep the batch dimension: nn.Linear wants (N, features), so flatten from dim 1 "
                "on: x.flatten(1) or x.reshape(x.shape[0], -1)")
    if g.shape == want.shape[::-1]:
        return f"the batch dimension (N = {x.shape[0]}) comes first: (N, C*H*W)"
    return None


def _train_call(fn, args):
    lk = _lk()
    nn = lk.nn
    seed, X, y = args
    lk.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = lk.optim.SGD(model.parameters(), lr=0.5)
    losses = [fn(model, opt, X, y) for _ in range(3)]
    if any(l is Ellipsis for l in losses):
        return Ellipsis
    if any(l is None for l in losses):
        return None
    return (lk.tensor(losses, dtype=lk.float32), model[0].weight.detach())


def _train_cases():
    def f(seed):
        def g():
            r = _rng(seed)
            lk = _lk()
            return (seed, _t(r.normal(size=(16, 3))), lk.tensor(r.integers(0, 3, size=16)))
        return g
    return [f(0), f(1)]


def _train_diag(args, got, want, k):
    lk = _lk()

    def no_zero(model, opt, X, y):
        loss = lk.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()

    def zero_late(model, opt, X, y):
        loss = lk.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.zero_grad()
        opt.step()
        return loss.item()
    if _close(got, _train_call(no_zero, args)[k]):
        return ("gradients accumulate across calls (backward() adds into .grad): call "
                "opt.zero_grad() before loss.backward()")
    if _close(got, _train_call(zero_late, args)[k]):
        return ("zero_grad() ran between backward() and step(), so step() saw zero "
                "gradients: zero them before backward()")
    return None


def _lr_cases():
    def f(lo, hi, n, centre, width):
        def g():
            lrs = np.logspace(lo, hi, n)
            x = np.log10(lrs)
            losses = 2.3 - 1.5 / (1 + np.exp(-(x - centre) / width)) + np.exp(3 * (x - hi))
            return (lrs, losses)
        return g
    return [f(-5, 1, 60, -2.5, 0.4), f(-4, 0, 40, -1.0, 0.3)]


def _lr_diag(args, got, want, k):
    lrs, losses = args
    if abs(float(got) - lrs[np.argmin(losses)]) < 1e-12:
        return ("that is the lr of the lowest loss, right before the loss blows up: pick where the "
                "loss falls *fastest* (most negative slope against log10(lr))")
    return None


EXERCISES = {e.name: e for e in [
    # 02
    Exercise("mul_backward", "02_autograd", "Backward of z = x * y by hand",
             "def mul_backward(x, y, grad_z): return grad_x, grad_y  (NumPy arrays, same shapes)",
             _mul_backward_cases(), S.mul_backward,
             hints=["the chain rule: grad_x = grad_z * (dz/dx)",
                    "for z = x * y, dz/dx = y and dz/dy = x",
                    "grad_x = grad_z * y; grad_y = grad_z * x"],
             diagnose=(_forgot_chain, _mul_swapped, _sign_flipped)),
    Exercise("tanh_backward", "02_autograd", "Backward of y = tanh(x) by hand",
             "def tanh_backward(x, grad_y): return grad_x  (NumPy arrays)",
             _tanh_backward_cases(), S.tanh_backward,
             hints=["the chain rule: grad_x = grad_y * d tanh(x)/dx",
                    "d tanh(x)/dx = 1 - tanh(x)**2; NumPy has np.tanh"],
             diagnose=(_forgot_chain, _tanh_not_squared, _sign_flipped)),
    # 03
    Exercise("square_function", "03_your_own_op", "Your own op: an autograd.Function for x**2",
             "class Square(lk.autograd.Function) with forward(ctx, x) and backward(ctx, grad); "
             "checked on values, on gradients and with gradcheck",
             _function_cases(), S.Square, call=_function_call,
             hints=["forward: save x with ctx.save_for_backward(x), return x * x",
                    "backward: (x,) = ctx.saved_tensors; d(x^2)/dx = 2x",
                    "backward returns grad times the local derivative: 2 * x * grad"],
             diagnose=(_backward_local_only, _square_wrong_rule), post=_function_gradcheck),
    Exercise("sigmoid_function", "03_your_own_op", "Sigmoid as a Function that saves its output",
             "class Sigmoid(lk.autograd.Function): forward returns 1 / (1 + exp(-x)) and saves the "
             "*output*; backward uses it: grad * y * (1 - y)",
             _function_cases(), S.Sigmoid, call=_function_call,
             hints=["forward: y = 1 / (1 + (-x).exp()); ctx.save_for_backward(y); return y",
                    "the derivative of the sigmoid in terms of its output: y * (1 - y)",
                    "backward: (y,) = ctx.saved_tensors; return grad * y * (1 - y)"],
             diagnose=(_backward_local_only, _sigmoid_wrong_rule), post=_function_gradcheck),
    # 04
    Exercise("sgd_step", "04_training_loop", "One SGD step",
             "def sgd_step(params, lr): update each p in place: p -= lr * p.grad (inside lk.no_grad())",
             _sgd_cases(), S.sgd_step, call=_sgd_call, diagnose=(_sgd_direction,),
             hints=["for each p in params, move against its gradient p.grad",
                    "update in place (p -= ...) so the model sees the new values",
                    "in-place updates of parameters go inside `with lk.no_grad():`"],
             exception_hints={RuntimeError: "in-place updates of parameters must run inside "
                                            "`with lk.no_grad():`"}),
    Exercise("mse_loss", "04_training_loop", "Mean squared error",
             "def mse_loss(pred, target): the mean over all elements of (pred - target)**2",
             _mse_cases(), S.mse_loss, diagnose=(_mse_diag,),
             hints=["the error of each prediction is pred - target",
                    "square each error, then average them all with .mean()"]),
    # 05
    Exercise("linear", "05_mlp_playground", "A linear layer: x @ W.T + b",
             "def linear(x, W, b): x (N, in), W (out, in), b (out,) -> (N, out)",
             _linear_cases(), S.linear, diagnose=(_transposed, _missing_bias),
             hints=["the result has shape (N, out); W has shape (out, in)",
                    "x @ W.T gives (N, out); the bias b is added to every row by broadcasting"]),
    Exercise("softmax", "05_mlp_playground", "Softmax along the last dimension",
             "def softmax(x): x is a Tensor (N, C); return exp(x) normalised so each row sums to 1. "
             "Must be stable for large inputs.",
             _softmax_cases(), S.softmax,
             diagnose=(_softmax_overflow, _softmax_wrong_dim, _not_normalised),
             hints=["exponentiate, then divide each row by its sum (dim=-1, keepdim=True)",
                    "exp(1000) overflows: softmax(x) = softmax(x - c) for any c per row",
                    "subtract x.max(dim=-1, keepdim=True).values before .exp()"]),
    Exercise("cross_entropy", "05_mlp_playground", "Cross-entropy from logits",
             "def cross_entropy(logits, targets): logits (N, C), targets (N,) int64 -> mean of "
             "-log softmax(logits)[i, targets[i]]",
             _ce_cases(), S.cross_entropy, diagnose=(_ce_not_mean,),
             hints=["log-probabilities: logits.log_softmax(dim=-1)",
                    "pick the right class of each row: .gather(1, targets.unsqueeze(1))",
                    "the loss is the negative mean of those log-probabilities"]),
    # 06
    Exercise("grad_norm", "06_gradients", "The total gradient norm",
             "def grad_norm(params): the L2 norm of all gradients together, as one Python float",
             _grad_cases(1.0), S.grad_norm, call=_grad_norm_call, diagnose=(_grad_norm_diag,),
             hints=["think of all gradients as one long vector",
                    "add up (p.grad ** 2).sum().item() over the parameters",
                    "then take math.sqrt of the total"]),
    Exercise("clip_grad_norm", "06_gradients", "Clip gradients by their total norm",
             "def clip_grad_norm(params, max_norm): if the total norm is above max_norm, scale every "
             "gradient in place by max_norm / total; return the total norm (before clipping)",
             _clip_cases(), S.clip_grad_norm, call=_clip_call, diagnose=(_clip_diag,),
             hints=["first the total norm over all gradients (as in grad_norm)",
                    "one scale factor for all: max_norm / total, only when total > max_norm",
                    "p.grad *= scale inside lk.no_grad(); return the total"]),
    # 07
    Exercise("momentum_step", "07_optimizers", "SGD with momentum",
             "def momentum_step(p, v, lr, mu): v = mu * v + p.grad; p -= lr * v (no_grad); return v",
             _steps_cases(), S.momentum_step, call=_momentum_call, diagnose=(_momentum_diag,),
             hints=["the velocity remembers past gradients: v = mu * v + p.grad",
                    "then step along it: p -= lr * v, inside lk.no_grad()",
                    "return the new v: the caller passes it back in at the next step"]),
    Exercise("adam_step", "07_optimizers", "One Adam step",
             "def adam_step(p, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8): update the moving "
             "averages m, v of the gradient and its square, bias-correct them, step; return m, v",
             _steps_cases(), S.adam_step, call=_adam_call, diagnose=(_adam_diag,),
             hints=["m = beta1 * m + (1 - beta1) * g and v = beta2 * v + (1 - beta2) * g**2",
                    "bias correction: m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)",
                    "p -= lr * m_hat / (v_hat.sqrt() + eps), inside lk.no_grad(); return m, v"]),
    # 08
    Exercise("conv_output_size", "08_cnn_digits", "Output size of a convolution",
             "def conv_output_size(size, kernel_size, stride, padding, dilation) -> int",
             _conv_cases(), S.conv_output_size, diagnose=(_conv_size_hint,), atol=0,
             hints=["padding adds 2*padding pixels; a dilated kernel spans dilation*(k-1)+1 pixels",
                    "count the positions the kernel fits in, stepping by stride: round down (//)"]),
    Exercise("correlate2d", "08_cnn_digits", "A 2-D convolution by hand",
             "def correlate2d(x, w): x (H, W), w (kh, kw) NumPy arrays -> (H-kh+1, W-kw+1): "
             "out[i, j] = sum(x[i:i+kh, j:j+kw] * w)",
             _correlate_cases(), S.correlate2d, diagnose=(_correlate_diag,),
             hints=["the output has one value per position of the kernel inside x",
                    "out[i, j] = (x[i:i+kh, j:j+kw] * w).sum(); two loops over i and j",
                    "no flipping: PyTorch's conv2d is a cross-correlation"]),
    # 09
    Exercise("attention", "09_char_transformer", "Scaled dot-product attention",
             "def attention(q, k, v, causal): q, k, v (B, T, d) -> softmax(q k^T / sqrt(d)) v, "
             "with future positions masked when causal",
             _attn_cases(), S.attention, diagnose=(_attn_diag,),
             hints=["scores: q @ k.transpose(-2, -1), shape (B, T, T), divided by sqrt(d)",
                    "causal: masked_fill the strict upper triangle with -inf before the softmax",
                    "softmax over the last dim, then @ v"]),
    Exercise("causal_mask", "09_char_transformer", "A causal attention mask",
             "def causal_mask(T): a (T, T) float tensor: 0 where the key position <= the query "
             "position, -inf above the diagonal (added to the scores before softmax)",
             [lambda: (4,), lambda: (7,)], S.causal_mask, diagnose=(_mask_diag,),
             hints=["row = query position, column = key position; the future is above the diagonal",
                    "lk.triu(..., diagonal=1) keeps the strict upper triangle",
                    "lk.triu(lk.full((T, T), float('-inf')), diagonal=1)"]),
    # 10
    Exercise("count_parameters", "10_to_pytorch", "Count a model's parameters (in both libraries)",
             "def count_parameters(model): the number of trainable numbers in the model",
             _models(), S.count_parameters, diagnose=(_count_diag,), atol=0,
             hints=["model.parameters() yields every weight and bias tensor",
                    "p.numel() is the number of entries of a tensor: add them up"]),
    Exercise("accuracy", "10_to_pytorch", "Accuracy as a Python number (in both libraries)",
             "def accuracy(logits, y): logits (N, C), y (N,) -> the fraction of rows whose largest "
             "logit is the true class, as a Python float",
             _accuracy_cases(), S.accuracy, diagnose=(_accuracy_diag,), post=_accuracy_post,
             hints=["the prediction of each row: logits.argmax(dim=1)",
                    "compare with y, turn the booleans into floats, take the mean",
                    ".item() turns the one-element tensor into a Python float"]),
    # 11
    Exercise("log_softmax", "11_debugging", "A log-softmax that never makes NaN",
             "def log_softmax(x): x (N, C) -> log(softmax(x)) along the last dim, finite for any x",
             _log_softmax_cases(), S.log_softmax, diagnose=(_log_softmax_diag,),
             hints=["log(exp(x_i) / sum_j exp(x_j)) = x_i - log(sum_j exp(x_j))",
                    "x.logsumexp(dim=-1, keepdim=True) computes log(sum(exp(x))) stably"]),
    Exercise("relu_init_std", "11_debugging", "Initialise for ReLU",
             "def relu_init_std(fan_in): the standard deviation of the initial weights that keeps "
             "the activations' scale through a ReLU layer with fan_in inputs",
             _init_cases(), S.relu_init_std, diagnose=(_init_diag,),
             hints=["a layer's output variance is fan_in * Var(w) * E[x^2]",
                    "a ReLU keeps half of its input's second moment: the factor 2",
                    "std = sqrt(2 / fan_in) (He / Kaiming)"]),
    Exercise("dead_fraction", "11_debugging", "How many ReLUs are dead?",
             "def dead_fraction(acts): acts (N, units) after a ReLU -> the fraction of units that "
             "are zero for every example, as a Python float",
             _dead_cases(), S.dead_fraction, diagnose=(_dead_diag,),
             hints=["a unit is a column of acts",
                    "(acts == 0).all(dim=0) marks the units that never fire",
                    "turn it into floats, .mean().item()"]),
    Exercise("cube_function", "11_debugging", "Fix a custom backward",
             "class Cube(lk.autograd.Function): forward x**3, backward its derivative times grad",
             _function_cases(), S.Cube, call=_function_call,
             hints=["gradcheck compares your backward with finite differences",
                    "d(x^3)/dx = 3 x^2, times the incoming grad"],
             diagnose=(_backward_local_only, _cube_wrong_rule), post=_function_gradcheck),
    Exercise("flatten_batch", "11_debugging", "Shapes: from images to a Linear layer",
             "def flatten_batch(x): x (N, C, H, W) -> (N, C*H*W), keeping each example's numbers "
             "in order",
             _flatten_cases(), S.flatten_batch, diagnose=(_flatten_diag,),
             hints=["nn.Linear wants (N, features): the batch dimension stays",
                    "x.flatten(1) or x.reshape(x.shape[0], -1)"]),
    Exercise("train_step", "11_debugging", "A training step without the doubled-gradient bug",
             "def train_step(model, opt, X, y): one step of cross-entropy training; return the loss "
             "as a float. Called several times in a row.",
             _train_cases(), S.train_step, call=_train_call, diagnose=(_train_diag,),
             hints=["forward, loss, backward, step",
                    "backward() *adds* into .grad: gradients from the last call are still there",
                    "opt.zero_grad() before loss.backward()"]),
    Exercise("steepest_lr", "11_debugging", "Read a learning rate off an LR range test",
             "def steepest_lr(lrs, losses): NumPy arrays from an LR sweep -> the lr where the loss "
             "falls fastest per decade of lr",
             _lr_cases(), S.steepest_lr, diagnose=(_lr_diag,),
             hints=["the slope of the loss against log10(lr): np.gradient(losses, np.log10(lrs))",
                    "the steepest descent is the most negative slope: np.argmin"]),
]}
