"""`/api/v1`: datasets and fine-tuning jobs over the trainer's commands, a job's carbon report, and
a job's live event feed (server-sent events, replayed from the log, resumable with Last-Event-ID).

The gateway only forwards: the trainer validates and records, and a refusal comes back as problem
details with its category's HTTP status, its message and problems (file, line, field) unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Header, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from nats.aio.client import Client
from pydantic import BaseModel

from contracts import ContractError, decode_envelope
from contracts.subjects import TOKEN
from contracts.training_config import TrainingConfig
from services.api.dependencies import Artifacts, Bus, Caller, CappedCaller, Settings
from services.api.errors import PROBLEM_RESPONSES, ApiProblem
from services.api.shutdown import POLL_S, Stopping, until_stopping
from services.carbon.client import CarbonClient, JobFootprint
from services.runtime.artifacts import ArtifactStore, StoredObject, layout
from services.runtime.event_feed import StoredEvent, read_events
from services.runtime.problems import ProblemItem
from services.trainer.client import ask
from services.trainer.commands import CancelJob, Command, CreateJob, GetJob, RegisterDataset
from services.trainer.replies import CancelRequested, DatasetRegistration, JobCreated, JobDetail

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
Reply = TypeVar("Reply", bound=BaseModel)
KEEP_ALIVE_S = 15.0


JobId = Annotated[str, PathParam(pattern=TOKEN.pattern, description="The job's id (letters, digits, - and _).")]


async def _trainer(nc: Client, command: Command, reply_model: type[Reply]) -> Reply:
    """The trainer's answer to `command` (a refusal is raised as RpcFailed, answered with its problem)."""
    return reply_model.model_validate(await ask(nc, command, timeout=300))


@router.post("/datasets", status_code=201)
async def upload_dataset(
    nc: Bus,
    actor: Caller,
    artifacts: Artifacts,
    settings: Settings,
    file: Annotated[UploadFile, File(description="JSONL, JSON, CSV or Parquet; the extension gives the format.")],
    base_model: Annotated[str | None, Form(description="Model whose tokenizer gives token statistics.")] = None,
    max_seq_length: Annotated[int, Form(ge=8)] = 2048,
    display_name: Annotated[str | None, Form(max_length=200)] = None,
) -> DatasetRegistration:
    """Store and validate a dataset file; refused as a whole (nothing stored) with every bad row.
    The bytes go to the artifact store (uploads/<id>); only their reference is sent to the trainer,
    and the upload is removed once the trainer has answered (it keeps its own copy of a dataset)."""
    filename = file.filename or "upload.jsonl"
    if file.size is not None and file.size > settings.max_upload_bytes:
        message = (
            f"{filename} is {file.size:,} bytes; uploads are limited to {settings.max_upload_bytes:,} "
            "(GREENTUNE_API_MAX_UPLOAD_BYTES), or register the file by path with `greentune datasets register`"
        )
        raise ApiProblem(413, "upload_too_large", message, [ProblemItem(message="too large", field="file")])
    prefix = layout.upload(uuid.uuid4().hex)
    try:
        stored = await asyncio.to_thread(_put_upload, artifacts, f"{prefix}/file", file)
        command = RegisterDataset(
            actor=actor,
            upload_uri=stored.uri,
            upload_sha256=stored.sha256,
            filename=filename,
            base_model=base_model,
            max_seq_length=max_seq_length,
            display_name=display_name,
        )
        return await _trainer(nc, command, DatasetRegistration)
    finally:
        await asyncio.to_thread(artifacts.delete_prefix, prefix)


def _put_upload(artifacts: ArtifactStore, key: str, file: UploadFile) -> StoredObject:
    """The uploaded file into the artifact store, a chunk at a time (never whole in memory)."""
    with tempfile.TemporaryDirectory(prefix="greentune-upload-") as scratch:
        local = Path(scratch) / "upload"
        with open(local, "wb") as out:
            file.file.seek(0)
            shutil.copyfileobj(file.file, out, length=1 << 20)
        return artifacts.put_file(key, local)


