"""Shared models, settings sections, errors and Kafka helpers of the integrations platform."""
