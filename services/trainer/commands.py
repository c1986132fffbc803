"""Commands the trainer accepts over NATS request/reply (`rpc.trainer.<name>`) and from the CLI.

Each command is a small pydantic model, answered by its reply model (services/trainer/replies.py)
in the rpc shape of services/runtime/rpc.py. Refused commands record nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import Actor

RPC_PREFIX = "rpc.trainer"


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: ClassVar[str]

    actor: Actor = Field(description="Who asks: an API key id, a CLI user, or a system component.")

    @classmethod
    def subject(cls) -> str:
        return f"{RPC_PREFIX}.{cls.name}"


class RegisterDataset(Command):
    """Store a dataset file (a path the trainer can read, or an upload in the artifact store) and validate it.
    Only a reference travels: the bytes of an upload go straight to the artifact store."""

    name: ClassVar[str] = "register_dataset"
    path: str | None = Field(None, description="File or save_to_disk folder readable by the trainer service.")
    upload_uri: str | None = Field(None, description="An uploaded file in the artifact store (the API puts it there).")
    upload_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="sha256 of the uploaded bytes.")
    filename: str | None = Field(None, description="File name of the upload (its extension gives the format).")
    display_name: str | None = Field(None, max_length=200, description="Human name; default the file name.")
    base_model: str | None = Field(None, description="Model whose tokenizer gives token statistics.")
    max_seq_length: int = Field(2048, ge=8, description="Length limit the statistics count truncation against.")

    @model_validator(mode="after")
    def _one_source(self) -> RegisterDataset:
        if (self.path is None) == (self.upload_uri is None):
            raise ValueError("give exactly one of `path` or `upload_uri`")
        if self.upload_uri is not None and not (self.filename and self.upload_sha256):
            raise ValueError("an upload needs its `filename` (its extension gives the file format) and `upload_sha256`")
        return self


class ValidateDataset(Command):
    """Check a file (dry run, nothing recorded) or re-validate a registered dataset under a model."""

    name: ClassVar[str] = "validate_dataset"
    path: str | None = Field(None, description="A file to check without registering it.")
    dataset_id: str | None = Field(None, description="A registered dataset; records DatasetValidated.")
    base_model: str | None = Field(None, description="Model whose tokenizer gives token statistics.")
    max_seq_length: int = Field(2048, ge=8, description="Length limit for the truncation count.")

    @model_validator(mode="after")
    def _one_source(self) -> ValidateDataset:
        if (self.path is None) == (self.dataset_id is None):
            raise ValueError("give exactly one of `path` or `dataset_id`")
        return self


class RegisterBaseModel(Command):
    name: ClassVar[str] = "register_base_model"
    model_name: str = Field(description="Name jobs will use as config.base_model.")
    source: str = Field(min_length=1, description="Local Hugging Face folder or s3:// URI in the artifact store.")


class CreateJob(Command):
    name: ClassVar[str] = "create_job"
    config: dict[str, Any] = Field(description="A TrainingConfig as JSON; every invalid field is reported.")
    job_name: str | None = Field(None, max_length=200, description="Optional human name.")


class CancelJob(Command):
    name: ClassVar[str] = "cancel_job"
    job_id: str
    reason: str | None = Field(None, max_length=1000)


class GetJob(Command):
    name: ClassVar[str] = "get_job"
    job_id: str


COMMANDS: tuple[type[Command], ...] = (
    RegisterDataset,
    ValidateDataset,
    RegisterBaseModel,
    CreateJob,
    CancelJob,
    GetJob,
)
