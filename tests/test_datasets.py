"""labkit.datasets: shapes, dtypes, value ranges, determinism, and learnability checks."""
import numpy as np
import pytest

import labkit
from labkit import datasets as D
from labkit.utils.data import DataLoader, TensorDataset

CLASSIFICATION = [
    (D.moons, dict(n_samples=101, noise=0.1), 2),
    (D.circles, dict(n_samples=100, noise=0.05, factor=0.4), 2),
    (D.spirals, dict(n_samples=301, n_classes=4), 4),
    (D.blobs, dict(n_samples=150, centers=3), 3),
    (D.xor, dict(n_samples=120), 2),
    (D.checkerboard, dict(n_samples=200, tiles=3), 2),
]


@pytest.mark.parametrize("fn,kw,k", CLASSIFICATION, ids=lambda v: getattr(v, "__name__", ""))
def test_classification_shapes_dtypes_and_balance(fn, kw, k):
    ds = fn(**kw)
    n = kw["n_samples"]
    assert isinstance(ds, TensorDataset) and ds.tensors == (ds.X, ds.y)
    assert ds.X.shape == (n, 2) and ds.X.dtype is labkit.float32
    assert ds.y.shape == (n,) and ds.y.dtype is labkit.int64
    assert ds.num_classes == k and len(ds) == n
    counts = np.bincount(ds.y.numpy(), minlength=k)
    assert len(counts) == k and counts.min() >= 0.2 * n / k     # every class is represented
    assert np.isfinite(ds.X.numpy()).all()
    x0, y0 = ds[0]
    assert x0.shape == (2,) and y0.shape == ()


@pytest.mark.parametrize("fn,kw,k", CLASSIFICATION, ids=lambda v: getattr(v, "__name__", ""))
def test_fixed_seed_is_deterministic_and_seed_none_follows_manual_seed(fn, kw, k):
    a, b, c = fn(**kw), fn(**kw), fn(**kw, seed=1)
    assert np.array_equal(a.X.numpy(), b.X.numpy()) and np.array_equal(a.y.numpy(), b.y.numpy())
    assert not np.array_equal(a.X.numpy(), c.X.numpy())
    labkit.manual_seed(5)
    d = fn(**kw, seed=None)
    labkit.manual_seed(5)
    e = fn(**kw, seed=None)
    assert np.array_equal(d.X.numpy(), e.X.numpy())


def test_value_ranges_and_geometry():
    m = D.moons(400, noise=0.0).X.numpy()
    assert m[:, 0].min() >= -1 - 1e-6 and m[:, 0].max() <= 2 + 1e-6
    c = D.circles(400, noise=0.0, factor=0.3)
    r = np.linalg.norm(c.X.numpy(), axis=1)
    y = c.y.numpy()
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, atol=1e-6)
    x = D.xor(300, noise=0.0)
    X, y = x.X.numpy(), x.y.numpy()
    assert np.array_equal(y, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64))
    cb = D.checkerboard(300, tiles=2)
    X, y = cb.X.numpy(), cb.y.numpy()
    assert X.min() >= 0 and X.max() <= 1
    assert np.array_equal(y, ((X[:, 0] >= 0.5) ^ (X[:, 1] >= 0.5)).astype(np.int64))
    s = D.spirals(300, n_classes=3, noise=0.0)
    assert np.linalg.norm(s.X.numpy(), axis=1).max() <= 1 + 1e-6
    b = D.blobs(300, centers=[[0, 0], [10, 10]], cluster_std=0.5)
    Xb, yb = b.X.numpy(), b.y.numpy()
    np.testing.assert_allclose(Xb[yb == 1].mean(0), [10, 10], atol=0.2)


