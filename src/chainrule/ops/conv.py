"""Sliding-window ops for convolution and pooling (unfold/fold), vectorised over batch and pixels."""

__all__: list = []
