"""Grad-mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator, like PyTorch.  The state is one module-level
flag read by every op (``_state.enabled``), so turning grad off costs nothing per op.
"""
import functools
import inspect

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State:
    __slots__ = ("enabled", "inference")

    def __init__(self):
        self.enabled = True
        self.inference = False


_state = _State()


def is_grad_enabled():
    return _state.enabled


def is_inference_mode_enabled():
    return _state.inference


class _GradModeBase:
    """Context manager that also decorates functions and generator functions."""
    _target = True

    def __enter__(self):
        self._prev = (_state.enabled, _state.inference)
        self._apply()

    def _apply(self):
        _state.enabled = self._target

    def __exit__(self, *exc):
        _state.enabled, _state.inference = self._prev
        return False

    def clone(self):
        return type(self)()

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def gen_wrapper(*args, **kwargs):
                gen = func(*args, **kwargs)
                with self.clone():
                    try:
                        value = next(gen)
                    except StopIteration as e:
                        return e.value
                while True:
                    try:
                        sent = yield value
                    except BaseException as exc:
                        with self.clone():
                            value = gen.throw(exc)
                        continue
                    with self.clone():
                        try:
                            value = gen.send(sent)
                        except StopIteration as e:
                            return e.value
            return gen_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradModeBase):
    """Disable gradient tracking: ops run on plain data and build no graph.

    Example::

        with labkit.no_grad():
            w -= lr * w.grad        # an optimizer step must not be recorded
    """
    _target = False

    def __init__(self, orig_func=None):
        if orig_func is not None and callable(orig_func):   # allow bare @no_grad
            self._wrapped = self.__call__(orig_func)
            functools.update_wrapper(self, orig_func)

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is not None and callable(orig_func):
            self.__init__(orig_func)
            return self._wrapped
        return self


class enable_grad(_GradModeBase):
    """Re-enable gradient tracking inside a ``no_grad`` block."""
    _target = True


class set_grad_enabled(_GradModeBase):
    """``set_grad_enabled(False)`` is ``no_grad()``; also usable as a plain function call."""

    def __init__(self, mode):
        self._target = bool(mode)
        self._prev = (_state.enabled, _state.inference)
        _state.enabled = self._target           # takes effect immediately, like PyTorch

    def clone(self):
        return set_grad_enabled(self._target)

    def __enter__(self):
        _state.enabled = self._target


class inference_mode(_GradModeBase):
    """Like ``no_grad`` (labkit has no separate inference tensors); ``inference_mode(False)`` is a no-op."""

    def __init__(self, mode=True):
        if callable(mode):
            raise TypeError("use @labkit.inference_mode() with parentheses")
        self.mode = bool(mode)

    def clone(self):
        return inference_mode(self.mode)

    def _apply(self):
        if self.mode:
            _state.enabled = False
            _state.inference = True
