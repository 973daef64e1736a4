"""``Module``: the base class of every layer and model, with torch's registration, traversal and state dicts.

Assigning a :class:`Parameter`, a :class:`Module` or (after ``register_buffer``) a tensor to an attribute
registers it; ``parameters()``, ``state_dict()``, ``train()``, ``to()`` and ``repr`` then walk the tree of
submodules. Every walk is iterative (an explicit stack), so no module tree is too deep to handle.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from ... import _backend, _dtype, _state
from ..._counting import CountingDict
from ..._hooks import RemovableHandle
from ...autograd.function import Function
from ...tensor import Tensor
from ..parameter import Parameter

__all__ = ["Module"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and the keys it did not expect."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


# NOTE: every change to which parameters, buffers and submodules a module holds, or to its ``training``, advances
# ``_state.module_changes``, so chainrule.compile's guard can skip walking the modules while nothing changed (a few
# us of a small training step).
_CHANGES = _state.module_changes
_STRUCTURE_ATTRIBUTES = frozenset(("training", "_parameters", "_buffers", "_modules"))


class _Store(CountingDict):
    """A module's parameters, buffers or submodules: a dict that counts every change in ``_state.module_changes``
    (assignment, deletion, pop, update, ... alike, so direct writes such as ``model._modules["0"] = m`` count)."""

    __slots__ = ()
    counter = _CHANGES


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _typename(value) -> str:
    return value.type() if isinstance(value, Tensor) else type(value).__name__


def _quoted(keys: list) -> str:
    return ", ".join(f'"{k}"' for k in keys)


def _dot(name: str) -> str:
    """A module's key prefix in a state_dict: ``'layer.0.'`` for ``'layer.0'``, ``''`` for the root."""
    return name + "." if name else ""


def _join(prefix: str, name: str) -> str:
    return prefix + ("." if prefix else "") + name


def _check_member_name(module: Module, name, kind: str, store: dict) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if hasattr(module, name) and name not in store:
        raise KeyError(f"attribute '{name}' already exists")


_HOOK_LISTS = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks",
               "_state_dict_pre_hooks", "_state_dict_hooks", "_load_state_dict_pre_hooks",
               "_load_state_dict_post_hooks")


class _Hook:
    """A registered module hook and its flags (compared by identity, so each registration is removed alone)."""

    __slots__ = ("fn", "with_kwargs", "always_call")

    def __init__(self, fn, with_kwargs: bool = False, always_call: bool = False):
        self.fn, self.with_kwargs, self.always_call = fn, with_kwargs, always_call


def _as_tuple(grads) -> tuple:
    return grads if isinstance(grads, tuple) else tuple(grads) if isinstance(grads, list) else (grads,)


