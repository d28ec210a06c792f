"""oneDNN (MKL-DNN): labkit does not use it."""
import contextlib

enabled = True
deterministic = False


def is_available():
    """False: labkit's convolutions are its own Numba kernels, not oneDNN."""
    return False


@contextlib.contextmanager
def flags(enabled=False, deterministic=False):
    """Set the flags inside a ``with`` block and restore them after (no effect in labkit)."""
    g = globals()
    saved = {"enabled": g["enabled"], "deterministic": g["deterministic"]}
    g.update(enabled=enabled, deterministic=deterministic)
    try:
        yield
    finally:
        g.update(saved)
