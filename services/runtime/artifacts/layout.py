"""Where things live in the artifact store (the seed's storage layout)."""

from __future__ import annotations


def base_model(name: str) -> str:
    return f"models/base/{name}"


def finetuned_model(job_id: str, kind: str) -> str:
    return f"models/finetuned/job-{job_id}/{kind}"


def raw_dataset(dataset_id: str, filename: str) -> str:
    return f"datasets/raw/{dataset_id}/{filename}"


def upload(upload_id: str) -> str:
    """Where an upload waits while the trainer validates it (removed once it has answered)."""
    return f"uploads/{upload_id}"


def checkpoints(job_id: str) -> str:
    return f"checkpoints/job-{job_id}"


def checkpoint(job_id: str, step: int) -> str:
    return f"{checkpoints(job_id)}/checkpoint-{step}"


def job_log(job_id: str, filename: str = "training.log") -> str:
    return f"logs/job-{job_id}/{filename}"


def model_card(job_id: str) -> str:
    """The model card (README.md) of a fine-tuned job's exports."""
    return f"models/finetuned/job-{job_id}/README.md"


def verification_report(job_id: str) -> str:
    """Every golden prompt and answer of the latest verification of a job's exports."""
    return f"models/finetuned/job-{job_id}/verification.json"
