"""Apple's Metal (MPS) backend: labkit has none."""


def is_available():
    """False: labkit computes on the CPU only."""
    return False


def is_built():
    """False: labkit is not built with MPS support."""
    return False


def is_macos_or_newer(major, minor):
    return False


def is_macos13_or_newer(minor=0):
    return False
