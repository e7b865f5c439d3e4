"""The log writer: attempt logs from Kafka into the logs and jobs collections."""
