"""The dead-letter tool for operators: `integrations-dlq list|replay` (no API needed)."""
