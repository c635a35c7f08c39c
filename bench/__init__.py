"""Benchmark harness for sharemyshows-rt: `bench/run SCENARIO` (see bench/README.md)."""
