"""register_parametrization and friends (as torch.nn.utils.parametrize).

A parametrization replaces a module's parameter (or buffer) ``name`` by a function of other tensors: after
``register_parametrization(module, "weight", P)`` reading ``module.weight`` computes ``P(original)`` (a
differentiable composite, so gradients reach ``original``), and assigning to it stores
``P.right_inverse(value)``. As in torch, the module's class is swapped for a subclass
``Parametrized<Class>`` carrying a property per parametrized name, the originals live in
``module.parametrizations[name]`` (state_dict keys ``parametrizations.weight.original`` or ``original0``,
``original1``, ... when ``right_inverse`` returns several tensors), and :func:`remove_parametrizations`
undoes it all.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import contextmanager

from ... import _state
from ...tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations"]

_cache_depth = 0
_cache: dict = {}


@contextmanager
def cached():
    """Within this context each parametrized tensor is computed once and reused (until the context exits).

    Useful when a parametrized weight is read several times per forward (e.g. in a recurrent loop).

    Example::

        >>> with chainrule.nn.utils.parametrize.cached():
        ...     out = model(x)
    """
    global _cache_depth, _cache
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache = {}


def _register_tensor(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set(dest: Tensor, src: Tensor) -> None:
    """torch's ``dest.set_(src)`` under no_grad: ``dest`` keeps its identity and takes ``src``'s values."""
    if dest.shape == src.shape:
        dest.copy_(src)
    else:
        # NOTE: an unsafe parametrization may change the shape; then the storage itself is swapped, as set_ does.
        dest._data = src.detach()._data
        dest._counter()[0] += 1


def _check_result(kind: str, value, original: Tensor, what: str) -> None:
    if not isinstance(value, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(value).__name__}.")
    for attr in ("dtype", "shape"):
        if getattr(value, attr) != getattr(original, attr):
            raise ValueError(f"Registering a parametrization may not change the {attr} of the tensor, unless the "
                             f"`unsafe` flag is enabled.\n{kind} {attr}: {getattr(original, attr)}\n{what} {attr}: "
                             f"{getattr(value, attr)}")


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor (applied in order) and its ``original`` tensor(s).

    ``original`` is what ``right_inverse`` of the parametrizations (applied last to first) makes of the tensor
    at registration; several tensors become ``original0``, ``original1``, ...
    """

    def __init__(self, modules: Sequence, original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        with _state.no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). Got "
                             f"{type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ValueError(f"When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}")
            with _state.no_grad():
                _set(original, new)
            _register_tensor(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, "
                                     f"tuple...). Got element {i} of the sequence with type {type(part).__name__}.")
                part = part.detach()
                if isinstance(original, Parameter):
                    part = Parameter(part, original.requires_grad)
                _register_tensor(self, f"original{i}", part)
        if not self.unsafe:
            _check_result("unparametrized", self(), original, "parametrized")

    def right_inverse(self, value: Tensor) -> None:
        """Store ``value`` by running the parametrizations' ``right_inverse`` (last to first) into the originals."""
        with _state.no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor) or value.dtype != self.original.dtype:
                    raise ValueError(f"`right_inverse` should return a tensor of dtype {self.original.dtype}")
                _set(self.original, value)
                return
            if not isinstance(value, Sequence) or len(value) != self.ntensors:
                raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}.")
            for i, tensor in enumerate(value):
                _set(getattr(self, f"original{i}"), tensor)

    def forward(self) -> Tensor:
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def _getstate(self):
    raise RuntimeError("Serialization of parametrized modules is only supported through state_dict().")


def _deepcopy(self, memo):
    """A deep copy that bypasses ``__getstate__`` (which refuses pickling), as torch's parametrized class."""
    replica = self.__new__(type(self))
    memo[id(self)] = replica
    replica.__dict__ = copy.deepcopy(self.__dict__, memo)
    return replica


def _inject_class(module: Module) -> None:
    cls = type(module)
    namespace = {"__getstate__": _getstate}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module: Module, tensor_name: str) -> None:
    if hasattr(module, tensor_name):
        raise AssertionError(f"Module already has an attribute named '{tensor_name}'")

    def get_parametrized(self) -> Tensor:
        parametrization = self.parametrizations[tensor_name]
        if not _cache_depth:
            return parametrization()
        key = (id(self), tensor_name)
        if _cache.get(key) is None:
            _cache[key] = parametrization()
        return _cache[key]

    def set_original(self, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` (a Module) applied to a stored original.

    A second registration on the same name chains: the new parametrization is applied to the previous one's
    output. ``parametrization.right_inverse(value)`` (optional) says what to store for a given value: it runs
    at registration (so ``module.<tensor_name>`` keeps its value when it can) and on assignment. Unless
    ``unsafe``, the parametrized tensor must keep the dtype and shape. Returns ``module``.

    Example::

        >>> class Symmetric(chainrule.nn.Module):
        ...     def forward(self, X):
        ...         return X.triu() + X.triu(1).transpose(-1, -2)
        >>> layer = register_parametrization(chainrule.nn.Linear(3, 3), "weight", Symmetric())
        >>> bool((layer.weight == layer.weight.T).all())
        True
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            current = getattr(module, tensor_name)
            _check_result(f"module.{tensor_name}", parametrization(current), current,
                          f"parametrization(module.{tensor_name})")
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrization (on ``tensor_name``, or on any tensor when it is None)."""
    parametrizations = getattr(module, "parametrizations", None)
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo :func:`register_parametrization` on ``tensor_name``.

    With ``leave_parametrized`` the tensor keeps its current (parametrized) value, else it goes back to the
    stored original (possible only when the original is one tensor). The module's original class comes back
    once no parametrization is left. Returns ``module``.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with _state.no_grad():
                _set(original, getattr(module, tensor_name))
    elif leave_parametrized:
        value = getattr(module, tensor_name)
        original = Parameter(value.detach()) if value.requires_grad else value.detach()
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized in "
                         "terms of a sequence of tensors.")
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_tensor(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class before parametrizations were registered (its class when there are none)."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)
