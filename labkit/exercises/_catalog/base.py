"""What every exercise is made of (:class:`Exercise`) and the helpers the notebooks' entries share:
building inputs, comparing, and the diagnosers of mistakes common to several exercises."""
import numpy as np

from .._checks import CheckResult, _contains_ellipsis, compare


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
    from ...tensor import Tensor
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
