"""Small datasets for learning, available offline (``labkit.datasets``).

Synthetic 2-D classification (shapes ``X: (N, 2) float32``, ``y: (N,) int64``):
    :func:`moons`, :func:`circles`, :func:`spirals`, :func:`blobs`, :func:`xor`,
    :func:`checkerboard`
Regression: :func:`sine` (``X: (N, 1)``, ``y: (N, 1)`` float32)
Real images: :func:`digits` — 1,797 handwritten digits, 8x8 (UCI, shipped with labkit)
Text: :func:`text_corpus` and :class:`CharDataset` for character-level language models

Every function returns :class:`LabDataset` objects: ``TensorDataset``s (so ``DataLoader`` batches
them with its fast path) with ``.X`` and ``.y`` attributes, and takes a ``seed`` (default 0:
the same data every time; ``seed=None`` draws from labkit's global generator, so
``labkit.manual_seed`` controls it).

    ds = labkit.datasets.moons(500, noise=0.2)
    loader = DataLoader(ds, batch_size=32, shuffle=True)
    plt.scatter(*ds.X.T, c=ds.y)
"""
from .synthetic import LabDataset, blobs, checkerboard, circles, moons, sine, spirals, xor
from .digits import digits
from .text import CharDataset, text_corpus

__all__ = ["LabDataset", "moons", "circles", "spirals", "blobs", "xor", "checkerboard", "sine",
           "digits", "text_corpus", "CharDataset"]
