"""Dev-only helpers shared by the tests and benchmarks; never installed in an image."""
