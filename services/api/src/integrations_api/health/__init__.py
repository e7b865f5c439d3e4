"""Integration health: how long every attempt of an integration has failed, and how many jobs."""
