"""End-to-end sanity: small models learn toy problems with a hand-written SGD loop (no optim)."""
import numpy as np

import labkit as lk
from labkit import nn
import labkit.nn.functional as F


def sgd_step(model, lr):
    with lk.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= lr * p.grad
    model.zero_grad()


def spirals(n=100, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1, n)
        t = np.linspace(c * 4, (c + 1) * 4, n) + rng.standard_normal(n) * 0.2
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(n, c))
    return np.concatenate(X).astype(np.float32), np.concatenate(y)


def test_mlp_learns_xor():
    lk.manual_seed(0)
    X = lk.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    y = lk.tensor([[0.], [1.], [1.], [0.]])
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    loss_fn = nn.BCEWithLogitsLoss()
    first = None
    for _ in range(300):
        loss = loss_fn(model(X), y)
        first = first if first is not None else loss.item()
        loss.backward()
        sgd_step(model, 0.5)
    assert loss.item() < 0.05 < first
    pred = (model(X).sigmoid() > 0.5).float()
    assert lk.equal(pred, y)


def test_mlp_learns_spirals_with_cross_entropy():
    lk.manual_seed(0)
    X, y = spirals()
    X, y = lk.tensor(X), lk.tensor(y)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 3))
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(400):
        loss = loss_fn(model(X), y)
        loss.backward()
        sgd_step(model, 0.5)
    acc = (model(X).argmax(1) == y).float().mean().item()
    assert acc > 0.9, f"accuracy {acc:.2f}, loss {loss.item():.3f}"


def test_small_cnn_with_batchnorm_dropout_learns():
    """A tiny CNN separates horizontal from vertical bars (exercises conv/bn/pool/dropout)."""
    lk.manual_seed(0)
    rng = np.random.default_rng(0)
    imgs = np.zeros((64, 1, 8, 8), np.float32)
    labels = rng.integers(0, 2, 64)
    for i, c in enumerate(labels):
        k = rng.integers(1, 7)
        if c:
            imgs[i, 0, k, :] = 1
        else:
            imgs[i, 0, :, k] = 1
    imgs += rng.standard_normal(imgs.shape).astype(np.float32) * 0.1
    X, y = lk.tensor(imgs), lk.tensor(labels)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Dropout(0.1), nn.Flatten(), nn.Linear(64, 2))
    for _ in range(60):
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        sgd_step(model, 0.1)
    model.eval()
    acc = (model(X).argmax(1) == y).float().mean().item()
    assert acc > 0.95, acc
