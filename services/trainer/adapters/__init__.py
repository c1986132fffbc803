"""Adapters of the trainer: NATS RPC and job queue, tokenizer statistics, training callbacks, GGUF, budgets."""
