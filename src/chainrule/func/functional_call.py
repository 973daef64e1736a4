"""Functional models: run a module on parameters and buffers given as arguments (as ``torch.func``).

``functional_call`` turns a module into a pure function of its weights, which is what the transforms need:
``grad`` of a loss with respect to a dict of parameters, per-sample gradients with ``vmap(grad(...))``, and
ensembles with ``stack_module_state`` + ``vmap``. The module itself is never changed: its tensors are swapped
in for the call and the originals put back afterwards, even when the call raises.
"""

from __future__ import annotations

from ..ops.join import stack
from ..tensor import Tensor

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the given tensors.

    ``parameter_and_buffer_dicts``: a dict, or a tuple/list of dicts with distinct keys, from names as in
    ``module.named_parameters()`` / ``named_buffers()`` (``'0.weight'``, ``'fc.bias'``) to tensors; names not
    given keep the module's own tensors. ``args``: a tuple of positional arguments (anything else is the
    single argument). ``tie_weights``: a tensor registered under several names (tied weights) takes the
    value given for any of them. ``strict``: every parameter and buffer must be given, and nothing else.

    The module is not modified: the originals are restored when the call returns or raises. A module that
    reassigns a buffer during the call (``self.count = self.count + 1``) leaves the new value in the given
    dict (a single dict only); in-place updates (BatchNorm's running statistics) change the given tensor.

    Example::

        >>> model = chainrule.nn.Linear(3, 1)
        >>> params = {name: p.detach() for name, p in model.named_parameters()}
        >>> loss = lambda params, x: functional_call(model, params, (x,)).sum()
        >>> chainrule.func.grad(loss)(params, chainrule.ones(2, 3))["bias"]
        tensor([2.])
    """
    given = _merge(parameter_and_buffer_dicts)
    values = _untie(module, given) if tie_weights else dict(given)
    if strict:
        _check_keys(module, values)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    swapped = []
    try:
        for name, value in values.items():
            swapped.append(_swap(module, name, value))
        return module(*args, **(kwargs or {}))
    finally:
        for owner, name, store, original in reversed(swapped):
            current = _restore(owner, name, store, original)
            if name in given and given is parameter_and_buffer_dicts:
                given[name] = current


def _merge(dicts) -> dict:
    if isinstance(dicts, dict):
        return dicts
    if not isinstance(dicts, (tuple, list)):
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(dicts).__name__}")
    if not all(isinstance(d, dict) for d in dicts):
        raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
    merged: dict = {}
    repeated = []
    for d in dicts:
        for key, value in d.items():
            if key in merged and key not in repeated:
                repeated.append(key)
            merged[key] = value
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
    return merged


def _named_tensors(module) -> list:
    """Every (name, tensor) of the module's parameters and buffers, tied ones under each of their names."""
    return (list(module.named_parameters(remove_duplicate=False))
            + list(module.named_buffers(remove_duplicate=False)))


def _untie(module, given: dict) -> dict:
    """``given`` with each tied tensor's value under all of its names (torch's ``tie_weights=True``)."""
    names_of: dict = {}
    for name, t in _named_tensors(module):
        names_of.setdefault(id(t), []).append(name)
    values = dict(given)
    for names in names_of.values():
        named = [n for n in names if n in given]
        if len(names) < 2 or not named:
            continue
        if len({id(given[n]) for n in named}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, which are tied. "
                             "Consider using tie_weights=False")
        values.update({n: given[named[0]] for n in names})
    return values


def _check_keys(module, values: dict) -> None:
    valid = {name for name, _ in _named_tensors(module)}
    errors = []
    unexpected, missing = sorted(set(values) - valid), sorted(valid - set(values))
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(errors))


def _swap(module, key: str, value) -> tuple:
    """Put ``value`` in place of the tensor at the dotted ``key``; ``(owner, name, store, original)``."""
    if value is not None and not isinstance(value, Tensor):
        raise TypeError(f"functional_call: the value given for {key!r} must be a Tensor, got "
                        f"{type(value).__name__}")
    path, _, name = key.rpartition(".")
    owner = module.get_submodule(path)
    for store in (owner._parameters, owner._buffers):
        if name in store:
            original = store[name]
            store[name] = value
            return owner, name, store, original
    if name in owner._modules:
        raise TypeError(f"functional_call: {key!r} names a submodule ({owner._modules[name]._get_name()}), not a "
                        "parameter or buffer")
    # NOTE: an unknown name becomes a plain attribute for the call, as in torch's non-strict mode.
    original = owner.__dict__.get(name, _MISSING)
    object.__setattr__(owner, name, value)
    return owner, name, None, original


def _restore(owner, name: str, store, original):
    """Put ``original`` back; return the value the call left there."""
    if store is not None:
        current = store[name]
        store[name] = original
        return current
    current = owner.__dict__.get(name)
    if original is _MISSING:
        owner.__dict__.pop(name, None)
    else:
        owner.__dict__[name] = original
    return current


def stack_module_state(models) -> tuple[dict, dict]:
    """``(params, buffers)``: the parameters and buffers of identical models stacked along a new leading dim.

    Prepares ``M`` models of the same class for ensembling with :func:`vmap`: each entry of ``params`` has
    shape ``(M, *p.shape)``; stacked parameters are new leaves that require grad (detached from the models,
    so an optimizer can train them directly). Run the ensemble with ``functional_call`` on one base model.

    Example::

        >>> models = [chainrule.nn.Linear(3, 2) for _ in range(5)]
        >>> params, buffers = stack_module_state(models)
        >>> ensemble = lambda p, b, x: functional_call(models[0], (p, b), (x,))
        >>> vmap(ensemble, in_dims=(0, 0, None))(params, buffers, chainrule.ones(4, 3)).shape
        chainrule.Size([5, 4, 2])
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    params = _stack([dict(m.named_parameters()) for m in models])
    buffers = _stack([dict(m.named_buffers()) for m in models])
    return params, buffers


def _stack(states: list) -> dict:
    out = {}
    for name in states[0]:
        tensors = [state[name] for state in states]
        flags = {t.requires_grad for t in tensors}
        if len(flags) > 1:
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        stacked = stack([t.detach() for t in tensors])
        out[name] = stacked.requires_grad_() if flags == {True} else stacked
    return out
