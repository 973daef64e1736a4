"""On-demand speed and memory comparisons (never collected by pytest): ``python -m benchmarks``."""
