"""`/api/v1` lists for the dashboard: jobs, datasets and base models, from the API's overview read
model (kept current from the log; it may trail a command's reply by the moment the event takes to
reach the stream). Jobs and datasets come newest first, a page at a time. A page's JSON is kept
until the overview next changes, so a dashboard polling an idle overview costs no query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from contracts import Actor
from services.api.dependencies import Caller, overview_of
from services.api.errors import PROBLEM_RESPONSES
from services.api.overview import BaseModelRow, DatasetRow, JobRow, OverviewView
from services.runtime import access

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)


class PageQuery(BaseModel):
    """Which page of a list: `limit` rows after the first `offset`."""

    limit: int = Field(100, ge=1, le=1000, description="Rows per page.")
    offset: int = Field(0, ge=0, le=10**12, description="Rows to skip: the previous page's `next_offset`.")


Page = Annotated[PageQuery, Query()]


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
    """JSON bodies by (list, limit, offset, whose rows), each valid for the overview version it was built at."""

    MAX_ENTRIES = 256

    def __init__(self) -> None:
        self._pages: dict[tuple[int, str, int, int, str | None], tuple[int, bytes]] = {}

    def get(
        self, overview: OverviewView, key: tuple[str, int, int, str | None], build: Callable[[], BaseModel]
    ) -> Response:
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


def whose(actor: Actor) -> str | None:
    """Which rows a page holds: every tenant's (None) or one tenant's."""
    return None if access.sees_all(actor) else (actor.tenant or "")


@router.get("/jobs", response_model=JobsPage)
async def list_jobs(request: Request, actor: Caller, page: Page) -> Response:
    """Your jobs (an admin: every tenant's), newest first: status, progress, last loss, throughput,
    energy and CO2 so far."""
    overview = overview_of(request)

    def build() -> JobsPage:
        jobs, total = overview.jobs(page.limit, page.offset, actor), overview.count("jobs", actor)
        return JobsPage(jobs=jobs, total=total, next_offset=next_offset(page.offset, len(jobs), total))

    return pages.get(overview, ("jobs", page.limit, page.offset, whose(actor)), build)


@router.get("/datasets", response_model=DatasetsPage)
async def list_datasets(request: Request, actor: Caller, page: Page) -> Response:
    """Your registered datasets (an admin: every tenant's), newest first, with their validation outcome."""
    overview = overview_of(request)

    def build() -> DatasetsPage:
        datasets, total = overview.datasets(page.limit, page.offset, actor), overview.count("datasets", actor)
        return DatasetsPage(datasets=datasets, total=total, next_offset=next_offset(page.offset, len(datasets), total))

    return pages.get(overview, ("datasets", page.limit, page.offset, whose(actor)), build)


@router.get("/base-models", response_model=BaseModels)
async def list_base_models(request: Request, _: Caller) -> Response:
    """The base models jobs may fine-tune (`config.base_model` takes the name), shared by every tenant."""
    overview = overview_of(request)
    return pages.get(overview, ("base_models", 0, 0, None), lambda: BaseModels(base_models=overview.base_models()))
