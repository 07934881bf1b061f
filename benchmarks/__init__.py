"""Benchmarks: each `bench_<topic>.py` prints a markdown table, figures beside a baseline."""
