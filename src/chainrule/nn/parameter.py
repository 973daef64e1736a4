"""``Parameter``: a tensor that a :class:`~chainrule.nn.Module` registers as one of its learnable weights;
``UninitializedParameter`` / ``UninitializedBuffer``: placeholders of a lazy module until its first forward."""

from __future__ import annotations

from .. import _dtype, creation
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
            self._vc = data._counter()
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


# -- uninitialised parameters and buffers (lazy modules) ------------------------------------------------

class _UninitializedTensorMixin:
    """A placeholder without a shape: it keeps the dtype and device to build with and becomes a
    ``cls_to_become`` of a given shape through :meth:`materialize` (torch's ``UninitializedTensorMixin``)."""

    __slots__ = ()
    cls_to_become: type

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Become a ``cls_to_become`` of ``shape`` (uninitialised values), with this placeholder's device and
        dtype unless given, in place: the object stays the same, so a module's references stay valid."""
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        self._data = creation.empty(tuple(shape), device=device, dtype=dtype)._data
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. This error usually "
                           "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
                           "initialized one. Call `forward` to initialize the parameters before accessing their "
                           "attributes.")

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
                           "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce__(self):
        return (_rebuild_uninitialized, (type(self), self.requires_grad, self.dtype))

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, dtype=self.dtype)
        return memo[id(self)]


def _rebuild_uninitialized(cls, requires_grad: bool, dtype):
    return cls(requires_grad, dtype=dtype)


def _placeholder(cls, requires_grad: bool, device, dtype) -> Tensor:
    self = _wrap(creation.empty(0, device=device, dtype=dtype)._data, cls=cls)
    if requires_grad:
        self.requires_grad_(True)
    return self


class UninitializedParameter(_UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (a lazy module's weight until its first forward).

    It holds no values: reading its shape raises; :meth:`materialize` turns it into a :class:`Parameter` of a
    given shape, in place. ``device``/``dtype`` are the ones it materialises with.

    Example::

        >>> w = chainrule.nn.UninitializedParameter()
        >>> w.materialize((2, 3)); type(w).__name__, w.shape
        ('Parameter', chainrule.Size([2, 3]))
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return _placeholder(cls, requires_grad, device, dtype)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass  # everything happens in __new__


class UninitializedBuffer(_UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy norm layer's running statistics until its first forward);
    :meth:`materialize` turns it into a plain :class:`~chainrule.Tensor`, in place."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True):
        return _placeholder(cls, requires_grad, device, dtype)

    def __init__(self, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True):
        pass  # everything happens in __new__; Tensor.__init__ would reset the data


def is_lazy(param) -> bool:
    """Whether ``param`` is an :class:`UninitializedParameter` or an :class:`UninitializedBuffer`."""
    return isinstance(param, _UninitializedTensorMixin)
