"""labkit has no GPU backend; this module lets ``labkit.cuda.is_available()`` answer False."""


def is_available():
    return False


def device_count():
    return 0


def manual_seed(seed):
    pass


def manual_seed_all(seed):
    pass


def synchronize(device=None):
    pass
