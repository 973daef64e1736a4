"""All mode state in one place: grad mode, forward-AD levels, anomaly mode and the active vmap level.

Hot paths read the module attributes directly (``_state.grad_enabled``), so they are plain globals.
NOTE: like PyTorch's autograd, the modes are meant for one thread at a time; they are process-global here.
"""

from __future__ import annotations

import functools

grad_enabled = True
# Active forward-AD levels, innermost last; ops only look at tangents when this is non-empty.
forward_levels: list[int] = []
# Anomaly mode (chainrule.autograd.detect_anomaly): recorded nodes remember the user line that created them
# and, with anomaly_check_nan, the engine checks every gradient it computes for NaN and inf.
anomaly_enabled = False
anomaly_check_nan = True
# The innermost active vmap level (``chainrule.func.batching.Level``) while ``vmap`` traces its function on one
# example, else None: every primitive application, detach, random draw and in-place op reports to it.
vmap_level = None


class _ModeContext:
    """Base for modes usable as a context manager and as a decorator (``@no_grad()`` or ``@no_grad``)."""

    def __call__(self, fn=None):
        if fn is None:
            return self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)

        return wrapper

    def _args(self) -> tuple:
        return ()


class _GradModeContext(_ModeContext):
    mode = True

    def __new__(cls, fn=None):
        # NOTE: allows the bare decorator form ``@no_grad`` as well as ``@no_grad()``.
        self = super().__new__(cls)
        return self(fn) if callable(fn) else self

    def __init__(self, fn=None):
        pass

    def __enter__(self):
        global grad_enabled
        self._prev = grad_enabled
        grad_enabled = self.mode

    def __exit__(self, *exc):
        global grad_enabled
        grad_enabled = self._prev
        return False


class no_grad(_GradModeContext):
    """Disable gradient recording: ops inside build no graph (``with chainrule.no_grad(): ...``)."""

    mode = False


class enable_grad(_GradModeContext):
    """Re-enable gradient recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_ModeContext):
    """Set grad mode now (``set_grad_enabled(False)``), or for a block / a decorated function."""

    def __init__(self, mode: bool):
        global grad_enabled
        self._prev = grad_enabled
        self.mode = bool(mode)
        grad_enabled = self.mode

    def _args(self) -> tuple:
        return (self.mode,)

    def __call__(self, fn=None):
        global grad_enabled
        if fn is not None:  # used as a decorator: the mode applies inside calls only
            grad_enabled = self._prev
        return super().__call__(fn)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        global grad_enabled
        grad_enabled = self._prev
        return False


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()`` / ``set_grad_enabled(False)``: whether ops record the graph."""
    return grad_enabled
