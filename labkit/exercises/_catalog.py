"""The exercises: what to implement, the inputs they are checked on, and the hints for mistakes.

Each exercise runs the learner's function on a few cases and compares with the reference solution
in ``solutions.py``.  ``diagnose`` functions recognise common mistakes from the wrong output and
turn them into hints.
"""
import numpy as np

from . import solutions as S


def _lk():
    import labkit
    return labkit


class Exercise:
    def __init__(self, name, title, text, cases, reference, call=None, diagnose=(), atol=1e-4,
                 exception_hints=None, post=None):
        self.name, self.title, self.text = name, title, text
        self.cases, self.reference = cases, reference
        self.call = call or (lambda fn, args: fn(*args))
        self.diagnose = diagnose
        self.atol = atol
        self.exception_hints = exception_hints or {}
        self.post = post            # extra check after all cases pass (e.g. gradcheck)

    def hint_for_exception(self, e):
        for etype, hint in self.exception_hints.items():
            if isinstance(e, etype):
                return hint
        if isinstance(e, RuntimeError) and "must match the size" in str(e):
            return "two operands have incompatible shapes: print the shapes of your intermediates"
        return None

    def run(self, fn):
        from . import CheckResult, compare
        for i, make in enumerate(self.cases):
            args = make()
            got = self.call(fn, args)
            want = self.call(self.reference, make())
            outs_g = got if isinstance(got, tuple) else (got,)
            outs_w = want if isinstance(want, tuple) else (want,)
            if len(outs_g) != len(outs_w):
                return CheckResult(self.name, False, f"expected {len(outs_w)} return values, got "
                                   f"{len(outs_g)}")
            for k, (g, w) in enumerate(zip(outs_g, outs_w)):
                what = "result" if len(outs_w) == 1 else f"return value {k}"
                msg = compare(self.name, g, w, atol=self.atol, what=what)
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
                    return CheckResult(self.name, False, f"{case}: {msg}", hint)
        if self.post is not None:
            msg = self.post(fn)
            if msg:
                return CheckResult(self.name, False, msg)
        return CheckResult(self.name, True, f"all {len(self.cases)} cases match the reference.")


def _np(x):
    from ..tensor import Tensor
    return x.detach()._np if isinstance(x, Tensor) else np.asarray(x)


# ------------------------------------------------------------------ diagnosers
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


def _swapped(args, got, want, k):
    # grads returned in the wrong order?
    return None


def _sign_flipped(args, got, want, k):
    g, w = _np(got), _np(want)
    if g.shape == w.shape and np.allclose(g, -w, atol=1e-4) and np.abs(w).max() > 0:
        return "your result is exactly minus the expected one: check the sign"
    return None


def _grad_order(args, got, want, k):
    return None


def _forgot_chain(args, got, want, k):
    # local derivative without multiplying by the incoming gradient
    grad = _np(args[-1])
    g, w = _np(got), _np(want)
    if g.shape == w.shape and np.all(grad != 0) and np.allclose(g * grad, w, atol=1e-4):
        return "you returned the local derivative only: multiply it by the incoming gradient (chain rule)"
    return None


def _transposed(args, got, want, k):
    g, w = _np(got), _np(want)
    if g.ndim == 2 and g.shape == w.T.shape and g.shape != w.shape:
        return "the result looks transposed: check which side of @ each operand goes and whether W needs .T"
    if g.ndim == 2 and g.shape == w.shape and g.shape[0] == g.shape[1] and np.allclose(g, w.T, atol=1e-4):
        return "the result looks transposed: check which side of @ each operand goes and whether W needs .T"
    return None


def _missing_bias(args, got, want, k):
    b = _np(args[2]) if len(args) > 2 else None
    g, w = _np(got), _np(want)
    if b is not None and g.shape == w.shape and np.allclose(g + b, w, atol=1e-4):
        return "close! you forgot to add the bias b"
    return None


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


def _ce_not_mean(args, got, want, k):
    g, w = float(np.asarray(_np(got)).reshape(-1)[0]), float(np.asarray(_np(want)).reshape(-1)[0])
    n = _np(args[0]).shape[0]
    if abs(g - w * n) < 1e-3 * max(1, abs(w * n)):
        return "you returned the sum over the batch: cross-entropy's default reduction is the mean"
    if abs(g + w) < 1e-4 * max(1, abs(w)):
        return "the sign is flipped: the loss is the *negative* log-probability of the right class"
    return None