class _Identity(Function):
    """Passes its tensors through unchanged; its backward hands the gradients to ``callback`` (torch's
    BackwardHookFunction: the point where a module's output or input gradients are seen)."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.callback(grads))

    @staticmethod
    def jvp(ctx, callback_t, *tangents):
        # NOTE: the identity's tangents pass through, so forward mode works through modules with backward hooks.
        return tangents


class _BackwardHooks:
    """One call's full backward (pre-)hooks: wraps the inputs and the output in :class:`_Identity` nodes.

    The output node runs the pre-hooks on ``grad_output``; the input node runs the full hooks on
    ``(grad_input, grad_output)``, or the output node does when no input needs a gradient.
    """

    def __init__(self, module: Module, args: tuple):
        self.module, self.n_args = module, len(args)
        self.input_positions = ()
        self.grad_output = None

    def wrap_inputs(self, args: tuple) -> tuple:
        if not _state.grad_enabled:
            return args
        self.input_positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad)
        if not self.input_positions:
            return args
        wrapped = _Identity.apply(self._on_grad_input, *(args[i] for i in self.input_positions))
        args = list(args)
        for i, t in zip(self.input_positions, wrapped):
            args[i] = t
        return tuple(args)

    def wrap_output(self, out):
        tensors = list(out) if isinstance(out, (tuple, list)) else [out]
        if not _state.grad_enabled or not any(isinstance(t, Tensor) and t.requires_grad for t in tensors):
            return out
        positions = [i for i, t in enumerate(tensors) if isinstance(t, Tensor) and t.requires_grad]
        wrapped = _Identity.apply(self._on_grad_output, *(tensors[i] for i in positions))
        for i, t in zip(positions, wrapped):
            tensors[i] = t
        return type(out)(tensors) if isinstance(out, (tuple, list)) else tensors[0]

    def _run(self, hooks: list, grads: tuple, name: str, *extra) -> tuple:
        """Call each hook on ``(module, grads, *extra)``; a returned tuple of the same length replaces ``grads``."""
        for hook in tuple(hooks):
            result = hook.fn(self.module, grads, *extra)
            if result is not None:
                result = _as_tuple(result)
                if len(result) != len(grads):
                    raise RuntimeError(f"{'Backward pre hook' if name == 'grad_output' else 'Backward hook'} returned "
                                       f"an invalid number of {name}, got {len(result)}, but expected {len(grads)}")
                grads = result
        return grads

    def _on_grad_output(self, grads: tuple) -> tuple:
        grads = self.grad_output = self._run(self.module._backward_pre_hooks, grads, "grad_output")
        if not self.input_positions and self.module._backward_hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients.", stacklevel=2)
            self._run(self.module._backward_hooks, (None,) * self.n_args, "grad_input", self.grad_output)
        return grads

    def _on_grad_input(self, grads: tuple) -> tuple:
        grad_input = [None] * self.n_args
        for i, g in zip(self.input_positions, grads):
            grad_input[i] = g
        grad_input = self._run(self.module._backward_hooks, tuple(grad_input), "grad_input", self.grad_output)
        return tuple(grad_input[i] for i in self.input_positions)


class Module:
    """Base class for all layers and models; subclass it and define ``forward``.

    Attributes assigned in ``__init__`` register themselves: parameters (:class:`Parameter`), submodules
    (:class:`Module`) and buffers (tensors passed to :meth:`register_buffer`, e.g. running statistics).
    Calling the module runs its forward pre-hooks, ``forward`` and forward hooks.

    Example::

        >>> class Net(chainrule.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = chainrule.nn.Linear(2, 1)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
        >>> [name for name, _ in Net().named_parameters()]
        ['fc.weight', 'fc.bias']
    """

    _version = 1

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments {args} {kwargs}")
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", _Store())
        set_(self, "_buffers", _Store())
        set_(self, "_non_persistent_buffers_set", set())
        set_(self, "_modules", _Store())
        for name in _HOOK_LISTS:
            set_(self, name, [])

    def __setstate__(self, state: dict) -> None:
        # NOTE: modules pickled before a hook kind existed get an empty list of it (as torch's __setstate__).
        self.__dict__.update(state)
        for name in _HOOK_LISTS:
            self.__dict__.setdefault(name, [])

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" '
                                  "function")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_pre_hooks or self._backward_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        """torch's _call_impl: forward pre-hooks, backward-hook wrapping of inputs, forward, forward hooks,
        backward-hook wrapping of the output."""
        for hook in tuple(self._forward_pre_hooks):
            if hook.with_kwargs:
                result = hook.fn(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {result}.")
                    args, kwargs = result
            else:
                result = hook.fn(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward = None
        if self._backward_pre_hooks or self._backward_hooks:
            backward = _BackwardHooks(self, args)
            args = backward.wrap_inputs(args)
        try:
            out = self.forward(*args, **kwargs)
        except Exception:
            for hook in tuple(self._forward_hooks):
                if hook.always_call:
                    hook.fn(self, args, kwargs, None) if hook.with_kwargs else hook.fn(self, args, None)
            raise
        for hook in tuple(self._forward_hooks):
            result = hook.fn(self, args, kwargs, out) if hook.with_kwargs else hook.fn(self, args, out)
            if result is not None:
                out = result
        return out if backward is None else backward.wrap_output(out)

    @staticmethod
    def _register(hooks: list, hook, prepend: bool, **flags) -> RemovableHandle:
        entry = _Hook(hook, **flags)
        hooks.insert(0, entry) if prepend else hooks.append(entry)
        return RemovableHandle(hooks, entry)

    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False
                                  ) -> RemovableHandle:
        """Call ``hook(module, args)`` before ``forward``; a returned value replaces ``args``.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs)`` and may return ``(args, kwargs)``.
        ``prepend=True`` runs it before the hooks already registered. ``handle.remove()`` unregisters it.
        """
        return self._register(self._forward_pre_hooks, hook, prepend, with_kwargs=with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after ``forward``; a returned value replaces the output.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``; ``always_call=True`` calls
        it (with output None) even when ``forward`` raises.
        """
        return self._register(self._forward_hooks, hook, prepend, with_kwargs=with_kwargs,
                              always_call=always_call)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients w.r.t. the module's outputs are ready.

        ``grad_output`` is a tuple (None for outputs that got no gradient); a returned tuple replaces it for
        the rest of the backward pass.
        """
        return self._register(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients w.r.t. the module's inputs are ready.

        ``grad_input`` has one entry per positional argument of ``forward`` (None for non-tensors and tensors
        that need no gradient); a returned tuple replaces it. When no input needs a gradient, the hook runs
        with ``grad_input`` all None as soon as ``grad_output`` is known (as in torch).

        Example::

            >>> layer = chainrule.nn.Linear(3, 2)
            >>> handle = layer.register_full_backward_hook(lambda m, gin, gout: print(gout[0].shape))
            >>> layer(chainrule.randn(4, 3, requires_grad=True)).sum().backward()
            chainrule.Size([4, 2])
        """
        return self._register(self._backward_hooks, hook, prepend)

    def register_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, prefix, keep_vars)`` before this module's entries are put in a ``state_dict``."""
        return self._register(self._state_dict_pre_hooks, hook, False)

    def register_state_dict_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` once this module and its submodules are in
        the ``state_dict`` (it may edit the dict in place)."""
        return self._register(self._state_dict_hooks, hook, False)

    def register_load_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` before this module loads its entries (it may rename keys of ``state_dict`` in place)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False) -> RemovableHandle:
        """torch's private form: without ``with_module`` the hook does not receive the module."""
        fn = hook if with_module else (lambda module, *args: hook(*args))
        return self._register(self._load_state_dict_pre_hooks, fn, False)

    def register_load_state_dict_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, incompatible_keys)`` after loading; it may edit ``incompatible_keys.missing_keys`` /
        ``unexpected_keys`` in place (e.g. to excuse a key before ``strict`` raises); it must return None."""
        return self._register(self._load_state_dict_post_hooks, hook, False)

    # -- registration ----------------------------------------------------------------------------------
    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (e.g. running statistics).

        Persistent buffers are saved in ``state_dict``; non-persistent ones are not. ``None`` is allowed.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_member_name(self, name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' (chainrule "
                            "Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a :class:`Parameter` or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_member_name(self, name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(chainrule.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                             f"created explicitly. To express '{name}' as a function of another Tensor, "
                             "compute the value in the forward() method.")
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` (or None) as a submodule named ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_member_name(self, name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``''`` is this module)."""
        module = self
        for item in target.split(".") if target else ():
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def _get_member(self, target: str, store: str, kind: str):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        members = getattr(module, store)
        if name not in members:
            if hasattr(module, name):
                raise AttributeError(f"`{name}` is not {kind}")
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        return members[name]

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` (``'0.weight'``)."""
        return self._get_member(target, "_parameters", "an nn.Parameter")

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (``'bn.running_mean'``)."""
        return self._get_member(target, "_buffers", "a buffer")

    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params, modules, buffers = d.get("_parameters"), d.get("_modules"), d.get("_buffers")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(chainrule.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(chainrule.nn.Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' (chainrule.Tensor or "
                                "None expected)")
            buffers[name] = value
        elif name in _STRUCTURE_ATTRIBUTES:
            _CHANGES[0] += 1
            object.__setattr__(self, name, _Store(value) if name != "training" and isinstance(value, dict) else value)
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every store, so an attribute changes kind cleanly (tensor -> parameter, ...)."""
        self.__dict__.pop(name, None)
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        if name in _STRUCTURE_ATTRIBUTES:
            _CHANGES[0] += 1
        object.__delattr__(self, name)

    def __dir__(self):
        members = set(self._parameters) | set(self._buffers) | set(self._modules)
        return sorted(set(super().__dir__()) | members)

    # -- traversal -------------------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(dotted name, module)`` for this module and every submodule, depth first, parents first."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in memo:
                    continue
                memo.add(module)
            yield name, module
            stack.extend(reversed([(_join(name, key), child) for key, child in module._modules.items()
                                   if child is not None]))

    def modules(self):
        """Every module in the tree (this one first), each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """Yield ``(name, module)`` for the direct submodules, each once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _postorder(self) -> list:
        """Modules with every child before its parent (the order of ``apply`` and of building ``repr``)."""
        order, stack = [], [(self, False)]
        while stack:
            module, expanded = stack.pop()
            if expanded:
                order.append(module)
                continue
            stack.append((module, True))
            stack.extend((child, False) for child in reversed(list(module.children())))
        return order

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        if recurse:
            modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        else:
            modules = [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield _join(module_prefix, name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(dotted name, parameter)``; a parameter shared by several modules appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        """Every parameter of this module (and of its submodules when ``recurse``), each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(dotted name, buffer)``, persistent or not."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every submodule (children first) and then on this one; returns self.

        Example::

            >>> def init_weights(m):
            ...     if isinstance(m, chainrule.nn.Linear):
            ...         chainrule.nn.init.zeros_(m.bias)
            >>> net.apply(init_weights)
        """
        for module in self._postorder():
            fn(module)
        return self

    # -- modes and gradients ---------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and all submodules."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): dropout is off, batch norm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (e.g. ``False`` to freeze a pretrained part)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zero tensors."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.detach_()
                param.grad.zero_()

    # -- dtype and device ------------------------------------------------------------------------------
    def _apply_to_tensors(self, convert) -> Module:
        """Replace the data (and gradient) of every parameter and buffer by ``convert(array)``, in place."""
        for module in self.modules():
            for store in (module._parameters, module._buffers):
                for tensor in store.values():
                    if tensor is None:
                        continue
                    tensor._data = convert(tensor._data)
                    if tensor.grad is not None:
                        tensor.grad._data = convert(tensor.grad._data)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Cast floating parameters and buffers to a dtype and/or move them to a device, in place.

        Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` and the keywords.
        Integer buffers (``num_batches_tracked``) keep their dtype, as in torch.
        """
        dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            elif isinstance(arg, _backend.device) or (isinstance(arg, str) and arg not in _dtype._BY_NAME):
                device = arg
            else:
                dtype = arg
        if device is not None:
            target = _backend.as_device(device)
            self._apply_to_tensors(lambda a: _backend.to_device(a, target))
        if dtype is None:
            return self
        d = _dtype.as_dtype(dtype)
        if not d.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={d}")
        return self._apply_to_tensors(lambda a: a.astype(d.np, copy=False) if a.dtype.kind == "f" else a)

    def float(self) -> Module:
        return self.to(_dtype.float32)

    def double(self) -> Module:
        return self.to(_dtype.float64)

    def half(self) -> Module:
        return self.to(_dtype.float16)

    def cpu(self) -> Module:
        return self.to("cpu")

    def to_empty(self, *, device=None, recurse: bool = True) -> Module:
        """Give every parameter and buffer new, uninitialised storage on ``device`` (torch's ``to_empty``: how a
        model built or moved on the "meta" device gets real memory; initialise it afterwards)."""
        target = _backend.as_device(device)
        module = _backend.device_module(target) if target.type != "meta" else None
        return self._apply_to_tensors(lambda a: _backend.meta_array(a.shape, a.dtype) if module is None
                                      else module.empty(a.shape, dtype=a.dtype))

    def cuda(self, device=None) -> Module:
        return self.to(device if device is not None else "cuda")

    # -- state dicts -----------------------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()

    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """An ``OrderedDict`` of every parameter and persistent buffer by dotted name (``'0.weight'``).

        The tensors are detached but share memory with the module (``keep_vars=True`` keeps the parameters
        themselves). Save it with ``chainrule.save`` and restore it with :meth:`load_state_dict`.
        """
        destination = OrderedDict() if destination is None else destination
        visited = [(prefix + _dot(name), module) for name, module in self.named_modules(remove_duplicate=False)]
        for key_prefix, module in visited:
            for hook in tuple(module._state_dict_pre_hooks):
                hook.fn(module, key_prefix, keep_vars)
            module._save_to_state_dict(destination, key_prefix, keep_vars)
        # NOTE: in reverse visiting order, each module's post hooks run after those of all its submodules.
        for key_prefix, module in reversed(visited):
            for hook in tuple(module._state_dict_hooks):
                if hook.fn(module, destination, key_prefix, {}) is not None:
                    raise RuntimeError("state_dict post-hook must return None")
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs, assign: bool = False) -> None:
        persistent = {k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set}
        local_state = {k: v for k, v in {**self._parameters, **persistent}.items() if v is not None}
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                error_msgs.append(f'While copying the parameter named "{key}", expected chainrule.Tensor or '
                                  f"Tensor-like object from checkpoint but received {type(value)}")
                continue
            if value.shape != param.shape:
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {value.shape} from "
                                  f"checkpoint, the shape in current model is {param.shape}.")
                continue
            if assign:
                is_param = name in self._parameters
                setattr(self, name, Parameter(value, param.requires_grad) if is_param else value)
                continue
            with _state.no_grad():
                param.copy_(value)
        if strict:
            for key in state_dict:
                if key.startswith(prefix):
                    head = key[len(prefix):].split(".", 1)[0]
                    if head not in self._modules and head not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict: Mapping, strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module, in place.

        With ``strict`` (the default) every key must match: missing keys, unexpected keys and shape
        mismatches are all listed in one RuntimeError. Returns ``(missing_keys, unexpected_keys)``.
        ``assign=True`` makes the module use the given tensors instead of copying into its own.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        state_dict = OrderedDict(state_dict)
        missing, unexpected, errors = [], [], []
        visited = list(self.named_modules(remove_duplicate=False))
        for name, module in visited:
            for hook in tuple(module._load_state_dict_pre_hooks):
                hook.fn(module, state_dict, _dot(name), {}, True, missing, unexpected, errors)
            module._load_from_state_dict(state_dict, _dot(name), {}, True, missing, unexpected, errors, assign)
        incompatible = _IncompatibleKeys(missing, unexpected)
        for _, module in reversed(visited):
            for hook in tuple(module._load_state_dict_post_hooks):
                if hook.fn(module, incompatible) is not None:
                    raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` are not "
                                         "expected to return new values, if incompatible_keys need to be modified, "
                                         "it should be done inplace.")
        if strict:
            if unexpected:
                errors.insert(0, f"Unexpected key(s) in state_dict: {_quoted(unexpected)}. ")
            if missing:
                errors.insert(0, f"Missing key(s) in state_dict: {_quoted(missing)}. ")
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    # -- printing --------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (e.g. ``in_features=2, out_features=3``)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def _repr_with(self, child_reprs: dict) -> str:
        """This module's repr given the reprs of its direct children (by id)."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(child_reprs[id(module)] if module is not None else "None", 2)
                       for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        else:
            body = "\n  " + "\n  ".join(lines) + "\n" if lines else ""
        return f"{self._get_name()}({body})"

    def __repr__(self) -> str:
        reprs = {}
        for module in self._postorder():
            custom = type(module).__repr__ is not Module.__repr__
            reprs[id(module)] = repr(module) if custom else module._repr_with(reprs)
        return reprs[id(self)]
