"""Integrations: the CRUD domain of the API."""
