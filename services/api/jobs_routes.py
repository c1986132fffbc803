"""`/api/v1`: datasets and fine-tuning jobs over the trainer's commands, a job's carbon report, and
a job's live event feed (server-sent events, replayed from the log, resumable with Last-Event-ID).

The gateway only forwards: the trainer validates and records, and a refusal comes back with its
category (HTTP status), message and problems (file, line, field) unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from nats.aio.client import Client

from contracts import ContractError, decode_envelope
from contracts.subjects import TOKEN
from services.api.dependencies import Artifacts, Bus, Caller, Settings
from services.api.errors import TRAINER_STATUS, error_body
from services.api.shutdown import POLL_S, Stopping, until_stopping
from services.carbon.client import CarbonClient
from services.runtime.artifacts import ArtifactStore, StoredObject, layout
from services.runtime.event_feed import StoredEvent, read_events
from services.trainer.adapters.rpc import call
from services.trainer.commands import CancelJob, Command, CreateJob, GetJob, RegisterDataset

router = APIRouter(prefix="/api/v1")
KEEP_ALIVE_S = 15.0


JobId = Annotated[str, PathParam(pattern=TOKEN.pattern, description="The job's id (letters, digits, - and _).")]


async def _trainer(nc: Client, command: Command, status: int = 200) -> JSONResponse:
    reply = await call(nc, command, timeout=300)
    if reply["ok"]:
        return JSONResponse(reply["result"], status_code=status)
    error = reply["error"]
    body = error_body(error["message"], error["category"], error["type"])
    body["error"]["problems"] = error.get("problems", [])
    return JSONResponse(body, status_code=TRAINER_STATUS.get(error["category"], 500))


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
) -> JSONResponse:
    """Store and validate a dataset file; refused as a whole (nothing stored) with every bad row.
    The bytes go to the artifact store (uploads/<id>); only their reference is sent to the trainer,
    and the upload is removed once the trainer has answered (it keeps its own copy of a dataset)."""
    filename = file.filename or "upload.jsonl"
    if file.size is not None and file.size > settings.max_upload_bytes:
        message = (
            f"{filename} is {file.size:,} bytes; uploads are limited to {settings.max_upload_bytes:,} "
            "(GREENTUNE_API_MAX_UPLOAD_BYTES), or register the file by path with `greentune datasets register`"
        )
        return JSONResponse(error_body(message, "ValidationError", "upload_too_large", "file"), status_code=413)
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
        return await _trainer(nc, command, status=201)
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


@router.post("/jobs", status_code=201)
async def create_job(nc: Bus, actor: Caller, config: dict[str, Any], name: str | None = None) -> JSONResponse:
    """Queue a fine-tuning job; the body is its TrainingConfig (every invalid field is reported)."""
    return await _trainer(nc, CreateJob(actor=actor, config=config, job_name=name), status=201)


@router.get("/jobs/{job_id}")
async def get_job(nc: Bus, actor: Caller, job_id: JobId) -> JSONResponse:
    return await _trainer(nc, GetJob(actor=actor, job_id=job_id))


@router.post("/jobs/{job_id}/cancel", status_code=202)
async def cancel_job(nc: Bus, actor: Caller, job_id: JobId, reason: str | None = None) -> JSONResponse:
    """Ask a job to stop; it ends CANCELLED (watch its events for JobCancelled)."""
    return await _trainer(nc, CancelJob(actor=actor, job_id=job_id, reason=reason), status=202)


@router.get("/jobs/{job_id}/carbon")
async def job_carbon(nc: Bus, _: Caller, job_id: JobId) -> dict[str, Any]:
    """The job's kWh and gCO2eq, per component, with how each figure was measured."""
    return await CarbonClient(nc).job(job_id)


@router.get("/jobs/{job_id}/events", response_model=None)
async def job_events(
    nc: Bus,
    _: Caller,
    job_id: JobId,
    stopping: Stopping,
    follow: Annotated[bool, Query(description="Keep the feed open for new events.")] = True,
    last_event_id: Annotated[int | None, Header(description="Resume after this stream sequence.")] = None,
) -> EventSourceResponse:
    """Every event of the job (trainer and carbon), from the first or after Last-Event-ID: `event`
    is the event type, `id` its stream sequence, `data` the envelope. A comment every 15 s keeps
    idle connections open."""
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
