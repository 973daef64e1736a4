"""Ops built from primitives (softmax, log_softmax, logsumexp-based losses, ...): they need no rules of their own."""

__all__: list = []
