"""The Integrations API service."""