JobName = Annotated[str | None, Query(max_length=200, description="A human name for the job.")]
Reason = Annotated[str | None, Query(max_length=1000, description="Why, for the audit history.")]


@router.post("/jobs", status_code=201)
async def create_job(nc: Bus, actor: CappedCaller, config: TrainingConfig, name: JobName = None) -> JobCreated:
    """Queue a fine-tuning job; the body is its TrainingConfig (every invalid field is reported)."""
    command = CreateJob(actor=actor, config=config.model_dump(mode="json", exclude_unset=True), job_name=name)
    return await _trainer(nc, command, JobCreated)


@router.get("/jobs/{job_id}")
async def get_job(nc: Bus, actor: Caller, job_id: JobId) -> JobDetail:
    """The job as its event history leaves it: status, attempts, progress, checkpoint, exports, config."""
    return await _trainer(nc, GetJob(actor=actor, job_id=job_id), JobDetail)


@router.post("/jobs/{job_id}/cancel", status_code=202)
async def cancel_job(nc: Bus, actor: Caller, job_id: JobId, reason: Reason = None) -> CancelRequested:
    """Ask a job to stop; it ends CANCELLED (watch its events for JobCancelled)."""
    return await _trainer(nc, CancelJob(actor=actor, job_id=job_id, reason=reason), CancelRequested)


@router.get("/jobs/{job_id}/carbon")
async def job_carbon(nc: Bus, actor: Caller, job_id: JobId) -> JobFootprint:
    """The job's kWh and gCO2eq, per component, with how each figure was measured."""
    await _trainer(nc, GetJob(actor=actor, job_id=job_id), JobDetail)  # 404 unless the caller sees the job
    return await CarbonClient(nc).job(job_id)


class EventFeed(StreamingResponse):
    """How the events route is documented: server-sent events (it returns an EventSourceResponse,
    which as `response_class` would make FastAPI treat the route as an event generator)."""

    media_type = "text/event-stream"


FEED_SCHEMA: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "The events."}
}


@router.get("/jobs/{job_id}/events", response_model=None, response_class=EventFeed, responses=FEED_SCHEMA)
async def job_events(
    nc: Bus,
    actor: Caller,
    job_id: JobId,
    stopping: Stopping,
    follow: Annotated[bool, Query(description="Keep the feed open for new events.")] = True,
    last_event_id: Annotated[int | None, Header(description="Resume after this stream sequence.")] = None,
) -> EventSourceResponse:
    """Every event of the job (trainer and carbon), from the first or after Last-Event-ID: `event`
    is the event type, `id` its stream sequence, `data` the envelope. A comment every 15 s keeps
    idle connections open."""
    await _trainer(nc, GetJob(actor=actor, job_id=job_id), JobDetail)  # 404 unless the caller sees the job
    subject = f"events.*.job.{job_id}.*"
    first = (last_event_id or 0) + 1

    async def feed() -> AsyncIterator[bytes]:
        events = read_events(nc, subject, first, follow, idle_s=POLL_S if follow else KEEP_ALIVE_S)
        live = until_stopping(events, stopping, KEEP_ALIVE_S)  # the server stopping ends the feed
        async with contextlib.aclosing(events), contextlib.aclosing(live):  # a client that goes away unsubscribes
            async for stored in live:
                yield format_sse_event(comment="keep-alive") if stored is None else _as_sse(stored)

    return EventSourceResponse(feed())


def _as_sse(stored: StoredEvent) -> bytes:
    """The envelope in the current schema (upcast), or as stored when it cannot be decoded."""
    kind = stored.subject.rsplit(".", 1)[-1]
    try:
        data = decode_envelope(stored.data).model_dump_json()
    except ContractError:
        data = stored.data.decode(errors="replace")
    return format_sse_event(data_str=data, event=kind, id=str(stored.sequence))
