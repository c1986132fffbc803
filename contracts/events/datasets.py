"""Dataset events: a file registered in the artifact store, then validated before any compute."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import DomainEvent, ValueObject

FileFormat = Literal["jsonl", "json", "csv", "parquet", "hf_disk"]
DataFormat = Literal["messages", "sharegpt", "alpaca", "prompt_completion", "text"]


class DatasetRegistered(DomainEvent):
    """A dataset file was stored, content-hashed, in the artifact store."""

    aggregate_type: ClassVar[str] = "dataset"
    type: Literal["DatasetRegistered"] = Field("DatasetRegistered", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    name: str = Field(min_length=1, description="Human name of the dataset (the upload's file name by default).")
    uri: str = Field(min_length=1, description="Where the raw file lives (s3://bucket/key or file:///path).")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the stored bytes, hex.")
    size_bytes: int = Field(ge=0, description="Size of the stored file in bytes.")
    file_format: FileFormat = Field(description="Container format detected from the file.")
    owner: str | None = Field(
        None, description="Tenant that owns it (the API key's tenant that asked); None: an operator's."
    )


class RowError(ValueObject):
    """One problem found in one row of a dataset."""

    line: int = Field(ge=0, description="1-based line (JSONL/CSV) or row index (Parquet); 0 = whole file.")
    field: str | None = Field(None, description="The field at fault, e.g. `messages[1].content`.")
    message: str = Field(description="What is wrong and what to do about it.")


class TokenStats(ValueObject):
    """Token lengths of the rendered rows under the chosen model's tokenizer and chat template."""

    min: int = Field(ge=0, description="Shortest row, tokens.")
    mean: float = Field(ge=0, description="Mean row length, tokens.")
    p95: int = Field(ge=0, description="95th percentile row length, tokens.")
    max: int = Field(ge=0, description="Longest row, tokens.")
    total: int = Field(ge=0, description="Sum over all rows, tokens.")
    truncated_rows: int = Field(ge=0, description="Rows longer than max_seq_length (they would be cut).")
    max_seq_length: int = Field(ge=1, description="The limit the statistics were computed against.")


class DatasetValidated(DomainEvent):
    """The dataset was parsed and checked; `valid` says whether jobs may use it."""

    aggregate_type: ClassVar[str] = "dataset"
    type: Literal["DatasetValidated"] = Field("DatasetValidated", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    valid: bool = Field(description="True when no row has an error.")
    data_format: DataFormat | None = Field(None, description="Row format detected; None if undetectable.")
    rows: int = Field(ge=0, description="Rows read from the file.")
    errors: tuple[RowError, ...] = Field((), description="Problems found, at most the first 100.")
    tokenizer: str | None = Field(None, description="Model whose tokenizer produced token_stats.")
    token_stats: TokenStats | None = Field(None, description="Length statistics; None when not computed.")
    sample: str | None = Field(
        None, description="One rendered row with trained spans marked, to show what the loss sees."
    )
