"""Benchmarks of the relay on one machine: `python -m bench` runs them all and writes
docs/benchmarks.md. Not part of the test suite."""
