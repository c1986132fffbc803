"""The inference service: an engine host around vLLM, answering `rpc.inference.*` over NATS.

`import services.inference` stays light: vLLM, torch and transformers are imported only inside
adapters/vllm_engine.py, when the first model is loaded.
"""
