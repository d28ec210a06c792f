"""The exercises of notebook 10_to_pytorch."""
from .. import solutions as S
from .base import Exercise, _lk, _np, _rng, _t


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


EXERCISES = [
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
]
