"""Serves the built dashboard (frontend/build, a SvelteKit single-page app) at `/`.

Files are served as they are; any other path outside the API answers the app's index.html, where
the dashboard's router takes over. Without a build, `/` says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, PlainTextResponse, Response

API_PREFIXES = ("api/", "v1/", "healthz")
BUILD_HINT = (
    "The dashboard is not built. Build it with Node.js 20+: "
    "`npm --prefix frontend ci && npm --prefix frontend run build` (scripts/install does it when npm is present), "
    "or point GREENTUNE_API_DASHBOARD_DIR at a build."
)


def mount_dashboard(app: FastAPI, build_dir: Path) -> None:
    root = build_dir.resolve()

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    async def dashboard(path: str) -> Response:
        if path.startswith(API_PREFIXES):
            raise HTTPException(404, f"no route /{path}: see /docs for the API's routes")
        index = root / "index.html"
        if not index.is_file():
            return PlainTextResponse(BUILD_HINT, status_code=503)
        wanted = (root / path).resolve()
        if path and wanted.is_relative_to(root) and wanted.is_file():
            return FileResponse(wanted)
        return FileResponse(index)  # a dashboard route such as /jobs/<id>: the app routes it
