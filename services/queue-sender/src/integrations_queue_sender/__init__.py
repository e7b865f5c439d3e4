"""The queue sender service."""
