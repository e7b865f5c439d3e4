"""Delivery machinery shared by the senders: the transport interface, retries and attempt logs."""
