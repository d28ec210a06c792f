"""A text corpus available offline, and a character-level dataset built from any text."""
import functools
import importlib
import inspect

import numpy as np

from ..tensor import Tensor, _make
from ..utils.data import Dataset

__all__ = ["text_corpus", "CharDataset"]

# Well-documented, pure-Python standard-library modules, in a fixed order.
_STDLIB_MODULES = (
    "this", "abc", "argparse", "bisect", "calendar", "collections", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools", "heapq",
    "inspect", "json", "logging", "numbers", "pathlib", "pprint", "random", "re", "shutil",
    "statistics", "string", "textwrap", "threading", "typing", "unittest", "uuid", "zipfile",
)


def _module_text(name):
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):           # `import this` prints the Zen of Python
        mod = importlib.import_module(name)
    if name == "this":
        return "The Zen of Python, by Tim Peters\n\n" + "".join(
            mod.d.get(c, c) for c in mod.s).split("\n", 2)[-1]
    parts = [inspect.getdoc(mod) or ""]
    for attr in sorted(vars(mod)):
        if attr.startswith("_"):
            continue
        obj = getattr(mod, attr)
        if getattr(obj, "__module__", None) != mod.__name__:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            doc = inspect.getdoc(obj)
            if doc and len(doc) > 40:
                parts.append(doc)
    return "\n\n".join(p for p in parts if p)


@functools.lru_cache(maxsize=4)
def text_corpus(name="stdlib", max_chars=None):
    r"""A plain-text corpus for character-level language models, available offline.

    ``"stdlib"`` (the only built-in corpus) is English prose written by Python's developers: the
    Zen of Python followed by the docstrings of about 30 standard-library modules and their
    public classes and functions (about 170,000 characters), assembled from the running interpreter at call time
    (Python Software Foundation License). Nothing is downloaded and nothing extra is shipped; the
    text depends slightly on the Python version (it is fixed for a given interpreter).

    Args:
        name (str): the corpus (``"stdlib"``).
        max_chars (int, optional): keep only the first ``max_chars`` characters.

    Returns:
        str: the text.

    Example:
        >>> text = labkit.datasets.text_corpus()
        >>> ds = labkit.datasets.CharDataset(text, block_size=64)
    """
    if name != "stdlib":
        raise ValueError(f"unknown corpus {name!r}; available: 'stdlib'. For your own text, "
                         f"pass it to CharDataset directly")
    import warnings
    chunks = []
    for mod in _STDLIB_MODULES:
        try:
            with warnings.catch_warnings():          # e.g. typing.io's DeprecationWarning
                warnings.simplefilter("ignore")
                chunks.append(_module_text(mod))
        except ImportError:                          # e.g. a stripped-down interpreter
            continue
    text = "\n\n".join(chunks)
    text = "".join(c for c in text if c == "\n" or c.isprintable())
    return text[:max_chars] if max_chars else text


class CharDataset(Dataset):
    r"""Character-level language-modelling windows over a text.

    Sample ``i`` is ``(x, y)``: ``x`` the ``block_size`` characters starting at ``i`` and ``y``
    the same window shifted by one (the next character at every position), both int64 tensors of
    shape (block_size,) holding character ids.

    Args:
        text (str): the training text.
        block_size (int): the context length.
        vocab (sequence of str, optional): the characters (default: the sorted set of characters
            in ``text``); useful to share one vocabulary between train and validation text.

    Attributes:
        vocab (list of str): the characters; id ``i`` is ``vocab[i]``.
        vocab_size (int): ``len(vocab)``.
        stoi (dict): character -> id.
        data (Tensor): the whole text encoded, int64 (len(text),).

    Example:
        >>> ds = CharDataset("hello world", block_size=4)
        >>> x, y = ds[0]
        >>> ds.decode(x), ds.decode(y)
        ('hell', 'ello')
    """

    def __init__(self, text, block_size, vocab=None):
        if not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
        if len(text) <= block_size:
            raise ValueError(f"the text has {len(text)} characters, but CharDataset needs more "
                             f"than block_size={block_size} to make one (x, y) window")
        self.vocab = sorted(set(text)) if vocab is None else list(vocab)
        self.stoi = {c: i for i, c in enumerate(self.vocab)}
        self.block_size = block_size
        self.data = self.encode(text)

    @property
    def vocab_size(self):
        return len(self.vocab)

    def encode(self, s):
        """The ids of the characters of ``s`` (an int64 tensor)."""
        try:
            ids = [self.stoi[c] for c in s]
        except KeyError as e:
            raise KeyError(f"character {e.args[0]!r} is not in the vocabulary of "
                           f"{self.vocab_size} characters") from None
        return _make(np.array(ids, dtype=np.int64))

    def decode(self, ids):
        """The text of a sequence of ids (a tensor, array or list)."""
        if isinstance(ids, Tensor):
            ids = ids._np
        return "".join(self.vocab[int(i)] for i in np.asarray(ids).reshape(-1))

    def __len__(self):
        return self.data._np.shape[0] - self.block_size

    def __getitem__(self, i):
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {i} is out of range for a CharDataset of {n} windows")
        chunk = self.data._np[i:i + self.block_size + 1]
        return _make(chunk[:-1].copy()), _make(chunk[1:].copy())

    def __repr__(self):
        return (f"CharDataset({len(self)} windows of {self.block_size} characters, vocabulary "
                f"of {self.vocab_size})")
