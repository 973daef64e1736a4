"""Indexing ops: ``x[...]``, index_select, gather, scatter_add, masked_fill, ``__setitem__``."""

__all__: list = []
