"""The ``Optimizer`` base class: parameter groups, per-parameter state, ``zero_grad`` and state dicts.

Each concrete optimizer is, as in PyTorch, a pure update function over lists of tensors (``sgd``, ``adam``,
...) behind a thin class that validates hyper-parameters, gathers the parameters that have a gradient and
keeps their state between steps.
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from itertools import chain

from .. import _state
from .._counting import CountingDefaultDict, CountingDict, CountingList
from .._hooks import RemovableHandle
from .._state import enable_grad, no_grad
from ..compiler import hyperparameter, is_compiling
from ..tensor import Tensor


def check_non_negative(label: str, value) -> None:
    """torch's ``ValueError("Invalid learning rate: -1")`` for a hyper-parameter below zero."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {label}: {value}")


def check_lr(lr) -> None:
    """torch's checks of a learning rate: a number or a one-element tensor, not below zero."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    check_non_negative("learning rate", lr)


def check_beta(index: int, beta) -> None:
    """torch's ``ValueError("Invalid beta parameter at index 0: 1.0")`` for a decay rate outside [0, 1)."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


def check_adam_like(lr, betas, eps, weight_decay) -> None:
    """torch's checks, in torch's order, of the Adam family's hyper-parameters (Adam, Adamax, NAdam, RAdam)."""
    check_lr(lr)
    check_non_negative("epsilon value", eps)
    check_beta(0, betas[0])
    check_beta(1, betas[1])
    check_non_negative("weight_decay value", weight_decay)


def check_fused(foreach, fused, differentiable) -> None:
    """torch's checks of the implementation flags (all implementations are one NumPy loop here)."""
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def l2_grad(param: Tensor, grad: Tensor, weight_decay: float, maximize: bool) -> Tensor:
    """The gradient an update rule follows: negated when ``maximize``, plus the L2 term ``weight_decay * p``."""
    grad = -grad if maximize else grad
    return grad.add(param, alpha=weight_decay) if weight_decay != 0 else grad


def scalar_value(t: Tensor):
    """A scalar state tensor (a step count, ...) as an update rule reads it, as torch's ``_get_value``: the
    Python number eagerly, a float64 0-d tensor while compiling (reading it in Python would end the trace)."""
    return t.double() if is_compiling() else t.item()


def _with_step_hooks(step):
    """``step`` running the optimizer's pre- and post-hooks around it (``register_step_pre_hook``)."""
    @functools.wraps(step)
    def hooked(self, *args, **kwargs):
        if getattr(self, "_in_step", False):
            # NOTE: a subclass's step calling super().step(): the hooks already run around the outer call
            return step(self, *args, **kwargs)
        self._in_step = True
        try:
            return _run_with_hooks(self, step, args, kwargs)
        finally:
            self._in_step = False
    return hooked