def test_sine_regression():
    ds = D.sine(150, noise=0.0)
    X, y = ds.X.numpy(), ds.y.numpy()
    assert X.shape == y.shape == (150, 1) and ds.y.dtype is labkit.float32
    assert np.all(np.diff(X[:, 0]) >= 0) and X.min() >= -np.pi and X.max() <= np.pi
    np.testing.assert_allclose(y, np.sin(X), atol=1e-6)
    assert ds.num_classes is None


def test_digits_shapes_ranges_and_split():
    train, test = D.digits()
    assert (len(train), len(test)) == (1437, 360)
    assert train.X.shape == (1437, 1, 8, 8) and train.X.dtype is labkit.float32
    assert train.y.dtype is labkit.int64 and train.num_classes == 10
    X = np.concatenate([train.X.numpy(), test.X.numpy()])
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.allclose(X * 16, np.round(X * 16))                   # raw values were 0..16 ints
    y = np.concatenate([train.y.numpy(), test.y.numpy()])
    assert sorted(np.unique(y)) == list(range(10))
    assert np.bincount(y).min() >= 170                             # ~180 images per digit
    full = D.digits(split=None, flatten=True)
    assert full.X.shape == (1797, 64) and len(full) == 1797
    # the split is a permutation of the full set, fixed by the seed
    assert sorted(map(tuple, X.reshape(-1, 64).tolist())) == sorted(
        map(tuple, full.X.numpy().tolist()))
    again, _ = D.digits()
    other, _ = D.digits(seed=1)
    assert np.array_equal(again.y.numpy(), train.y.numpy())
    assert not np.array_equal(other.y.numpy(), train.y.numpy())
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        D.digits(split=1.5)


def test_digits_known_first_image():
    """The first image of the UCI file is a 0 (the shipped file is intact and read in order)."""
    full = D.digits(split=None)
    assert int(full.y[0]) == 0
    img = (full.X[0, 0].numpy() * 16).astype(int)
    assert img[0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_digits_are_learnable_by_a_linear_classifier():
    train, test = D.digits(flatten=True)
    W = labkit.zeros(64, 10, requires_grad=True)
    b = labkit.zeros(10, requires_grad=True)
    opt = labkit.optim.Adam([W, b], lr=0.05)
    loader = DataLoader(train, batch_size=128, shuffle=True,
                        generator=labkit.Generator().manual_seed(0))
    for _ in range(15):
        for xb, yb in loader:
            logits = xb @ W + b
            loss = -(logits.log_softmax(dim=-1).gather(1, yb.unsqueeze(1))).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    acc = float(((test.X @ W + b).argmax(dim=1) == test.y).float().mean())
    assert acc > 0.9


def test_text_corpus_and_char_dataset():
    text = D.text_corpus()
    assert isinstance(text, str) and len(text) > 100_000
    assert text.startswith("The Zen of Python") and "Beautiful is better than ugly." in text
    assert D.text_corpus() == text                                  # deterministic
    assert D.text_corpus(max_chars=500) == text[:500]
    ds = D.CharDataset(text, block_size=16)
    assert ds.vocab == sorted(set(text)) and ds.vocab_size == len(ds.vocab)
    assert len(ds) == len(text) - 16
    x, y = ds[123]
    assert x.shape == y.shape == (16,) and x.dtype is y.dtype is labkit.int64
    assert ds.decode(x) == text[123:139] and ds.decode(y) == text[124:140]
    assert ds.decode(ds.encode("Simple is better")) == "Simple is better"
    xb, yb = next(iter(DataLoader(ds, batch_size=8)))
    assert xb.shape == (8, 16) and labkit.equal(xb[:, 1:], yb[:, :-1])
    with pytest.raises(KeyError, match="not in the vocabulary"):
        D.CharDataset("abc", 1).encode("z")
    with pytest.raises(ValueError, match="more than block_size"):
        D.CharDataset("abc", 3)
    with pytest.raises(IndexError):
        D.CharDataset("hello", 2)[3]
    with pytest.raises(ValueError, match="unknown corpus"):
        D.text_corpus("shakespeare")
