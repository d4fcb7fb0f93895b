"""Benchmarks: ``python -m bench <name> [options]``, one module per benchmark."""
