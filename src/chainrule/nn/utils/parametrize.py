"""register_parametrization and friends (as torch.nn.utils.parametrize)."""

__all__ = []
