"""``Parameter``: a tensor that a :class:`~chainrule.nn.Module` registers as one of its learnable weights."""

from __future__ import annotations

from .. import _dtype
from .._backend import xp
from ..tensor import Tensor, _wrap


class Parameter(Tensor):
    """A leaf tensor that, assigned as a module attribute, appears in ``module.parameters()``.

    ``Parameter(data=None, requires_grad=True)`` shares ``data``'s memory (as in torch) and is always a leaf,
    even when ``data`` has a history. Ops on a parameter return plain tensors.

    Example::

        >>> w = chainrule.nn.Parameter(chainrule.ones(2))
        >>> isinstance(w, chainrule.Tensor), w.requires_grad
        (True, True)
    """

    # NOTE: Tensor uses __slots__; an empty one keeps instances as small and as fast as plain tensors.
    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            array = xp.zeros((0,), dtype=_dtype.get_default_dtype().np)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            raise TypeError(f"Parameter: data must be a Tensor or None, got {type(data).__name__}")
        self = _wrap(array, cls=cls)
        if isinstance(data, Tensor):
            self._vc = data._vc
        if requires_grad:
            self.requires_grad_(True)
        return self

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        pass  # everything happens in __new__; Tensor.__init__ would reset the data

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce__(self):
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(array, requires_grad: bool) -> Parameter:
    return Parameter(_wrap(array), requires_grad)
