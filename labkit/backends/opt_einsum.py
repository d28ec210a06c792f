"""opt_einsum: labkit's einsum does not use it (it contracts in NumPy's order)."""
enabled = True
strategy = None


def is_available():
    return False


def get_opt_einsum():
    return None
