"""``chainrule.compile``: trace a function (a whole training step, a model's forward, a transform) once and run
it from then on as flat generated NumPy code (see docs/compile.md).

The pieces: :mod:`.state` finds what the function reads besides its arguments and guards the cache;
:mod:`.tracer` records a call; :mod:`.passes` optimizes the program; :mod:`.codegen` writes the code;
:mod:`.compiled` puts them together. Optimizers and schedulers cooperate through :func:`is_compiling`,
:func:`hyperparameter` and :func:`call_on_every_run`.
"""

from __future__ import annotations

from .compiled import CACHE_LIMIT, CompiledFunction, Stats
from .tracer import Unsupported, active_tracer

__all__ = ["compile", "is_compiling", "hyperparameter", "call_on_every_run", "CompiledFunction", "Stats",
           "Unsupported"]


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend: str = "numpy", mode=None,
            options: dict | None = None, disable: bool = False):
    """Compile ``model`` (a function or an ``nn.Module``), as ``torch.compile``; also a decorator.

    Args:
        model: the function (a training step, a pure function of tensors, a module's forward) or module.
        fullgraph: raise :class:`Unsupported` at a graph break instead of running that call eagerly.
        dynamic: accepted for torch's signature; shapes are always specialised (a new shape traces anew).
        backend: ``"numpy"`` (generated flat code) or ``"eager"`` (the traced program run op by op).
        mode: accepted for torch's signature (``"default"``, ``"reduce-overhead"``, ``"max-autotune"``, ...);
            every mode gives the same program.
        options: ``{"cache_limit": n}``: how many guard keys one function may be traced for (default 8).
        disable: return ``model`` unchanged.

    Returns a :class:`CompiledFunction` (for a module: a module wrapping it whose forward is compiled).

    Example::

        >>> @chainrule.compile
        ... def train_step(x, y):
        ...     opt.zero_grad(); loss = F.cross_entropy(model(x), y); loss.backward(); opt.step()
        ...     return loss
        >>> print(train_step.code)   # after a few calls: the flat forward, backward and update
    """
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                  options=options, disable=disable)
    if disable:
        return model
    unknown = set(options or {}) - {"cache_limit"}
    if unknown:
        raise ValueError(f"chainrule.compile: unknown options {sorted(unknown)}; valid: 'cache_limit'")
    limit = (options or {}).get("cache_limit", CACHE_LIMIT)
    if hasattr(model, "_compiled_module"):
        return model._compiled_module(CompiledFunction(model, fullgraph=fullgraph, backend=backend,
                                                       cache_limit=limit))
    if not callable(model):
        raise TypeError(f"chainrule.compile: expected a function or an nn.Module, got {type(model).__name__}")
    return CompiledFunction(model, fullgraph=fullgraph, backend=backend, cache_limit=limit)


def is_compiling() -> bool:
    """Whether a call is being traced by ``chainrule.compile`` (as ``torch.compiler.is_compiling``)."""
    return active_tracer() is not None


def hyperparameter(group: dict, key: str):
    """``group[key]`` for an update rule: while tracing, a 0-d tensor read anew from ``group`` on every run of
    the compiled program (so an LR scheduler's change takes effect); otherwise the number itself."""
    tracer = active_tracer()
    if tracer is None:
        return group[key]
    return tracer.scalar(group[key], lambda: group[key], key)


def call_on_every_run(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` now and, while tracing, at the same point of every run of the compiled
    program: for Python-side effects such as an LR scheduler's ``step()``. Its result must hold no tensors."""
    tracer = active_tracer()
    if tracer is None:
        return fn(*args, **kwargs)
    return tracer.call_on_host(fn, args, kwargs)
