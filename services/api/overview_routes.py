"""`/api/v1` lists for the dashboard: jobs, datasets and base models, from the API's overview read
model (kept current from the log; it may trail a command's reply by the moment the event takes to
reach the stream). Jobs and datasets come newest first, a page at a time. A page's JSON is kept
until the overview next changes, so a dashboard polling an idle overview costs no query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from services.api.dependencies import Caller, Overview
from services.api.overview import BaseModelRow, DatasetRow, JobRow, OverviewView

router = APIRouter(prefix="/api/v1")
Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, description="Rows to skip: the previous page's `next_offset`.")]


class JobsPage(BaseModel):
    jobs: list[JobRow]
    total: int
    next_offset: int | None


class DatasetsPage(BaseModel):
    datasets: list[DatasetRow]
    total: int
    next_offset: int | None


class BaseModels(BaseModel):
    base_models: list[BaseModelRow]


class PageCache:
    """JSON bodies by (list, limit, offset), each valid for the overview version it was built at."""

    MAX_ENTRIES = 256

    def __init__(self) -> None:
        self._pages: dict[tuple[int, str, int, int], tuple[int, bytes]] = {}

    def get(self, overview: OverviewView, key: tuple[str, int, int], build: Callable[[], BaseModel]) -> Response:
        version, entry = overview.version, (id(overview), *key)
        cached = self._pages.get(entry)
        if cached is None or cached[0] != version:
            if len(self._pages) >= self.MAX_ENTRIES:
                self._pages.clear()
            cached = self._pages[entry] = (version, build().model_dump_json().encode())
        return Response(cached[1], media_type="application/json")


pages = PageCache()


def next_offset(offset: int, shown: int, total: int) -> int | None:
    return offset + shown if shown and offset + shown < total else None


@router.get("/jobs", response_model=JobsPage)
async def list_jobs(_: Caller, overview: Overview, limit: Limit = 100, offset: Offset = 0) -> Response:
    """Jobs, newest first: status, progress, last loss, throughput, energy and CO2 so far."""

    def build() -> JobsPage:
        jobs, total = overview.jobs(limit, offset), overview.count("jobs")
        return JobsPage(jobs=jobs, total=total, next_offset=next_offset(offset, len(jobs), total))

    return pages.get(overview, ("jobs", limit, offset), build)


@router.get("/datasets", response_model=DatasetsPage)
async def list_datasets(_: Caller, overview: Overview, limit: Limit = 100, offset: Offset = 0) -> Response:
    """Registered datasets, newest first, with their validation outcome."""

    def build() -> DatasetsPage:
        datasets, total = overview.datasets(limit, offset), overview.count("datasets")
        return DatasetsPage(datasets=datasets, total=total, next_offset=next_offset(offset, len(datasets), total))

    return pages.get(overview, ("datasets", limit, offset), build)


@router.get("/base-models", response_model=BaseModels)
async def list_base_models(_: Caller, overview: Overview) -> Response:
    """The base models jobs may fine-tune (`config.base_model` takes the name)."""
    return pages.get(overview, ("base_models", 0, 0), lambda: BaseModels(base_models=overview.base_models()))