def _conv_size_hint(args, got, want, k):
    return ("out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1; "
            "check padding and stride are used and that you round down")


def _attn_no_scale(args, got, want, k):
    return None


# ------------------------------------------------------------------ cases
def _rng(seed):
    return np.random.default_rng(seed)


def _t(a, rg=False):
    lk = _lk()
    return lk.tensor(np.asarray(a, dtype=np.float32), requires_grad=rg)


def _softmax_cases():
    return [lambda: (_t(_rng(0).normal(size=(3, 4))),),
            lambda: (_t(_rng(1).normal(size=(2, 5)) * 50 + 100),),      # overflow unless max-subtracted
            lambda: (_t([[1.0, 1.0, 1.0]]),)]


def _mul_backward_cases():
    def make(seed, shape):
        def f():
            r = _rng(seed)
            return tuple(r.normal(size=shape).astype(np.float32) for _ in range(3))
        return f
    return [make(0, (3,)), make(1, (2, 3))]


def _tanh_backward_cases():
    def make(seed, shape):
        def f():
            r = _rng(seed)
            return (r.normal(size=shape).astype(np.float32), r.normal(size=shape).astype(np.float32))
        return f
    return [make(0, (4,)), make(1, (2, 3))]


def _linear_cases():
    def make(seed, n, i, o):
        def f():
            r = _rng(seed)
            return (_t(r.normal(size=(n, i))), _t(r.normal(size=(o, i))), _t(r.normal(size=(o,))))
        return f
    return [make(0, 4, 3, 2), make(1, 5, 6, 3)]


def _ce_cases():
    def make(seed, n, c):
        def f():
            r = _rng(seed)
            lk = _lk()
            return (_t(r.normal(size=(n, c)) * 3), lk.tensor(r.integers(0, c, size=n)))
        return f
    return [make(0, 4, 3), make(1, 8, 10)]


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


def _momentum_call(fn, args):
    lk = _lk()
    p = lk.tensor(args[0].copy(), requires_grad=True)
    v = lk.zeros_like(p)
    outs = []
    for g in args[1]:
        p.grad = lk.tensor(g)
        v = fn(p, v, 0.1, 0.9)
        if v is None:
            return None
        outs.append(p.detach().clone())
    return (lk.stack(outs),)


def _momentum_cases():
    def g():
        r = _rng(0)
        return (r.normal(size=(4,)).astype(np.float32),
                [r.normal(size=(4,)).astype(np.float32) for _ in range(3)])
    return [g]


def _conv_cases():
    return [lambda: (28, 3, 1, 0, 1), lambda: (32, 3, 1, 1, 1), lambda: (32, 5, 2, 2, 1),
            lambda: (15, 3, 2, 0, 1), lambda: (64, 3, 1, 2, 2)]


def _attn_cases():
    def f(seed, causal):
        def g():
            r = _rng(seed)
            return (_t(r.normal(size=(2, 4, 8))), _t(r.normal(size=(2, 4, 8))),
                    _t(r.normal(size=(2, 4, 8))), causal)
        return g
    return [f(0, False), f(1, True)]


def _square_call(fn_cls, args):
    lk = _lk()
    x = lk.tensor(args[0], requires_grad=True)
    y = fn_cls.apply(x)
    if y is None:
        return None, None
    y.backward(lk.tensor(args[1]))
    return y.detach(), x.grad


def _square_cases():
    def g(seed):
        def f():
            r = _rng(seed)
            return (r.normal(size=(5,)).astype(np.float32), r.normal(size=(5,)).astype(np.float32))
        return f
    return [g(0), g(1)]


def _square_post(fn_cls):
    lk = _lk()
    x = lk.randn(4, dtype=lk.float64, requires_grad=True)
    try:
        ok = lk.autograd.gradcheck(fn_cls.apply, (x,), raise_exception=False)
    except Exception as e:   # pragma: no cover - explained to the learner
        return f"gradcheck raised {type(e).__name__}: {e}"
    return None if ok else "gradcheck failed: your backward does not match numerical differences"


