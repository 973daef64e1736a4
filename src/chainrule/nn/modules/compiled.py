"""Compiled modules: ``chainrule.compile(module)`` (a wrapper module) and ``module.compile()`` (in place)."""

from __future__ import annotations

from ...compiler import CompiledFunction
from ...compiler import compile as compile_function
from .module import Module

__all__: list = []


class OptimizedModule(Module):
    """A module whose calls run through ``chainrule.compile`` (torch's ``OptimizedModule``): the wrapped module
    is ``_orig_mod``; parameters, buffers and ``state_dict`` are the original's (keys prefixed ``_orig_mod.``,
    as torch's)."""

    def __init__(self, compiled: CompiledFunction):
        super().__init__()
        self._orig_mod = compiled.fn
        object.__setattr__(self, "_compiled", compiled)

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def train(self, mode: bool = True):
        self._orig_mod.train(mode)
        return super().train(mode)


def _compiled_module(self: Module, compiled: CompiledFunction) -> OptimizedModule:
    return OptimizedModule(compiled)


def compile(self: Module, *args, **kwargs) -> None:
    """Compile this module's forward in place (``torch.nn.Module.compile``); arguments as ``chainrule.compile``."""
    forward = compile_function(self.forward, *args, **kwargs)
    object.__setattr__(self, "forward", forward)


Module._compiled_module = _compiled_module
Module.compile = compile
