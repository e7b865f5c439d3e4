"""Attempt logs, as the log writer stores them and the API serves them."""
