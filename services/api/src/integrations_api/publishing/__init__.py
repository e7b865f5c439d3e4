"""Publishing integration changes to Kafka without losing any."""
