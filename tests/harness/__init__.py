"""Test servers: real nats-server and a real S3 API, chosen in the order the architecture gives."""
