"""Random number generation: a torch-style ``Generator`` over NumPy's PCG64, and the global default one."""

from __future__ import annotations

import functools

from . import _backend, _state
from ._backend import xp

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator", "get_rng_state",
           "set_rng_state"]

_DEFAULT_SEED = 67280421310721


class Generator:
    """A seedable source of random numbers (``chainrule.Generator().manual_seed(0)``); pass as ``generator=``."""

    def __init__(self, device="cpu"):
        self.device = _backend.device(device)
        self._seed = _DEFAULT_SEED
        self.np = xp.random.Generator(xp.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> Generator:
        """Reset to the stream of ``seed``: the same seed gives the same numbers."""
        seed = int(seed)
        if seed < 0:
            raise RuntimeError(f"manual_seed: the seed must be non-negative, got {seed}")
        self._seed = seed
        self.np = xp.random.Generator(xp.random.PCG64(seed))
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy and return the new seed."""
        new = int(xp.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(new)
        return new

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.np.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self.np.bit_generator.state = state
        return self


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (seeded runs are reproducible)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Reseed the default generator from fresh entropy; returns the new seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    """The default generator's state (restore it with ``set_rng_state`` to replay the same numbers)."""
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    """Restore a state from ``get_rng_state``."""
    default_generator.set_state(state)


def numpy_generator(generator: Generator | None) -> xp.random.Generator:
    """The NumPy generator behind ``generator`` (the default one when None)."""
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"generator= must be a chainrule.Generator, got {type(generator).__name__}")
    if _state.vmap_level is not None:
        _state.vmap_level.check_raw_draw()
    return (generator or default_generator).np


def batched_random(factory):
    """Make the random ``factory`` follow vmap's ``randomness`` mode when called inside ``vmap``: raise
    ('error'), draw once for all samples ('same') or independently per sample ('different')."""
    @functools.wraps(factory)
    def wrapper(*args, **kwargs):
        if _state.vmap_level is None:
            if _state.interpreter is not None:
                return _state.interpreter.draw(factory, args, kwargs)
            return factory(*args, **kwargs)
        # NOTE: the level draws through the wrapper itself, so an enclosing vmap applies its own mode too.
        return _state.vmap_level.random(wrapper, args, kwargs)
    return wrapper
