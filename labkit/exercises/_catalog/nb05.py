"""The exercises of notebook 05_mlp_playground."""
import numpy as np

from .. import solutions as S
from .base import Exercise, _lk, _np, _rng, _t


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


EXERCISES = [
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
]
