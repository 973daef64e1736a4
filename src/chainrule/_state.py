"""All mode state in one place: grad mode, the interpreter stack, forward-AD levels, anomaly mode, vmap's level.

Hot paths read the module attributes directly (``_state.grad_enabled``), so they are plain globals.
NOTE: like PyTorch's autograd, the modes are meant for one thread at a time; they are process-global here.
"""

from __future__ import annotations

import functools

grad_enabled = True
# The innermost active interpreter (``chainrule.ops._primitive.Interpreter``: vmap, a forward-AD level, anomaly
# mode, a recorder), each pointing to the next outer one; None means plain eager execution (the fast path).
interpreter = None
# The ids of the active forward-AD levels, innermost last (their interpreters push the tangents).
forward_levels: list[int] = []
# Anomaly mode (chainrule.autograd.detect_anomaly): recorded nodes remember the user line that created them
# (its interpreter records that) and, with anomaly_check_nan, the engine checks every gradient for NaN and inf.
anomaly_enabled = False
anomaly_check_nan = True
# The innermost active vmap level (``chainrule.func.batching.Level``, also on the interpreter stack) while ``vmap``
# runs its function on examples, else None: detach, random draws, in-place ops and value reads consult it.
vmap_level = None
# Inside ``inference_mode()``: grad mode is off as well (chainrule's tensors carry no inference flag).
inference_enabled = False
# How many times any nn.Module's parameters, buffers, submodules or ``training`` changed (nn.modules.module counts
# them): chainrule.compile's guard walks the modules a program read only when this moved since its last check.
module_changes = [0]
# How many times any optimizer's groups, their settings or parameter lists, or its state changed (optim.optimizer
# counts them): chainrule.compile's guard re-checks the optimizers a program read only when this moved.
optimizer_changes = [0]


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


class inference_mode(_ModeContext):
    """Inference mode, as ``torch.inference_mode``: like :class:`no_grad` (ops record no graph), usable as a
    context manager or a decorator (``@inference_mode``, ``@inference_mode()``); ``inference_mode(False)``
    leaves it inside an enclosing one.

    NOTE: torch also marks the tensors made inside as inference tensors that autograd later refuses; here they
    are ordinary tensors without history, as under ``no_grad``.

    Example::

        >>> with chainrule.inference_mode():
        ...     chainrule.is_inference_mode_enabled()
        True
    """

    def __new__(cls, mode=True):
        # NOTE: the bare decorator form ``@inference_mode`` passes the function as ``mode``.
        self = super().__new__(cls)
        if callable(mode):
            self.mode = True
            return self(mode)
        return self

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def _args(self) -> tuple:
        return (self.mode,)

    def __enter__(self):
        global grad_enabled, inference_enabled
        self._prev = (grad_enabled, inference_enabled)
        inference_enabled = self.mode
        if self.mode:
            grad_enabled = False

    def __exit__(self, *exc):
        global grad_enabled, inference_enabled
        grad_enabled, inference_enabled = self._prev
        return False


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return inference_enabled
