"""Benchmark scripts (never part of the test run); bench.limit is the machine's reference."""
