"""Random numbers: a global ``Generator`` seeded by ``manual_seed``, NumPy's PCG64 underneath.

labkit's streams are reproducible from a seed but are not bit-identical to PyTorch's (the tests
compare statistics, and copy weights across when they compare models).
"""
import numpy as np

from .tensor import _CPU, _make, device as _device

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state"]


class Generator:
    """A source of random numbers (``labkit.Generator().manual_seed(0)``)."""

    def __init__(self, device="cpu"):
        _device(device)                 # 'cuda' raises labkit's CPU-only message
        self._seed = 67280421310721
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        st = self._rng.bit_generator.state
        raw = np.frombuffer(repr(st).encode(), dtype=np.uint8).copy()
        return _make(raw)

    def set_state(self, state):
        import ast
        st = ast.literal_eval(bytes(state._np.astype(np.uint8)).decode())
        self._rng.bit_generator.state = st
        return self

    @property
    def device(self):
        return _CPU


default_generator = Generator()


def _rng(generator=None):
    return (generator or default_generator)._rng


def manual_seed(seed):
    """Seed labkit's global generator (and return it), like ``torch.manual_seed``."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)
