"""Adapters of the inference service: vLLM engine, artifact cache, catalogue, event queue."""
