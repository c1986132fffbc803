"""The HTTP gateway: OpenAI-compatible `/v1` and REST `/api/v1` in front of the services' NATS RPC."""
