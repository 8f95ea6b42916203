"""Benchmarks behind `arcfarm bench ...`; results go to bench/results/."""
