"""Benchmarks run by hand against local fakes (not part of the test suite)."""
