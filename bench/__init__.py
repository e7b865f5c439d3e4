"""Benchmarks and fault injection for the whole platform (`make bench`, `make chaos`)."""
