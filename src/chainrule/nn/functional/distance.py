"""Distances and similarities: cosine_similarity, pairwise_distance, pdist."""

__all__ = []
