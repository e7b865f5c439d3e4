"""The webhook sender service."""
