"""Trainer service: datasets, Unsloth fine-tuning jobs, checkpoints and exports."""