def _run_with_hooks(self, step, args: tuple, kwargs: dict):
    """``step(self, *args, **kwargs)`` between the pre-hooks (which may replace the arguments) and post-hooks."""
    for hook in list(self._step_pre_hooks.values()):
        result = hook(self, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError(f"optimizer step pre hook must return None or a tuple of "
                                   f"(new_args, new_kwargs), but got {result!r}")
            args, kwargs = result
    out = step(self, *args, **kwargs)
    for hook in list(self._step_post_hooks.values()):
        hook(self, args, kwargs)
    return out


class _HookHandle(RemovableHandle):
    """A handle removing one entry of an ordered dict of hooks."""

    def remove(self) -> None:
        self._hooks.pop(self._hook, None)


class Optimizer:
    """Base class of all optimizers: holds ``param_groups`` and per-parameter ``state``.

    Args:
        params: an iterable of tensors (or of ``(name, tensor)`` pairs, kept as the group's ``param_names``),
            or of dicts (parameter groups) each with a ``"params"`` entry and optional per-group
            hyper-parameters that override ``defaults``.
        defaults: the default hyper-parameters of every group.

    ``state`` maps each parameter tensor to a dict (momentum buffers, step counts, ...). Subclasses
    implement :meth:`step`, which updates ``p.data`` in place without recording a graph.

    Example::

        >>> w = chainrule.zeros(3, requires_grad=True)
        >>> opt = chainrule.optim.SGD([w], lr=0.1)
        >>> (w - 1.0).square().sum().backward()
        >>> opt.step(); w
        tensor([0.2, 0.2, 0.2], requires_grad=True)
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_step_hooks(cls.step)

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self._step_pre_hooks: OrderedDict = OrderedDict()
        self._step_post_hooks: OrderedDict = OrderedDict()
        self.state: defaultdict = _State(_Dict)
        self.param_groups: list[dict] = _List()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or "
                            f"dicts, but got a Tensor of shape {tuple(params.shape)}; wrap it in a list: "
                            "[param]")
        param_groups = list(params)
        if not param_groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones come from ``defaults``).

        Useful when fine-tuning: unfreeze a layer and give it its own learning rate.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list "
                            "instead.")
        else:
            params = list(params)
        # NOTE: as torch 2.13, ``(name, tensor)`` pairs (``model.named_parameters()``) name the parameters
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. Some param names are missing")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        group = _Dict(param_group, params=_List(params))
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; each is updated "
                          "once per occurrence", stacklevel=3)
        if any(("param_names" in g) != bool(names) for g in self.param_groups):
            raise ValueError("all optimizer param groups should be with/without names. cannot add param group "
                             f"{'with' if names else 'without'} names to the optimizer")
        seen = set(chain.from_iterable(g["params"] for g in self.param_groups))
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to None (the default, cheaper) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each :meth:`step`; it may return new ``(args, kwargs)``.

        While compiling, hooks run when the step is traced, not on every run of the compiled program.
        """
        return self._register_hook(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each :meth:`step`."""
        return self._register_hook(self._step_post_hooks, hook)

    @staticmethod
    def _register_hook(hooks: OrderedDict, hook) -> RemovableHandle:
        key = object()
        hooks[key] = hook
        return _HookHandle(hooks, key)

    @_with_step_hooks
    def step(self, closure=None):
        """Perform one update of every parameter that has a gradient; returns ``closure()``'s loss, if given.

        ``closure`` re-evaluates the model and returns the loss; it runs with grad mode on. The update itself
        runs under ``no_grad`` and changes the parameters in place. Subclasses implement ``_update_group``
        (or, as in torch, override ``step`` altogether).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                # NOTE: while compiling, the learning rate enters the program as an input read on every run,
                # so that a scheduler's changes take effect.
                self._update_group(dict(group, lr=hyperparameter(group, "lr")) if is_compiling() else group)
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement step(closure=None)")

    def _with_grad(self, group: dict) -> tuple[list, list, list]:
        """The group's parameters that have a gradient, their gradients, and their state dicts."""
        params = [p for p in group["params"] if p.grad is not None]
        return params, [p.grad for p in params], [self.state[p] for p in params]

    def _with_state(self, group: dict, init) -> tuple[list, list, list]:
        """As :meth:`_with_grad`; a parameter's empty state (its first step) is filled with ``init(p)``."""
        params, grads, states = self._with_grad(group)
        for p, state in zip(params, states, strict=True):
            if not state:
                state.update(init(p))
        return params, grads, states

    def state_dict(self) -> dict:
        """The optimizer's state as ``{"state": {index: {...}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are referred to by their position across all groups (not saved themselves), so the dict
        can be loaded into a new optimizer built over the same parameters in the same order.
        """
        index: dict[int, int] = {}
        param_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            param_groups.append(packed)
        # NOTE: parameters that never got state (SGD without momentum) are left out, as torch never creates them
        state = {index[id(p)] if isinstance(p, Tensor) else p: v for p, v in self.state.items()
                 if v or not isinstance(p, Tensor)}
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state saved by :meth:`state_dict`: hyper-parameters, step counts and buffers.

        State tensors are copied (and cast to their parameter's floating dtype, except ``step``), so the
        optimizer never shares buffers with the dict it was loaded from.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer ({len(groups)})")
        for i, (group, saved) in enumerate(zip(groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size "
                                 f"of optimizer's group: group {i} has {len(saved['params'])} parameters "
                                 f"saved, {len(group['params'])} in the optimizer")
        by_index = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                            chain.from_iterable(g["params"] for g in groups), strict=True))
        state: defaultdict = _State(_Dict)
        for key, value in state_dict["state"].items():
            param = by_index.get(key)
            if param is None:
                state[key] = value
            else:
                state[param] = _Dict({name: _state_value(param, name, v) for name, v in value.items()})
        for group, saved in zip(groups, saved_groups, strict=True):
            saved["params"] = group["params"]
            if "param_names" in group:
                saved.setdefault("param_names", group["param_names"])
            # NOTE: a dict saved before an option existed (or by a torch without it) gets its default
            for name, default in self.defaults.items():
                saved.setdefault(name, default)
        self.state = state
        self.param_groups = _List(map(_Dict, saved_groups))

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


# NOTE: an optimizer's groups, their settings and parameter lists, and its state count every change in
# ``_state.optimizer_changes`` (they are dicts and lists in every other respect, as torch's): chainrule.compile's
# guard re-checks an optimizer only when it moved (a few us of a small training step).
class _List(CountingList):
    """``param_groups`` and each group's ``params``."""

    __slots__ = ()
    counter = _state.optimizer_changes


class _Dict(CountingDict):
    """Each group, and each parameter's state."""

    __slots__ = ()
    counter = _state.optimizer_changes


class _State(CountingDefaultDict):
    counter = _state.optimizer_changes


def _state_value(param: Tensor, name: str, value):
    """A private copy of one saved state entry in the parameter's floating dtype (``step`` stays as saved)."""
    if not isinstance(value, Tensor):
        return copy.deepcopy(value)
    value = value.detach().clone()
    if name != "step" and param.is_floating_point() and value.dtype is not param.dtype:
        value = value.to(param.dtype)
    return value

