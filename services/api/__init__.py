"""The HTTP gateway: an OpenAI-compatible `/v1` in front of the inference service's NATS RPC."""