def _square_forgot_chain(args, got, want, k):
    if k == 1:
        g, w = _np(got), _np(want)
        grad = args[1]
        if g.shape == w.shape and np.allclose(g * grad, w, atol=1e-4):
            return "your backward returns the local derivative only: multiply by grad_output"
        x = args[0]
        if np.allclose(g, x * grad, atol=1e-4):
            return "d(x^2)/dx is 2x, not x"
    return None


def _attn_diag(args, got, want, k):
    from . import solutions as sol
    q, kk, v, causal = args
    lk = _lk()
    g = _np(got)
    if causal and np.allclose(g, _np(sol.attention(q, kk, v, False)), atol=1e-4):
        return "with causal=True each position may only attend to itself and earlier ones: mask the upper triangle with -inf before softmax"
    d = q.shape[-1]
    att = (q @ kk.transpose(-2, -1))
    if causal:
        att = att.masked_fill(lk.triu(lk.ones(att.shape[-2:], dtype=lk.bool), 1), float("-inf"))
    if np.allclose(g, _np(att.softmax(-1) @ v), atol=1e-4):
        return f"scale the scores by 1/sqrt(d) = 1/sqrt({d}) before the softmax"
    return None


EXERCISES = {e.name: e for e in [
    Exercise("mul_backward", "Backward of z = x * y by hand",
             "def mul_backward(x, y, grad_z): return grad_x, grad_y  (NumPy arrays, same shapes)",
             _mul_backward_cases(), S.mul_backward, diagnose=(_forgot_chain, _sign_flipped)),
    Exercise("tanh_backward", "Backward of y = tanh(x) by hand",
             "def tanh_backward(x, grad_y): return grad_x  (NumPy arrays). Hint: d tanh/dx = 1 - tanh(x)^2",
             _tanh_backward_cases(), S.tanh_backward, diagnose=(_forgot_chain, _sign_flipped)),
    Exercise("square_function", "Your own op: an autograd.Function for x**2",
             "class Square(labkit.autograd.Function) with forward(ctx, x) and backward(ctx, grad); "
             "checked on values, on gradients and with gradcheck",
             _square_cases(), S.Square, call=_square_call, diagnose=(_square_forgot_chain,),
             post=_square_post),
    Exercise("softmax", "Softmax along the last dimension",
             "def softmax(x): x is a Tensor (N, C); return exp(x) normalised so each row sums to 1. "
             "Must be stable for large inputs.",
             _softmax_cases(), S.softmax,
             diagnose=(_softmax_overflow, _softmax_wrong_dim, _not_normalised)),
    Exercise("linear", "A linear layer: x @ W.T + b",
             "def linear(x, W, b): x (N, in), W (out, in), b (out,) -> (N, out)",
             _linear_cases(), S.linear, diagnose=(_transposed, _missing_bias)),
    Exercise("cross_entropy", "Cross-entropy from logits",
             "def cross_entropy(logits, targets): logits (N, C), targets (N,) int64 -> mean of "
             "-log softmax(logits)[i, targets[i]]",
             _ce_cases(), S.cross_entropy, diagnose=(_ce_not_mean,)),
    Exercise("sgd_step", "One SGD step",
             "def sgd_step(params, lr): update each p in place: p -= lr * p.grad (inside labkit.no_grad())",
             _sgd_cases(), S.sgd_step, call=_sgd_call, diagnose=(_sgd_direction,),
             exception_hints={RuntimeError: "in-place updates of parameters must run inside "
                                            "`with labkit.no_grad():`"}),
    Exercise("momentum_step", "SGD with momentum",
             "def momentum_step(p, v, lr, mu): v = mu * v + p.grad; p -= lr * v (no_grad); return v",
             _momentum_cases(), S.momentum_step, call=_momentum_call, diagnose=(_sign_flipped,)),
    Exercise("conv_output_size", "Output size of a convolution",
             "def conv_output_size(size, kernel_size, stride, padding, dilation) -> int",
             _conv_cases(), S.conv_output_size, diagnose=(_conv_size_hint,), atol=0),
    Exercise("attention", "Scaled dot-product attention",
             "def attention(q, k, v, causal): q, k, v (B, T, d) -> softmax(q k^T / sqrt(d)) v, "
             "with future positions masked when causal",
             _attn_cases(), S.attention, diagnose=(_attn_diag,)),
]}
