"""The Transformer and its encoder and decoder stacks."""

__all__ = []
